//! `AlterTable`: GlueSQL's row-rewriting defaults, except DROP COLUMN, which must also drop
//! the indexes whose expression reads the dropped column.

use {
    super::MemoryStore,
    gluesql_core::{
        data::Schema,
        error::Result,
        plan::{plan_scalar_expr, ExprPlan, FunctionExprPlan},
        store::{AlterTable, AlterTableError, Store, StoreMut},
    },
};

impl AlterTable for MemoryStore {
    fn drop_column(&mut self, table_name: &str, column_name: &str, if_exists: bool) -> Result<()> {
        let mut schema: Schema = self
            .fetch_schema(table_name)?
            .ok_or_else(|| AlterTableError::TableNotFound(table_name.to_owned()))?;
        let column_defs = schema
            .column_defs
            .as_mut()
            .ok_or_else(|| AlterTableError::SchemalessTableFound(table_name.to_owned()))?;
        let Some(position) = column_defs.iter().position(|def| def.name == column_name) else {
            if if_exists {
                return Ok(());
            }
            return Err(AlterTableError::DroppingColumnNotFound(column_name.to_owned()).into());
        };
        column_defs.remove(position);
        schema
            .indexes
            .retain(|index| !reads_column(&plan_scalar_expr(index.expr.clone()), column_name));

        let rows = self
            .scan_data(table_name)?
            .map(|row| {
                let (key, mut values) = row?;
                values.remove(position);
                Ok((key, values))
            })
            .collect::<Result<Vec<_>>>()?;
        // Schema first: the surviving indexes are then evaluated on rows of the new shape.
        self.insert_schema(&schema)?;
        self.insert_data(table_name, rows)
    }
}

/// Whether an index expression (of the shapes GlueSQL accepts for indexes) reads `column`.
fn reads_column(expr: &ExprPlan, column: &str) -> bool {
    match expr {
        ExprPlan::Identifier(name) => name == column,
        ExprPlan::Nested(inner) | ExprPlan::UnaryOp { expr: inner, .. } => {
            reads_column(inner, column)
        }
        ExprPlan::BinaryOp { left, right, .. } => {
            reads_column(left, column) || reads_column(right, column)
        }
        ExprPlan::Function(function) => match function.as_ref() {
            FunctionExprPlan::Cast { expr, .. } => reads_column(expr, column),
            _ => false,
        },
        _ => false,
    }
}
