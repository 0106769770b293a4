//! SAVEPOINT, RELEASE [SAVEPOINT] and ROLLBACK TO [SAVEPOINT], run on the store's undo log.
//! Names follow PostgreSQL (unquoted ones fold to lower case); GlueSQL never sees these statements.

use {
    super::{Engine, QueryOutput},
    crate::{
        error::{DbError, ErrorCode},
        store::SavepointError,
    },
    gluesql_core::sqlparser::ast::{Ident, Statement},
};

/// Whether `statement` is one this module runs.
pub fn is_savepoint_statement(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. }
            | Statement::Rollback {
                savepoint: Some(_),
                ..
            }
    )
}

fn folded(name: &Ident) -> String {
    match name.quote_style {
        Some(_) => name.value.clone(),
        None => name.value.to_lowercase(),
    }
}

impl From<SavepointError> for DbError {
    fn from(error: SavepointError) -> Self {
        DbError::new(ErrorCode::Execute, error.to_string())
    }
}

impl Engine {
    pub(super) fn run_savepoint_statement(
        &mut self,
        statement: &Statement,
    ) -> Result<QueryOutput, DbError> {
        let store = self.store_mut();
        match statement {
            Statement::Savepoint { name } => {
                store.create_savepoint(folded(name))?;
                Ok(QueryOutput::command("SAVEPOINT", 0))
            }
            Statement::ReleaseSavepoint { name } => {
                store.release_savepoint(&folded(name))?;
                Ok(QueryOutput::command("RELEASE", 0))
            }
            Statement::Rollback {
                savepoint: Some(name),
                chain: false,
            } => {
                store.rollback_to_savepoint(&folded(name))?;
                Ok(QueryOutput::command("ROLLBACK", 0))
            }
            _ => Err(DbError::new(
                ErrorCode::Plan,
                format!("not supported: {statement}"),
            )),
        }
    }
}
