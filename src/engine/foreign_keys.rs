//! Foreign keys as SQL declares them — a column's `REFERENCES`, a table's `FOREIGN KEY`, `ALTER
//! TABLE … ADD / DROP CONSTRAINT` — kept as objects (store/foreign_keys.rs enforces them), and
//! the statements they change: writes checked at their end, tables and columns they name kept.

use {
    super::{
        constraints::take_column_constraints,
        names::{alter_touches, altered_table, column_position, same_name},
        Engine, Object, ObjectKind, QueryOutput,
    },
    crate::{
        error::{DbError, ErrorCode},
        kinds::is_integer_type,
        store::{FkAction, ForeignKeyDef, ForeignKeyViolation},
    },
    gluesql_core::{
        ast::DataType,
        data::Value,
        sqlparser::ast::{
            AlterTableOperation, ColumnOption, ConstraintCharacteristics, Ident, ObjectName,
            ObjectType, ReferentialAction, Statement, TableConstraint,
        },
    },
};

fn plan_error(message: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Plan, message)
}

impl From<ForeignKeyViolation> for DbError {
    fn from(violation: ForeignKeyViolation) -> Self {
        DbError::new(ErrorCode::Constraint, violation.0)
    }
}

/// A foreign key as written, before its names are resolved against the tables.
struct Declared {
    name: Option<Ident>,
    columns: Vec<Ident>,
    parent: ObjectName,
    parent_columns: Vec<Ident>,
    on_delete: Option<ReferentialAction>,
    on_update: Option<ReferentialAction>,
    characteristics: Option<ConstraintCharacteristics>,
}

fn declared(constraint: &TableConstraint) -> Option<Declared> {
    let TableConstraint::ForeignKey {
        name,
        columns,
        foreign_table,
        referred_columns,
        on_delete,
        on_update,
        characteristics,
    } = constraint
    else {
        return None;
    };
    Some(Declared {
        name: name.clone(),
        columns: columns.clone(),
        parent: foreign_table.clone(),
        parent_columns: referred_columns.clone(),
        on_delete: *on_delete,
        on_update: *on_update,
        characteristics: *characteristics,
    })
}

/// Whether a CREATE TABLE declares a foreign key (a column's REFERENCES or a table's).
pub fn declares_foreign_keys(statement: &Statement) -> bool {
    let Statement::CreateTable(create) = statement else {
        return false;
    };
    create
        .constraints
        .iter()
        .any(|c| matches!(c, TableConstraint::ForeignKey { .. }))
        || create.columns.iter().any(|column| {
            column
                .options
                .iter()
                .any(|o| matches!(o.option, ColumnOption::ForeignKey { .. }))
        })
}

/// Whether an ALTER TABLE adds a foreign key (`ADD [CONSTRAINT n] FOREIGN KEY`).
pub fn adds_foreign_key(statement: &Statement) -> bool {
    altered_table(statement).is_some_and(|(_, operations)| {
        operations.iter().any(|operation| {
            matches!(
                operation,
                AlterTableOperation::AddConstraint(TableConstraint::ForeignKey { .. })
            )
        })
    })
}

/// Whether a statement writes rows (what foreign keys check).
pub fn writes_rows(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Insert(_) | Statement::Update { .. } | Statement::Delete(_)
    )
}

/// The object name of a foreign key: constraint names are per table, as in PostgreSQL.
fn object_name(table: &str, constraint: &str) -> String {
    format!("{table}.{constraint}")
}

impl Engine {
    /// CREATE TABLE with its foreign keys taken out and stored as objects after it, all in
    /// one transaction. A table may reference itself.
    pub(super) fn create_table_with_foreign_keys(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let Statement::CreateTable(create) = statement else {
            return Err(plan_error("internal: not a CREATE TABLE"));
        };
        let mut create = create.clone();
        let mut keys: Vec<Declared> = Vec::new();
        for column in &mut create.columns {
            let taken =
                take_column_constraints(column, |o| matches!(o, ColumnOption::ForeignKey { .. }));
            keys.extend(taken.iter().filter_map(declared));
        }
        create
            .constraints
            .retain(|constraint| match declared(constraint) {
                Some(key) => {
                    keys.push(key);
                    false
                }
                None => true,
            });
        self.create_table_then(create, params, |engine, table| {
            for key in keys {
                engine.add_foreign_key(table, key, false)?;
            }
            Ok(())
        })
    }

