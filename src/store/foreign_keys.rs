//! Foreign keys: their definitions, read from the objects table (one `ALTER TABLE … ADD
//! CONSTRAINT … FOREIGN KEY` each), and their enforcement over a statement's writes — the
//! actions (CASCADE, SET NULL, SET DEFAULT) written as rows of the same transaction, then every
//! reference written and every referenced key removed checked. Decides nothing about SQL text.

use {
    super::{MemoryStore, Row, Savepoint, Table, Undo, OBJECTS_TABLE},
    crate::sql_text,
    gluesql_core::{
        ast::{ColumnDef, DataType, IndexOperator},
        data::{Key, Value},
        sqlparser::ast::{AlterTableOperation, ReferentialAction, Statement, TableConstraint},
    },
    std::{
        collections::{BTreeMap, HashMap, HashSet},
        sync::Arc,
    },
};

/// What a removed or changed referenced key does to the rows referencing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FkAction {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

impl FkAction {
    pub fn of(action: Option<ReferentialAction>) -> Self {
        match action {
            None | Some(ReferentialAction::NoAction) => FkAction::NoAction,
            Some(ReferentialAction::Restrict) => FkAction::Restrict,
            Some(ReferentialAction::Cascade) => FkAction::Cascade,
            Some(ReferentialAction::SetNull) => FkAction::SetNull,
            Some(ReferentialAction::SetDefault) => FkAction::SetDefault,
        }
    }

    pub fn as_sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }

    /// Whether it writes the referencing rows (the others only check).
    fn writes(self) -> bool {
        matches!(
            self,
            FkAction::Cascade | FkAction::SetNull | FkAction::SetDefault
        )
    }
}

/// One foreign key: `table (columns)` references `parent (parent_columns)`, which are the
/// parent's primary key or a UNIQUE column set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyDef {
    pub name: String,
    pub table: String,
    pub columns: Vec<String>,
    pub parent: String,
    pub parent_columns: Vec<String>,
    pub on_delete: FkAction,
    pub on_update: FkAction,
}

impl ForeignKeyDef {
    /// The statement stored as its definition (and written by export()).
    pub fn to_sql(&self) -> String {
        let list = |names: &[String]| {
            names
                .iter()
                .map(|n| sql_text::ident(n))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
            sql_text::ident(&self.table),
            sql_text::ident(&self.name),
            list(&self.columns),
            sql_text::ident(&self.parent),
            list(&self.parent_columns),
            self.on_delete.as_sql(),
            self.on_update.as_sql()
        )
    }

    /// Reads a stored definition back: one ALTER TABLE of `table` adding the constraint its
    /// object is named for (`table.constraint`).
    pub fn parse(object: &str, table: &str, definition: &str) -> Result<Self, String> {
        let name = object
            .strip_prefix(table)
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(object);
        let statement = sql_text::parse_one(definition)
            .map_err(|e| format!("foreign key {name}: its definition does not parse: {e}"))?;
        let last = |object: &gluesql_core::sqlparser::ast::ObjectName| {
            object.0.last().map(|i| i.value.clone()).unwrap_or_default()
        };
        let refused = || {
            format!("foreign key {object}: its definition is not one ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY")
        };
        let Statement::AlterTable {
            name: altered,
            operations,
            ..
        } = &statement
        else {
            return Err(refused());
        };
        let [AlterTableOperation::AddConstraint(TableConstraint::ForeignKey {
            name: Some(constraint),
            columns,
            foreign_table,
            referred_columns,
            on_delete,
            on_update,
            characteristics: None,
        })] = operations.as_slice()
        else {
            return Err(refused());
        };
        if last(altered) != table
            || object != format!("{table}.{}", constraint.value)
            || columns.is_empty()
            || columns.len() != referred_columns.len()
        {
            return Err(refused());
        }
        Ok(ForeignKeyDef {
            name: constraint.value.clone(),
            table: table.to_owned(),
            columns: columns.iter().map(|c| c.value.clone()).collect(),
            parent: last(foreign_table),
            parent_columns: referred_columns.iter().map(|c| c.value.clone()).collect(),
            on_delete: FkAction::of(*on_delete),
            on_update: FkAction::of(*on_update),
        })
    }
}

