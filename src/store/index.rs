//! `Index` and `IndexMut`: CREATE / DROP INDEX and ordered, ranged reads through an index.
//! The index definitions live in the schema, so transactions version them with it.

use {
    super::MemoryStore,
    gluesql_core::{
        ast::{IndexOperator, OrderByExpr},
        data::{SchemaIndex, SchemaIndexOrd, Value},
        error::Result,
        store::{Index, IndexError, IndexMut, RowIter},
    },
};

impl Index for MemoryStore {
    fn scan_indexed_data<'a>(
        &'a self,
        table_name: &str,
        index_name: &str,
        asc: Option<bool>,
        cmp_value: Option<(&IndexOperator, Value)>,
    ) -> Result<RowIter<'a>> {
        let table = self
            .tables
            .get(table_name)
            .ok_or_else(|| IndexError::TableNotFound(table_name.to_owned()))?;
        let keys = table
            .index_lookup(index_name, asc.unwrap_or(true), cmp_value)?
            .ok_or_else(|| IndexError::IndexNameDoesNotExist(index_name.to_owned()))?;
        Ok(Box::new(keys.into_iter().filter_map(move |key| {
            let row = table.rows.get(&key)?;
            self.count_read();
            Some(Ok((key, row.clone())))
        })))
    }
}

impl IndexMut for MemoryStore {
    fn create_index(
        &mut self,
        table_name: &str,
        index_name: &str,
        column: &OrderByExpr,
    ) -> Result<()> {
        let table = self
            .tables
            .get(table_name)
            .ok_or_else(|| IndexError::TableNotFound(table_name.to_owned()))?;
        if table
            .schema
            .indexes
            .iter()
            .any(|index| index.name == index_name)
        {
            return Err(IndexError::IndexNameAlreadyExists(index_name.to_owned()).into());
        }
        let mut schema = table.schema.clone();
        schema.indexes.push(SchemaIndex {
            name: index_name.to_owned(),
            expr: column.expr.clone(),
            order: match column.asc {
                Some(true) => SchemaIndexOrd::Asc,
                Some(false) => SchemaIndexOrd::Desc,
                None => SchemaIndexOrd::Both,
            },
            created: Self::now(),
        });
        self.replace_schema(schema)?;
        // Build now, so an expression that fails on an existing row fails CREATE INDEX.
        if let Some(table) = self.tables.get(table_name) {
            table.ensure_indexes()?;
        }
        Ok(())
    }

    fn drop_index(&mut self, table_name: &str, index_name: &str) -> Result<()> {
        let table = self
            .tables
            .get(table_name)
            .ok_or_else(|| IndexError::TableNotFound(table_name.to_owned()))?;
        let mut schema = table.schema.clone();
        let before = schema.indexes.len();
        schema.indexes.retain(|index| index.name != index_name);
        if schema.indexes.len() == before {
            return Err(IndexError::IndexNameDoesNotExist(index_name.to_owned()).into());
        }
        self.replace_schema(schema)
    }
}
