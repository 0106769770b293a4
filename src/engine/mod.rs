//! The SQL engine: GlueSQL's Glue over our store, a cache of parsed statements, parameter
//! binding, statement-level atomicity, and results as plain rows. Synchronous; no I/O.

mod params;
mod result;

pub use {
    params::{bind_params, inline_text_params},
    result::{output_of, QueryOutput},
};

use {
    crate::{
        error::{DbError, ErrorCode},
        store::MemoryStore,
    },
    gluesql_core::{
        data::Value,
        parse_sql::parse,
        prelude::Glue,
        sqlparser::ast::Statement as SqlStatement,
        store::{Planner, Transaction},
        translate::translate_with_params,
    },
    std::{collections::HashMap, rc::Rc},
};

/// Parsed SQL texts kept for reuse; point queries spend most of their time parsing otherwise.
const STATEMENT_CACHE_CAPACITY: usize = 512;

pub struct Engine {
    glue: Glue<MemoryStore>,
    parsed: HashMap<String, Rc<Vec<SqlStatement>>>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(MemoryStore::new())
    }
}

impl Engine {
    pub fn new(store: MemoryStore) -> Self {
        Self {
            glue: Glue::new(store),
            parsed: HashMap::new(),
        }
    }

    pub fn store(&self) -> &MemoryStore {
        &self.glue.storage
    }

    pub fn store_mut(&mut self) -> &mut MemoryStore {
        &mut self.glue.storage
    }

    /// Splits and parses SQL text into statements, reusing an earlier parse of the same text.
    pub fn parse(&mut self, sql: &str) -> Result<Rc<Vec<SqlStatement>>, DbError> {
        if let Some(statements) = self.parsed.get(sql) {
            return Ok(Rc::clone(statements));
        }
        let statements = Rc::new(parse(sql).map_err(DbError::from)?);
        if self.parsed.len() >= STATEMENT_CACHE_CAPACITY {
            self.parsed.clear();
        }
        self.parsed.insert(sql.to_owned(), Rc::clone(&statements));
        Ok(statements)
    }

    /// Runs one parsed statement. If it fails, it changes nothing: autocommit statements are
    /// rolled back by GlueSQL, and inside an explicit transaction we roll back to before it.
    pub fn execute(
        &mut self,
        statement: &SqlStatement,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let inlined = inline_text_params(statement, params);
        let statement = inlined.as_ref().unwrap_or(statement);
        let params = bind_params(params)?;
        let savepoint = self.glue.storage.savepoint();
        let result = translate_with_params(statement, &params)
            .and_then(|translated| self.glue.storage.plan(translated.into()))
            .and_then(|plan| self.glue.execute_stmt(&plan));
        match result {
            Ok(payload) => Ok(output_of(payload)),
            Err(error) => {
                if let Some(savepoint) = savepoint {
                    self.glue.storage.rollback_to(savepoint);
                }
                Err(DbError::from(error))
            }
        }
    }

    /// Parses and runs exactly one statement.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<QueryOutput, DbError> {
        let statements = self.parse(sql)?;
        match statements.as_slice() {
            [statement] => self.execute(statement, params),
            [] => Err(DbError::new(ErrorCode::Parse, "no SQL statement given")),
            _ => Err(DbError::new(
                ErrorCode::MultipleStatements,
                format!(
                    "query() takes one statement, got {}; use exec() for several",
                    statements.len()
                ),
            )),
        }
    }

    pub fn in_transaction(&self) -> bool {
        self.glue.storage.in_explicit_transaction()
    }

    /// Abandons an open explicit transaction (e.g. when the connection closes).
    pub fn rollback_open_transaction(&mut self) {
        let _ = self.glue.storage.rollback();
    }
}

#[cfg(test)]
mod tests;
