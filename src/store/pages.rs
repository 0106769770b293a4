//! The checkpoint as pages, as the store sees them: which page holds each row (a key range of one
//! table), which pages changed since they were written, and the pages a fold must write so no
//! commit pays for the whole database. Builds change sets; never encodes them or touches
//! storage; what is on disk (which page ids, the next id) is the journal's to know.
//!
//! Page 0 is the catalog (every table's schema and every function); every other page holds the
//! rows of one table in one key range. A table's pages cover its whole key space: a page holds
//! the keys from its first key up to the next page's first key, the first page also every
//! smaller key. Row writes mark their page dirty with an epoch; a fold rewrites the dirty pages
//! as they are now and, once written, forgets the marks made before it began (a mark made
//! later, by a sync rollback and replay around the fold, stays).

use {
    super::MemoryStore,
    crate::protocol::{ChangeSet, SchemaChange, TableChange},
    gluesql_core::data::{Key, Value},
    std::{
        collections::{BTreeMap, BTreeSet},
        ops::Bound,
        sync::atomic::{AtomicU64, Ordering},
    },
};

/// Rows staged while loading before they are built into their table (at least; see
/// `load_page`).
const LOAD_BATCH_ROWS: usize = 32 * 1024;

/// The catalog page's id.
pub const CATALOG_PAGE: u64 = 0;

/// Marks are stamped from one counter so a fold can tell marks made before it from later ones.
/// Only their order matters, so one counter serves every store of the process: a table made
/// anew between a fold's plan and its confirmation (a sync replay) must stamp later than the
/// plan, which a per-table clock could not promise.
static EPOCH: AtomicU64 = AtomicU64::new(1);

fn epoch() -> u64 {
    EPOCH.load(Ordering::Relaxed)
}

#[derive(Debug, Default, Clone)]
pub(super) struct TablePages {
    /// Page ids by the first key each holds.
    by_first: BTreeMap<Key, u64>,
    /// Pages changed since written, with the epoch of the latest mark.
    dirty: BTreeMap<u64, u64>,
    /// Every row needs paging anew (a new table, or pages unknown), with the mark's epoch.
    all: Option<u64>,
    /// Rows added since the last fold: part of the estimate of waiting work.
    added: usize,
}

impl TablePages {
    fn page_of(&self, key: &Key) -> Option<u64> {
        self.by_first
            .range(..=key)
            .next_back()
            .or_else(|| self.by_first.iter().next())
            .map(|(_, id)| *id)
    }

    /// The row `key` changed (`added`: it did not exist before).
    pub(super) fn mark(&mut self, key: &Key, added: bool) {
        if added {
            self.added += 1;
        }
        let now = epoch();
        if self.all.is_some() {
            self.all = Some(now);
            return;
        }
        match self.page_of(key) {
            Some(id) => {
                self.dirty.insert(id, now);
            }
            None => self.all = Some(now),
        }
    }

    /// The key range page `id` (first key `first`) covers: (lower, upper).
    fn range_of(&self, first: &Key) -> (Bound<Key>, Bound<Key>) {
        let lower = if self.by_first.keys().next() == Some(first) {
            Bound::Unbounded
        } else {
            Bound::Included(first.clone())
        };
        let upper = self
            .by_first
            .range((Bound::Excluded(first.clone()), Bound::Unbounded))
            .next()
            .map_or(Bound::Unbounded, |(k, _)| Bound::Excluded(k.clone()));
        (lower, upper)
    }
}

/// Pages to write: a fold computed from the store, applied to it with `confirm_fold` once
/// written (a failed write leaves every mark in place).
#[derive(Debug)]
pub struct PageFold {
    /// Rewrite every page: clear the stored checkpoint first.
    pub replace: bool,
    /// The catalog change set (page 0); the caller writes it when it changed.
    pub catalog: ChangeSet,
    pub put: Vec<(u64, ChangeSet)>,
    pub delete: Vec<u64>,
    receipt: FoldReceipt,
}

/// What a loaded checkpoint page was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadedPage {
    /// One table's key range, kept as a page.
    Rows,
    /// The catalog (page 0).
    Catalog,
    /// A chunk of the format before pages (0.1.0): the next fold must rewrite the checkpoint
    /// whole.
    Chunk,
}

/// Rows of checkpoint pages read but not yet built into their tables (see `load_page`).
#[derive(Debug, Default)]
pub struct Staged(BTreeMap<String, Vec<(Key, Vec<Value>)>>);

/// What a fold is asked: the page ids on disk (the catalog aside), the next id to give one,
/// the rows a page holds, and whether to rewrite every page.
#[derive(Debug, Clone, Copy)]
pub struct FoldRequest<'a> {
    pub on_disk: &'a BTreeSet<u64>,
    pub next_id: u64,
    pub rows_per_page: usize,
    pub full: bool,
}

#[derive(Debug)]
struct FoldReceipt {
    epoch: u64,
    /// Per table: its directory after the fold, and the old ranges of the pages rewritten
    /// (a later mark on one of them is moved to the pages now covering that range).
    tables: Vec<TableFold>,
    written: BTreeSet<u64>,
    next_id: u64,
}

