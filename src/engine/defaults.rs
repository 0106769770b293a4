//! A column DEFAULT that computes a constant (`DEFAULT (7 / 2)`, `DEFAULT (LOG(2, 8))`) is
//! computed here when the table is created or altered, as a SELECT through every lowering pass
//! and cast to the column's type as PostgreSQL's assignment casts it, and kept as its value:
//! GlueSQL evaluates a default by its own rules (`7 / 2` as 3.5, LOG's base last, `||` as `+`).
//! Leaves alone a literal, and anything that varies by row or by call (the clock, RAND, a
//! column, a stored function), which guard/constant.rs checks as before.

use {
    super::{functions::cast, names::column_position, Engine},
    crate::error::{DbError, ErrorCode},
    gluesql_core::{
        ast::DataType as GlueType,
        data::Value,
        sqlparser::ast::{
            AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, DataType,
            ExactNumberInfo, Expr, Statement, TimezoneInfo, UnaryOperator, Value as SqlValue,
        },
        translate::translate_data_type,
    },
    std::ops::ControlFlow,
};

/// Functions whose value depends on their arguments alone (built in, never a user's; FORMAT is
/// what EXTRACT's PostgreSQL fields are written as, functions.rs).
const PURE_FUNCTIONS: [&str; 52] = [
    "ABS",
    "ROUND",
    "CEIL",
    "CEILING",
    "FLOOR",
    "TRUNC",
    "SQRT",
    "CBRT",
    "POWER",
    "EXP",
    "LN",
    "LOG",
    "LOG2",
    "LOG10",
    "SIN",
    "COS",
    "TAN",
    "ASIN",
    "ACOS",
    "ATAN",
    "RADIANS",
    "DEGREES",
    "PI",
    "SIGN",
    "GCD",
    "LCM",
    "MOD",
    "DIV",
    "UPPER",
    "LOWER",
    "TRIM",
    "LTRIM",
    "RTRIM",
    "SUBSTR",
    "SUBSTRING",
    "CONCAT",
    "REPLACE",
    "LPAD",
    "RPAD",
    "REVERSE",
    "LEFT",
    "RIGHT",
    "LENGTH",
    "POSITION",
    "ASCII",
    "CHR",
    "COALESCE",
    "NULLIF",
    "GREATEST",
    "LEAST",
    "IFNULL",
    "FORMAT",
];

/// Whether `function` is a call of a built-in scalar function whose value depends on its
/// arguments alone (no aggregate, window, clock or user's function).
pub(super) fn is_pure_call(function: &gluesql_core::sqlparser::ast::Function) -> bool {
    function.over.is_none()
        && PURE_FUNCTIONS.contains(&function.name.to_string().to_uppercase().as_str())
}

/// Whether `statement` gives a column a DEFAULT this module computes.
pub(super) fn has_computed_default(statement: &Statement) -> bool {
    match statement {
        Statement::CreateTable(create) => create
            .columns
            .iter()
            .any(|column| default_of(column).is_some_and(is_computed_constant)),
        Statement::AlterTable { operations, .. } => {
            operations.iter().any(|operation| match operation {
                AlterTableOperation::AddColumn { column_def, .. } => {
                    default_of(column_def).is_some_and(is_computed_constant)
                }
                AlterTableOperation::AlterColumn {
                    op: AlterColumnOperation::SetDefault { value },
                    ..
                } => is_computed_constant(value),
                _ => false,
            })
        }
        _ => false,
    }
}

fn default_of(column: &ColumnDef) -> Option<&Expr> {
    column
        .options
        .iter()
        .find_map(|option| match &option.option {
            ColumnOption::Default(expr) => Some(expr),
            _ => None,
        })
}

