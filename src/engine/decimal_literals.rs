//! Numbers written into DECIMALs keep their digits and scale: a literal stored in a DECIMAL
//! column (INSERT … VALUES, UPDATE … SET, a column DEFAULT) and the operand of a CAST to
//! DECIMAL become exact decimal text, or the statement is refused naming the number.
//! GlueSQL reads a number through its shortest text (`0.00` becomes `0`) and rounds past 28
//! digits; this pass only rewrites literals and decides nothing else about types.

use {
    super::{visit, Engine},
    crate::{
        decimal,
        error::{DbError, ErrorCode},
    },
    bigdecimal::BigDecimal,
    gluesql_core::{
        ast::DataType as GlueType,
        sqlparser::ast::{
            AlterTableOperation, CastKind, ColumnDef, ColumnOption, DataType, ExactNumberInfo,
            Expr, SetExpr, Statement, TableFactor, UnaryOperator, Value as SqlValue,
        },
        store::Store,
    },
    std::ops::ControlFlow,
};

/// Whether the pass has anything to look at: a statement other than an INSERT, or one into
/// a database with a DECIMAL column (W1's INSERT into other tables is not walked).
pub fn may_apply(statement: &Statement, decimals: bool) -> bool {
    decimals || !matches!(statement, Statement::Insert(_))
}

fn is_decimal(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Decimal(_) | DataType::Numeric(_))
}

/// The value of a number literal, `-` included, when the expression is one.
fn number(expr: &Expr) -> Option<BigDecimal> {
    match expr {
        Expr::Value(SqlValue::Number(value, _)) => Some(value.clone()),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => number(expr).map(|value| -value),
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr,
        }
        | Expr::Nested(expr) => number(expr),
        _ => None,
    }
}

fn refused(error: decimal::NotExact) -> DbError {
    DbError::new(ErrorCode::Execute, error.to_string())
}

fn exact_text(value: &BigDecimal) -> Result<String, DbError> {
    decimal::from_big(value)
        .map(|d| d.to_string())
        .map_err(refused)
}

fn decimal_cast(text: String) -> Expr {
    Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(Expr::Value(SqlValue::SingleQuotedString(text))),
        data_type: DataType::Decimal(ExactNumberInfo::None),
        format: None,
    }
}

/// A fraction literal (maybe signed or parenthesised: `24.40`, `-(1.1e-1)`) as an exact
/// DECIMAL CAST keeping its written scale (`CAST('24.40' AS DECIMAL)`), where the numeric pass
/// reads it as the NUMERIC it is; `None` for anything else, or a number no DECIMAL holds.
pub(super) fn exact_fraction(expr: &Expr) -> Option<Expr> {
    let value = number(expr)?;
    if value.fractional_digit_count() == 0 {
        return None;
    }
    exact_text(&value).ok().map(decimal_cast)
}

/// A literal stored into a DECIMAL, as an exact CAST; `None` when it is not a literal GlueSQL
/// could misread (an integer it reads exactly). A number no DECIMAL holds is refused here,
/// also where no row would be written.
fn stored(expr: &Expr) -> Result<Option<Expr>, DbError> {
    let Some(value) = number(expr) else {
        return Ok(None);
    };
    let exact = exact_text(&value)?;
    Ok((value.as_bigint_and_exponent().1 != 0).then(|| decimal_cast(exact)))
}

/// The operand of a CAST to DECIMAL, when it is a literal, as exact text.
fn cast_operand(expr: &Expr) -> Result<Option<String>, DbError> {
    let Expr::Cast {
        expr, data_type, ..
    } = expr
    else {
        return Ok(None);
    };
    if !is_decimal(data_type) {
        return Ok(None);
    }
    match expr.as_ref() {
        // Text that is no number is left to GlueSQL's cast and its error.
        Expr::Value(SqlValue::SingleQuotedString(text)) => match decimal::exact(text) {
            Ok(exact) => Ok((exact.to_string() != *text).then(|| exact.to_string())),
            Err(error) if error.would_round() => Err(refused(error)),
            Err(_) => Ok(None),
        },
        operand => match number(operand) {
            Some(value) => exact_text(&value).map(Some),
            None => Ok(None),
        },
    }
}

impl Engine {
    /// The positions of `INSERT … VALUES` rows that store into a DECIMAL column.
    fn decimal_positions(&self, table: &str, columns: &[String]) -> Vec<bool> {
        let defs = self
            .glue
            .storage
            .fetch_schema(table)
            .ok()
            .flatten()
            .and_then(|schema| schema.column_defs)
            .unwrap_or_default();
        let decimal = |name: &str| {
            defs.iter()
                .any(|d| d.name == name && d.data_type == GlueType::Decimal)
        };
        if columns.is_empty() {
            defs.iter()
                .map(|d| d.data_type == GlueType::Decimal)
                .collect()
        } else {
            columns.iter().map(|c| decimal(c)).collect()
        }
    }

