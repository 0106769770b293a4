//! ALTER TABLE … ALTER COLUMN, which GlueSQL 0.20 does not translate: SET / DROP DEFAULT, SET /
//! DROP NOT NULL, and [SET DATA] TYPE (every stored value converted exactly, or nothing
//! changes). The table's schema, and for TYPE its rows, rewritten through the store as
//! GlueSQL's own ALTER TABLE does; never another table.

use {
    super::{
        compat::supported_type,
        names::{altered_table, column_position},
        parse_sql, Engine, QueryOutput,
    },
    crate::error::{DbError, ErrorCode},
    gluesql_core::{
        ast::{AlterTableOperation as GlueAlter, DataType, Statement as GlueStatement},
        data::{Schema, Value},
        executor::evaluate_stateless,
        plan::plan_scalar_expr,
        sqlparser::ast::{AlterColumnOperation, AlterTableOperation, Expr, Ident, Statement},
        store::{Store, StoreMut},
        translate::translate_data_type,
    },
};

fn plan_error(message: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Plan, message)
}

/// Whether an ALTER TABLE alters a column.
pub fn alters_columns(statement: &Statement) -> bool {
    let Statement::AlterTable { operations, .. } = statement else {
        return false;
    };
    operations
        .iter()
        .any(|operation| matches!(operation, AlterTableOperation::AlterColumn { .. }))
}

impl Engine {
    /// Every ALTER COLUMN of the statement, in one transaction.
    pub(super) fn alter_columns(&mut self, statement: &Statement) -> Result<QueryOutput, DbError> {
        let Some((table, operations)) = altered_table(statement) else {
            return Err(plan_error("internal: not an ALTER TABLE"));
        };
        let mut changes = Vec::new();
        for operation in operations {
            let AlterTableOperation::AlterColumn { column_name, op } = operation else {
                return Err(plan_error(format!(
                    "ALTER TABLE {table}: {operation} cannot be combined with ALTER COLUMN in one statement"
                )));
            };
            changes.push((column_name, op));
        }
        self.atomically(|engine| {
            for (column, change) in changes {
                engine.alter_column(table, column, change)?;
            }
            Ok(QueryOutput::command("ALTER TABLE", 0))
        })
    }

    fn alter_column(
        &mut self,
        table: &str,
        column: &Ident,
        change: &AlterColumnOperation,
    ) -> Result<(), DbError> {
        let mut schema: Schema = self
            .glue
            .storage
            .fetch_schema(table)?
            .ok_or_else(|| plan_error(format!("table {table} does not exist")))?;
        let names: Vec<String> = schema
            .column_defs
            .iter()
            .flatten()
            .map(|d| d.name.clone())
            .collect();
        let position = column_position(&names, &column.value).ok_or_else(|| {
            plan_error(format!(
                "column {} of table {table} does not exist",
                column.value
            ))
        })?;
        let stored_name = names[position].clone();
        let default = match change {
            AlterColumnOperation::SetDefault { value } => Some(self.checked_default(table, value)?),
            _ => None,
        };
        let converted = match change {
            AlterColumnOperation::SetDataType { data_type, using } => {
                if self.synced {
                    return Err(plan_error(format!(
                        "ALTER COLUMN {} TYPE is not supported in a database that syncs: rows other \
                         clients write meanwhile under the old type would not merge",
                        column.value
                    )));
                }
                if using.is_some() {
                    return Err(plan_error(
                        "ALTER COLUMN … TYPE … USING is not supported: the stored values are converted as they are",
                    ));
                }
                Some(self.converted_rows(table, &schema, position, data_type)?)
            }
            _ => None,
        };
        let Some(def) = schema
            .column_defs
            .as_mut()
            .and_then(|d| d.get_mut(position))
        else {
            return Err(plan_error(format!("table {table} has no columns to alter")));
        };
        match change {
            AlterColumnOperation::SetNotNull => {
                let holds_null = self.glue.storage.scan_data(table)?.any(|row| {
                    row.is_ok_and(|(_, values)| values.get(position).is_some_and(Value::is_null))
                });
                if holds_null {
                    return Err(DbError::new(
                        ErrorCode::Constraint,
                        format!("column {stored_name} of table {table} holds NULL in some rows: SET NOT NULL is refused"),
                    ));
                }
                def.nullable = false;
            }
            AlterColumnOperation::DropNotNull => {
                if def.unique.is_some_and(|u| u.is_primary) {
                    return Err(DbError::new(
                        ErrorCode::Constraint,
                        format!("column {stored_name} is the primary key of table {table}, which is never NULL"),
                    ));
                }
                def.nullable = true;
            }
            AlterColumnOperation::SetDefault { .. } => def.default = default,
            AlterColumnOperation::DropDefault => def.default = None,
            AlterColumnOperation::SetDataType { .. } => {
                if let Some((data_type, _)) = &converted {
                    def.data_type = data_type.clone();
                }
            }
            other => {
                return Err(plan_error(format!(
                    "ALTER TABLE {table} ALTER COLUMN {stored_name} {other} is not supported"
                )))
            }
        }
        self.glue.storage.insert_schema(&schema)?;
        if let Some((_, rows)) = converted {
            self.glue.storage.insert_data(table, rows)?;
        }
        Ok(())
    }

