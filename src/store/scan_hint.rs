//! Which rows an UPDATE or DELETE can touch, found from its WHERE by primary key or index, so
//! GlueSQL's executor (which always scans) visits only those. Never decides which rows match:
//! GlueSQL still applies the whole WHERE to each row handed over, so a hint only has to hold
//! every row that could match (a superset); anything it cannot prove gives no hint.
//!
//! The planner hook sets the hint; the next `scan_data` of that table takes it (GlueSQL's
//! UPDATE/DELETE start with that scan; later scans of the table, such as UNIQUE validation or
//! a self-referencing foreign key check, see every row); the engine clears it after each
//! statement whatever happened.

use {
    super::MemoryStore,
    crate::kinds::{is_integer_type, is_integer_value},
    gluesql_core::{
        ast::{
            BinaryOperator, DataType, Expr, IndexOperator, Literal as AstLiteral, UnaryOperator,
        },
        data::{Key, Value},
        executor::evaluate_stateless,
        plan::{ExprPlan, StatementPlan},
    },
    std::collections::BTreeSet,
};

#[derive(Debug, Clone)]
pub(super) struct ScanHint {
    pub table: String,
    /// In key order, each once: the order a full scan would visit them.
    pub keys: Vec<Key>,
}

/// Primary key types whose equality is the key's: integers compare by value (a whole literal
/// or parameter converts to exactly one key) and text by its bytes. Floats (-0.0, NaN),
/// decimals and the rest give no hint.
fn key_type(data_type: &DataType) -> bool {
    is_integer_type(data_type) || matches!(data_type, DataType::Text | DataType::Uuid)
}

/// An expression with the same value for every row and every evaluation: literals and
/// parameters under operators and casts. Functions are left out (RANDOM() differs per row).
fn is_constant(expr: &ExprPlan) -> bool {
    match expr {
        ExprPlan::Literal(_) | ExprPlan::Value(_) | ExprPlan::TypedString { .. } => true,
        ExprPlan::Nested(inner) | ExprPlan::UnaryOp { expr: inner, .. } => is_constant(inner),
        ExprPlan::BinaryOp { left, right, .. } => is_constant(left) && is_constant(right),
        _ => false,
    }
}

/// Whether a constant is the kind of value that equals a key of `data_type` only when it is
/// that key: a whole number for integer keys, a string for text and UUID keys.
fn same_kind(expr: &ExprPlan, data_type: &DataType) -> bool {
    let text = matches!(data_type, DataType::Text | DataType::Uuid);
    match expr {
        ExprPlan::Nested(inner) => same_kind(inner, data_type),
        ExprPlan::UnaryOp {
            op: UnaryOperator::Minus | UnaryOperator::Plus,
            expr: inner,
        } => !text && same_kind(inner, data_type),
        ExprPlan::Literal(AstLiteral::Number(n)) => !text && n.is_integer(),
        ExprPlan::Literal(AstLiteral::QuotedString(_)) => text,
        ExprPlan::Value(value) => match value {
            Value::Str(_) => text,
            Value::Uuid(_) => data_type == &DataType::Uuid,
            v => is_integer_value(v) && !text,
        },
        _ => false,
    }
}

struct Finder<'a> {
    store: &'a MemoryStore,
    table: &'a str,
    /// The primary key column and its type, if the table has one of a key type.
    primary_key: Option<(&'a str, &'a DataType, bool)>,
}

