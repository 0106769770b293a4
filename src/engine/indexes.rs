//! Index statements GlueSQL 0.20 refuses: `CREATE UNIQUE INDEX`, indexes on several columns,
//! on expressions with function calls, partial ones (`WHERE`), `IF NOT EXISTS`, and SQLite's
//! `DROP INDEX name` without its table. The schema keeps an index of the first column or the
//! expression (a partial one as index_expr.rs shapes it), which the planner uses; the full
//! definition is a hidden object, and the store enforces UNIQUE from it.

use {
    super::{
        names::{alter_touches, altered_table, same_name},
        objects::{Object, ObjectKind},
        Engine, QueryOutput,
    },
    crate::{
        error::{DbError, ErrorCode},
        store::index_expr,
    },
    gluesql_core::{
        sqlparser::ast::{CreateIndex, Expr, Ident, ObjectName, ObjectType, Statement},
        store::Store,
    },
};

fn error(code: ErrorCode, message: impl Into<String>) -> DbError {
    DbError::new(code, message)
}

/// PostgreSQL's rule for index expressions and predicates (our passes would run it once).
fn refuse_subquery(expr: &Expr, what: &str) -> Result<(), DbError> {
    let mut subquery = false;
    let _ = super::visit::exprs(expr, |e| {
        subquery |= matches!(
            e,
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }
        );
        std::ops::ControlFlow::Continue(())
    });
    if subquery {
        return Err(error(
            ErrorCode::Plan,
            format!("cannot use subquery in {what}"),
        ));
    }
    Ok(())
}

/// The column names a stored `CREATE INDEX`'s expressions and predicate read.
fn read_by_definition(definition: &str) -> Vec<String> {
    let Ok(Statement::CreateIndex(create)) = crate::sql_text::parse_one(definition) else {
        return Vec::new();
    };
    let mut read = Vec::new();
    for expr in create
        .columns
        .iter()
        .map(|column| &column.expr)
        .chain(create.predicate.as_ref())
    {
        let _ = super::visit::exprs(expr, |e| {
            match e {
                Expr::Identifier(ident) => read.push(ident.value.clone()),
                Expr::CompoundIdentifier(idents) => {
                    read.extend(idents.last().map(|i| i.value.clone()))
                }
                _ => {}
            }
            std::ops::ControlFlow::Continue(())
        });
    }
    read
}

fn object_name(table: &str, index: &str) -> String {
    format!("{table}.{index}")
}

impl Engine {
    pub(super) fn index_exists(&self, table: &str, index: &str) -> bool {
        matches!(
            self.glue.storage.fetch_schema(table),
            Ok(Some(schema)) if schema.indexes.iter().any(|i| i.name == index)
        )
    }

    /// CREATE INDEX with what GlueSQL lacks; a plain one-column index goes straight to it.
    pub(super) fn create_index(
        &mut self,
        create: &CreateIndex,
        params: &[gluesql_core::data::Value],
    ) -> Result<QueryOutput, DbError> {
        // `USING btree` (drizzle-kit writes it on every index) is what every index here is;
        // `hash` answers the same lookups. Other methods (gin, gist, …) index what ours cannot.
        let without_method;
        let create = match &create.using {
            None => create,
            Some(method)
                if ["btree", "hash"]
                    .iter()
                    .any(|m| method.value.eq_ignore_ascii_case(m)) =>
            {
                without_method = CreateIndex {
                    using: None,
                    ..create.clone()
                };
                &without_method
            }
            Some(method) => {
                return Err(error(
                    ErrorCode::Plan,
                    format!(
                    "index method {method} is not supported: idbsql's indexes are ordered (btree)"
                ),
                ))
            }
        };
        let table = create
            .table_name
            .0
            .last()
            .map(|i| i.value.clone())
            .unwrap_or_default();
        let name = create
            .name
            .as_ref()
            .and_then(|n| n.0.last())
            .map(|i| i.value.clone());
        if let (true, Some(name)) = (create.if_not_exists, &name) {
            if self.index_exists(&table, name) {
                return Ok(QueryOutput::command("CREATE INDEX", 0));
            }
        }
        let plain = CreateIndex {
            unique: false,
            if_not_exists: false,
            columns: create.columns.iter().take(1).cloned().collect(),
            predicate: None,
            ..create.clone()
        };
        if let Some(predicate) = &create.predicate {
            self.check_index_predicate(&table, predicate)?;
        }
        let Some(first) = create.columns.first() else {
            return Err(error(
                ErrorCode::Plan,
                "an index needs a column or an expression",
            ));
        };
        let on_column = matches!(first.expr, Expr::Identifier(_));
        if !create.unique && create.columns.len() == 1 && create.predicate.is_none() && on_column {
            return self.run(&Statement::CreateIndex(plain), params);
        }
        let Some(name) = name else {
            return Err(error(ErrorCode::Plan, "an index needs a name"));
        };
        if !on_column && (create.unique || create.columns.len() > 1) {
            return Err(error(
                ErrorCode::Plan,
                format!(
                    "UNIQUE and multi-column indexes take column names, not expressions: {}",
                    first.expr
                ),
            ));
        }
        // An expression or a predicate: GlueSQL's CREATE INDEX takes neither, so the schema's
        // index is written here, in the shape index_expr.rs reads.
        let schema_index = if on_column && create.predicate.is_none() {
            None
        } else {
            Some(self.index_expression(&table, first, create.predicate.as_ref())?)
        };
        let columns = create
            .columns
            .iter()
            .filter_map(|column| match &column.expr {
                Expr::Identifier(ident) => Some(ident.value.clone()),
                _ => None,
            })
            .collect::<Vec<_>>();
        let definition = Statement::CreateIndex(CreateIndex {
            if_not_exists: false,
            ..create.clone()
        })
        .to_string();
        self.atomically(|engine| {
            match &schema_index {
                Some(_) => engine.add_schema_index(&table, &name, schema_index.clone())?,
                None => {
                    engine.run(&Statement::CreateIndex(plain), params)?;
                }
            }
            engine.put_object(&Object {
                kind: ObjectKind::Index,
                name: object_name(&table, &name),
                table: Some(table.clone()),
                definition,
                columns,
                unique: create.unique,
            })?;
            // Rows already there must be unique too.
            engine
                .glue
                .storage
                .verify_unique(&table)
                .map_err(DbError::from)
        })?;
        Ok(QueryOutput::command("CREATE INDEX", 0))
    }