/// A constant that is computed, not written: no literal (GlueSQL stores those as SQL does),
/// nothing read from a row, a parameter, a subquery, or a function outside `PURE_FUNCTIONS`.
fn is_computed_constant(expr: &Expr) -> bool {
    let written = match expr {
        Expr::Nested(inner) => return is_computed_constant(inner),
        Expr::Value(_) | Expr::TypedString { .. } => true,
        Expr::UnaryOp {
            op: UnaryOperator::Minus | UnaryOperator::Plus,
            expr,
        } => matches!(expr.as_ref(), Expr::Value(_)),
        _ => false,
    };
    if written {
        return false;
    }
    super::visit::exprs(expr, |e| match e {
        Expr::Identifier(_)
        | Expr::CompoundIdentifier(_)
        | Expr::Value(SqlValue::Placeholder(_))
        | Expr::Subquery(_)
        | Expr::Exists { .. }
        | Expr::InSubquery { .. } => ControlFlow::Break(()),
        Expr::Function(function) if !is_pure_call(function) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_continue()
}

/// The SQL spelling of the column types whose values this module writes back; `None`: the
/// default is left to GlueSQL.
fn type_name(data_type: &GlueType) -> Option<&'static str> {
    Some(match data_type {
        GlueType::Int8 => "TINYINT",
        GlueType::Int16 => "SMALLINT",
        GlueType::Int32 => "MEDIUMINT",
        GlueType::Int => "INTEGER",
        GlueType::Float32 => "FLOAT4",
        GlueType::Float => "FLOAT",
        GlueType::Decimal => "DECIMAL",
        GlueType::Text => "TEXT",
        GlueType::Date => "DATE",
        GlueType::Timestamp => "TIMESTAMP",
        GlueType::Boolean => "BOOLEAN",
        _ => return None,
    })
}

/// `value` written as a DEFAULT that GlueSQL stores exactly; `None` for a kind not written back.
fn literal(value: &Value) -> Option<Expr> {
    let number = |text: String| {
        text.parse()
            .ok()
            .map(|n| Expr::Value(SqlValue::Number(n, false)))
    };
    let quoted = |text: String| Expr::Value(SqlValue::SingleQuotedString(text));
    Some(match value {
        Value::Null => Expr::Value(SqlValue::Null),
        Value::Bool(b) => Expr::Value(SqlValue::Boolean(*b)),
        Value::I8(n) => number(n.to_string())?,
        Value::I16(n) => number(n.to_string())?,
        Value::I32(n) => number(n.to_string())?,
        Value::I64(n) => number(n.to_string())?,
        // A FLOAT from its shortest text, which reads back as the same value (a numeric literal
        // would go through GlueSQL's inexact decimal conversion).
        Value::F32(f) => cast(quoted(f.to_string()), DataType::Float64),
        Value::F64(f) => cast(quoted(f.to_string()), DataType::Float64),
        Value::Decimal(d) => cast(
            quoted(d.to_string()),
            DataType::Decimal(ExactNumberInfo::None),
        ),
        Value::Str(text) => quoted(text.clone()),
        Value::Date(date) => cast(quoted(date.to_string()), DataType::Date),
        Value::Timestamp(stamp) => cast(
            quoted(stamp.to_string()),
            DataType::Timestamp(None, TimezoneInfo::None),
        ),
        _ => return None,
    })
}

impl Engine {
    /// `statement` with each computed DEFAULT replaced by its value (`has_computed_default`).
    pub(super) fn compute_defaults(&mut self, statement: &Statement) -> Result<Statement, DbError> {
        let mut computed = statement.clone();
        match &mut computed {
            Statement::CreateTable(create) => {
                for column in &mut create.columns {
                    let data_type = translate_data_type(&column.data_type).ok();
                    self.compute_column_default(column, data_type)?;
                }
            }
            Statement::AlterTable {
                name, operations, ..
            } => {
                let table = name.0.last().map(|i| i.value.clone()).unwrap_or_default();
                let columns = self.columns_of_table(&table).unwrap_or_default();
                let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
                for operation in operations {
                    match operation {
                        AlterTableOperation::AddColumn { column_def, .. } => {
                            let data_type = translate_data_type(&column_def.data_type).ok();
                            self.compute_column_default(column_def, data_type)?;
                        }
                        AlterTableOperation::AlterColumn {
                            column_name,
                            op: AlterColumnOperation::SetDefault { value },
                        } => {
                            let data_type = column_position(&names, &column_name.value)
                                .and_then(|at| columns[at].1.clone());
                            if let Some(v) = self.computed(value, data_type.as_ref())? {
                                *value = v;
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        Ok(computed)
    }

    fn compute_column_default(
        &mut self,
        column: &mut ColumnDef,
        data_type: Option<GlueType>,
    ) -> Result<(), DbError> {
        for option in &mut column.options {
            if let ColumnOption::Default(expr) = &mut option.option {
                if let Some(value) = self.computed(expr, data_type.as_ref())? {
                    *expr = value;
                }
            }
        }
        Ok(())
    }

    /// The value `expr` computes, cast to `data_type`, as a literal; `None` where it is left
    /// to GlueSQL (not a computed constant, a type or value not written back).
    fn computed(
        &mut self,
        expr: &Expr,
        data_type: Option<&GlueType>,
    ) -> Result<Option<Expr>, DbError> {
        let Some(type_name) = data_type.and_then(type_name) else {
            return Ok(None);
        };
        if !is_computed_constant(expr) {
            return Ok(None);
        }
        let failed = |error: DbError| {
            DbError::new(
                error.code,
                format!("DEFAULT {expr} cannot be evaluated: {}", error.message),
            )
        };
        let sql = format!("SELECT CAST(({expr}) AS {type_name})");
        let statements = self.parse(&sql).map_err(failed)?;
        let [select] = statements.as_slice() else {
            return Err(DbError::new(
                ErrorCode::Plan,
                format!("DEFAULT {expr} is not one expression"),
            ));
        };
        let output = self.run(select, &[]).map_err(failed)?;
        Ok(output
            .rows
            .first()
            .and_then(|row| row.first())
            .and_then(literal))
    }
}
