//! `Metadata`: what GLUE_OBJECTS shows about each table beyond its name (its creation time).

use {
    super::MemoryStore,
    gluesql_core::{
        data::Value,
        error::Result,
        store::{MetaIter, Metadata},
    },
    std::collections::BTreeMap,
};

impl Metadata for MemoryStore {
    fn scan_table_meta(&self) -> Result<MetaIter> {
        let metas = self
            .tables
            .iter()
            .map(|(name, table)| {
                let meta =
                    BTreeMap::from([("CREATED".to_owned(), Value::Timestamp(table.created))]);
                Ok((name.clone(), meta))
            })
            .collect::<Vec<_>>();
        Ok(Box::new(metas.into_iter()))
    }
}