/// A write a foreign key refused: PostgreSQL's wording, shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ForeignKeyViolation(pub String);

/// Rounds of actions one statement may set off (each round acts on the rows the last one
/// wrote): a chain of cascades deeper than this is refused rather than run without end.
const MAX_ROUNDS: usize = 10_000;

/// The rows of each table written between two points of the undo log: each key once, with
/// the row it held before the first of those writes.
type Written = BTreeMap<String, HashMap<Key, Option<Row>>>;

/// One foreign key resolved against the tables as they are: column positions and types.
struct Resolved<'d> {
    def: &'d ForeignKeyDef,
    child: Vec<usize>,
    parent: Vec<usize>,
    /// The parent's column types where they differ from the child's: child values are cast
    /// to them before they are compared.
    casts: Vec<Option<DataType>>,
    /// The parent's key is its primary key column: a lookup by row key answers.
    by_row_key: bool,
}

fn values_at(positions: &[usize], row: &[Value]) -> Option<Vec<Value>> {
    positions
        .iter()
        .map(|&i| match row.get(i) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value.clone()),
        })
        .collect()
}

fn keys_of(values: &[Value]) -> Option<Vec<Key>> {
    values
        .iter()
        .map(|v| Key::try_from(v.clone()).ok())
        .collect()
}

fn shown(names: &[String], values: &[Value]) -> String {
    let values: Vec<String> = values.iter().map(String::from).collect();
    format!("({})=({})", names.join(", "), values.join(", "))
}

impl Resolved<'_> {
    /// A child row's reference as the parent's keys; `None` when a column is NULL (MATCH
    /// SIMPLE: such a row references nothing) or a value cannot be a parent's value.
    fn reference(&self, row: &[Value]) -> Option<(Vec<Value>, Option<Vec<Key>>)> {
        let values = values_at(&self.child, row)?;
        let cast: Option<Vec<Value>> = values
            .iter()
            .zip(&self.casts)
            .map(|(value, cast)| match cast {
                Some(data_type) => value.cast(data_type).ok(),
                None => Some(value.clone()),
            })
            .collect();
        let keys = cast.as_deref().and_then(keys_of);
        Some((values, keys))
    }

    fn parent_tuple(&self, row: &[Value]) -> Option<Vec<Key>> {
        keys_of(&values_at(&self.parent, row)?)
    }
}

impl MemoryStore {
    /// Every foreign key, read from the objects table (see object_defs).
    pub fn foreign_keys(&self) -> Arc<Vec<ForeignKeyDef>> {
        self.foreign_defs.borrow_mut().get(
            self.tables.get(OBJECTS_TABLE),
            "foreign_key",
            |name, table, definition| ForeignKeyDef::parse(name, table, definition).ok(),
        )
    }

    pub fn has_foreign_keys(&self) -> bool {
        self.tables.contains_key(OBJECTS_TABLE) && !self.foreign_keys().is_empty()
    }

