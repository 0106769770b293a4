//! CHECK constraints' definitions, read from the objects table (one `ALTER TABLE … ADD
//! CONSTRAINT … CHECK (…)` each). The engine evaluates them over a statement's rows; the
//! store only keeps and reads them.

use {
    super::{MemoryStore, OBJECTS_TABLE},
    crate::sql_text,
    gluesql_core::sqlparser::ast::{AlterTableOperation, Expr, Statement, TableConstraint},
    std::sync::Arc,
};

/// One CHECK constraint of `table`: rows for which `expr` is FALSE are refused.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckDef {
    pub name: String,
    pub table: String,
    pub expr: Expr,
}

impl CheckDef {
    /// The statement stored as its definition (and written by export()).
    pub fn to_sql(&self) -> String {
        format!(
            "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({})",
            sql_text::ident(&self.table),
            sql_text::ident(&self.name),
            self.expr
        )
    }

    /// Reads a stored definition back: one ALTER TABLE of `table` adding the CHECK its object
    /// is named for (`table.constraint`).
    pub fn parse(object: &str, table: &str, definition: &str) -> Result<Self, String> {
        let refused = || {
            format!("check constraint {object}: its definition is not one ALTER TABLE {table} ADD CONSTRAINT … CHECK")
        };
        let statement = sql_text::parse_one(definition).map_err(|e| {
            format!("check constraint {object}: its definition does not parse: {e}")
        })?;
        let Statement::AlterTable {
            name, operations, ..
        } = statement
        else {
            return Err(refused());
        };
        let altered = name.0.last().map(|i| i.value.as_str()).unwrap_or_default();
        let mut operations = operations.into_iter();
        let (
            Some(AlterTableOperation::AddConstraint(TableConstraint::Check {
                name: Some(constraint),
                expr,
            })),
            None,
        ) = (operations.next(), operations.next())
        else {
            return Err(refused());
        };
        if altered != table || object != format!("{table}.{}", constraint.value) {
            return Err(refused());
        }
        Ok(CheckDef {
            name: constraint.value,
            table: table.to_owned(),
            expr: *expr,
        })
    }
}

impl MemoryStore {
    /// Every CHECK constraint, read from the objects table (see object_defs).
    pub fn checks(&self) -> Arc<Vec<CheckDef>> {
        self.check_defs.borrow_mut().get(
            self.tables.get(OBJECTS_TABLE),
            "check",
            |name, table, definition| CheckDef::parse(name, table, definition).ok(),
        )
    }

    pub fn has_checks(&self) -> bool {
        self.tables.contains_key(OBJECTS_TABLE) && !self.checks().is_empty()
    }
}
