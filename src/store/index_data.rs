//! One secondary index: the evaluated index expression of every row, mapped to row keys.
//! Kept in step with the rows by `Table::put_row`; knows nothing of transactions.

use {
    gluesql_core::{
        ast::{Expr, IndexOperator},
        data::{Key, Value},
        error::Result,
        executor::{evaluate_stateless, RowContext},
        plan::{plan_scalar_expr, ExprPlan},
    },
    std::{
        collections::{BTreeMap, BTreeSet},
        ops::Bound,
    },
};

#[derive(Debug, Clone)]
pub struct IndexData {
    expr: ExprPlan,
    entries: BTreeMap<Key, BTreeSet<Key>>,
}

impl IndexData {
    pub fn new(expr: &Expr) -> Self {
        Self {
            expr: plan_scalar_expr(expr.clone()),
            entries: BTreeMap::new(),
        }
    }

    pub fn evaluate(&self, columns: &[String], row: &[Value]) -> Result<Key> {
        let context = RowContext::RefVecData {
            columns,
            values: row,
        };
        let value: Value = evaluate_stateless(Some(context), &self.expr)?.try_into()?;
        Key::try_from(value)
    }

    pub fn insert(&mut self, columns: &[String], key: &Key, row: &[Value]) -> Result<()> {
        let index_key = self.evaluate(columns, row)?;
        self.entries
            .entry(index_key)
            .or_default()
            .insert(key.clone());
        Ok(())
    }

    pub fn remove(&mut self, columns: &[String], key: &Key, row: &[Value]) -> Result<()> {
        let index_key = self.evaluate(columns, row)?;
        if let Some(keys) = self.entries.get_mut(&index_key) {
            keys.remove(key);
            if keys.is_empty() {
                self.entries.remove(&index_key);
            }
        }
        Ok(())
    }

    /// Row keys in index order for a comparison against `value`, or all of them.
    /// NULL sorts last, as GlueSQL orders it, and never satisfies a comparison.
    pub fn lookup(&self, asc: bool, cmp: Option<(&IndexOperator, Key)>) -> Vec<Key> {
        let range: Box<dyn DoubleEndedIterator<Item = (&Key, &BTreeSet<Key>)>> = match cmp {
            None => Box::new(self.entries.iter()),
            Some((_, Key::None)) => Box::new(std::iter::empty()),
            Some((op, value)) => {
                let bounds = match op {
                    IndexOperator::Eq => (Bound::Included(value.clone()), Bound::Included(value)),
                    IndexOperator::Gt => (Bound::Excluded(value), Bound::Excluded(Key::None)),
                    IndexOperator::GtEq => (Bound::Included(value), Bound::Excluded(Key::None)),
                    IndexOperator::Lt => (Bound::Unbounded, Bound::Excluded(value)),
                    IndexOperator::LtEq => (Bound::Unbounded, Bound::Included(value)),
                };
                if bounds_empty(&bounds) {
                    Box::new(std::iter::empty())
                } else {
                    Box::new(self.entries.range(bounds))
                }
            }
        };
        let keys = |(_, keys): (&Key, &BTreeSet<Key>)| keys.iter().cloned().collect::<Vec<_>>();
        if asc {
            range.flat_map(keys).collect()
        } else {
            range.rev().flat_map(keys).collect()
        }
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
