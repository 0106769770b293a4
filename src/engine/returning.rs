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
        if super::joined_writes::is_joined_write(statement) {
            refuse_other_relations(&returning)?;
        }
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
        if !reads_more_than_its_rows(returning) && self.store().functions().next().is_none() {
            let mut schema = table.schema.clone();
            let output = select_over_scratch(returning, &mut schema, rows, params)?;
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

/// RETURNING's expressions as a SELECT over a scratch table of its own store that holds only
/// the written rows, named and typed as the written table: each row is read as stored, not
/// bound as a parameter per value (which cost seven times the write over 10,000 rows).
fn select_over_scratch(
    returning: &Returning,
    schema: &mut gluesql_core::data::Schema,
    rows: Vec<Vec<Value>>,
    params: &[Value],
) -> Result<QueryOutput, DbError> {
    // Only the rows matter: no key (rows are kept in the order written), index or reference.
    schema.indexes.clear();
    schema.foreign_keys.clear();
    for column in schema.column_defs.iter_mut().flatten() {
        column.unique = None;
    }
    let mut scratch = Engine::new(crate::store::MemoryStore::of_rows(schema.clone(), rows));
    let mut query = match super::parse_sql("SELECT 1 FROM t")?.pop() {
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
    scratch.execute(&Statement::Query(query), params)
}

/// RETURNING of `UPDATE … FROM` / `DELETE … USING` gives the written rows: a column of another
/// relation of the statement (which PostgreSQL returns too) is refused by name, not missed.
fn refuse_other_relations(returning: &Returning) -> Result<(), DbError> {
    let mut other = None;
    let _ = super::visit::exprs(&returning.items, |e| {
        if let Expr::CompoundIdentifier(parts) = e {
            if let [qualifier, _] = parts.as_slice() {
                if !names_relation(qualifier, returning) {
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
