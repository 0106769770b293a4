//! Views: CREATE VIEW / DROP VIEW kept as hidden objects, and every use of a view in FROM
//! replaced by its query as a derived table before GlueSQL sees the statement. Views are read-only.

use {
    super::{
        objects::{refuse_reserved, Object, ObjectKind},
        Engine, QueryOutput,
    },
    crate::error::{DbError, ErrorCode},
    gluesql_core::sqlparser::ast::{
        CreateTableOptions, Ident, ObjectName, Query, Statement, TableAlias, TableFactor,
        ViewColumnDef,
    },
    std::{collections::HashMap, ops::ControlFlow},
};

/// Expansions allowed in one statement: views over views are fine, a cycle is not.
const MAX_EXPANSIONS: usize = 256;

/// A view's columns (empty: those of its query) and query.
struct ViewDef {
    columns: Vec<Ident>,
    query: Query,
}

fn last_name(name: &ObjectName) -> String {
    name.0.last().map(|i| i.value.clone()).unwrap_or_default()
}

fn error(message: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Execute, message)
}

impl Engine {
    fn view_defs(&mut self) -> Result<HashMap<String, ViewDef>, DbError> {
        let mut defs = HashMap::new();
        for object in self.objects(ObjectKind::View) {
            let parsed = self.parse(&object.definition)?;
            if let Some(Statement::CreateView { columns, query, .. }) = parsed.first() {
                defs.insert(
                    object.name,
                    ViewDef {
                        columns: columns.iter().map(|c| c.name.clone()).collect(),
                        query: (**query).clone(),
                    },
                );
            }
        }
        Ok(defs)
    }

    pub(super) fn is_view(&self, name: &str) -> bool {
        self.has_objects() && self.object(ObjectKind::View, name).is_some()
    }