    /// Rewrites the statement's decimal literals (see the module); untouched when none needs it.
    pub(super) fn exact_decimals(
        &self,
        statement: &mut std::borrow::Cow<'_, Statement>,
    ) -> Result<(), DbError> {
        // Stored literals: found by position, so a VALUES list of 500 rows is read once.
        let mut stores: Vec<(usize, usize, Expr)> = Vec::new();
        let mut sets: Vec<(usize, Expr)> = Vec::new();
        let mut defaults: Vec<(usize, usize, Expr)> = Vec::new();
        match statement.as_ref() {
            Statement::Insert(insert) => {
                if let (Some(table), Some(SetExpr::Values(values))) = (
                    insert.table_name.0.last(),
                    insert.source.as_ref().map(|s| s.body.as_ref()),
                ) {
                    let columns: Vec<String> =
                        insert.columns.iter().map(|c| c.value.clone()).collect();
                    let positions = self.decimal_positions(&table.value, &columns);
                    if positions.contains(&true) {
                        for (r, row) in values.rows.iter().enumerate() {
                            for (c, item) in row.iter().enumerate() {
                                if positions.get(c) == Some(&true) {
                                    if let Some(exact) = stored(item)? {
                                        stores.push((r, c, exact));
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Statement::Update {
                table, assignments, ..
            } => {
                if let TableFactor::Table { name, .. } = &table.relation {
                    let table = name.0.last().map(|i| i.value.clone()).unwrap_or_default();
                    // One schema read for every assignment.
                    let columns: Vec<String> =
                        assignments.iter().map(|a| a.target.to_string()).collect();
                    let positions = self.decimal_positions(&table, &columns);
                    for (i, assignment) in assignments.iter().enumerate() {
                        if positions.get(i) == Some(&true) {
                            if let Some(exact) = stored(&assignment.value)? {
                                sets.push((i, exact));
                            }
                        }
                    }
                }
            }
            Statement::CreateTable(create) => {
                collect_defaults(&create.columns, 0, &mut defaults)?;
            }
            Statement::AlterTable { operations, .. } => {
                for (o, operation) in operations.iter().enumerate() {
                    if let AlterTableOperation::AddColumn { column_def, .. } = operation {
                        collect_defaults(std::slice::from_ref(column_def), o, &mut defaults)?;
                    }
                }
            }
            _ => {}
        }
        let mut casts = false;
        let mut failure = None;
        let _ = visit::exprs(statement.as_ref(), |expr| match cast_operand(expr) {
            Ok(None) => ControlFlow::Continue(()),
            Ok(Some(_)) => {
                casts = true;
                ControlFlow::Break(())
            }
            Err(error) => {
                failure = Some(error);
                ControlFlow::Break(())
            }
        });
        if let Some(error) = failure {
            return Err(error);
        }
        if stores.is_empty() && sets.is_empty() && defaults.is_empty() && !casts {
            return Ok(());
        }
        let owned = statement.to_mut();
        match owned {
            Statement::Insert(insert) => {
                if let Some(SetExpr::Values(values)) =
                    insert.source.as_mut().map(|s| s.body.as_mut())
                {
                    for (r, c, exact) in stores {
                        values.rows[r][c] = exact;
                    }
                }
            }
            Statement::Update { assignments, .. } => {
                for (i, exact) in sets {
                    assignments[i].value = exact;
                }
            }
            Statement::CreateTable(create) => {
                for (_, c, exact) in defaults {
                    set_default(&mut create.columns[c], exact);
                }
            }
            Statement::AlterTable { operations, .. } => {
                for (o, _, exact) in defaults {
                    if let AlterTableOperation::AddColumn { column_def, .. } = &mut operations[o] {
                        set_default(column_def, exact);
                    }
                }
            }
            _ => {}
        }
        if casts {
            let _ = visit::exprs_mut(owned, |expr| {
                if let Ok(Some(text)) = cast_operand(expr) {
                    if let Expr::Cast { expr: operand, .. } = expr {
                        **operand = Expr::Value(SqlValue::SingleQuotedString(text));
                    }
                }
                ControlFlow::Continue(())
            });
        }
        Ok(())
    }
}

/// DEFAULT literals of DECIMAL columns, as (place, column index, exact CAST).
fn collect_defaults(
    columns: &[ColumnDef],
    place: usize,
    found: &mut Vec<(usize, usize, Expr)>,
) -> Result<(), DbError> {
    for (c, column) in columns.iter().enumerate() {
        if !is_decimal(&column.data_type) {
            continue;
        }
        for option in &column.options {
            if let ColumnOption::Default(expr) = &option.option {
                if let Some(exact) = stored(expr)? {
                    found.push((place, c, exact));
                }
            }
        }
    }
    Ok(())
}

fn set_default(column: &mut ColumnDef, exact: Expr) {
    for option in &mut column.options {
        if let ColumnOption::Default(expr) = &mut option.option {
            *expr = exact.clone();
        }
    }
}
