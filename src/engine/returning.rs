//! RETURNING on INSERT, UPDATE and DELETE: the write runs without it, then the returned rows are
//! computed from the statement's own writes (new rows from the table, old ones from the undo
//! log), never by scanning again. Owns only that; what the write does is the write's business.

use {
    super::{
        names::{column_position, same_name},
        relation,
        row_exprs::RowExprs,
        Engine, QueryOutput,
    },
    crate::{
        error::{DbError, ErrorCode},
        packed_rows::PackedRows,
        store::{Savepoint, Written},
    },
    gluesql_core::{
        data::Value,
        executor::evaluate_stateless,
        plan::{
            ExprPlan, FunctionExprPlan, ProjectInputPlan, ProjectPlan, ProjectionPlan, QueryPlan,
            SelectItemPlan, SourcePlan, StatementPlan,
        },
        sqlparser::ast::{
            Expr, FromTable, Ident, SelectItem, SetExpr, Statement, TableAlias, TableFactor,
        },
    },
};

/// An INSERT, UPDATE or DELETE with RETURNING, taken apart.
struct Returning {
    /// The statement without its RETURNING (nor a plain INSERT's alias, which only RETURNING reads).
    write: Statement,
    items: Vec<SelectItem>,
    table: String,
    /// The name RETURNING reads the rows by: the statement's alias, else the table's name.
    reads_as: Ident,
    which: Written,
}

fn split(statement: &Statement) -> Option<Returning> {
    let mut write = statement.clone();
    let (items, table, alias, which) = match &mut write {
        Statement::Insert(insert) => {
            let items = insert.returning.take()?;
            // ON CONFLICT's DO UPDATE reads the alias too; a plain INSERT has no use for it.
            let alias = match insert.on {
                Some(_) => insert.table_alias.clone(),
                None => insert.table_alias.take(),
            };
            (items, insert.table_name.clone(), alias, Written::New)
        }
        Statement::Update {
            table, returning, ..
        } => {
            let items = returning.take()?;
            let TableFactor::Table { name, alias, .. } = &table.relation else {
                return None;
            };
            (
                items,
                name.clone(),
                alias.as_ref().map(|a| a.name.clone()),
                Written::New,
            )
        }
        Statement::Delete(delete) => {
            let items = delete.returning.take()?;
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
            let TableFactor::Table { name, alias, .. } = &from.first()?.relation else {
                return None;
            };
            (
                items,
                name.clone(),
                alias.as_ref().map(|a| a.name.clone()),
                Written::Old,
            )
        }
        _ => return None,
    };
    let last = table.0.last()?.clone();
    Some(Returning {
        write,
        items,
        table: last.value.clone(),
        reads_as: alias.unwrap_or(last),
        which,
    })
}

/// Whether `statement` has a RETURNING clause.
pub fn has_returning(statement: &Statement) -> bool {
    match statement {
        Statement::Insert(insert) => insert.returning.is_some(),
        Statement::Update { returning, .. } => returning.is_some(),
        Statement::Delete(delete) => delete.returning.is_some(),
        _ => false,
    }
}

fn names_relation(qualifier: &Ident, returning: &Returning) -> bool {
    same_name(&qualifier.value, &returning.reads_as.value)
}

/// Each item as (column index, label) when every one is a column or `*`: the rows are then
/// projected as stored, types exact, with no query run. `None` when any is an expression.
fn plain_columns(returning: &Returning, columns: &[String]) -> Option<Vec<(usize, String)>> {
    let mut picked = Vec::new();
    let column = |expr: &Expr| match expr {
        Expr::Identifier(ident) => column_position(columns, &ident.value),
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [qualifier, ident] if names_relation(qualifier, returning) => {
                column_position(columns, &ident.value)
            }
            _ => None,
        },
        _ => None,
    };
    for item in &returning.items {
        match item {
            SelectItem::Wildcard(options) if *options == Default::default() => {
                picked.extend(columns.iter().cloned().enumerate())
            }
            SelectItem::QualifiedWildcard(name, options)
                if *options == Default::default()
                    && name.0.len() == 1
                    && names_relation(&name.0[0], returning) =>
            {
                picked.extend(columns.iter().cloned().enumerate())
            }
            SelectItem::UnnamedExpr(expr) => {
                let i = column(expr)?;
                picked.push((i, columns[i].clone()));
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                picked.push((column(expr)?, alias.value.clone()));
            }
            _ => return None,
        }
    }
    Some(picked)
}