/// One table's part of a fold.
#[derive(Debug)]
struct TableFold {
    name: String,
    directory: BTreeMap<Key, u64>,
    rewritten: Vec<RewrittenRange>,
    repaged: bool,
}

#[derive(Debug)]
struct RewrittenRange {
    id: u64,
    lower: Bound<Key>,
    upper: Bound<Key>,
}

/// Pages cut from `rows` (in key order): `rows_per_page` each, the first reusing `reuse`.
fn cut<'a>(
    table: &str,
    rows: impl Iterator<Item = (&'a Key, &'a Vec<Value>)>,
    rows_per_page: usize,
    mut reuse: Option<u64>,
    next_id: &mut u64,
    directory: &mut BTreeMap<Key, u64>,
    put: &mut Vec<(u64, ChangeSet)>,
) {
    let mut page: Vec<(Key, Option<Vec<Value>>)> = Vec::new();
    let mut flush = |page: &mut Vec<(Key, Option<Vec<Value>>)>| {
        if page.is_empty() {
            return;
        }
        let id = reuse.take().unwrap_or_else(|| {
            let id = *next_id;
            *next_id += 1;
            id
        });
        directory.insert(page[0].0.clone(), id);
        put.push((
            id,
            ChangeSet {
                tables: vec![TableChange {
                    name: table.to_owned(),
                    schema: SchemaChange::Unchanged,
                    rows: std::mem::take(page),
                }],
                functions: Vec::new(),
            },
        ));
    };
    for (key, row) in rows {
        page.push((key.clone(), Some(row.clone())));
        if page.len() == rows_per_page {
            flush(&mut page);
        }
    }
    flush(&mut page);
}

impl MemoryStore {
    /// Roughly how many rows the next fold would write.
    pub fn fold_estimate(&self, rows_per_page: usize) -> usize {
        self.tables
            .values()
            .map(|table| {
                let pages = &table.pages;
                if pages.all.is_some() {
                    table.rows.len()
                } else {
                    pages.dirty.len() * rows_per_page + pages.added
                }
            })
            .sum()
    }

    /// The pages to write now: the dirty ones (every one with `full`), cut to about
    /// `rows_per_page` rows, and the stored pages no table refers to any more.
    pub fn plan_fold(&self, request: &FoldRequest<'_>) -> PageFold {
        let rows_per_page = request.rows_per_page.max(1);
        let full = request.full;
        // Marks made from here on survive this fold.
        let epoch = EPOCH.fetch_add(1, Ordering::Relaxed);
        let mut next_id = request.next_id.max(CATALOG_PAGE + 1);
        let mut put = Vec::new();
        let mut tables = Vec::new();
        let mut referenced = BTreeSet::new();
        for table in self.tables.values() {
            let name = &table.schema.table_name;
            let pages = &table.pages;
            let mut directory = BTreeMap::new();
            let mut rewritten = Vec::new();
            let repage = full || pages.all.is_some() || pages.by_first.is_empty();
            if repage {
                cut(
                    name,
                    table.rows.iter(),
                    rows_per_page,
                    None,
                    &mut next_id,
                    &mut directory,
                    &mut put,
                );
            } else {
                let dirty: BTreeSet<u64> = pages.dirty.keys().copied().collect();
                for (first, &id) in &pages.by_first {
                    if !dirty.contains(&id) {
                        directory.insert(first.clone(), id);
                        continue;
                    }
                    let (lower, upper) = pages.range_of(first);
                    // Oversized pages are split; a page cut small stays (merging neighbours
                    // would rewrite them too).
                    let per_page = if table
                        .rows
                        .range((lower.clone(), upper.clone()))
                        .nth(2 * rows_per_page)
                        .is_some()
                    {
                        rows_per_page
                    } else {
                        usize::MAX
                    };
                    cut(
                        name,
                        table.rows.range((lower.clone(), upper.clone())),
                        per_page,
                        Some(id),
                        &mut next_id,
                        &mut directory,
                        &mut put,
                    );
                    rewritten.push(RewrittenRange { id, lower, upper });
                }
            }
            referenced.extend(directory.values().copied());
            tables.push(TableFold {
                name: name.clone(),
                directory,
                rewritten,
                repaged: repage,
            });
        }
        let delete = request
            .on_disk
            .iter()
            .copied()
            .filter(|id| !referenced.contains(id))
            .collect();
        PageFold {
            replace: full,
            catalog: self.catalog_change_set(),
            put,
            delete,
            receipt: FoldReceipt {
                epoch,
                tables,
                written: referenced,
                next_id,
            },
        }
    }