impl Finder<'_> {
    /// The column `expr` names, if it is a column of this table.
    fn column<'e>(&self, expr: &'e ExprPlan) -> Option<&'e str> {
        match expr {
            ExprPlan::Identifier(name) => Some(name),
            ExprPlan::CompoundIdentifier { alias, ident } if alias == self.table => Some(ident),
            ExprPlan::Nested(inner) => self.column(inner),
            _ => None,
        }
    }

    /// The row key `value` is on the primary key, as GlueSQL's own key lookup computes it.
    fn key_of(&self, value: &ExprPlan) -> Option<Key> {
        let (_, data_type, nullable) = self.primary_key?;
        if !is_constant(value) || !same_kind(value, data_type) {
            return None;
        }
        let evaluated = evaluate_stateless(None, value).ok()?;
        let value = evaluated.try_into_value(data_type, nullable).ok()?;
        if value == Value::Null {
            return None;
        }
        Key::try_from(value).ok()
    }

    fn is_primary_key(&self, expr: &ExprPlan) -> bool {
        matches!((self.column(expr), self.primary_key), (Some(c), Some((pk, _, _))) if c == pk)
    }

    /// Keys from a one-column index on `column` for `column op value`.
    fn index_keys(&self, column: &str, op: IndexOperator, value: &ExprPlan) -> Option<Vec<Key>> {
        if !is_constant(value) {
            return None;
        }
        let table = self.store.tables.get(self.table)?;
        let index = table.schema.indexes.iter().find(
            |index| matches!(&index.expr, Expr::Identifier(name) if name.as_str() == column),
        )?;
        let probe: Value = evaluate_stateless(None, value).ok()?.try_into().ok()?;
        if probe == Value::Null {
            // `col op NULL` is never true: no row can match.
            return Some(Vec::new());
        }
        table
            .index_lookup(&index.name, true, Some((&op, probe)))
            .ok()?
    }

    /// A set holding every row key for which `expr` may be true, or `None` if unknown.
    fn candidates(&self, expr: &ExprPlan) -> Option<BTreeSet<Key>> {
        match expr {
            ExprPlan::Nested(inner) => self.candidates(inner),
            ExprPlan::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => match (self.candidates(left), self.candidates(right)) {
                (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
                (Some(a), None) | (None, Some(a)) => Some(a),
                (None, None) => None,
            },
            ExprPlan::BinaryOp {
                left,
                op: BinaryOperator::Or,
                right,
            } => {
                let mut a = self.candidates(left)?;
                a.extend(self.candidates(right)?);
                Some(a)
            }
            ExprPlan::BinaryOp { left, op, right } => {
                let (column, value, op) = if self.column(left).is_some() {
                    (left, right, op.clone())
                } else {
                    (right, left, mirror(op)?)
                };
                if op == BinaryOperator::Eq && self.is_primary_key(column) {
                    return self.key_of(value).map(|key| BTreeSet::from([key]));
                }
                let op = index_operator(&op)?;
                self.index_keys(self.column(column)?, op, value)
                    .map(|keys| keys.into_iter().collect())
            }
            // The engine writes `a OR b` in a filter as CASE WHEN a THEN TRUE WHEN b THEN TRUE
            // ELSE FALSE END (three-valued logic, see engine::logic): true where a WHEN is.
            ExprPlan::Case {
                operand: None,
                when_then,
                else_result,
            } if when_then
                .iter()
                .all(|(_, then)| matches!(then, ExprPlan::Value(Value::Bool(true))))
                && else_result.as_deref().is_none_or(|e| {
                    matches!(e, ExprPlan::Value(Value::Bool(false) | Value::Null))
                }) =>
            {
                let mut keys = BTreeSet::new();
                for (when, _) in when_then {
                    keys.extend(self.candidates(when)?);
                }
                Some(keys)
            }
            ExprPlan::InList {
                expr,
                list,
                negated: false,
            } if self.is_primary_key(expr) => list.iter().map(|item| self.key_of(item)).collect(),
            ExprPlan::InList {
                expr,
                list,
                negated: false,
            } => {
                let column = self.column(expr)?;
                let mut keys = BTreeSet::new();
                for item in list {
                    keys.extend(self.index_keys(column, IndexOperator::Eq, item)?);
                }
                Some(keys)
            }
            ExprPlan::Between {
                expr,
                negated: false,
                low,
                high,
            } => {
                let column = self.column(expr)?;
                let low: BTreeSet<Key> = self
                    .index_keys(column, IndexOperator::GtEq, low)?
                    .into_iter()
                    .collect();
                let high = self.index_keys(column, IndexOperator::LtEq, high)?;
                Some(high.into_iter().filter(|k| low.contains(k)).collect())
            }
            _ => None,
        }
    }
}

/// `a op b` as `b op' a`.
fn mirror(op: &BinaryOperator) -> Option<BinaryOperator> {
    Some(match op {
        BinaryOperator::Eq => BinaryOperator::Eq,
        BinaryOperator::Lt => BinaryOperator::Gt,
        BinaryOperator::LtEq => BinaryOperator::GtEq,
        BinaryOperator::Gt => BinaryOperator::Lt,
        BinaryOperator::GtEq => BinaryOperator::LtEq,
        _ => return None,
    })
}

fn index_operator(op: &BinaryOperator) -> Option<IndexOperator> {
    Some(match op {
        BinaryOperator::Eq => IndexOperator::Eq,
        BinaryOperator::Lt => IndexOperator::Lt,
        BinaryOperator::LtEq => IndexOperator::LtEq,
        BinaryOperator::Gt => IndexOperator::Gt,
        BinaryOperator::GtEq => IndexOperator::GtEq,
        _ => return None,
    })
}

impl MemoryStore {
    /// Sets the hint for an UPDATE or DELETE whose WHERE narrows it by key or index.
    pub(super) fn hint_scan(&self, statement: &StatementPlan) {
        let (table_name, selection) = match statement {
            StatementPlan::Update {
                table_name,
                selection: Some(selection),
                ..
            }
            | StatementPlan::Delete {
                table_name,
                selection: Some(selection),
            } => (table_name, selection),
            _ => return,
        };
        let Some(table) = self.tables.get(table_name) else {
            return;
        };
        let primary_key = table.schema.column_defs.as_ref().and_then(|defs| {
            defs.iter()
                .find(|d| d.unique.is_some_and(|u| u.is_primary) && key_type(&d.data_type))
                .map(|d| (d.name.as_str(), &d.data_type, d.nullable))
        });
        let finder = Finder {
            store: self,
            table: table_name,
            primary_key,
        };
        if let Some(keys) = finder.candidates(selection) {
            *self.scan_hint.borrow_mut() = Some(ScanHint {
                table: table_name.clone(),
                keys: keys.into_iter().collect(),
            });
        }
    }

    /// Forgets a hint the statement did not use (it failed first, or only planned), and the
    /// statement's unique check (see unique_check): called after every statement.
    pub fn clear_scan_hint(&self) {
        self.scan_hint.borrow_mut().take();
        self.clear_unique_check();
    }

    /// The hint for a scan of `table_name`, taken (it serves one scan).
    pub(super) fn take_scan_hint(&self, table_name: &str) -> Option<Vec<Key>> {
        let mut hint = self.scan_hint.borrow_mut();
        if hint.as_ref().is_some_and(|h| h.table == table_name) {
            return hint.take().map(|h| h.keys);
        }
        None
    }
}