    /// ALTER TABLE … ADD [CONSTRAINT n] FOREIGN KEY (…) REFERENCES …: the rows there already
    /// are checked first.
    pub(super) fn alter_add_foreign_key(
        &mut self,
        statement: &Statement,
    ) -> Result<QueryOutput, DbError> {
        let Some((table, [AlterTableOperation::AddConstraint(constraint)])) =
            altered_table(statement)
        else {
            return Err(plan_error(
                "ALTER TABLE adding a foreign key takes that one operation",
            ));
        };
        let table = table.to_owned();
        let Some(key) = declared(constraint) else {
            return Err(plan_error("internal: not a FOREIGN KEY"));
        };
        if !self.table_exists(&table) {
            return Err(plan_error(format!("table {table} does not exist")));
        }
        self.atomically(|engine| engine.add_foreign_key(&table, key, true))?;
        Ok(QueryOutput::command("ALTER TABLE", 0))
    }

    /// Resolves a declared foreign key of `table` against the tables, checks it and stores it.
    fn add_foreign_key(
        &mut self,
        table: &str,
        key: Declared,
        check_rows: bool,
    ) -> Result<(), DbError> {
        if key
            .characteristics
            .as_ref()
            .is_some_and(|c| c.deferrable == Some(true) || c.initially.is_some())
        {
            return Err(DbError::new(
                ErrorCode::Plan,
                "DEFERRABLE foreign keys are not supported: idbsql checks a foreign key at the end of each statement",
            ));
        }
        let parent_written = key
            .parent
            .0
            .last()
            .map(|i| i.value.clone())
            .unwrap_or_default();
        let tables: Vec<String> = self
            .store()
            .tables()
            .map(|t| t.schema.table_name.clone())
            .collect();
        let parent = column_position(&tables, &parent_written)
            .map(|i| tables[i].clone())
            .ok_or_else(|| {
                plan_error(format!(
                    "foreign key of {table} references table {parent_written}, which does not exist"
                ))
            })?;
        let columns_of = |engine: &Self, name: &str| -> Result<Vec<(String, DataType)>, DbError> {
            engine
                .store()
                .table(name)
                .and_then(|t| t.schema.column_defs.as_ref())
                .map(|defs| {
                    defs.iter()
                        .map(|d| (d.name.clone(), d.data_type.clone()))
                        .collect()
                })
                .ok_or_else(|| {
                    plan_error(format!(
                        "a foreign key needs table {name} to have columns (it is schemaless)"
                    ))
                })
        };
        let child_columns = columns_of(self, table)?;
        let parent_columns = columns_of(self, &parent)?;
        let find = |columns: &[(String, DataType)], written: &Ident, owner: &str| {
            let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
            column_position(&names, &written.value).ok_or_else(|| {
                plan_error(format!(
                    "foreign key names column {}, which table {owner} does not have",
                    written.value
                ))
            })
        };
        let child: Vec<usize> = key
            .columns
            .iter()
            .map(|c| find(&child_columns, c, table))
            .collect::<Result<_, _>>()?;
        let (primary, uniques) = self.store().conflict_keys(&parent);
        let referenced: Vec<String> = if key.parent_columns.is_empty() {
            vec![primary.clone().ok_or_else(|| {
                plan_error(format!(
                    "table {parent} has no primary key for REFERENCES {parent} to name: list the referenced columns"
                ))
            })?]
        } else {
            key.parent_columns
                .iter()
                .map(|c| find(&parent_columns, c, &parent).map(|i| parent_columns[i].0.clone()))
                .collect::<Result<_, _>>()?
        };
        if referenced.len() != child.len() {
            return Err(plan_error(format!(
                "foreign key of {table} has {} columns and references {}",
                child.len(),
                referenced.len()
            )));
        }
        let mut sorted = referenced.clone();
        sorted.sort();
        let is_key = (referenced.len() == 1 && primary.as_deref() == Some(referenced[0].as_str()))
            || uniques.iter().any(|unique| {
                let mut columns = unique.columns.clone();
                columns.sort();
                columns == sorted
            });
        if !is_key {
            return Err(plan_error(format!(
                "there is no unique constraint matching given keys for referenced table \"{parent}\": a foreign key references its primary key or UNIQUE columns ({})",
                referenced.join(", ")
            )));
        }
        for (&c, name) in child.iter().zip(&referenced) {
            let (child_name, child_type) = &child_columns[c];
            let parent_type = parent_columns
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.clone())
                .unwrap_or(DataType::Text);
            if *child_type != parent_type
                && !(is_integer_type(child_type) && is_integer_type(&parent_type))
            {
                return Err(plan_error(format!(
                    "foreign key column {child_name} ({child_type}) and referenced column {parent}.{name} ({parent_type}) are of incompatible types"
                )));
            }
        }
        let columns: Vec<String> = child.iter().map(|&i| child_columns[i].0.clone()).collect();
        let name = key
            .name
            .map(|n| n.value)
            .unwrap_or_else(|| format!("{table}_{}_fkey", columns.join("_")));
        let def = ForeignKeyDef {
            name: name.clone(),
            table: table.to_owned(),
            columns: columns.clone(),
            parent,
            parent_columns: referenced,
            on_delete: FkAction::of(key.on_delete),
            on_update: FkAction::of(key.on_update),
        };
        let id = object_name(table, &name);
        if self.object(ObjectKind::ForeignKey, &id).is_some() {
            return Err(DbError::new(
                ErrorCode::Execute,
                format!("constraint \"{name}\" for relation \"{table}\" already exists"),
            ));
        }
        if check_rows {
            self.store().check_foreign_key(&def)?;
        }
        self.put_object(&Object {
            kind: ObjectKind::ForeignKey,
            name: id,
            table: Some(table.to_owned()),
            definition: def.to_sql(),
            columns,
            unique: false,
        })
    }

    /// Drops the foreign key `constraint` of `table`; whether there was one.
    pub(super) fn drop_foreign_key(
        &mut self,
        table: &str,
        constraint: &str,
    ) -> Result<bool, DbError> {
        let found = self
            .store()
            .foreign_keys()
            .iter()
            .find(|def| def.table == table && same_name(&def.name, constraint))
            .map(|def| object_name(table, &def.name));
        match found {
            Some(id) => self
                .delete_object(ObjectKind::ForeignKey, &id)
                .map(|()| true),
            None => Ok(false),
        }
    }

    /// A write statement with its foreign keys and CHECKs enforced at its end: the actions
    /// run, then every reference and every CHECK is checked; on a violation the statement
    /// changes nothing.
    pub(super) fn execute_checked(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        self.checking_foreign_keys = true;
        let result =
            self.atomically(|engine| {
                let since =
                    engine.glue.storage.savepoint().ok_or_else(|| {
                        plan_error("internal: no transaction for a checked write")
                    })?;
                let output = engine.execute(statement, params)?;
                let after =
                    engine.glue.storage.savepoint().ok_or_else(|| {
                        plan_error("internal: no transaction for a checked write")
                    })?;
                // PostgreSQL's order: a row's CHECKs when it is written, the foreign keys at the
                // statement's end; then the rows their actions wrote (a SET NULL, a SET DEFAULT)
                // meet the CHECKs of their tables too.
                engine.enforce_checks(&since)?;
                engine.glue.storage.enforce_foreign_keys(&since)?;
                engine.enforce_checks(&after)?;
                Ok(output)
            });
        self.checking_foreign_keys = false;
        self.glue.storage.clear_key_moves();
        result
    }

    /// DROP TABLE of a table another table's foreign key references: refused, or with
    /// CASCADE the foreign key dropped (PostgreSQL's rule). A dropped table's own keys go
    /// with it.
    pub(super) fn drop_foreign_keys_of(&mut self, statement: &Statement) -> Result<(), DbError> {
        let Statement::Drop {
            object_type: ObjectType::Table,
            names,
            cascade,
            ..
        } = statement
        else {
            return Ok(());
        };
        let dropped: Vec<&str> = names
            .iter()
            .filter_map(|n| n.0.last().map(|i| i.value.as_str()))
            .collect();
        let defs = self.store().foreign_keys();
        for def in defs.iter() {
            let child_dropped = dropped.iter().any(|t| same_name(t, &def.table));
            let parent_dropped = dropped.iter().any(|t| same_name(t, &def.parent));
            if parent_dropped && !child_dropped && !cascade {
                return Err(DbError::new(
                    ErrorCode::Execute,
                    format!(
                        "cannot drop table {} because constraint {} on table {} depends on it (DROP … CASCADE drops the constraint)",
                        def.parent, def.name, def.table
                    ),
                ));
            }
            if parent_dropped || child_dropped {
                self.delete_object(ObjectKind::ForeignKey, &object_name(&def.table, &def.name))?;
            }
        }
        Ok(())
    }

    /// ALTER TABLE that renames a table or a column a foreign key names, drops such a column
    /// or changes its type: refused, naming the key (it would be left naming what is gone).
    pub(super) fn refuse_alter_of_foreign_keys(
        &self,
        statement: &Statement,
    ) -> Result<(), DbError> {
        let Some((table, operations)) = altered_table(statement) else {
            return Ok(());
        };
        if !self.glue.storage.has_foreign_keys() {
            return Ok(());
        }
        for def in self.store().foreign_keys().iter() {
            let names = |column: &Ident| {
                (same_name(&def.table, table)
                    && def.columns.iter().any(|c| same_name(c, &column.value)))
                    || (same_name(&def.parent, table)
                        && def
                            .parent_columns
                            .iter()
                            .any(|c| same_name(c, &column.value)))
            };
            let involved = same_name(&def.table, table) || same_name(&def.parent, table);
            if alter_touches(operations, names, involved, false) {
                return Err(DbError::new(
                    ErrorCode::Execute,
                    format!(
                        "ALTER TABLE {table} is refused: foreign key {} of table {} names what it changes; drop the constraint first",
                        def.name, def.table
                    ),
                ));
            }
        }
        Ok(())
    }
}