impl Engine {
    /// Runs a write with RETURNING (see the module's comment): the write and its returned rows
    /// stand or fall together.
    pub(super) fn run_returning(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<Option<QueryOutput>, DbError> {
        let Some(returning) = split(statement) else {
            return Ok(None);
        };
        // Taken by the statement's own RETURNING, never by one a statement runs inside it.
        let pack = std::mem::take(&mut self.pack_returning);
        if super::joined_writes::is_joined_write(statement) {
            refuse_other_relations(statement, &returning)?;
        }
        self.atomically(|engine| {
            let before = engine.savepoint().ok_or_else(|| {
                DbError::new(
                    ErrorCode::Execute,
                    "internal: RETURNING outside a transaction",
                )
            })?;
            let written = engine.execute(&returning.write, params)?;
            engine.returned(&returning, &before, written, params, pack)
        })
        .map(Some)
    }

    /// The write's output with RETURNING's columns and rows; with `pack`, rows computed row by
    /// row go to `self.packed` instead (see `Engine::pack_returning`).
    fn returned(
        &mut self,
        returning: &Returning,
        before: &Savepoint,
        written: QueryOutput,
        params: &[Value],
        pack: bool,
    ) -> Result<QueryOutput, DbError> {
        let Some(table) = self.store().table(&returning.table) else {
            return Err(DbError::new(
                ErrorCode::Plan,
                format!("RETURNING: table {} not found", returning.table),
            ));
        };
        let columns = table.column_names();
        if columns.is_empty() {
            return Err(DbError::new(
                ErrorCode::Plan,
                format!(
                    "RETURNING needs a table with declared columns; {} has none",
                    returning.table
                ),
            ));
        }
        if let Some(picked) = plain_columns(returning, &columns) {
            if pack {
                let mut packed = PackedRows::with_capacity(picked.len(), written.row_count);
                self.store()
                    .rows_written_since(before, &returning.table, returning.which, |row| {
                        for (column, (i, _)) in picked.iter().enumerate() {
                            packed.push(column, row.get(*i).unwrap_or(&Value::Null));
                        }
                    });
                self.packed = Some(packed);
                return Ok(with_rows(&written, labels(picked), Vec::new()));
            }
            let rows =
                self.store()
                    .rows_written_since(before, &returning.table, returning.which, |row| {
                        picked
                            .iter()
                            .map(|(i, _)| row.get(*i).cloned().unwrap_or(Value::Null))
                            .collect()
                    });
            return Ok(with_rows(&written, labels(picked), rows));
        }
        let plain_reads =
            !reads_more_than_its_rows(returning) && self.store().functions().next().is_none();
        if plain_reads {
            // Planned once, evaluated per written row where it is stored; a plan of another
            // shape (or none) is run over a scratch table below.
            let query = Statement::Query(select_over_table(returning, true)?);
            if let Ok(Some(plan)) = self.lowered_plan(&query, params) {
                if let Some(mut items) = projection_over_table(plan) {
                    for (expr, _) in &mut items {
                        fold_literal_casts(expr);
                    }
                    let exprs = RowExprs::new(items.iter().map(|(expr, _)| expr), &columns);
                    if pack {
                        let mut packed = PackedRows::with_capacity(items.len(), written.row_count);
                        let packing = self.store().try_rows_written_since(
                            before,
                            &returning.table,
                            returning.which,
                            |row| exprs.pack(row, &mut packed),
                        );
                        // As below, a row it cannot evaluate is left to the scratch table.
                        if packing.is_ok() {
                            self.packed = Some(packed);
                            return Ok(with_rows(&written, labels(items), Vec::new()));
                        }
                    }
                    let rows = self.store().try_rows_written_since(
                        before,
                        &returning.table,
                        returning.which,
                        |row| exprs.evaluate(row),
                    );
                    // A row it cannot evaluate here (a name GlueSQL would look up in another
                    // way) is left to the scratch table, which answers or explains.
                    if let Ok(rows) = rows {
                        return Ok(with_rows(&written, labels(items), rows));
                    }
                }
            }
        }
        let rows = self.store().rows_written_since(
            before,
            &returning.table,
            returning.which,
            <[Value]>::to_vec,
        );
        if plain_reads {
            let Some(table) = self.store().table(&returning.table) else {
                return Err(internal());
            };
            let schema = table.schema.clone();
            let query = Statement::Query(select_over_table(returning, false)?);
            let output = select_over_scratch(&query, schema, rows, params)?;
            return Ok(QueryOutput {
                command: written.command,
                row_count: written.row_count,
                ..output
            });
        }
        // Expressions that read more (a subquery, a function of this database): SELECT them
        // over the rows, handed to GlueSQL as a relation named as the statement names its
        // table, with the table's columns.
        let mut params = params.to_vec();
        let inner = relation::values_query(rows, columns.len(), &mut params)?;
        let mut query = select_template("SELECT * FROM (SELECT 1) AS r")?;
        let SetExpr::Select(select) = query.body.as_mut() else {
            return Err(internal());
        };
        select.projection = returning.items.clone();
        if let Some(from) = select.from.first_mut() {
            from.relation = TableFactor::Derived {
                lateral: false,
                subquery: Box::new(inner),
                alias: Some(TableAlias {
                    name: returning.reads_as.clone(),
                    columns: columns.iter().map(|c| Ident::with_quote('"', c)).collect(),
                }),
            };
        }
        let output = self.execute(&Statement::Query(query), &params)?;
        Ok(QueryOutput {
            command: written.command,
            row_count: written.row_count,
            ..output
        })
    }
}

/// Whether RETURNING reads anything but the written rows: a subquery reads tables.
fn reads_more_than_its_rows(returning: &Returning) -> bool {
    super::visit::exprs(&returning.items, |e| {
        if matches!(
            e,
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }
        ) {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    })
    .is_break()
}

/// `SELECT <RETURNING's items> FROM <table> [AS <the statement's alias>]`.
/// With `unqualified`, a column the items qualify by that name is written bare (the SELECT
/// reads one relation; without subqueries no other scope exists), so rows are read by column.
fn select_over_table(
    returning: &Returning,
    unqualified: bool,
) -> Result<Box<gluesql_core::sqlparser::ast::Query>, DbError> {
    let mut query = select_template("SELECT 1 FROM t")?;
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Err(internal());
    };
    select.projection = returning.items.clone();
    if unqualified {
        let _ = super::visit::exprs_mut(&mut select.projection, |e| {
            if let Expr::CompoundIdentifier(parts) = e {
                if let [qualifier, column] = parts.as_slice() {
                    if names_relation(qualifier, returning) {
                        *e = Expr::Identifier(column.clone());
                    }
                }
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
    }
    if let Some(TableFactor::Table { name, alias, .. }) =
        select.from.first_mut().map(|from| &mut from.relation)
    {
        *name = gluesql_core::sqlparser::ast::ObjectName(vec![Ident::with_quote(
            '"',
            &returning.table,
        )]);
        if returning.reads_as.value != returning.table {
            *alias = Some(TableAlias {
                name: returning.reads_as.clone(),
                columns: Vec::new(),
            });
        }
    }
    Ok(query)
}

/// The (expression, label) items of a plan that only projects one table's rows by
/// expressions: what RETURNING can evaluate row by row, with no scan.
fn projection_over_table(plan: StatementPlan) -> Option<Vec<(ExprPlan, String)>> {
    let StatementPlan::Query(QueryPlan::Project(ProjectPlan {
        input: ProjectInputPlan::Source(SourcePlan::Table(_)),
        projection: ProjectionPlan::SelectItems(items),
    })) = plan
    else {
        return None;
    };
    let items = items
        .into_iter()
        .map(|item| match item {
            SelectItemPlan::Expr { expr, label } => Some((expr, label)),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(items)
}

/// A CAST of a literal (numeric.rs types integer literals so) becomes its value, evaluated
/// once instead of once per row. Reaches through operators; elsewhere it is left as planned.
fn fold_literal_casts(expr: &mut ExprPlan) {
    match expr {
        ExprPlan::BinaryOp { left, right, .. } => {
            fold_literal_casts(left);
            fold_literal_casts(right);
        }
        ExprPlan::UnaryOp { expr, .. }
        | ExprPlan::Nested(expr)
        | ExprPlan::IsNull(expr)
        | ExprPlan::IsNotNull(expr) => fold_literal_casts(expr),
        ExprPlan::Function(function) => {
            if let FunctionExprPlan::Cast {
                expr: ExprPlan::Literal(_),
                ..
            } = function.as_ref()
            {
                let folded = evaluate_stateless(None, expr)
                    .ok()
                    .and_then(|v| Value::try_from(v).ok());
                if let Some(value) = folded {
                    *expr = ExprPlan::Value(value);
                }
            }
        }
        _ => {}
    }
}

/// RETURNING's expressions as a SELECT over a scratch table of its own store that holds only
/// the written rows, named and typed as the written table: each row is read as stored, not
/// bound as a parameter per value (which cost seven times the write over 10,000 rows).
pub(super) fn select_over_scratch(
    query: &Statement,
    mut schema: gluesql_core::data::Schema,
    rows: Vec<Vec<Value>>,
    params: &[Value],
) -> Result<QueryOutput, DbError> {
    // Only the rows matter: no key (rows are kept in the order written), index or reference.
    schema.indexes.clear();
    schema.foreign_keys.clear();
    for column in schema.column_defs.iter_mut().flatten() {
        column.unique = None;
    }
    let mut scratch = Engine::new(crate::store::MemoryStore::of_rows(schema, rows));
    scratch.execute(query, params)
}

/// The names the other relations of `UPDATE … FROM` / `DELETE … USING` go by.
fn other_relations(statement: &Statement) -> Vec<Ident> {
    let lists: Vec<&gluesql_core::sqlparser::ast::TableWithJoins> = match statement {
        Statement::Update {
            from: Some(from), ..
        } => vec![from],
        Statement::Delete(delete) => delete.using.iter().flatten().collect(),
        _ => Vec::new(),
    };
    let name = |factor: &TableFactor| match factor {
        TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => {
            Some(a.name.clone())
        }
        TableFactor::Table { name, .. } => name.0.last().cloned(),
        _ => None,
    };
    lists
        .into_iter()
        .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)))
        .filter_map(name)
        .collect()
}

/// RETURNING of `UPDATE … FROM` / `DELETE … USING` gives the written rows: a column of another
/// relation of the statement (which PostgreSQL returns too) is refused by name, not missed. A
/// subquery's own relations are its business: subqueries are not looked into.
fn refuse_other_relations(statement: &Statement, returning: &Returning) -> Result<(), DbError> {
    let others = other_relations(statement);
    let mut items = returning.items.clone();
    let _ = super::visit::exprs_mut(&mut items, |e| {
        match e {
            Expr::Subquery(_) => *e = Expr::Value(gluesql_core::sqlparser::ast::Value::Null),
            Expr::Exists { .. } => {
                *e = Expr::Value(gluesql_core::sqlparser::ast::Value::Boolean(true))
            }
            Expr::InSubquery { expr, .. } => {
                let operand = std::mem::replace(
                    expr.as_mut(),
                    Expr::Value(gluesql_core::sqlparser::ast::Value::Null),
                );
                *e = operand;
            }
            _ => {}
        }
        std::ops::ControlFlow::Continue(())
    });
    let mut other = None;
    let _ = super::visit::exprs(&items, |e| {
        if let Expr::CompoundIdentifier(parts) = e {
            if let [qualifier, _] = parts.as_slice() {
                let named = |n: &Ident| same_name(&n.value, &qualifier.value);
                if !names_relation(qualifier, returning) && others.iter().any(named) {
                    other = Some(e.to_string());
                    return std::ops::ControlFlow::Break(());
                }
            }
        }
        std::ops::ControlFlow::Continue(())
    });
    match other {
        Some(column) => Err(DbError::new(
            ErrorCode::Plan,
            format!(
                "RETURNING of UPDATE … FROM or DELETE … USING gives the columns of {} only; {column} is another relation's",
                returning.reads_as.value
            ),
        )),
        None => Ok(()),
    }
}

/// The write's output (its command and count) with RETURNING's columns and rows.
fn with_rows(written: &QueryOutput, columns: Vec<String>, rows: Vec<Vec<Value>>) -> QueryOutput {
    QueryOutput {
        command: written.command,
        columns,
        rows,
        row_count: written.row_count,
    }
}

/// The labels of (item, label) pairs, in order.
fn labels<T>(items: Vec<(T, String)>) -> Vec<String> {
    items.into_iter().map(|(_, label)| label).collect()
}

fn internal() -> DbError {
    DbError::new(ErrorCode::Execute, "internal: RETURNING query")
}

/// A SELECT parsed from `sql`, whose projection and FROM item the caller then replaces. Parsed
/// once per thread and copied after: per statement, parsing it cost as much as planning.
fn select_template(sql: &'static str) -> Result<Box<gluesql_core::sqlparser::ast::Query>, DbError> {
    type Parsed = Vec<(&'static str, Box<gluesql_core::sqlparser::ast::Query>)>;
    thread_local! {
        static PARSED: std::cell::RefCell<Parsed> = const { std::cell::RefCell::new(Vec::new()) };
    }
    if let Some(query) = PARSED.with_borrow(|parsed| {
        parsed
            .iter()
            .find(|(text, _)| *text == sql)
            .map(|(_, query)| query.clone())
    }) {
        return Ok(query);
    }
    let query = match super::parse_sql(sql)?.pop() {
        Some(Statement::Query(query)) if matches!(query.body.as_ref(), SetExpr::Select(_)) => query,
        _ => return Err(internal()),
    };
    PARSED.with_borrow_mut(|parsed| parsed.push((sql, query.clone())));
    Ok(query)
}
