//! One secondary index: the evaluated index expression of every row, mapped to row keys, and
//! lookups that select exactly the rows a full scan with the same comparison would. Kept in
//! step with the rows by `Table::put_row`; knows nothing of transactions.

use {
    gluesql_core::{
        ast::{DataType, Expr, IndexOperator},
        data::{Key, Value},
        error::{Error, Result},
        executor::{evaluate_stateless, RowContext},
        plan::{plan_scalar_expr, ExprPlan},
    },
    rust_decimal::{prelude::ToPrimitive, Decimal},
    std::{
        cmp::Ordering,
        collections::{BTreeMap, BTreeSet},
        mem::discriminant,
        ops::Bound,
    },
};

#[derive(Debug, Clone)]
pub struct IndexData {
    expr: ExprPlan,
    /// A partial index's predicate: rows it is not TRUE for have no entry.
    predicate: Option<ExprPlan>,
    entries: BTreeMap<Key, BTreeSet<Key>>,
}

/// Index keys compare floats by total order, where -0.0 < 0.0; SQL holds them equal, so the
/// index stores zero one way.
fn normalize(key: Key) -> Key {
    match key {
        Key::F64(v) if v.0 == 0.0 => Key::F64(0.0.into()),
        Key::F32(v) if v.0 == 0.0 => Key::F32(0.0.into()),
        key => key,
    }
}

fn is_nan(key: &Key) -> bool {
    match key {
        Key::F64(v) => v.0.is_nan(),
        Key::F32(v) => v.0.is_nan(),
        _ => false,
    }
}

impl IndexData {
    /// The index of a schema expression (index_expr.rs), its calls behind their guards: every
    /// replica evaluates it for every row it stores, whoever wrote the index.
    pub fn new(expr: &Expr, columns: &[(String, DataType)]) -> Result<Self> {
        let guarded = |expr: &Expr| -> Result<ExprPlan> {
            let mut expr = expr.clone();
            crate::guard::guard_row_expr(&mut expr, columns)
                .map_err(|too_complex| Error::StorageMsg(too_complex.to_string()))?;
            Ok(plan_scalar_expr(expr))
        };
        let (value, predicate) = match super::index_expr::partial_parts(expr) {
            Some((predicate, value)) => (value, Some(guarded(predicate)?)),
            None => (expr, None),
        };
        Ok(Self {
            expr: guarded(value)?,
            predicate,
            entries: BTreeMap::new(),
        })
    }

    /// The row's entry key; `None` for a row outside a partial index.
    pub fn evaluate(&self, columns: &[String], row: &[Value]) -> Result<Option<Key>> {
        let context = || RowContext::RefVecData {
            columns,
            values: row,
        };
        if let Some(predicate) = &self.predicate {
            let holds: Value = evaluate_stateless(Some(context()), predicate)?.try_into()?;
            if holds != Value::Bool(true) {
                return Ok(None);
            }
        }
        let value: Value = evaluate_stateless(Some(context()), &self.expr)?.try_into()?;
        Key::try_from(value).map(normalize).map(Some)
    }

    pub fn insert(&mut self, columns: &[String], key: &Key, row: &[Value]) -> Result<()> {
        if let Some(index_key) = self.evaluate(columns, row)? {
            self.entries
                .entry(index_key)
                .or_default()
                .insert(key.clone());
        }
        Ok(())
    }

    pub fn remove(&mut self, columns: &[String], key: &Key, row: &[Value]) -> Result<()> {
        if let Some(index_key) = self.evaluate(columns, row)? {
            if let Some(keys) = self.entries.get_mut(&index_key) {
                keys.remove(key);
                if keys.is_empty() {
                    self.entries.remove(&index_key);
                }
            }
        }
        Ok(())
    }

    /// Row keys in index order for a comparison against `probe`, or all of them (NULL last, as
    /// GlueSQL orders it). The planner asks `= NULL` for IS NULL and `< NULL` for IS NOT NULL;
    /// any other comparison with NULL, or with NaN, is never true.
    pub fn lookup(&self, asc: bool, cmp: Option<(&IndexOperator, Value)>) -> Vec<Key> {
        let selected: Vec<(&Key, &BTreeSet<Key>)> = match cmp {
            None => self.entries.iter().collect(),
            Some((IndexOperator::Eq, Value::Null)) => {
                self.entries.get_key_value(&Key::None).into_iter().collect()
            }
            Some((IndexOperator::Lt, Value::Null)) => self.entries.range(..Key::None).collect(),
            Some((_, Value::Null)) => Vec::new(),
            Some((op, probe)) => self.compare(op, &probe),
        };
        let keys = |(_, keys): (&Key, &BTreeSet<Key>)| keys.iter().cloned().collect::<Vec<_>>();
        if asc {
            selected.into_iter().flat_map(keys).collect()
        } else {
            selected.into_iter().rev().flat_map(keys).collect()
        }
    }