    fn resolve<'d>(&self, def: &'d ForeignKeyDef) -> Result<Resolved<'d>, ForeignKeyViolation> {
        let columns_of = |table: &str| -> Result<&Vec<ColumnDef>, ForeignKeyViolation> {
            self.tables
                .get(table)
                .and_then(|t| t.schema.column_defs.as_ref())
                .ok_or_else(|| {
                    ForeignKeyViolation(format!(
                        "foreign key {} names table {table}, which does not exist",
                        def.name
                    ))
                })
        };
        let positions = |columns: &[ColumnDef], names: &[String], table: &str| {
            names
                .iter()
                .map(|name| {
                    columns.iter().position(|c| &c.name == name).ok_or_else(|| {
                        ForeignKeyViolation(format!(
                            "foreign key {} names column {name}, which table {table} does not have",
                            def.name
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let child_columns = columns_of(&def.table)?;
        let parent_columns = columns_of(&def.parent)?;
        let child = positions(child_columns, &def.columns, &def.table)?;
        let parent = positions(parent_columns, &def.parent_columns, &def.parent)?;
        let casts = child
            .iter()
            .zip(&parent)
            .map(|(&c, &p)| {
                let (c, p) = (&child_columns[c].data_type, &parent_columns[p].data_type);
                (c != p).then(|| p.clone())
            })
            .collect();
        let by_row_key = matches!(parent.as_slice(), [one] if parent_columns[*one].unique.is_some_and(|u| u.is_primary));
        Ok(Resolved {
            def,
            child,
            parent,
            casts,
            by_row_key,
        })
    }

    /// Whether some row of the parent holds `keys` in the referenced columns.
    fn parent_holds(&self, fk: &Resolved, keys: &[Key], cache: &mut ParentSets) -> bool {
        let Some(table) = self.tables.get(&fk.def.parent) else {
            return false;
        };
        if fk.by_row_key {
            return keys.first().is_some_and(|key| table.rows.contains_key(key));
        }
        if let Some(held) = self.unique_holds(&fk.def.parent, &fk.def.parent_columns, keys) {
            return held;
        }
        let set = cache.entry(fk.def.name.clone()).or_insert_with(|| {
            table
                .rows
                .values()
                .filter_map(|row| fk.parent_tuple(row))
                .collect()
        });
        set.contains(keys)
    }

    /// The rows written between two points of the undo log, of the tables a foreign key of
    /// `defs` names only: a statement's other writes are not copied.
    fn written_between(&self, defs: &[ForeignKeyDef], from: usize, to: usize) -> Written {
        let mut written: Written = BTreeMap::new();
        let Some(tx) = self.tx.as_ref() else {
            return written;
        };
        let named = |table: &str| defs.iter().any(|d| d.table == table || d.parent == table);
        for step in tx.undo.get(from..to).into_iter().flatten() {
            if let Undo::Row {
                table,
                key,
                previous,
            } = step
            {
                if !named(table) {
                    continue;
                }
                written
                    .entry(table.clone())
                    .or_default()
                    .entry(key.clone())
                    .or_insert_with(|| previous.clone());
            }
        }
        written
    }

    /// The running statement moved these rows of `table` to new primary keys.
    pub fn note_key_moves(&self, table: &str, moves: Vec<(Key, Key)>) {
        self.key_moves.borrow_mut().extend(
            moves
                .into_iter()
                .filter(|(old, new)| old != new)
                .map(|(old, new)| (table.to_owned(), old, new)),
        );
    }

    /// The statement ended: its moves are forgotten.
    pub fn clear_key_moves(&self) {
        self.key_moves.borrow_mut().clear();
    }

    fn undo_len(&self) -> usize {
        self.tx.as_ref().map_or(0, |tx| tx.undo.len())
    }

    /// The referenced keys of `fk`'s parent that the writes removed: held before by a row
    /// now gone or changed, and by no row now. Each with the values that replaced it (an
    /// UPDATE's new key) or `None` (a DELETE).
    fn removed_keys(
        &self,
        fk: &Resolved,
        written: &Written,
        cache: &mut ParentSets,
    ) -> Vec<Removed> {
        let (Some(rows), Some(table)) =
            (written.get(&fk.def.parent), self.tables.get(&fk.def.parent))
        else {
            return Vec::new();
        };
        let mut removed = Vec::new();
        for (key, previous) in rows {
            let Some(old) = previous.as_deref() else {
                continue;
            };
            let Some(old_values) = values_at(&fk.parent, old) else {
                continue;
            };
            let Some(old_keys) = keys_of(&old_values) else {
                continue;
            };
            // A row moved to a new primary key is the same row, updated.
            let now = table.rows.get(key).or_else(|| {
                let moves = self.key_moves.borrow();
                let moved = moves
                    .iter()
                    .find(|(t, old, _)| *t == fk.def.parent && old == key)
                    .map(|(_, _, new)| new.clone());
                moved.and_then(|new| table.rows.get(&new))
            });
            let new_values = now.map(|row| {
                fk.parent
                    .iter()
                    .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
                    .collect::<Vec<_>>()
            });
            if new_values.as_deref().and_then(keys_of).as_ref() == Some(&old_keys) {
                continue;
            }
            if self.parent_holds(fk, &old_keys, cache) {
                continue;
            }
            removed.push((old_keys, old_values, new_values));
        }
        removed
    }

    /// Runs the actions of every foreign key on the writes made since `since`, then checks
    /// every reference: what PostgreSQL does at the end of a statement. On error the caller
    /// rolls the statement back.
    pub fn enforce_foreign_keys(&mut self, since: &Savepoint) -> Result<(), ForeignKeyViolation> {
        let defs = self.foreign_keys();
        if defs.is_empty() {
            return Ok(());
        }
        let start = since.undo;
        let mut from = start;
        let mut rounds = 0;
        loop {
            let to = self.undo_len();
            if from >= to {
                break;
            }
            let written = self.written_between(&defs, from, to);
            from = to;
            rounds += 1;
            if rounds > MAX_ROUNDS {
                return Err(ForeignKeyViolation(format!(
                    "foreign key actions of one statement went {MAX_ROUNDS} levels deep: refused"
                )));
            }
            for def in defs.iter() {
                if !(def.on_delete.writes() || def.on_update.writes())
                    || !written.contains_key(&def.parent)
                {
                    continue;
                }
                self.act(def, &written)?;
            }
        }
        let written = self.written_between(&defs, start, self.undo_len());
        self.check_written(&defs, &written)
    }

    /// Every foreign key over the rows `written` changed: references written exist, keys
    /// removed are referenced by no row. A key naming a table or column that is gone checks
    /// nothing (a replica cannot make every write fail by storing one).
    fn check_written(
        &self,
        defs: &[ForeignKeyDef],
        written: &Written,
    ) -> Result<(), ForeignKeyViolation> {
        let mut cache = ParentSets::new();
        for def in defs {
            if !written.contains_key(&def.table) && !written.contains_key(&def.parent) {
                continue;
            }
            let Ok(fk) = self.resolve(def) else { continue };
            self.check_references(&fk, written, &mut cache)?;
            self.check_removed(&fk, written, &mut cache)?;
        }
        Ok(())
    }

    /// The server's check of a change set it applied, given the inverse `apply` returned (the
    /// rows as they were): the same check as a statement's end, at the push's place in the order.
    pub fn check_foreign_keys_applied(
        &self,
        inverse: &crate::protocol::ChangeSet,
    ) -> Result<(), ForeignKeyViolation> {
        let defs = self.foreign_keys();
        if defs.is_empty() {
            return Ok(());
        }
        let mut written: Written = BTreeMap::new();
        for change in &inverse.tables {
            let rows = written.entry(change.name.clone()).or_default();
            // Applied in order and inverted newest first: the oldest inverse row is the one
            // that held before the change set.
            for (key, previous) in &change.rows {
                rows.insert(key.clone(), previous.clone());
            }
            if !matches!(
                change.schema,
                crate::protocol::SchemaChange::Unchanged | crate::protocol::SchemaChange::Alter(_)
            ) {
                // A table created or replaced whole: each of its rows now is written.
                if let Some(table) = self.tables.get(&change.name) {
                    for key in table.rows.keys() {
                        rows.entry(key.clone()).or_insert(None);
                    }
                }
            }
        }
        self.check_written(&defs, &written)
    }

    /// The action of `def` on the rows referencing keys `written` removed from its parent.
    fn act(&mut self, def: &ForeignKeyDef, written: &Written) -> Result<(), ForeignKeyViolation> {
        let mut cache = ParentSets::new();
        let Ok(fk) = self.resolve(def) else {
            return Ok(());
        };
        let mut removed: HashMap<Vec<Key>, (FkAction, Option<Vec<Value>>)> = HashMap::new();
        let mut firsts = Vec::new();
        for (keys, values, new) in self.removed_keys(&fk, written, &mut cache) {
            let action = if new.is_some() {
                def.on_update
            } else {
                def.on_delete
            };
            if action.writes() {
                removed.insert(keys, (action, new));
                firsts.extend(values.into_iter().next());
            }
        }
        if removed.is_empty() {
            return Ok(());
        }
        let Some(table) = self.tables.get(&def.table) else {
            return Ok(());
        };
        let columns = table.schema.column_defs.clone().unwrap_or_default();
        let mut writes: Vec<(Key, Option<Row>)> = Vec::new();
        for (key, row) in candidate_rows(&fk, table, &firsts) {
            let Some((_, Some(keys))) = fk.reference(row) else {
                continue;
            };
            let Some((action, new)) = removed.get(&keys) else {
                continue;
            };
            let replaced = match action {
                FkAction::Cascade => new.as_ref().map(|values| {
                    let mut row = row.clone();
                    for (&i, value) in fk.child.iter().zip(values) {
                        row[i] = value.clone();
                    }
                    row
                }),
                FkAction::SetNull | FkAction::SetDefault => {
                    let mut row = row.clone();
                    for &i in &fk.child {
                        row[i] = if *action == FkAction::SetNull {
                            Value::Null
                        } else {
                            super::validate::default_value(&columns[i]).unwrap_or(Value::Null)
                        };
                        if row[i] == Value::Null && !columns[i].nullable {
                            return Err(ForeignKeyViolation(format!(
                                "null value in column \"{}\" of relation \"{}\" violates not-null constraint (foreign key {} sets it)",
                                columns[i].name, def.table, def.name
                            )));
                        }
                    }
                    Some(row)
                }
                FkAction::NoAction | FkAction::Restrict => continue,
            };
            writes.push((key.clone(), replaced));
        }
        let primary = columns
            .iter()
            .position(|c| c.unique.is_some_and(|u| u.is_primary));
        for (key, row) in writes {
            let new_key = match (&row, primary) {
                (Some(row), Some(p)) => row.get(p).and_then(|v| Key::try_from(v).ok()),
                _ => None,
            };
            let violation = |e: gluesql_core::error::Error| ForeignKeyViolation(e.to_string());
            match new_key {
                Some(new_key) if new_key != key => {
                    self.write_row(&def.table, key, None).map_err(violation)?;
                    let taken = self
                        .tables
                        .get(&def.table)
                        .is_some_and(|t| t.rows.contains_key(&new_key));
                    if taken {
                        return Err(ForeignKeyViolation(format!(
                            "duplicate key value violates the primary key of \"{}\" (foreign key {} updates it)",
                            def.table, def.name
                        )));
                    }
                    self.write_row(&def.table, new_key, row)
                        .map_err(violation)?;
                }
                _ => self.write_row(&def.table, key, row).map_err(violation)?,
            }
        }
        Ok(())
    }

    /// Every row written in `fk`'s table whose reference changed references a parent row.
    fn check_references(
        &self,
        fk: &Resolved,
        written: &Written,
        cache: &mut ParentSets,
    ) -> Result<(), ForeignKeyViolation> {
        let (Some(rows), Some(table)) =
            (written.get(&fk.def.table), self.tables.get(&fk.def.table))
        else {
            return Ok(());
        };
        for (key, previous) in rows {
            let Some(row) = table.rows.get(key) else {
                continue;
            };
            let Some((values, keys)) = fk.reference(row) else {
                continue;
            };
            let unchanged = previous
                .as_deref()
                .and_then(|old| fk.reference(old))
                .is_some_and(|(old, _)| old == values);
            if unchanged {
                continue;
            }
            let held = keys.is_some_and(|keys| self.parent_holds(fk, &keys, cache));
            if !held {
                return Err(ForeignKeyViolation(format!(
                    "insert or update on table \"{}\" violates foreign key constraint \"{}\": key {} is not present in table \"{}\"",
                    fk.def.table,
                    fk.def.name,
                    shown(&fk.def.columns, &values),
                    fk.def.parent
                )));
            }
        }
        Ok(())
    }

    /// No row references a key the writes removed from `fk`'s parent.
    fn check_removed(
        &self,
        fk: &Resolved,
        written: &Written,
        cache: &mut ParentSets,
    ) -> Result<(), ForeignKeyViolation> {
        let removed: HashMap<Vec<Key>, Vec<Value>> = self
            .removed_keys(fk, written, cache)
            .into_iter()
            .map(|(keys, values, _)| (keys, values))
            .collect();
        if removed.is_empty() {
            return Ok(());
        }
        let Some(table) = self.tables.get(&fk.def.table) else {
            return Ok(());
        };
        let firsts: Vec<Value> = removed
            .values()
            .filter_map(|values| values.first().cloned())
            .collect();
        for (_, row) in candidate_rows(fk, table, &firsts) {
            if let Some((_, Some(keys))) = fk.reference(row) {
                if let Some(values) = removed.get(&keys) {
                    return Err(ForeignKeyViolation(format!(
                        "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{}\": key {} is still referenced from table \"{}\"",
                        fk.def.parent,
                        fk.def.name,
                        fk.def.table,
                        shown(&fk.def.parent_columns, values),
                        fk.def.table
                    )));
                }
            }
        }
        Ok(())
    }

    /// Checks `def` over every row of its table, as ADD CONSTRAINT does before it stores it.
    pub fn check_foreign_key(&self, def: &ForeignKeyDef) -> Result<(), ForeignKeyViolation> {
        let fk = self.resolve(def)?;
        let mut cache = ParentSets::new();
        let Some(table) = self.tables.get(&def.table) else {
            return Ok(());
        };
        for row in table.rows.values() {
            let Some((values, keys)) = fk.reference(row) else {
                continue;
            };
            if !keys.is_some_and(|keys| self.parent_holds(&fk, &keys, &mut cache)) {
                return Err(ForeignKeyViolation(format!(
                    "insert or update on table \"{}\" violates foreign key constraint \"{}\": key {} is not present in table \"{}\"",
                    def.table,
                    def.name,
                    shown(&def.columns, &values),
                    def.parent
                )));
            }
        }
        Ok(())
    }
}

/// The child rows that may reference one of the removed keys (`firsts`: each one's value of the
/// first referenced column): found by the child's index on its first referencing column when it
/// has one of the parent's type and few keys went, else every row. Each found row is still
/// matched on every column by its caller.
fn candidate_rows<'t>(
    fk: &Resolved,
    table: &'t Table,
    firsts: &[Value],
) -> Vec<(&'t Key, &'t Row)> {
    let every = || table.rows.iter().collect();
    let (Some(column), Some(None)) = (fk.def.columns.first(), fk.casts.first()) else {
        return every();
    };
    if firsts.len().saturating_mul(8) > table.rows.len() {
        return every();
    }
    let index = table.schema.indexes.iter().find(
        |index| matches!(&index.expr, gluesql_core::ast::Expr::Identifier(name) if name == column),
    );
    let Some(index) = index else {
        return every();
    };
    let mut keys = std::collections::BTreeSet::new();
    for value in firsts {
        match table.index_lookup(&index.name, true, Some((&IndexOperator::Eq, value.clone()))) {
            Ok(Some(found)) => keys.extend(found),
            _ => return every(),
        }
    }
    keys.into_iter()
        .filter_map(|key| table.rows.get_key_value(&key))
        .collect()
}

/// A referenced key removed: its keys, its values, and the values that replaced it (`None`
/// for a deleted row).
type Removed = (Vec<Key>, Vec<Value>, Option<Vec<Value>>);

/// Each parent's referenced keys, built once per check when no row key answers.
type ParentSets = HashMap<String, HashSet<Vec<Key>>>;
