//! `AlterTable`: GlueSQL's row-rewriting defaults, except DROP COLUMN, which must also drop
//! the indexes whose expression reads the dropped column, and RENAME COLUMN, which renames it
//! in the indexes' expressions (GlueSQL's left them naming a column that is gone).

use {
    super::{index_expr::columns_read, MemoryStore},
    gluesql_core::{
        ast::{ColumnDef, Expr},
        data::Schema,
        error::Result,
        store::{AlterTable, AlterTableError, Store, StoreMut},
    },
};

impl AlterTable for MemoryStore {
    fn rename_column(&mut self, table_name: &str, old_name: &str, new_name: &str) -> Result<()> {
        let mut schema = self.table_schema(table_name)?;
        let column_defs = columns_of(&mut schema)?;
        if column_defs.iter().any(|def| def.name == new_name) {
            return Err(AlterTableError::AlreadyExistingColumn(new_name.to_owned()).into());
        }
        new_name.clone_into(
            &mut column_defs
                .iter_mut()
                .find(|def| def.name == old_name)
                .ok_or(AlterTableError::RenamingColumnNotFound)?
                .name,
        );
        for index in &mut schema.indexes {
            crate::guard::walk::expr(&mut index.expr, &mut |e| match e {
                Expr::Identifier(name) if name == old_name => new_name.clone_into(name),
                _ => {}
            });
        }
        let rows = self.scan_data(table_name)?.collect::<Result<Vec<_>>>()?;
        self.insert_schema(&schema)?;
        self.insert_data(table_name, rows)
    }

    fn drop_column(&mut self, table_name: &str, column_name: &str, if_exists: bool) -> Result<()> {
        let mut schema = self.table_schema(table_name)?;
        let column_defs = columns_of(&mut schema)?;
        let Some(position) = column_defs.iter().position(|def| def.name == column_name) else {
            if if_exists {
                return Ok(());
            }
            return Err(AlterTableError::DroppingColumnNotFound(column_name.to_owned()).into());
        };
        column_defs.remove(position);
        schema
            .indexes
            .retain(|index| !columns_read(&index.expr).iter().any(|c| c == column_name));

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

impl MemoryStore {
    fn table_schema(&self, table_name: &str) -> Result<Schema> {
        self.fetch_schema(table_name)?
            .ok_or_else(|| AlterTableError::TableNotFound(table_name.to_owned()).into())
    }
}

fn columns_of(schema: &mut Schema) -> Result<&mut Vec<ColumnDef>> {
    let name = schema.table_name.clone();
    schema
        .column_defs
        .as_mut()
        .ok_or_else(|| AlterTableError::SchemalessTableFound(name).into())
}
