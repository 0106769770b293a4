//! `StoreMut`: schema and row writes, each recorded in the open transaction's undo log.

use {
    super::{MemoryStore, Table, Undo},
    gluesql_core::{
        data::{Key, Schema, Value},
        error::Result,
        store::StoreMut,
    },
};

impl StoreMut for MemoryStore {
    fn insert_schema(&mut self, schema: &Schema) -> Result<()> {
        self.objects_changed(&schema.table_name);
        if self.tables.contains_key(&schema.table_name) {
            return self.replace_schema(schema.clone());
        }
        let table = Table::new(schema.clone(), Self::now());
        self.tables.insert(schema.table_name.clone(), table);
        self.record(Undo::TableCreated {
            table: schema.table_name.clone(),
        });
        Ok(())
    }

    fn delete_schema(&mut self, table_name: &str) -> Result<()> {
        self.objects_changed(table_name);
        if let Some(table) = self.tables.remove(table_name) {
            self.record(Undo::TableDropped {
                table: Box::new(table),
            });
        }
        Ok(())
    }

    fn append_data(&mut self, table_name: &str, rows: Vec<Vec<Value>>) -> Result<()> {
        let Some(rows) = self.captured(table_name, rows) else {
            return Ok(());
        };
        for row in rows {
            let key = self.minter.mint();
            self.write_row(table_name, key, Some(row))?;
        }
        Ok(())
    }

    fn insert_data(&mut self, table_name: &str, rows: Vec<(Key, Vec<Value>)>) -> Result<()> {
        if self.capturing(table_name) {
            let rows = rows.into_iter().map(|(_, row)| row).collect();
            let _ = self.captured(table_name, rows);
            return Ok(());
        }
        self.refuse_repeated_keys(table_name, &rows)?;
        self.refuse_stored_keys(table_name, &rows)?;
        for (key, row) in rows {
            self.write_row(table_name, key, Some(row))?;
        }
        Ok(())
    }

    fn delete_data(&mut self, table_name: &str, keys: Vec<Key>) -> Result<()> {
        for key in keys {
            self.write_row(table_name, key, None)?;
        }
        Ok(())
    }
}