    /// The entries whose key satisfies `key op probe` as SQL compares them, in key order.
    fn compare(&self, op: &IndexOperator, probe: &Value) -> Vec<(&Key, &BTreeSet<Key>)> {
        let keep = |ordering: Option<Ordering>| match (op, ordering) {
            (_, None) => false,
            (IndexOperator::Eq, Some(o)) => o == Ordering::Equal,
            (IndexOperator::Gt, Some(o)) => o == Ordering::Greater,
            (IndexOperator::GtEq, Some(o)) => o != Ordering::Less,
            (IndexOperator::Lt, Some(o)) => o == Ordering::Less,
            (IndexOperator::LtEq, Some(o)) => o != Ordering::Greater,
        };
        // Fast path: every key has one type and the probe converts to it exactly, so the
        // B-tree's order is SQL's order.
        if let Some(probe) = self
            .uniform_variant()
            .and_then(|sample| exact_key(probe, sample))
        {
            if is_nan(&probe) {
                return Vec::new();
            }
            let bounds = match op {
                IndexOperator::Eq => (Bound::Included(probe.clone()), Bound::Included(probe)),
                IndexOperator::Gt => (Bound::Excluded(probe), Bound::Excluded(Key::None)),
                IndexOperator::GtEq => (Bound::Included(probe), Bound::Excluded(Key::None)),
                IndexOperator::Lt => (Bound::Unbounded, Bound::Excluded(probe)),
                IndexOperator::LtEq => (Bound::Unbounded, Bound::Included(probe)),
            };
            if bounds_empty(&bounds) {
                return Vec::new();
            }
            return self
                .entries
                .range(bounds)
                .filter(|(key, _)| !is_nan(key))
                .collect();
        }
        // Mixed key types, or a probe that is not exactly a key (`int_col >= 4.5`,
        // `tiny_col < 300`): compare entry by entry, as a full scan would.
        self.entries
            .range(..Key::None)
            .filter(|(key, _)| keep(compare_key(key, probe)))
            .collect()
    }

    /// A key whose type every non-NULL key shares (keys of one type sort together).
    fn uniform_variant(&self) -> Option<&Key> {
        let first = self.entries.keys().next().filter(|k| **k != Key::None)?;
        let last = self.entries.range(..Key::None).next_back()?;
        (discriminant(first) == discriminant(last.0)).then_some(first)
    }
}

/// `probe` as a key of `sample`'s type, when that loses nothing.
fn exact_key(probe: &Value, sample: &Key) -> Option<Key> {
    let key = match (sample, probe) {
        (Key::I8(_), _) => Key::I8(integer(probe)?.try_into().ok()?),
        (Key::I16(_), _) => Key::I16(integer(probe)?.try_into().ok()?),
        (Key::I32(_), _) => Key::I32(integer(probe)?.try_into().ok()?),
        (Key::I64(_), _) => Key::I64(integer(probe)?.try_into().ok()?),
        (Key::I128(_), _) => Key::I128(integer(probe)?),
        (Key::U8(_), _) => Key::U8(integer(probe)?.try_into().ok()?),
        (Key::U16(_), _) => Key::U16(integer(probe)?.try_into().ok()?),
        (Key::U32(_), _) => Key::U32(integer(probe)?.try_into().ok()?),
        (Key::U64(_), _) => Key::U64(integer(probe)?.try_into().ok()?),
        (Key::U128(_), Value::U128(v)) => Key::U128(*v),
        (Key::U128(_), _) => Key::U128(integer(probe)?.try_into().ok()?),
        (Key::F64(_), _) => Key::F64(float(probe)?.into()),
        (Key::F32(_), _) => {
            let wide = float(probe)?;
            let narrow = wide as f32;
            (f64::from(narrow) == wide || wide.is_nan()).then_some(())?;
            Key::F32(narrow.into())
        }
        (Key::Decimal(_), _) => Key::Decimal(decimal(probe)?),
        (Key::Date(_), Value::Str(_)) => Key::try_from(probe.cast(&DataType::Date).ok()?).ok()?,
        (Key::Timestamp(_), Value::Str(_)) => {
            Key::try_from(probe.cast(&DataType::Timestamp).ok()?).ok()?
        }
        (Key::Time(_), Value::Str(_)) => Key::try_from(probe.cast(&DataType::Time).ok()?).ok()?,
        (Key::Uuid(_), Value::Str(_)) => Key::try_from(probe.cast(&DataType::Uuid).ok()?).ok()?,
        (Key::Inet(_), Value::Str(_)) => Key::try_from(probe.cast(&DataType::Inet).ok()?).ok()?,
        _ => Key::try_from(probe.clone()).ok()?,
    };
    (discriminant(&key) == discriminant(sample)).then(|| normalize(key))
}

