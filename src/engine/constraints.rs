//! Table constraints as migration tools write them, in forms GlueSQL 0.20 runs: `[CONSTRAINT n]
//! UNIQUE (a, …)` in CREATE TABLE or `ALTER TABLE … ADD` becomes the UNIQUE index n (indexes.rs
//! keeps and enforces it), a one-column `PRIMARY KEY (a)` the column's own option (over several
//! columns: those NOT NULL and a UNIQUE index over them), and `ALTER TABLE … DROP CONSTRAINT n`
//! drops such an index. Enforces nothing itself.

use {
    super::{
        names::{altered_table, created_table, same_name},
        parse_sql, Engine, QueryOutput,
    },
    crate::error::{DbError, ErrorCode},
    gluesql_core::{
        data::Value,
        sqlparser::ast::{
            AlterTableOperation, ColumnOption, ColumnOptionDef, CreateIndex, Ident, ObjectName,
            Statement, TableConstraint,
        },
    },
};

fn plan_error(message: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Plan, message)
}

/// Whether a CREATE TABLE declares a UNIQUE or PRIMARY KEY table constraint.
pub fn declares_constraints(statement: &Statement) -> bool {
    let Statement::CreateTable(create) = statement else {
        return false;
    };
    create.constraints.iter().any(|c| {
        matches!(
            c,
            TableConstraint::Unique { .. } | TableConstraint::PrimaryKey { .. }
        )
    })
}

/// Whether an ALTER TABLE adds a UNIQUE or PRIMARY KEY constraint or drops a constraint.
pub fn alters_constraints(statement: &Statement) -> bool {
    let Statement::AlterTable { operations, .. } = statement else {
        return false;
    };
    operations.iter().any(|operation| {
        matches!(
            operation,
            AlterTableOperation::AddConstraint(
                TableConstraint::Unique { .. } | TableConstraint::PrimaryKey { .. }
            ) | AlterTableOperation::DropConstraint { .. }
        )
    })
}

/// PostgreSQL's name for an unnamed UNIQUE constraint: `table_a_b_key`.
fn unique_name(table: &str, name: Option<&Ident>, columns: &[Ident]) -> String {
    name.map(|n| n.value.clone()).unwrap_or_else(|| {
        let columns: Vec<&str> = columns.iter().map(|c| c.value.as_str()).collect();
        format!("{table}_{}_key", columns.join("_"))
    })
}

/// `CREATE UNIQUE INDEX name ON table (columns)`, as indexes.rs takes it.
fn unique_index(table: &str, name: &str, columns: &[Ident]) -> Result<CreateIndex, DbError> {
    let quoted = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    let columns: Vec<String> = columns.iter().map(|c| quoted(&c.value)).collect();
    let sql = format!(
        "CREATE UNIQUE INDEX {} ON {} ({})",
        quoted(name),
        quoted(table),
        columns.join(", ")
    );
    match parse_sql(&sql)?.pop() {
        Some(Statement::CreateIndex(create)) => Ok(create),
        _ => Err(plan_error(
            "internal: a UNIQUE constraint's index did not parse",
        )),
    }
}

impl Engine {
    /// CREATE TABLE with its UNIQUE constraints as indexes and a one-column PRIMARY KEY
    /// constraint on its column, all in one transaction; the rest (SERIAL columns, foreign
    /// keys) as any CREATE TABLE runs.
    pub(super) fn create_table_with_constraints(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let Statement::CreateTable(create) = statement else {
            return Err(plan_error("internal: not a CREATE TABLE"));
        };
        let mut create = create.clone();
        let table = created_table(&create);
        let mut uniques = Vec::new();
        let mut kept = Vec::new();
        for constraint in std::mem::take(&mut create.constraints) {
            match constraint {
                TableConstraint::PrimaryKey { name, columns, .. } => {
                    for key in &columns {
                        let column = create
                            .columns
                            .iter_mut()
                            .find(|c| same_name(&c.name.value, &key.value))
                            .ok_or_else(|| {
                                plan_error(format!(
                                    "PRIMARY KEY names {}, which the table does not have",
                                    key.value
                                ))
                            })?;
                        // A key is never NULL, as a column's own PRIMARY KEY says.
                        column
                            .options
                            .retain(|o| !matches!(o.option, ColumnOption::Null));
                        column.options.push(ColumnOptionDef {
                            name: None,
                            option: ColumnOption::NotNull,
                        });
                        // One column is the row's key; several are a UNIQUE index over them
                        // (GlueSQL keys a row by one value), named as PostgreSQL names the key.
                        if let [_] = columns.as_slice() {
                            column.options.push(ColumnOptionDef {
                                name: None,
                                option: ColumnOption::Unique {
                                    is_primary: true,
                                    characteristics: None,
                                },
                            });
                        }
                    }
                    if columns.len() > 1 {
                        let name = name
                            .map(|n| n.value)
                            .unwrap_or_else(|| format!("{table}_pkey"));
                        uniques.push(unique_index(&table, &name, &columns)?);
                    }
                }
                TableConstraint::Unique { name, columns, .. } => {
                    let name = unique_name(&table, name.as_ref(), &columns);
                    uniques.push(unique_index(&table, &name, &columns)?);
                }
                other => kept.push(other),
            }
        }
        create.constraints = kept;
        self.create_table_then(create, params, |engine, _| {
            for index in &uniques {
                engine.create_index(index, params)?;
            }
            Ok(())
        })
    }

