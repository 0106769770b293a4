//! Definitions read from rows of the objects table (foreign keys, CHECK constraints), cached
//! until a row of their kind changes. Parses nothing itself: each kind brings its reader.

use {
    super::{Row, Table},
    gluesql_core::data::Value,
    std::sync::Arc,
};

/// One kind's definitions as last read, and the rows they were read from. (An `Arc`: the
/// server moves its replica between threads.)
#[derive(Debug)]
pub(super) struct ObjectDefs<T> {
    fresh: bool,
    sources: Vec<(String, String, String)>,
    defs: Arc<Vec<T>>,
}

impl<T> Default for ObjectDefs<T> {
    fn default() -> Self {
        ObjectDefs {
            fresh: false,
            sources: Vec::new(),
            defs: Arc::new(Vec::new()),
        }
    }
}

/// A row's name, table and definition when it is of `kind`.
fn source<'r>(row: &'r Row, kind: &str) -> Option<(&'r str, &'r str, &'r str)> {
    match row.as_slice() {
        [_, Value::Str(k), Value::Str(table), Value::Str(name), Value::Str(definition), ..]
            if k == kind =>
        {
            Some((name, table, definition))
        }
        _ => None,
    }
}

impl<T> ObjectDefs<T> {
    /// The objects table changed: read again before the next use.
    pub(super) fn mark_stale(&mut self) {
        self.fresh = false;
    }

    /// The definitions of `kind` in `objects`. The objects table changes on every INSERT that
    /// moves a sequence: the rows are read again, and parsed again only when one of this
    /// kind changed. A row `read` refuses is skipped (the server refused it before any replica
    /// stored it).
    pub(super) fn get(
        &mut self,
        objects: Option<&Table>,
        kind: &str,
        read: impl Fn(&str, &str, &str) -> Option<T>,
    ) -> Arc<Vec<T>> {
        if self.fresh {
            return Arc::clone(&self.defs);
        }
        let sources: Vec<(&str, &str, &str)> = objects
            .map(|table| {
                table
                    .rows
                    .values()
                    .filter_map(|row| source(row, kind))
                    .collect()
            })
            .unwrap_or_default();
        let same = self.sources.len() == sources.len()
            && self
                .sources
                .iter()
                .zip(&sources)
                .all(|((n, t, d), (n2, t2, d2))| n == n2 && t == t2 && d == d2);
        if !same {
            self.defs = Arc::new(
                sources
                    .iter()
                    .filter_map(|(name, table, definition)| read(name, table, definition))
                    .collect(),
            );
            self.sources = sources
                .iter()
                .map(|(n, t, d)| (n.to_string(), t.to_string(), d.to_string()))
                .collect();
        }
        self.fresh = true;
        Arc::clone(&self.defs)
    }
}