    /// The schema expression of an index on `column` (an expression of the table's columns),
    /// partial when `predicate` is given: translated as GlueSQL reads it, and checked as every
    /// replica checks a schema it receives (index_expr.rs).
    fn index_expression(
        &mut self,
        table: &str,
        column: &gluesql_core::sqlparser::ast::OrderByExpr,
        predicate: Option<&Expr>,
    ) -> Result<gluesql_core::ast::OrderByExpr, DbError> {
        refuse_subquery(&column.expr, "index expression")?;
        // As a statement's WHERE reaches GlueSQL (typed by our passes, guarded), so that the
        // planner finds the index expression in it.
        let value = match self.lowered_where(table, &format!("({}) IS NULL", column.expr))? {
            gluesql_core::ast::Expr::IsNull(inner) => *inner,
            other => other,
        };
        // `((a + 1))`: the planner matches the expression itself, not its parentheses.
        let mut value = value;
        while let gluesql_core::ast::Expr::Nested(inner) = value {
            value = *inner;
        }
        let expr = match predicate {
            Some(predicate) => {
                index_expr::partial(value, self.lowered_where(table, &predicate.to_string())?)
            }
            None => value,
        };
        let columns: Vec<String> = self
            .glue
            .storage
            .fetch_schema(table)
            .ok()
            .flatten()
            .ok_or_else(|| error(ErrorCode::Execute, format!("table {table} does not exist")))?
            .column_defs
            .unwrap_or_default()
            .into_iter()
            .map(|def| def.name)
            .collect();
        index_expr::check(&expr, &columns).map_err(|e| error(ErrorCode::Plan, e))?;
        Ok(gluesql_core::ast::OrderByExpr {
            expr,
            asc: column.asc,
        })
    }

    /// `condition` as the WHERE of a SELECT of `table` reaches GlueSQL.
    fn lowered_where(
        &mut self,
        table: &str,
        condition: &str,
    ) -> Result<gluesql_core::ast::Expr, DbError> {
        let sql = format!(
            "SELECT 1 FROM {} WHERE {condition}",
            crate::sql_text::ident(table)
        );
        let statements = self.parse(&sql)?;
        let [select] = statements.as_slice() else {
            return Err(error(
                ErrorCode::Plan,
                "an index expression is one expression",
            ));
        };
        let super::Lowered::Ready(statement, params) = self.lower(select, &[])? else {
            return Err(error(
                ErrorCode::Plan,
                format!("unsupported index expression {condition}"),
            ));
        };
        let translated = super::translate_guarded(&self.glue.storage, &statement, &params)?;
        match translated {
            gluesql_core::ast::Statement::Query(gluesql_core::ast::Query {
                body: gluesql_core::ast::SetExpr::Select(select),
                ..
            }) => select.selection.ok_or_else(|| {
                error(
                    ErrorCode::Plan,
                    format!("unsupported index expression {condition}"),
                )
            }),
            _ => Err(error(
                ErrorCode::Plan,
                format!("unsupported index expression {condition}"),
            )),
        }
    }

    /// Adds an index the schema holds whole (built at once: a row its expression fails on
    /// fails the statement).
    fn add_schema_index(
        &mut self,
        table: &str,
        name: &str,
        index: Option<gluesql_core::ast::OrderByExpr>,
    ) -> Result<(), DbError> {
        let Some(index) = index else {
            return Ok(());
        };
        if self.index_exists(table, name) {
            return Err(error(
                ErrorCode::Execute,
                format!("index {name} already exists"),
            ));
        }
        gluesql_core::store::IndexMut::create_index(&mut self.glue.storage, table, name, &index)
            .map_err(DbError::from)
    }

