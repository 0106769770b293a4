//! CHECK constraints as SQL declares them — a column's `CHECK (…)`, a table's `[CONSTRAINT n]
//! CHECK (…)`, `ALTER TABLE … ADD / DROP CONSTRAINT` — kept as objects, and evaluated over the
//! rows each write statement leaves (store/checks.rs keeps the definitions).

use {
    super::{
        constraints::take_column_constraints,
        names::{alter_touches, altered_table, column_position, same_name},
        returning::select_over_scratch,
        visit, Engine, Object, ObjectKind, QueryOutput,
    },
    crate::{
        error::{DbError, ErrorCode},
        store::{CheckDef, Written},
    },
    gluesql_core::{
        data::Value,
        sqlparser::ast::{
            AlterTableOperation, ColumnOption, Expr, Ident, ObjectType, Statement, TableConstraint,
        },
    },
    std::ops::ControlFlow,
};

fn plan_error(message: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Plan, message)
}

/// Whether a CREATE TABLE declares a CHECK (a column's or the table's).
pub fn declares_checks(statement: &Statement) -> bool {
    let Statement::CreateTable(create) = statement else {
        return false;
    };
    create
        .constraints
        .iter()
        .any(|c| matches!(c, TableConstraint::Check { .. }))
        || create.columns.iter().any(|column| {
            column
                .options
                .iter()
                .any(|o| matches!(o.option, ColumnOption::Check(_)))
        })
}

/// Whether an ALTER TABLE adds a CHECK.
pub fn adds_check(statement: &Statement) -> bool {
    altered_table(statement).is_some_and(|(_, operations)| {
        operations.iter().any(|operation| {
            matches!(
                operation,
                AlterTableOperation::AddConstraint(TableConstraint::Check { .. })
            )
        })
    })
}

/// The column names an expression reads (unqualified or by their last part).
fn columns_read(expr: &Expr) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let _ = visit::exprs(expr, |e| {
        let name = match e {
            Expr::Identifier(ident) => Some(&ident.value),
            Expr::CompoundIdentifier(parts) => parts.last().map(|i| &i.value),
            _ => None,
        };
        if let Some(name) = name {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        ControlFlow::Continue(())
    });
    names
}

/// The object name of a CHECK: constraint names are per table, as in PostgreSQL.
fn object_name(table: &str, constraint: &str) -> String {
    format!("{table}.{constraint}")
}

impl Engine {
    /// CREATE TABLE with its CHECKs taken out and stored as objects after it, in one
    /// transaction.
    pub(super) fn create_table_with_checks(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let Statement::CreateTable(create) = statement else {
            return Err(plan_error("internal: not a CREATE TABLE"));
        };
        let mut create = create.clone();
        let mut checks: Vec<(Option<Ident>, Expr)> = Vec::new();
        for column in &mut create.columns {
            for constraint in
                take_column_constraints(column, |o| matches!(o, ColumnOption::Check(_)))
            {
                if let TableConstraint::Check { name, expr } = constraint {
                    checks.push((name, *expr));
                }
            }
        }
        create.constraints.retain(|constraint| match constraint {
            TableConstraint::Check { name, expr } => {
                checks.push((name.clone(), (**expr).clone()));
                false
            }
            _ => true,
        });
        self.create_table_then(create, params, |engine, table| {
            for (name, expr) in checks {
                engine.add_check(table, name, expr, false)?;
            }
            Ok(())
        })
    }

    /// ALTER TABLE … ADD [CONSTRAINT n] CHECK (…): the rows there already are checked first.
    pub(super) fn alter_add_check(
        &mut self,
        statement: &Statement,
    ) -> Result<QueryOutput, DbError> {
        let Some((
            table,
            [AlterTableOperation::AddConstraint(TableConstraint::Check { name, expr })],
        )) = altered_table(statement)
        else {
            return Err(plan_error(
                "ALTER TABLE adding a CHECK constraint takes that one operation",
            ));
        };
        let table = table.to_owned();
        if !self.table_exists(&table) {
            return Err(plan_error(format!("table {table} does not exist")));
        }
        let (name, expr) = (name.clone(), (**expr).clone());
        self.atomically(|engine| engine.add_check(&table, name, expr, true))?;
        Ok(QueryOutput::command("ALTER TABLE", 0))
    }

