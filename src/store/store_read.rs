//! `Store`: schema and row reads. Scans borrow the table and clone one row at a time,
//! never the whole table.

use {
    super::{
        read_columns::masked,
        unique_check::{Finishing, ScanRole},
        MemoryStore,
    },
    gluesql_core::{
        data::{Key, Schema, Value},
        error::Result,
        store::{RowIter, Store},
    },
};

impl Store for MemoryStore {
    fn fetch_schema(&self, table_name: &str) -> Result<Option<Schema>> {
        let schema = self
            .tables
            .get(table_name)
            .map(|table| table.schema.clone());
        if self.capturing(table_name) {
            // Rows captured for ON CONFLICT are not checked for keys: it decides about those.
            return Ok(schema.map(super::capture::without_keys));
        }
        Ok(schema)
    }

    fn fetch_all_schemas(&self) -> Result<Vec<Schema>> {
        Ok(self
            .tables
            .values()
            .map(|table| table.schema.clone())
            .collect())
    }

    fn fetch_data(&self, table_name: &str, key: &Key) -> Result<Option<Vec<Value>>> {
        if self.capturing(table_name) {
            return Ok(None);
        }
        let row = self
            .tables
            .get(table_name)
            .and_then(|table| {
                // GlueSQL asks this for every INSERTed primary key (its uniqueness check);
                // keys that grow past the last one are answered by one comparison, not a
                // search (the last entry is reached without comparing).
                match table.rows.last_key_value() {
                    Some((last, _)) if key > last => None,
                    _ => table.rows.get(key),
                }
            })
            .cloned();
        if row.is_some() {
            self.count_read();
        }
        Ok(row)
    }

    fn scan_data<'a>(&'a self, table_name: &str) -> Result<RowIter<'a>> {
        if self.capturing(table_name) {
            return Ok(Box::new(std::iter::empty()));
        }
        let fetch = match self.scan_role(table_name) {
            // GlueSQL's UNIQUE validation, answered by the unique sets (see unique_check).
            ScanRole::Validation => return Ok(Box::new(std::iter::empty())),
            ScanRole::Fetch => true,
            ScanRole::Other => false,
        };
        let Some(table) = self.tables.get(table_name) else {
            return Ok(Box::new(std::iter::empty()));
        };
        // An UPDATE or DELETE narrowed by key or index (see scan_hint): only those rows.
        let rows: RowIter<'a> = match self.take_scan_hint(table_name) {
            Some(keys) => Box::new(keys.into_iter().filter_map(move |key| {
                let row = table.rows.get(&key)?.clone();
                self.count_read();
                Some(Ok((key, row)))
            })),
            None => match (
                fetch,
                self.read_mask(table_name, table.schema.column_defs.as_deref()),
            ) {
                (false, Some(mask)) => Box::new(table.rows.iter().map(move |(key, row)| {
                    self.count_read();
                    Ok((key.clone(), masked(row, &mask)))
                })),
                _ => Box::new(table.rows.iter().map(|(key, row)| {
                    self.count_read();
                    Ok((key.clone(), row.clone()))
                })),
            },
        };
        if fetch {
            return Ok(Box::new(Finishing {
                inner: rows,
                store: self,
            }));
        }
        Ok(rows)
    }
}
