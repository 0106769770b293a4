//! One table: schema, rows by key, and the secondary indexes its schema declares, kept in step
//! with every row written. Knows nothing of transactions or change sets.

use {
    super::{index_data::IndexData, pages::TablePages, unique::Uniques, Row},
    gluesql_core::{
        ast::{ColumnDef, DataType, IndexOperator},
        chrono::NaiveDateTime,
        data::{Key, Schema, Value},
        error::Result,
    },
    std::{
        cell::{Cell, RefCell},
        collections::{btree_map::Entry, BTreeMap},
    },
};

/// One table: its schema, rows ordered by key, and the secondary indexes its schema declares.
/// Indexes are rebuilt lazily after a schema change, because rows are rewritten to the new
/// shape only after the new schema is in place.
#[derive(Debug)]
pub struct Table {
    pub schema: Schema,
    pub created: NaiveDateTime,
    pub rows: BTreeMap<Key, Row>,
    pub(super) indexes: RefCell<BTreeMap<String, IndexData>>,
    pub(super) indexes_stale: Cell<bool>,
    pub(super) uniques: RefCell<Uniques>,
    /// Which checkpoint page holds each row, and which changed (see pages.rs).
    pub(super) pages: TablePages,
    /// The columns this table had before its latest ALTERs (newest last, a few kept): a row
    /// made by a replica that had not seen an ALTER is reshaped from them (validate.rs).
    pub(super) earlier_columns: Vec<Vec<ColumnDef>>,
}

/// Earlier column lists kept per table.
const EARLIER_COLUMNS_KEPT: usize = 8;

impl Table {
    pub(super) fn new(schema: Schema, created: NaiveDateTime) -> Self {
        Table {
            schema,
            created,
            rows: BTreeMap::new(),
            indexes: RefCell::new(BTreeMap::new()),
            indexes_stale: Cell::new(true),
            uniques: RefCell::new(Uniques::default()),
            pages: TablePages::default(),
            earlier_columns: Vec::new(),
        }
    }

    pub fn column_names(&self) -> Vec<String> {
        self.schema
            .column_defs
            .as_ref()
            .map(|defs| defs.iter().map(|def| def.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Each column's name and type (what the guards read an expression of a row by).
    pub(super) fn typed_columns(&self) -> Vec<(String, DataType)> {
        self.schema
            .column_defs
            .iter()
            .flatten()
            .map(|def| (def.name.clone(), def.data_type.clone()))
            .collect()
    }

    pub(super) fn set_schema(&mut self, schema: Schema) -> Schema {
        self.indexes_stale.set(true);
        self.uniques.get_mut().mark_stale();
        if let Some(columns) = &self.schema.column_defs {
            if self.schema.column_defs != schema.column_defs {
                self.earlier_columns.push(columns.clone());
                if self.earlier_columns.len() > EARLIER_COLUMNS_KEPT {
                    self.earlier_columns.remove(0);
                }
            }
        }
        std::mem::replace(&mut self.schema, schema)
    }

    /// Recomputes every index from the rows if the schema changed since they were built.
    pub(super) fn ensure_indexes(&self) -> Result<()> {
        if !self.indexes_stale.get() {
            return Ok(());
        }
        let columns = self.column_names();
        let typed = self.typed_columns();
        let mut indexes = BTreeMap::new();
        for schema_index in &self.schema.indexes {
            let mut data = IndexData::new(&schema_index.expr, &typed)?;
            for (key, row) in &self.rows {
                data.insert(&columns, key, row)?;
            }
            indexes.insert(schema_index.name.clone(), data);
        }
        *self.indexes.borrow_mut() = indexes;
        self.indexes_stale.set(false);
        Ok(())
    }

    pub(super) fn index_lookup(
        &self,
        index_name: &str,
        asc: bool,
        cmp: Option<(&IndexOperator, Value)>,
    ) -> Result<Option<Vec<Key>>> {
        self.ensure_indexes()?;
        Ok(self
            .indexes
            .borrow()
            .get(index_name)
            .map(|index| index.lookup(asc, cmp)))
    }

    /// Writes or deletes one row, keeping fresh indexes in step; returns the previous row.
    /// A row whose index expression fails to evaluate is refused before anything changes.
    pub(super) fn put_row(&mut self, key: Key, row: Option<Row>) -> Result<Option<Row>> {
        let maintain = !self.indexes_stale.get() && !self.indexes.borrow().is_empty();
        if !maintain {
            // One search of the rows per write: the entry gives the previous row and the new
            // one's place (a bulk INSERT spends much of its time comparing keys).
            let (previous, current) = match row {
                Some(row) => match self.rows.entry(key.clone()) {
                    Entry::Occupied(mut entry) => {
                        let previous = entry.insert(row);
                        (Some(previous), Some(&*entry.into_mut()))
                    }
                    Entry::Vacant(entry) => (None, Some(&*entry.insert(row))),
                },
                None => (self.rows.remove(&key), None),
            };
            self.pages
                .mark(&key, previous.is_none() && current.is_some());
            self.uniques
                .get_mut()
                .update(&key, previous.as_ref(), current);
            return Ok(previous);
        }
        let columns = self.column_names();
        let indexes = self.indexes.get_mut();
        if let Some(new_row) = &row {
            for data in indexes.values() {
                data.evaluate(&columns, new_row)?;
            }
        }
        let added = row.is_some();
        let previous = match row {
            Some(row) => self.rows.insert(key.clone(), row),
            None => self.rows.remove(&key),
        };
        self.pages.mark(&key, added && previous.is_none());
        let current = self.rows.get(&key);
        for data in indexes.values_mut() {
            if let Some(old) = &previous {
                data.remove(&columns, &key, old)?;
            }
            if let Some(new_row) = current {
                data.insert(&columns, &key, new_row)?;
            }
        }
        self.uniques
            .get_mut()
            .update(&key, previous.as_ref(), current);
        Ok(previous)
    }
}
