//! An alias on the table an UPDATE or DELETE writes (`UPDATE t AS x … WHERE x.id = 1`): GlueSQL
//! 0.20 drops it, so `x.id` is not found. Rewrites the alias to the table's own name; refuses
//! when another relation of the statement goes by either name, rather than guess which is meant.

use {
    crate::error::{DbError, ErrorCode},
    gluesql_core::sqlparser::ast::{Expr, FromTable, Ident, Statement, TableFactor},
    std::ops::ControlFlow,
};

fn target_mut(statement: &mut Statement) -> Option<&mut TableFactor> {
    match statement {
        Statement::Update { table, .. } => Some(&mut table.relation),
        Statement::Delete(delete) => match &mut delete.from {
            FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from) => {
                from.first_mut().map(|t| &mut t.relation)
            }
        },
        _ => None,
    }
}

/// Whether `statement` writes a table through an alias.
pub fn has_target_alias(statement: &Statement) -> bool {
    match statement {
        Statement::Update { table, .. } => has_alias(&table.relation),
        Statement::Delete(delete) => match &delete.from {
            FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from) => {
                from.first().is_some_and(|t| has_alias(&t.relation))
            }
        },
        _ => false,
    }
}

fn has_alias(factor: &TableFactor) -> bool {
    matches!(factor, TableFactor::Table { alias: Some(_), .. })
}

fn same(a: &Ident, b: &Ident) -> bool {
    super::names::same_name(&a.value, &b.value)
}

/// The name a table factor is read by: its alias, else a table's own name.
fn read_as(factor: &TableFactor) -> Option<&Ident> {
    match factor {
        TableFactor::Table { alias: Some(a), .. } => Some(&a.name),
        TableFactor::Table { name, .. } => name.0.last(),
        TableFactor::Derived { alias, .. }
        | TableFactor::TableFunction { alias, .. }
        | TableFactor::Function { alias, .. }
        | TableFactor::UNNEST { alias, .. }
        | TableFactor::NestedJoin { alias, .. } => alias.as_ref().map(|a| &a.name),
        _ => None,
    }
}

/// Drops the target's alias, naming the table itself wherever the alias qualified a column.
pub fn lower(statement: &mut Statement) -> Result<(), DbError> {
    let Some(TableFactor::Table { name, alias, .. }) = target_mut(statement) else {
        return Ok(());
    };
    let (Some(table), Some(taken)) = (name.0.last().cloned(), alias.take()) else {
        return Ok(());
    };
    if !taken.columns.is_empty() {
        return Err(DbError::new(
            ErrorCode::Plan,
            format!("column names in the alias of {table} are not supported here"),
        ));
    }
    let alias = taken.name;
    // The target, its alias gone, is now the one factor read as `table`.
    let mut clashes = 0;
    let _ = crate::engine::visit::table_factors(statement, |factor| {
        if read_as(factor).is_some_and(|n| same(n, &table) || same(n, &alias)) {
            clashes += 1;
        }
        ControlFlow::Continue(())
    });
    if clashes > 1 {
        return Err(DbError::new(
            ErrorCode::Plan,
            format!(
                "{alias} (the alias of {table}) and another relation of the statement share a \
                 name; give them different names"
            ),
        ));
    }
    let _ = crate::engine::visit::exprs_mut(statement, |expr| {
        if let Expr::CompoundIdentifier(parts) = expr {
            if let [qualifier, _] = parts.as_mut_slice() {
                if same(qualifier, &alias) {
                    *qualifier = table.clone();
                }
            }
        }
        ControlFlow::Continue(())
    });
    Ok(())
}