    /// The fold is written: the directories it computed hold, and marks made before it are
    /// forgotten. Returns what is on disk now: the page ids (the catalog aside) and the next id
    /// to give a page.
    pub fn confirm_fold(&mut self, fold: PageFold) -> (BTreeSet<u64>, u64) {
        let receipt = fold.receipt;
        for TableFold {
            name,
            directory,
            rewritten,
            repaged,
        } in receipt.tables
        {
            let Some(table) = self.tables.get_mut(&name) else {
                continue;
            };
            let pages = &mut table.pages;
            let later: Vec<(u64, u64)> = pages
                .dirty
                .iter()
                .filter(|(_, &e)| e > receipt.epoch)
                .map(|(&id, &e)| (id, e))
                .collect();
            let all_later = pages.all.filter(|&e| e > receipt.epoch);
            pages.by_first = directory;
            pages.dirty.clear();
            pages.added = 0;
            pages.all = all_later;
            if repaged && !later.is_empty() {
                pages.all = Some(epoch());
                continue;
            }
            for (id, e) in later {
                match rewritten.iter().find(|r| r.id == id) {
                    // Marked after the fold read it: every page now covering its old range.
                    Some(range) => {
                        let start = match &range.lower {
                            Bound::Included(k) => pages.page_of(k),
                            _ => pages.by_first.values().next().copied(),
                        };
                        let mut ids: Vec<u64> = start.into_iter().collect();
                        let from = match &range.lower {
                            Bound::Included(k) => Bound::Excluded(k.clone()),
                            _ => Bound::Unbounded,
                        };
                        ids.extend(
                            pages
                                .by_first
                                .range((from, range.upper.clone()))
                                .map(|(_, id)| *id),
                        );
                        for id in ids {
                            pages.dirty.insert(id, e);
                        }
                    }
                    None => {
                        pages.dirty.insert(id, e);
                    }
                }
            }
        }
        (receipt.written, receipt.next_id)
    }

    /// The catalog page: every table's schema (empty) and every function.
    pub fn catalog_change_set(&self) -> ChangeSet {
        ChangeSet {
            tables: self
                .tables
                .values()
                .map(|table| TableChange {
                    name: table.schema.table_name.clone(),
                    schema: SchemaChange::Create {
                        schema: Box::new(table.schema.clone()),
                        created: table.created,
                    },
                    rows: Vec::new(),
                })
                .collect(),
            functions: self
                .functions
                .iter()
                .map(|(name, function)| crate::protocol::FunctionChange {
                    name: name.clone(),
                    function: Some(function.clone()),
                })
                .collect(),
        }
    }

    /// Loads one stored checkpoint page, in id order (the catalog, page 0, first). A page
    /// written before pages existed (0.1.0's chunks: several tables in one, or a catalog with
    /// rows) is applied as a change set, and the next fold rewrites the checkpoint whole.
    /// Rows go straight into their table, one at a time: no second copy of the database
    /// exists while it loads.
    pub fn load_page(
        &mut self,
        id: u64,
        mut page: ChangeSet,
        staged: &mut Staged,
    ) -> gluesql_core::error::Result<LoadedPage> {
        let is_row_page = id != CATALOG_PAGE
            && page.functions.is_empty()
            && page.tables.len() == 1
            && page.tables[0].schema == SchemaChange::Unchanged
            && !page.tables[0].rows.is_empty()
            && page.tables[0].rows.iter().all(|(_, row)| row.is_some());
        let is_catalog = id == CATALOG_PAGE && page.tables.iter().all(|t| t.rows.is_empty());
        if !is_row_page {
            self.apply_change_set(page)?;
            self.forget_marks();
            return Ok(if is_catalog {
                LoadedPage::Catalog
            } else {
                LoadedPage::Chunk
            });
        }
        let change = page.tables.remove(0);
        let table = self
            .tables
            .get_mut(&change.name)
            .ok_or_else(|| super::table_not_found(&change.name))?;
        if let Some((first, _)) = change.rows.first() {
            table.pages.by_first.insert(first.clone(), id);
        }
        table.indexes_stale.set(true);
        table.uniques.get_mut().mark_stale();
        let staged = staged.0.entry(change.name).or_default();
        staged.extend(
            change
                .rows
                .into_iter()
                .filter_map(|(key, row)| row.map(|row| (key, row))),
        );
        // Rows are staged and built into the table in batches that grow with it: a bulk
        // build is several times faster than inserting row by row, and growing batches keep
        // the merges linear overall while the staging stays smaller than the table.
        if staged.len() >= LOAD_BATCH_ROWS.max(table.rows.len()) {
            let rows = std::mem::take(staged);
            Self::merge_sorted(table, rows);
        }
        Ok(LoadedPage::Rows)
    }

    /// Builds the rows still staged into their tables: the checkpoint is loaded.
    pub fn finish_loading(&mut self, staged: Staged) {
        for (name, rows) in staged.0 {
            if let Some(table) = self.tables.get_mut(&name) {
                Self::merge_sorted(table, rows);
            }
        }
    }

    fn merge_sorted(table: &mut super::Table, mut rows: Vec<(Key, Vec<Value>)>) {
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut built: BTreeMap<Key, Vec<Value>> = rows.into_iter().collect();
        table.rows.append(&mut built);
    }

    /// After loading: nothing is dirty yet (the log replayed next marks what it changes).
    fn forget_marks(&mut self) {
        for table in self.tables.values_mut() {
            table.pages.dirty.clear();
            table.pages.added = 0;
        }
    }
}