    /// A partial index's `WHERE`: a condition on the table's own columns, with no subquery
    /// (PostgreSQL's rule), that plans as a filter of the table.
    fn check_index_predicate(&mut self, table: &str, predicate: &Expr) -> Result<(), DbError> {
        refuse_subquery(predicate, "index predicate")?;
        let sql = format!(
            "SELECT 1 FROM {} WHERE {predicate}",
            crate::sql_text::ident(table)
        );
        let statements = self.parse(&sql)?;
        match statements.as_slice() {
            [select] => self.plan_only(select),
            _ => Err(error(
                ErrorCode::Plan,
                "an index predicate is one expression",
            )),
        }
    }

    /// DROP INDEX `table.name`, or SQLite's `DROP INDEX name` when one table has it.
    pub(super) fn drop_index(
        &mut self,
        names: &[ObjectName],
        if_exists: bool,
        params: &[gluesql_core::data::Value],
    ) -> Result<QueryOutput, DbError> {
        let [name] = names else {
            return Err(error(ErrorCode::Plan, "DROP INDEX takes one index"));
        };
        let (table, index) = match name.0.as_slice() {
            [table, index] => (table.value.clone(), index.value.clone()),
            [index] => {
                let holders: Vec<String> = self
                    .glue
                    .storage
                    .tables()
                    .filter(|t| t.schema.indexes.iter().any(|i| i.name == index.value))
                    .map(|t| t.schema.table_name.clone())
                    .collect();
                match holders.as_slice() {
                    [table] => (table.clone(), index.value.clone()),
                    [] if if_exists => return Ok(QueryOutput::command("DROP INDEX", 0)),
                    [] => {
                        return Err(error(
                            ErrorCode::Execute,
                            format!("index {} does not exist", index.value),
                        ))
                    }
                    _ => {
                        return Err(error(
                            ErrorCode::Plan,
                            format!(
                            "index {} exists on several tables ({}); write DROP INDEX table.index",
                            index.value,
                            holders.join(", ")
                        ),
                        ))
                    }
                }
            }
            _ => {
                return Err(error(
                    ErrorCode::Plan,
                    "DROP INDEX takes table.index or index",
                ))
            }
        };
        if if_exists && !self.index_exists(&table, &index) {
            return Ok(QueryOutput::command("DROP INDEX", 0));
        }
        let statement = Statement::Drop {
            object_type: ObjectType::Index,
            if_exists: false,
            names: vec![ObjectName(vec![Ident::new(&table), Ident::new(&index)])],
            cascade: false,
            restrict: false,
            purge: false,
            temporary: false,
        };
        self.atomically(|engine| {
            let output = engine.run(&statement, params)?;
            engine.delete_object(ObjectKind::Index, &object_name(&table, &index))?;
            Ok(output)
        })
    }

    /// DROP TABLE, and the index and sequence objects of the tables it drops.
    pub(super) fn drop_tables(
        &mut self,
        statement: &Statement,
        params: &[gluesql_core::data::Value],
    ) -> Result<QueryOutput, DbError> {
        if !self.has_objects() {
            return self.run(statement, params);
        }
        self.atomically(|engine| {
            engine.drop_foreign_keys_of(statement)?;
            engine.drop_checks_of(statement)?;
            let output = engine.run(statement, params)?;
            for kind in [ObjectKind::Index, ObjectKind::Sequence] {
                let stale: Vec<String> = engine
                    .objects(kind)
                    .into_iter()
                    .filter(|o| o.table.as_deref().is_some_and(|t| !engine.table_exists(t)))
                    .map(|o| o.name)
                    .collect();
                for name in stale {
                    engine.delete_object(kind, &name)?;
                }
            }
            Ok(output)
        })
    }

    /// ALTER TABLE on a table with a UNIQUE or multi-column index, where it would leave the
    /// index's definition naming a column that is gone or renamed (or a table renamed): such a
    /// table is altered after dropping the index. Adding a column, or dropping or renaming one
    /// no such index names, goes ahead.
    pub(super) fn refuse_alter_with_objects(&self, statement: &Statement) -> Result<(), DbError> {
        let Some((table, operations)) = altered_table(statement) else {
            return Ok(());
        };
        if !self.has_objects() {
            return Ok(());
        }
        for index in self
            .objects(ObjectKind::Index)
            .into_iter()
            .filter(|o| o.table.as_deref() == Some(table))
        {
            // Its columns, and those its expression or predicate reads.
            let read = read_by_definition(&index.definition);
            let names = |column: &Ident| {
                index
                    .columns
                    .iter()
                    .chain(&read)
                    .any(|c| same_name(c, &column.value))
            };
            if alter_touches(operations, names, true, true) {
                return Err(error(
                    ErrorCode::Execute,
                    format!(
                        "ALTER TABLE {table} is refused while index {} (UNIQUE, multi-column, partial or on an expression) exists on the columns it changes; drop it first",
                        index.name
                    ),
                ));
            }
        }
        Ok(())
    }
}