    /// A DEFAULT as CREATE TABLE would take it: translated, guarded and checked the same way
    /// (the expression carried by an ADD COLUMN no table receives), and evaluable.
    fn checked_default(
        &mut self,
        table: &str,
        value: &Expr,
    ) -> Result<gluesql_core::ast::Expr, DbError> {
        let probe =
            format!("ALTER TABLE \"{table}\" ADD COLUMN __idbsql_default TEXT DEFAULT {value}");
        let [statement] = parse_sql(&probe)?
            .try_into()
            .map_err(|_| plan_error(format!("DEFAULT {value} is not one expression")))?;
        let translated = super::translate_guarded(&self.glue.storage, &statement, &[])?;
        let GlueStatement::AlterTable {
            operation: GlueAlter::AddColumn { column_def },
            ..
        } = translated
        else {
            return Err(plan_error(
                "internal: the DEFAULT did not translate as expected",
            ));
        };
        let default = column_def
            .default
            .ok_or_else(|| plan_error("internal: the DEFAULT did not translate as expected"))?;
        evaluate_stateless(None, &plan_scalar_expr(default.clone()))?;
        Ok(default)
    }

    /// Every row with the column's value converted to `to`: a value that does not convert, or
    /// not exactly (2.5 to an INTEGER), refuses the change.
    #[allow(clippy::type_complexity)]
    fn converted_rows(
        &self,
        table: &str,
        schema: &Schema,
        position: usize,
        to: &gluesql_core::sqlparser::ast::DataType,
    ) -> Result<(DataType, Vec<(gluesql_core::data::Key, Vec<Value>)>), DbError> {
        let written = supported_type(to).unwrap_or_else(|| to.clone());
        let to = translate_data_type(&written)?;
        let def = schema
            .column_defs
            .as_ref()
            .and_then(|d| d.get(position))
            .ok_or_else(|| plan_error("internal: no such column"))?;
        if def.unique.is_some() && matches!(to, DataType::Float | DataType::Float32 | DataType::Map)
        {
            return Err(plan_error(format!(
                "column {} is UNIQUE or a key, which a {to} column cannot be",
                def.name
            )));
        }
        if def.comment.is_some() {
            return Err(plan_error(format!(
                "ALTER COLUMN {} TYPE: a JSON column's type is not changed",
                def.name
            )));
        }
        let from = def.data_type.clone();
        let mut rows = Vec::new();
        for row in self.glue.storage.scan_data(table)? {
            let (key, mut values) = row?;
            if let Some(value) = values.get_mut(position) {
                if !value.is_null() {
                    let converted = value
                        .cast(&to)
                        .ok()
                        .filter(|c| c.cast(&from).is_ok_and(|back| back == *value));
                    let Some(converted) = converted else {
                        return Err(DbError::new(
                            ErrorCode::Execute,
                            format!(
                                "column {} of table {table}: the value {} does not convert to {to} exactly; nothing changed",
                                def.name,
                                String::from(&*value)
                            ),
                        ));
                    };
                    *value = converted;
                }
            }
            rows.push((key, values));
        }
        Ok((to, rows))
    }
}