    /// Runs `create` (a CREATE TABLE with a pass's constraints taken out), then `then` with the
    /// table's name, in one transaction; `then` is skipped for CREATE TABLE IF NOT EXISTS of a
    /// table there already.
    pub(super) fn create_table_then(
        &mut self,
        create: gluesql_core::sqlparser::ast::CreateTable,
        params: &[Value],
        then: impl FnOnce(&mut Self, &str) -> Result<(), DbError>,
    ) -> Result<QueryOutput, DbError> {
        let table = created_table(&create);
        let existed = self.table_exists(&table);
        let lowered = Statement::CreateTable(create);
        self.atomically(|engine| {
            let output = engine.execute(&lowered, params)?;
            if !existed {
                then(engine, &table)?;
            }
            Ok(output)
        })
    }

    /// ALTER TABLE … ADD [CONSTRAINT n] UNIQUE (…), and DROP CONSTRAINT n of such an index.
    pub(super) fn alter_constraint(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let Some((table, operations)) = altered_table(statement) else {
            return Err(plan_error("internal: not an ALTER TABLE"));
        };
        let table = table.to_owned();
        let [operation] = operations else {
            return Err(plan_error(
                "ALTER TABLE adding or dropping a constraint takes that one operation",
            ));
        };
        if !self.table_exists(&table) {
            return Err(DbError::new(
                ErrorCode::Plan,
                format!("table {table} does not exist"),
            ));
        }
        match operation {
            AlterTableOperation::AddConstraint(TableConstraint::Unique {
                name, columns, ..
            }) => {
                let name = unique_name(&table, name.as_ref(), columns);
                self.create_index(&unique_index(&table, &name, columns)?, params)?;
            }
            AlterTableOperation::AddConstraint(TableConstraint::PrimaryKey { .. }) => {
                return Err(plan_error(format!(
                    "ALTER TABLE {table} ADD PRIMARY KEY is not supported: a table's key is declared when it is created"
                )));
            }
            AlterTableOperation::DropConstraint {
                name: constraint,
                if_exists,
                ..
            } => {
                if self.drop_foreign_key(&table, &constraint.value)?
                    || self.drop_check(&table, &constraint.value)?
                {
                    return Ok(QueryOutput::command("ALTER TABLE", 0));
                }
                if !self.index_exists(&table, &constraint.value) {
                    if *if_exists {
                        return Ok(QueryOutput::command("ALTER TABLE", 0));
                    }
                    return Err(DbError::new(
                        ErrorCode::Execute,
                        format!(
                            "constraint {} of table {table} does not exist (idbsql keeps UNIQUE constraints as indexes, foreign keys and CHECKs; other constraints cannot be dropped)",
                            constraint.value
                        ),
                    ));
                }
                let index = ObjectName(vec![Ident::new(&table), constraint.clone()]);
                self.drop_index(&[index], false, params)?;
            }
            _ => return Err(plan_error("internal: not a constraint change")),
        }
        Ok(QueryOutput::command("ALTER TABLE", 0))
    }
}

/// Takes a column's own REFERENCES and CHECK options that `wanted` picks out of it, as the
/// table constraints they mean (the foreign-key and CHECK passes keep only table constraints).
pub(super) fn take_column_constraints(
    column: &mut gluesql_core::sqlparser::ast::ColumnDef,
    wanted: impl Fn(&ColumnOption) -> bool,
) -> Vec<TableConstraint> {
    let mut constraints = Vec::new();
    let mut kept = Vec::with_capacity(column.options.len());
    for option in std::mem::take(&mut column.options) {
        if !wanted(&option.option) {
            kept.push(option);
            continue;
        }
        match option.option {
            ColumnOption::ForeignKey {
                foreign_table,
                referred_columns,
                on_delete,
                on_update,
                characteristics,
            } => constraints.push(TableConstraint::ForeignKey {
                name: option.name,
                columns: vec![column.name.clone()],
                foreign_table,
                referred_columns,
                on_delete,
                on_update,
                characteristics,
            }),
            ColumnOption::Check(expr) => constraints.push(TableConstraint::Check {
                name: option.name,
                expr: Box::new(expr),
            }),
            other => kept.push(ColumnOptionDef {
                name: option.name,
                option: other,
            }),
        }
    }
    column.options = kept;
    constraints
}

/// Whether an ALTER TABLE adds a column with a REFERENCES or CHECK of its own.
pub fn adds_constrained_column(statement: &Statement) -> bool {
    altered_table(statement).is_some_and(|(_, operations)| {
        operations.iter().any(|operation| {
            matches!(operation, AlterTableOperation::AddColumn { column_def, .. }
            if column_def.options.iter().any(|o| {
                matches!(o.option, ColumnOption::ForeignKey { .. } | ColumnOption::Check(_))
            }))
        })
    })
}

impl Engine {
    /// `ALTER TABLE t ADD COLUMN c … REFERENCES p … / CHECK (…)`: the column added, then each
    /// of its constraints as `ALTER TABLE t ADD CONSTRAINT`, in one transaction.
    pub(super) fn add_constrained_column(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let mut stripped = statement.clone();
        let Statement::AlterTable { operations, .. } = &mut stripped else {
            return Err(plan_error("internal: not an ALTER TABLE"));
        };
        let [AlterTableOperation::AddColumn { column_def, .. }] = operations.as_mut_slice() else {
            return Err(plan_error(
                "ALTER TABLE adding a column with REFERENCES or CHECK takes that one operation",
            ));
        };
        let constraints = take_column_constraints(column_def, |_| true);
        let adds: Vec<Statement> = constraints
            .into_iter()
            .map(|constraint| {
                let mut add = stripped.clone();
                if let Statement::AlterTable { operations, .. } = &mut add {
                    *operations = vec![AlterTableOperation::AddConstraint(constraint)];
                }
                add
            })
            .collect();
        self.atomically(|engine| {
            engine.execute(&stripped, params)?;
            for add in &adds {
                engine.execute(add, params)?;
            }
            Ok(QueryOutput::command("ALTER TABLE", 0))
        })
    }
}