/// A whole number, exactly.
fn integer(value: &Value) -> Option<i128> {
    Some(match value {
        Value::I8(v) => (*v).into(),
        Value::I16(v) => (*v).into(),
        Value::I32(v) => (*v).into(),
        Value::I64(v) => (*v).into(),
        Value::I128(v) => *v,
        Value::U8(v) => (*v).into(),
        Value::U16(v) => (*v).into(),
        Value::U32(v) => (*v).into(),
        Value::U64(v) => (*v).into(),
        Value::U128(v) => (*v).try_into().ok()?,
        Value::F32(v) => float_to_integer(f64::from(*v))?,
        Value::F64(v) => float_to_integer(*v)?,
        Value::Decimal(v) if v.fract().is_zero() => v.to_i128()?,
        _ => return None,
    })
}

fn float_to_integer(v: f64) -> Option<i128> {
    (v.is_finite() && v.fract() == 0.0 && v.abs() < 1e38).then_some(v as i128)
}

/// A float, exactly.
fn float(value: &Value) -> Option<f64> {
    match value {
        Value::F64(v) => Some(*v),
        Value::F32(v) => Some(f64::from(*v)),
        Value::Decimal(d) => {
            let f = d.to_f64()?;
            (Decimal::from_f64_retain(f) == Some(*d)).then_some(f)
        }
        _ => {
            let n = integer(value)?;
            let f = n as f64;
            (f.abs() < 1e38 && f as i128 == n).then_some(f)
        }
    }
}

/// A decimal, exactly.
fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::Decimal(d) => Some(*d),
        Value::F64(v) => Decimal::from_f64_retain(*v).filter(|d| d.to_f64() == Some(*v)),
        Value::F32(v) => {
            Decimal::from_f64_retain(f64::from(*v)).filter(|d| d.to_f64() == Some(f64::from(*v)))
        }
        _ => Decimal::from_i128_with_scale(integer(value)?, 0).into(),
    }
}

/// `key` against `probe` as a filter would compare them; `None` when they do not compare.
fn compare_key(key: &Key, probe: &Value) -> Option<Ordering> {
    if is_nan(key) {
        return None;
    }
    if let Some(probe) = exact_key(probe, key) {
        return (!is_nan(&probe)).then(|| key.cmp(&probe));
    }
    let value = Value::from(key.clone());
    match (&value, probe) {
        // GlueSQL compares a DECIMAL with nothing but a DECIMAL; numbers compare by value.
        (Value::Decimal(d), _) => match decimal(probe) {
            Some(p) => Some(d.cmp(&p)),
            None => d.to_f64()?.partial_cmp(&probe_as_f64(probe)?),
        },
        _ => value.evaluate_cmp(probe),
    }
}

fn probe_as_f64(value: &Value) -> Option<f64> {
    match value {
        Value::F64(v) => Some(*v),
        Value::F32(v) => Some(f64::from(*v)),
        Value::Decimal(d) => d.to_f64(),
        _ => integer(value).map(|n| n as f64),
    }
}

/// BTreeMap::range panics on an inverted or empty-exclusive range; such a range selects nothing.
fn bounds_empty(bounds: &(Bound<Key>, Bound<Key>)) -> bool {
    match bounds {
        (Bound::Included(lo), Bound::Included(hi)) => lo > hi,
        (Bound::Included(lo), Bound::Excluded(hi)) | (Bound::Excluded(lo), Bound::Included(hi)) => {
            lo >= hi
        }
        (Bound::Excluded(lo), Bound::Excluded(hi)) => lo >= hi,
        _ => false,
    }
}
