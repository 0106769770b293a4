//! Unique sets: a hash of each unique index's values per table, checked for every row GlueSQL
//! writes. `CREATE UNIQUE INDEX` (one column or several; GlueSQL has no such constraint) keeps
//! its definition in the hidden objects table; a column's UNIQUE constraint gets a set too, so
//! GlueSQL's validation scan can be answered by lookup (unique_check.rs). Remote and replayed
//! change sets are not checked: their producer validated them.

use {
    super::{MemoryStore, Row, Table},
    gluesql_core::{
        ast::DataType,
        data::{Key, Value},
        error::{Error, Result, ValidateError},
        executor::{evaluate_stateless, RowContext},
        plan::{plan_scalar_expr, ExprPlan},
    },
    std::collections::{BTreeMap, HashMap},
};

/// The hidden table holding views and index definitions GlueSQL has no place for. The engine
/// writes it with SQL; the store reads its unique-index rows.
pub const OBJECTS_TABLE: &str = "__idbsql_objects";

/// Names reserved for idbsql's own tables.
pub fn is_reserved(name: &str) -> bool {
    name.starts_with("__idbsql_")
}

/// Columns of the objects table, in order.
const KIND: usize = 1;
const TARGET: usize = 2;
const NAME: usize = 3;
const DEFINITION: usize = 4;
const COLUMNS: usize = 5;
const UNIQUE: usize = 6;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueDef {
    pub name: String,
    pub columns: Vec<String>,
    /// A column's own UNIQUE constraint rather than a `CREATE UNIQUE INDEX`.
    pub column: bool,
    /// A partial index's `WHERE` (as SQL): only rows for which it is TRUE are unique.
    pub predicate: Option<String>,
}

/// One unique index's values: each non-NULL tuple and the row that holds it.
#[derive(Debug, Clone)]
pub(super) struct UniqueData {
    def: UniqueDef,
    positions: Vec<usize>,
    entries: HashMap<Vec<Key>, Key>,
    /// A column set found two rows with one value (a remote change set can bring them: it is
    /// not checked). It checks nothing until rebuilt, and GlueSQL's own scan validates.
    tainted: bool,
    /// A partial index's predicate, planned, with the table's column names it reads by.
    predicate: Option<(ExprPlan, Vec<String>)>,
}

impl UniqueData {
    /// The row's values of the index; `None` when one is NULL or the row is outside a partial
    /// index (its predicate not TRUE, or failing to evaluate).
    fn tuple(&self, row: &[Value]) -> Option<Vec<Key>> {
        if let Some((predicate, columns)) = &self.predicate {
            let context = RowContext::RefVecData {
                columns,
                values: row,
            };
            let holds = evaluate_stateless(Some(context), predicate)
                .ok()
                .and_then(|evaluated| Value::try_from(evaluated).ok());
            if holds != Some(Value::Bool(true)) {
                return None;
            }
        }
        key_tuple(&self.positions, row)
    }
}

/// The `WHERE` of a stored `CREATE UNIQUE INDEX … WHERE …`, as SQL (`None` for a full index).
fn partial_predicate(definition: &str) -> Option<String> {
    if !definition.contains(" WHERE ") {
        return None;
    }
    match crate::sql_text::parse_one(definition) {
        Ok(gluesql_core::sqlparser::ast::Statement::CreateIndex(create)) => {
            create.predicate.map(|p| p.to_string())
        }
        _ => None,
    }
}

/// A partial index's predicate as GlueSQL plans it, from its SQL, every call behind its guard
/// (a replica evaluates it on every row it stores, whoever wrote the index).
fn planned_predicate(sql: &str, columns: &[(String, DataType)]) -> Result<ExprPlan> {
    let parsed = gluesql_core::parse_sql::parse_expr(sql)?;
    let mut translated = gluesql_core::translate::translate_expr(&parsed, &[])?;
    crate::guard::guard_row_expr(&mut translated, columns)
        .map_err(|too_complex| Error::StorageMsg(too_complex.to_string()))?;
    Ok(plan_scalar_expr(translated))
}

/// The values of `row` at `positions` as keys; `None` when one is NULL (NULLs never collide).
pub fn key_tuple(positions: &[usize], row: &[Value]) -> Option<Vec<Key>> {
    positions
        .iter()
        .map(|&i| match row.get(i) {
            None | Some(Value::Null) => None,
            Some(value) => Key::try_from(value.clone()).ok(),
        })
        .collect()
}

/// The unique sets of one table, rebuilt from its rows when stale.
#[derive(Debug, Default)]
pub(super) struct Uniques {
    sets: Vec<UniqueData>,
    fresh: bool,
}

impl Uniques {
    pub(super) fn mark_stale(&mut self) {
        self.fresh = false;
    }

