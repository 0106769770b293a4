//! RETURNING on INSERT, UPDATE and DELETE: the write runs without it, then the returned rows are
//! computed from the statement's own writes (new rows from the table, old ones from the undo
//! log), never by scanning again. Owns only that; what the write does is the write's business.

use {
    super::{
        names::{column_position, same_name},
        relation, Engine, QueryOutput,
    },
    crate::{
        error::{DbError, ErrorCode},
        store::{Savepoint, Written},
    },
    gluesql_core::{
        data::Value,
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
        self.atomically(|engine| {
            let before = engine.savepoint().ok_or_else(|| {
                DbError::new(
                    ErrorCode::Execute,
                    "internal: RETURNING outside a transaction",
                )
            })?;
            let written = engine.execute(&returning.write, params)?;
            engine.returned(&returning, &before, written, params)
        })
        .map(Some)
    }

    /// The write's output with RETURNING's columns and rows.
    fn returned(
        &mut self,
        returning: &Returning,
        before: &Savepoint,
        written: QueryOutput,
        params: &[Value],
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
            let rows =
                self.store()
                    .rows_written_since(before, &returning.table, returning.which, |row| {
                        picked
                            .iter()
                            .map(|(i, _)| row.get(*i).cloned().unwrap_or(Value::Null))
                            .collect()
                    });
            return Ok(QueryOutput {
                command: written.command,
                columns: picked.into_iter().map(|(_, label)| label).collect(),
                rows,
                row_count: written.row_count,
            });
        }
        let rows = self.store().rows_written_since(
            before,
            &returning.table,
            returning.which,
            <[Value]>::to_vec,
        );
        // Expressions: SELECT them over the rows, handed to GlueSQL as a relation named as
        // the statement names its table, with the table's columns.
        let mut params = params.to_vec();
        let inner = relation::values_query(rows, columns.len(), &mut params)?;
        let mut query = match super::parse_sql("SELECT * FROM (SELECT 1) AS r")?.pop() {
            Some(Statement::Query(query)) => query,
            _ => {
                return Err(DbError::new(
                    ErrorCode::Execute,
                    "internal: RETURNING query",
                ))
            }
        };
        let SetExpr::Select(select) = query.body.as_mut() else {
            return Err(DbError::new(
                ErrorCode::Execute,
                "internal: RETURNING query",
            ));
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