    /// Checks a CHECK's expression against `table` and stores it.
    fn add_check(
        &mut self,
        table: &str,
        name: Option<Ident>,
        expr: Expr,
        check_rows: bool,
    ) -> Result<(), DbError> {
        let mut refused = None;
        let _ = visit::exprs(&expr, |e| {
            if matches!(
                e,
                Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }
            ) {
                refused = Some("cannot use subquery in check constraint");
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        if let Some(reason) = refused {
            return Err(plan_error(reason));
        }
        let columns: Vec<String> = self
            .store()
            .table(table)
            .and_then(|t| t.schema.column_defs.as_ref())
            .map(|defs| defs.iter().map(|d| d.name.clone()).collect())
            .ok_or_else(|| {
                plan_error(format!(
                    "a CHECK constraint needs table {table} to have columns (it is schemaless)"
                ))
            })?;
        let read = columns_read(&expr);
        for name in &read {
            if column_position(&columns, name).is_none() {
                return Err(plan_error(format!(
                    "CHECK constraint of {table} reads column {name}, which the table does not have"
                )));
            }
        }
        let name = match name {
            Some(name) => name.value,
            None => self.free_check_name(table, &read),
        };
        if self
            .object(ObjectKind::Check, &object_name(table, &name))
            .is_some()
        {
            return Err(DbError::new(
                ErrorCode::Execute,
                format!("constraint \"{name}\" for relation \"{table}\" already exists"),
            ));
        }
        let def = CheckDef {
            name: name.clone(),
            table: table.to_owned(),
            expr,
        };
        // Runs it over no rows, or over every row for ADD CONSTRAINT: an expression that
        // cannot be evaluated (an aggregate, an unknown function) is refused now.
        let rows = if check_rows {
            self.store()
                .table(table)
                .map(|t| t.rows.values().cloned().collect())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        self.check_rows(&def, rows)?;
        self.put_object(&Object {
            kind: ObjectKind::Check,
            name: object_name(table, &name),
            table: Some(table.to_owned()),
            definition: def.to_sql(),
            columns: read,
            unique: false,
        })
    }

    /// PostgreSQL's name for an unnamed CHECK: `t_c_check` when it reads one column `c`, else
    /// `t_check`; a number added while the name is taken.
    fn free_check_name(&self, table: &str, read: &[String]) -> String {
        let base = match read {
            [column] => format!("{table}_{column}_check"),
            _ => format!("{table}_check"),
        };
        let taken = |name: &str| {
            self.object(ObjectKind::Check, &object_name(table, name))
                .is_some()
        };
        if !taken(&base) {
            return base;
        }
        (1..)
            .map(|n| format!("{base}{n}"))
            .find(|name| !taken(name))
            .unwrap_or(base)
    }

    /// Refuses the first of `rows` for which `def`'s expression is FALSE (NULL passes).
    fn check_rows(&mut self, def: &CheckDef, rows: Vec<Vec<Value>>) -> Result<(), DbError> {
        let Some(schema) = self.store().table(&def.table).map(|t| t.schema.clone()) else {
            return Ok(());
        };
        let sql = format!(
            "SELECT 1 FROM {} WHERE NOT ({}) LIMIT 1",
            crate::sql_text::ident(&def.table),
            def.expr
        );
        let statements = self.parse(&sql)?;
        let [query] = statements.as_slice() else {
            return Err(plan_error("internal: a CHECK's query is not one statement"));
        };
        let found = select_over_scratch(query, schema, rows, &[]).map_err(|error| {
            plan_error(format!(
                "CHECK constraint \"{}\" of {} cannot be evaluated: {}",
                def.name, def.table, error.message
            ))
        })?;
        if found.rows.is_empty() {
            Ok(())
        } else {
            Err(DbError::new(
                ErrorCode::Constraint,
                format!(
                    "new row for relation \"{}\" violates check constraint \"{}\"",
                    def.table, def.name
                ),
            ))
        }
    }

    /// Every CHECK of every table written since `since`, over the rows written there.
    pub(super) fn enforce_checks(
        &mut self,
        since: &crate::store::Savepoint,
    ) -> Result<(), DbError> {
        let checks = self.store().checks();
        for def in checks.iter() {
            let rows =
                self.glue
                    .storage
                    .rows_written_since(since, &def.table, Written::New, |row| row.to_vec());
            if !rows.is_empty() {
                self.check_rows(def, rows)?;
            }
        }
        Ok(())
    }

    /// Drops the CHECK `constraint` of `table`; whether there was one.
    pub(super) fn drop_check(&mut self, table: &str, constraint: &str) -> Result<bool, DbError> {
        let found = self
            .store()
            .checks()
            .iter()
            .find(|def| def.table == table && same_name(&def.name, constraint))
            .map(|def| object_name(table, &def.name));
        match found {
            Some(id) => self.delete_object(ObjectKind::Check, &id).map(|()| true),
            None => Ok(false),
        }
    }

    /// A dropped table's CHECKs go with it.
    pub(super) fn drop_checks_of(&mut self, statement: &Statement) -> Result<(), DbError> {
        let Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } = statement
        else {
            return Ok(());
        };
        let checks = self.store().checks();
        for def in checks.iter() {
            let dropped = names
                .iter()
                .filter_map(|n| n.0.last())
                .any(|t| same_name(&t.value, &def.table));
            if dropped {
                self.delete_object(ObjectKind::Check, &object_name(&def.table, &def.name))?;
            }
        }
        Ok(())
    }

    /// ALTER TABLE that renames the table or renames, drops or retypes a column a CHECK reads:
    /// refused, naming the constraint.
    pub(super) fn refuse_alter_of_checks(&self, statement: &Statement) -> Result<(), DbError> {
        let Some((table, operations)) = altered_table(statement) else {
            return Ok(());
        };
        if !self.glue.storage.has_checks() {
            return Ok(());
        }
        for def in self.store().checks().iter() {
            if !same_name(&def.table, table) {
                continue;
            }
            let read = columns_read(&def.expr);
            let names = |column: &Ident| read.iter().any(|c| same_name(c, &column.value));
            if alter_touches(operations, names, true, false) {
                return Err(DbError::new(
                    ErrorCode::Execute,
                    format!(
                        "ALTER TABLE {table} is refused: CHECK constraint {} reads what it changes; drop the constraint first",
                        def.name
                    ),
                ));
            }
        }
        Ok(())
    }
}