    /// Replaces each view named in FROM, anywhere in `statement`, by its query.
    pub(super) fn expand_views(&mut self, statement: &mut Statement) -> Result<(), DbError> {
        if !self.has_objects() {
            return Ok(());
        }
        let views = self.view_defs()?;
        if views.is_empty() {
            return Ok(());
        }
        let mut expander = Expander {
            views: &views,
            expansions: 0,
        };
        match super::visit::table_factors_mut(statement, |factor| expander.expand(factor)) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => Err(error(format!(
                "views refer to each other in a cycle, or nest more than {MAX_EXPANSIONS} deep"
            ))),
        }
    }

    pub(super) fn create_view(&mut self, statement: &Statement) -> Result<QueryOutput, DbError> {
        let Statement::CreateView {
            or_replace,
            name,
            columns,
            query,
            if_not_exists,
            materialized,
            temporary,
            ..
        } = statement
        else {
            return Err(error("not a CREATE VIEW statement"));
        };
        if *materialized || *temporary {
            return Err(DbError::new(
                ErrorCode::Plan,
                "materialized and temporary views are not supported",
            ));
        }
        let view = last_name(name);
        refuse_reserved(&view)?;
        if self.table_exists(&view) {
            return Err(error(format!("a table named {view} already exists")));
        }
        if self.is_view(&view) {
            if *if_not_exists {
                return Ok(QueryOutput::command("CREATE VIEW", 0));
            }
            if !*or_replace {
                return Err(error(format!("view {view} already exists")));
            }
        }
        // The query must plan now (its tables and columns exist), as it will every time it is used.
        let mut check = Statement::Query(query.clone());
        self.expand_views(&mut check)?;
        if let Some(missing) = self.missing_table(&check) {
            return Err(error(format!("table not found: {missing}")));
        }
        self.plan_only(&check)?;
        let definition = Statement::CreateView {
            or_replace: false,
            materialized: false,
            name: ObjectName(vec![Ident::with_quote('"', view.clone())]),
            columns: columns
                .iter()
                .map(|c| ViewColumnDef {
                    name: c.name.clone(),
                    data_type: None,
                    options: None,
                })
                .collect(),
            query: query.clone(),
            options: CreateTableOptions::None,
            cluster_by: Vec::new(),
            comment: None,
            with_no_schema_binding: false,
            if_not_exists: false,
            temporary: false,
            to: None,
        }
        .to_string();
        let replace = self.is_view(&view);
        self.atomically(|engine| {
            if replace {
                engine.delete_object(ObjectKind::View, &view)?;
            }
            engine.put_object(&Object {
                kind: ObjectKind::View,
                name: view.clone(),
                table: None,
                definition,
                columns: Vec::new(),
                unique: false,
            })
        })?;
        Ok(QueryOutput::command("CREATE VIEW", 0))
    }

    pub(super) fn drop_views(
        &mut self,
        names: &[ObjectName],
        if_exists: bool,
    ) -> Result<QueryOutput, DbError> {
        let names: Vec<String> = names.iter().map(last_name).collect();
        for name in &names {
            if !self.is_view(name) && !if_exists {
                return Err(error(if self.table_exists(name) {
                    format!("{name} is a table; use DROP TABLE")
                } else {
                    format!("view {name} does not exist")
                }));
            }
        }
        let mut dropped = 0;
        self.atomically(|engine| {
            for name in &names {
                if engine.is_view(name) {
                    engine.delete_object(ObjectKind::View, name)?;
                    dropped += 1;
                }
            }
            Ok(())
        })?;
        Ok(QueryOutput::command("DROP VIEW", dropped))
    }

    /// A table `statement` reads from that does not exist (views already expanded).
    pub(super) fn missing_table<N: gluesql_core::sqlparser::ast::Visit + ?Sized>(
        &self,
        statement: &N,
    ) -> Option<String> {
        let mut missing = None;
        let _ = super::visit::relations(statement, |name| {
            let table = last_name(name);
            let dictionary = table.to_uppercase().starts_with("GLUE_")
                || table.eq_ignore_ascii_case("SERIES")
                || super::recursive::is_self_reference(&table);
            if !dictionary && !self.table_exists(&table) {
                missing = Some(table);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        missing
    }

    pub(super) fn table_exists(&self, name: &str) -> bool {
        self.glue.storage.table_exists(name)
    }

    /// Refuses writes to a view or to idbsql's own tables, a table or view named like an existing
    /// view or table, and a column assigned twice by one UPDATE.
    pub(super) fn check_statement(&self, statement: &Statement) -> Result<(), DbError> {
        let target = match statement {
            Statement::Insert(insert) => Some(last_name(&insert.table_name)),
            Statement::Update {
                table, assignments, ..
            } => {
                // SQLite keeps the last of `SET x = 1, x = 2`, GlueSQL the first; PostgreSQL
                // refuses it, and so do we rather than pick one silently.
                let mut seen = std::collections::HashSet::new();
                for assignment in assignments {
                    let column = assignment.target.to_string();
                    if !seen.insert(column.clone()) {
                        return Err(DbError::new(
                            ErrorCode::Plan,
                            format!("column {column} is assigned more than once"),
                        ));
                    }
                }
                match &table.relation {
                    TableFactor::Table { name, .. } => Some(last_name(name)),
                    _ => None,
                }
            }
            Statement::Delete(delete) => match &delete.from {
                gluesql_core::sqlparser::ast::FromTable::WithFromKeyword(tables)
                | gluesql_core::sqlparser::ast::FromTable::WithoutKeyword(tables) => {
                    tables.first().and_then(|t| match &t.relation {
                        TableFactor::Table { name, .. } => Some(last_name(name)),
                        _ => None,
                    })
                }
            },
            Statement::CreateTable(create) => {
                let name = last_name(&create.name);
                refuse_reserved(&name)?;
                if self.is_view(&name) {
                    return Err(error(format!("a view named {name} already exists")));
                }
                None
            }
            Statement::Drop {
                object_type: gluesql_core::sqlparser::ast::ObjectType::Table,
                names,
                ..
            } => {
                for name in names.iter().map(last_name) {
                    refuse_reserved(&name)?;
                    if self.is_view(&name) {
                        return Err(error(format!("{name} is a view; use DROP VIEW")));
                    }
                }
                None
            }
            Statement::AlterTable { name, .. } => Some(last_name(name)),
            _ => None,
        };
        if let Some(target) = target {
            refuse_reserved(&target)?;
            if self.is_view(&target) {
                return Err(error(format!("view {target} is read-only")));
            }
        }
        Ok(())
    }
}

struct Expander<'a> {
    views: &'a HashMap<String, ViewDef>,
    expansions: usize,
}

impl Expander<'_> {
    /// Replaces `factor` by the query of the view it names (its own FROM is walked next).
    fn expand(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        if name.0.len() != 1 {
            return ControlFlow::Continue(());
        }
        let Some(view) = self.views.get(&name.0[0].value) else {
            return ControlFlow::Continue(());
        };
        self.expansions += 1;
        if self.expansions > MAX_EXPANSIONS {
            return ControlFlow::Break(());
        }
        let alias = match alias.take() {
            Some(alias) if !alias.columns.is_empty() => alias,
            Some(alias) => TableAlias {
                name: alias.name,
                columns: view.columns.clone(),
            },
            None => TableAlias {
                name: name.0[0].clone(),
                columns: view.columns.clone(),
            },
        };
        *factor = TableFactor::Derived {
            lateral: false,
            subquery: Box::new(view.query.clone()),
            alias: Some(alias),
        };
        ControlFlow::Continue(())
    }
}