    /// Keeps fresh sets in step with a row write (after it passed `check`).
    pub(super) fn update(&mut self, key: &Key, previous: Option<&Row>, current: Option<&Row>) {
        if !self.fresh {
            return;
        }
        for set in &mut self.sets {
            if let Some(tuple) = previous.and_then(|row| set.tuple(row)) {
                if set.entries.get(&tuple) == Some(key) {
                    set.entries.remove(&tuple);
                }
            }
            if let Some(tuple) = current.and_then(|row| set.tuple(row)) {
                let other = set.entries.insert(tuple, key.clone());
                if set.def.column && other.is_some_and(|holder| holder != *key) {
                    set.tainted = true;
                }
            }
        }
    }
}

impl Table {
    fn rebuild_uniques(&self, defs: &[UniqueDef]) -> Result<()> {
        let columns = self.column_names();
        let mut sets = Vec::new();
        for def in defs {
            let positions = def
                .columns
                .iter()
                .map(|c| {
                    columns.iter().position(|name| name == c).ok_or_else(|| {
                        Error::StorageMsg(format!(
                            "unique index {} names a column {} that {} does not have",
                            def.name, c, self.schema.table_name
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let predicate = match &def.predicate {
                Some(sql) => Some((
                    planned_predicate(sql, &self.typed_columns())?,
                    columns.clone(),
                )),
                None => None,
            };
            let mut set = UniqueData {
                def: def.clone(),
                positions,
                entries: HashMap::with_capacity(self.rows.len()),
                tainted: false,
                predicate,
            };
            for (key, row) in &self.rows {
                if let Some(tuple) = set.tuple(row) {
                    if set.entries.insert(tuple, key.clone()).is_some() {
                        if def.column {
                            set.tainted = true;
                            continue;
                        }
                        return Err(duplicate(&set.def, row, &set.positions));
                    }
                }
            }
            sets.push(set);
        }
        let mut uniques = self.uniques.borrow_mut();
        uniques.sets = sets;
        uniques.fresh = true;
        Ok(())
    }

    /// Builds the sets anew if the definitions or the rows changed under them.
    fn fresh_uniques(&self, defs: &[UniqueDef]) -> Result<()> {
        let current = {
            let uniques = self.uniques.borrow();
            uniques.fresh
                && uniques.sets.len() == defs.len()
                && uniques
                    .sets
                    .iter()
                    .zip(defs)
                    .all(|(set, def)| set.def == *def)
        };
        if !current {
            self.rebuild_uniques(defs)?;
        }
        Ok(())
    }

    /// Whether every column set of `defs` can answer for its column (fresh, not tainted).
    pub(super) fn column_sets_usable(&self, defs: &[UniqueDef]) -> bool {
        self.fresh_uniques(defs).is_ok()
            && self
                .uniques
                .borrow()
                .sets
                .iter()
                .all(|set| !(set.def.column && set.tainted))
    }

    /// Refuses `row` at `key` if another row holds the same values of a unique index.
    pub(super) fn check_unique(&self, defs: &[UniqueDef], key: &Key, row: &[Value]) -> Result<()> {
        self.fresh_uniques(defs)?;
        let uniques = self.uniques.borrow();
        for set in uniques.sets.iter().filter(|set| !set.tainted) {
            if let Some(tuple) = set.tuple(row) {
                if set.entries.get(&tuple).is_some_and(|holder| holder != key) {
                    return Err(duplicate(&set.def, row, &set.positions));
                }
            }
        }
        Ok(())
    }
}

fn duplicate(def: &UniqueDef, row: &[Value], positions: &[usize]) -> Error {
    let value = match positions {
        [one] => row.get(*one).cloned().unwrap_or(Value::Null),
        many => Value::Str(
            many.iter()
                .map(|&i| row.get(i).map(String::from).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    };
    ValidateError::DuplicateEntryOnUniqueField(value, def.columns.join(", ")).into()
}

impl MemoryStore {
    /// Every unique index per table, read from the objects table (cached until it changes).
    pub(super) fn unique_defs(&self, table: &str) -> Vec<UniqueDef> {
        if self.unique_defs.borrow().is_none() {
            let mut all: BTreeMap<String, Vec<UniqueDef>> = BTreeMap::new();
            if let Some(objects) = self.tables.get(OBJECTS_TABLE) {
                for row in objects.rows.values() {
                    let is_unique_index = matches!(row.get(KIND), Some(Value::Str(k)) if k == "index")
                        && matches!(row.get(UNIQUE), Some(Value::Bool(true)));
                    let (Some(Value::Str(target)), Some(Value::Str(name)), Some(Value::List(cols))) =
                        (row.get(TARGET), row.get(NAME), row.get(COLUMNS))
                    else {
                        continue;
                    };
                    if is_unique_index {
                        all.entry(target.clone()).or_default().push(UniqueDef {
                            name: name.clone(),
                            columns: cols.iter().map(String::from).collect(),
                            column: false,
                            predicate: match row.get(DEFINITION) {
                                Some(Value::Str(definition)) => partial_predicate(definition),
                                _ => None,
                            },
                        });
                    }
                }
            }
            *self.unique_defs.borrow_mut() = Some(all);
        }
        self.unique_defs
            .borrow()
            .as_ref()
            .and_then(|all| all.get(table).cloned())
            .unwrap_or_default()
    }

    /// Every unique set `table` keeps: its unique indexes, then one per UNIQUE column (the
    /// primary key is the row's key: it needs none).
    pub(super) fn check_defs(&self, table: &str) -> Vec<UniqueDef> {
        let mut defs = self.unique_defs(table);
        let columns = self
            .tables
            .get(table)
            .and_then(|t| t.schema.column_defs.as_ref());
        for def in columns.into_iter().flatten() {
            if def.unique.is_some_and(|u| !u.is_primary) {
                defs.push(UniqueDef {
                    name: def.name.clone(),
                    columns: vec![def.name.clone()],
                    column: true,
                    predicate: None,
                });
            }
        }
        defs
    }

    /// The objects table changed (or might have): unique definitions are read again.
    pub(super) fn objects_changed(&self, table: &str) {
        if table == OBJECTS_TABLE {
            *self.unique_defs.borrow_mut() = None;
            self.foreign_defs.borrow_mut().mark_stale();
            self.check_defs.borrow_mut().mark_stale();
        }
    }

    /// The server's check of a change set's UNIQUE columns by the sets, without a scan:
    /// `None` when a set cannot answer (tainted, or not built), and the caller scans.
    pub(super) fn check_unique_by_sets(
        &self,
        schema: &gluesql_core::data::Schema,
        rows: &[(Key, Option<Row>)],
    ) -> Option<std::result::Result<(), String>> {
        let table = self.tables.get(&schema.table_name)?;
        let defs = self.check_defs(&schema.table_name);
        if !table.column_sets_usable(&defs) {
            return None;
        }
        let uniques = table.uniques.borrow();
        let changed: std::collections::HashSet<&Key> = rows.iter().map(|(key, _)| key).collect();
        for set in uniques.sets.iter().filter(|set| set.def.column) {
            let mut incoming: HashMap<Vec<Key>, &Key> = HashMap::new();
            for (key, row) in rows {
                let Some(tuple) = row.as_deref().and_then(|row| set.tuple(row)) else {
                    continue;
                };
                let held_elsewhere = set
                    .entries
                    .get(&tuple)
                    .is_some_and(|holder| holder != key && !changed.contains(holder));
                let twice = incoming
                    .insert(tuple, key)
                    .is_some_and(|other| other != key);
                if held_elsewhere || twice {
                    return Some(Err(format!(
                        "unique violation: table {}, column {}",
                        schema.table_name,
                        set.def.columns.join(", ")
                    )));
                }
            }
        }
        Some(Ok(()))
    }

    /// Whether a row of `table` holds `keys` in `columns`, answered by a unique set over exactly
    /// those columns (any order; not partial, not tainted); `None` when no such set answers.
    pub(super) fn unique_holds(
        &self,
        table: &str,
        columns: &[String],
        keys: &[Key],
    ) -> Option<bool> {
        if keys.len() != columns.len() {
            return None;
        }
        let stored = self.tables.get(table)?;
        let defs = self.check_defs(table);
        stored.fresh_uniques(&defs).ok()?;
        let uniques = stored.uniques.borrow();
        let set = uniques.sets.iter().find(|set| {
            !set.tainted
                && set.predicate.is_none()
                && set.def.columns.len() == columns.len()
                && set.def.columns.iter().all(|c| columns.contains(c))
        })?;
        let tuple: Vec<Key> = set
            .def
            .columns
            .iter()
            .map(|c| columns.iter().position(|n| n == c).map(|i| keys[i].clone()))
            .collect::<Option<_>>()?;
        Some(set.entries.contains_key(&tuple))
    }

    /// Checks every unique index of `table` over its current rows; for CREATE UNIQUE INDEX.
    pub fn verify_unique(&self, table: &str) -> Result<()> {
        let defs = self.check_defs(table);
        match self.tables.get(table) {
            Some(table) if !defs.is_empty() => table.rebuild_uniques(&defs),
            _ => Ok(()),
        }
    }
}

impl MemoryStore {
    /// The primary key column of `table`, if it has one (read in place: no copy).
    pub fn primary_key(&self, table: &str) -> Option<&str> {
        self.tables
            .get(table)?
            .schema
            .column_defs
            .as_ref()?
            .iter()
            .find(|d| d.unique.is_some_and(|u| u.is_primary))
            .map(|d| d.name.as_str())
    }

    /// What ON CONFLICT can name in `table`: its primary key column, if any, and its UNIQUE
    /// columns and UNIQUE indexes — not partial ones, which key only some rows (PostgreSQL
    /// infers them only from an ON CONFLICT … WHERE, and a foreign key may not reference one).
    pub fn conflict_keys(&self, table: &str) -> (Option<String>, Vec<UniqueDef>) {
        let primary = self.primary_key(table).map(str::to_owned);
        let mut keys = self.check_defs(table);
        keys.retain(|def| def.predicate.is_none());
        (primary, keys)
    }
}
