//! UNION / INTERSECT / EXCEPT [ALL], which GlueSQL 0.20 does not run: each branch runs as its
//! own query through the engine, and the rows are combined here with SQL's duplicate rules
//! (NULLs are not distinct), then ordered and limited over the whole.

use {
    super::{Engine, QueryOutput},
    crate::{
        error::{DbError, ErrorCode},
        kinds::{is_float_value, is_integer_value},
    },
    gluesql_core::{
        data::{Key, Value},
        sqlparser::ast::{
            Expr, GroupByExpr, ObjectName, OrderByExpr, Query, Select, SelectItem, SetExpr,
            SetOperator, SetQuantifier, Statement, TableFactor, TableWithJoins, Value as SqlValue,
        },
    },
    rust_decimal::Decimal,
    std::{
        cmp::Ordering,
        collections::{hash_map::Entry, HashMap},
    },
};

/// `body` as a query of its own: no WITH, ORDER BY or LIMIT.
pub(super) fn plain_query(body: SetExpr) -> Query {
    Query {
        with: None,
        body: Box::new(body),
        order_by: None,
        limit: None,
        limit_by: Vec::new(),
        offset: None,
        fetch: None,
        locks: Vec::new(),
        for_clause: None,
        settings: None,
        format_clause: None,
    }
}

/// The table `name` as a FROM item, without alias or options.
pub(super) fn plain_table(name: ObjectName) -> TableFactor {
    TableFactor::Table {
        name,
        alias: None,
        args: None,
        with_hints: Vec::new(),
        version: None,
        with_ordinality: false,
        partitions: Vec::new(),
    }
}

/// `SELECT projection FROM from` and no other clause.
pub(super) fn plain_select(projection: Vec<SelectItem>, from: Vec<TableWithJoins>) -> Select {
    Select {
        distinct: None,
        top: None,
        top_before_distinct: false,
        projection,
        into: None,
        from,
        lateral_views: Vec::new(),
        prewhere: None,
        selection: None,
        group_by: GroupByExpr::Expressions(Vec::new(), Vec::new()),
        cluster_by: Vec::new(),
        distribute_by: Vec::new(),
        sort_by: Vec::new(),
        having: None,
        named_window: Vec::new(),
        qualify: None,
        window_before_qualify: false,
        value_table_mode: None,
        connect_by: None,
    }
}

/// Whether `query`'s body is a set operation (possibly in parentheses).
pub fn is_set_operation(query: &Query) -> bool {
    match query.body.as_ref() {
        SetExpr::SetOperation { .. } => true,
        SetExpr::Query(inner) => {
            inner.order_by.is_none()
                && inner.limit.is_none()
                && inner.offset.is_none()
                && is_set_operation(inner)
        }
        _ => false,
    }
}

/// A row's identity for duplicate elimination: numbers by value (1 = 1.0), NULL equal to NULL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Canon {
    Null,
    Integer(i128),
    Float(u64),
    Decimal(Decimal),
    Key(Key),
    Other(String),
}

fn canon(value: &Value) -> Canon {
    let float = |f: f64| {
        if f.fract() == 0.0 && f.abs() < 1e30 {
            Canon::Integer(f as i128)
        } else {
            // -0.0 and 0.0 are the same value.
            Canon::Float(if f == 0.0 { 0 } else { f.to_bits() })
        }
    };
    match value {
        Value::Null => Canon::Null,
        Value::I8(v) => Canon::Integer((*v).into()),
        Value::I16(v) => Canon::Integer((*v).into()),
        Value::I32(v) => Canon::Integer((*v).into()),
        Value::I64(v) => Canon::Integer((*v).into()),
        Value::I128(v) => Canon::Integer(*v),
        Value::U8(v) => Canon::Integer((*v).into()),
        Value::U16(v) => Canon::Integer((*v).into()),
        Value::U32(v) => Canon::Integer((*v).into()),
        Value::U64(v) => Canon::Integer((*v).into()),
        Value::U128(v) => i128::try_from(*v).map_or(Canon::Other(v.to_string()), Canon::Integer),
        Value::F32(v) => float(f64::from(*v)),
        Value::F64(v) => float(*v),
        Value::Decimal(d) if d.fract().is_zero() => rust_decimal::prelude::ToPrimitive::to_i128(d)
            .map_or(Canon::Decimal(d.normalize()), Canon::Integer),
        Value::Decimal(d) => Canon::Decimal(d.normalize()),
        other => Key::try_from(other.clone())
            .map_or_else(|_| Canon::Other(format!("{other:?}")), Canon::Key),
    }
}

pub(super) fn row_canon(row: &[Value]) -> Vec<Canon> {
    row.iter().map(canon).collect()
}

/// The columns where FLOAT and DECIMAL values meet, in any of `rows`: PostgreSQL gives such a
/// column of a set operation the type DOUBLE PRECISION, so its DECIMALs compare as FLOATs
/// (a DECIMAL 5.58 and a FLOAT 5.58 are one row).
pub(super) fn float_columns<'r>(rows: impl Iterator<Item = &'r [Value]>) -> Vec<bool> {
    let (mut floats, mut decimals) = (Vec::new(), Vec::new());
    for row in rows {
        if floats.len() < row.len() {
            floats.resize(row.len(), false);
            decimals.resize(row.len(), false);
        }
        for (c, value) in row.iter().enumerate() {
            floats[c] |= is_float_value(value);
            decimals[c] |= matches!(value, Value::Decimal(_));
        }
    }
    floats.iter().zip(decimals).map(|(f, d)| *f && d).collect()
}

/// A row's identity in a set operation whose `float_columns` compare as FLOATs.
pub(super) fn set_canon(row: &[Value], float_columns: &[bool]) -> Vec<Canon> {
    row.iter()
        .enumerate()
        .map(|(c, value)| match value {
            Value::Decimal(d) if float_columns.get(c) == Some(&true) => {
                match rust_decimal::prelude::ToPrimitive::to_f64(d) {
                    Some(f) => canon(&Value::F64(f)),
                    None => canon(value),
                }
            }
            _ => canon(value),
        })
        .collect()
}

/// One row of each set of equal rows, where the first of them stood. Equal values of two
/// kinds (9 and 9.0) leave the fraction: PostgreSQL's column type makes every row of the
/// column one, and SQLite keeps whichever came first.
fn distinct(rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    let floats = float_columns(rows.iter().map(Vec::as_slice));
    let mut at: HashMap<Vec<Canon>, usize> = HashMap::new();
    let mut out: Vec<Vec<Value>> = Vec::new();
    for row in rows {
        match at.entry(set_canon(&row, &floats)) {
            Entry::Vacant(entry) => {
                entry.insert(out.len());
                out.push(row);
            }
            Entry::Occupied(entry) => {
                for (kept, value) in out[*entry.get()].iter_mut().zip(row) {
                    let fraction = is_float_value(&value) || matches!(value, Value::Decimal(_));
                    if fraction && is_integer_value(kept) {
                        *kept = value;
                    }
                }
            }
        }
    }
    out
}

fn counts(rows: &[Vec<Value>], floats: &[bool]) -> HashMap<Vec<Canon>, usize> {
    let mut counts = HashMap::new();
    for row in rows {
        *counts.entry(set_canon(row, floats)).or_insert(0) += 1;
    }
    counts
}

fn combine(
    op: SetOperator,
    all: bool,
    left: Vec<Vec<Value>>,
    right: Vec<Vec<Value>>,
) -> Vec<Vec<Value>> {
    match (op, all) {
        (SetOperator::Union, true) => left.into_iter().chain(right).collect(),
        (SetOperator::Union, false) => distinct(left.into_iter().chain(right).collect()),
        (SetOperator::Intersect, _) => {
            let floats = float_columns(left.iter().chain(&right).map(Vec::as_slice));
            let mut available = counts(&right, &floats);
            let rows =
                left.into_iter()
                    .filter(|row| match available.get_mut(&set_canon(row, &floats)) {
                        Some(n) if *n > 0 => {
                            *n -= 1;
                            true
                        }
                        _ => false,
                    });
            let rows: Vec<_> = rows.collect();
            if all {
                rows
            } else {
                distinct(rows)
            }
        }
        (SetOperator::Except, _) => {
            let floats = float_columns(left.iter().chain(&right).map(Vec::as_slice));
            let mut removable = counts(&right, &floats);
            let rows: Vec<_> = left
                .into_iter()
                .filter(|row| {
                    let canon = set_canon(row, &floats);
                    match removable.get_mut(&canon) {
                        Some(n) if *n > 0 && all => {
                            *n -= 1;
                            false
                        }
                        Some(_) if !all => false,
                        _ => true,
                    }
                })
                .collect();
            if all {
                rows
            } else {
                distinct(rows)
            }
        }
    }
}

/// Orders like GlueSQL's ORDER BY (NULL last when ascending), numbers of different kinds by
/// value (value_order.rs).
fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (a, b) => super::value_order::compare_values(a, b),
    }
}

/// Two rows by ORDER BY keys `(column, ascending, NULLs first)`; GlueSQL's own order puts
/// NULLs last ascending, first descending.
pub(super) fn compare_rows(a: &[Value], b: &[Value], keys: &[(usize, bool, bool)]) -> Ordering {
    keys.iter()
        .map(
            |&(column, asc, nulls_first)| match (&a[column], &b[column]) {
                (Value::Null, Value::Null) => Ordering::Equal,
                (Value::Null, _) if nulls_first => Ordering::Less,
                (Value::Null, _) => Ordering::Greater,
                (_, Value::Null) if nulls_first => Ordering::Greater,
                (_, Value::Null) => Ordering::Less,
                (x, y) if asc => compare(x, y),
                (x, y) => compare(x, y).reverse(),
            },
        )
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

fn error(message: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Plan, message)
}

impl Engine {
    /// Runs a query whose body is a set operation.
    pub(super) fn run_set_query(
        &mut self,
        query: &Query,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let (columns, mut rows) = self.run_set_expr(&query.body, params)?;
        if let Some(order_by) = &query.order_by {
            let keys = order_by
                .exprs
                .iter()
                .map(|item| self.sort_column(item, &columns, params))
                .collect::<Result<Vec<_>, _>>()?;
            rows.sort_by(|a, b| compare_rows(a, b, &keys));
        }
        if let Some(offset) = &query.offset {
            let skip = count(&offset.value, params)?;
            rows.drain(..skip.min(rows.len()));
        }
        if let Some(limit) = &query.limit {
            rows.truncate(count(limit, params)?);
        }
        Ok(QueryOutput {
            command: "SELECT",
            row_count: rows.len(),
            columns,
            rows,
        })
    }

    fn run_set_expr(
        &mut self,
        body: &SetExpr,
        params: &[Value],
    ) -> Result<(Vec<String>, Vec<Vec<Value>>), DbError> {
        match body {
            SetExpr::SetOperation {
                op,
                set_quantifier,
                left,
                right,
            } => {
                let (columns, left) = self.run_set_expr(left, params)?;
                let (right_columns, right) = self.run_set_expr(right, params)?;
                if columns.len() != right_columns.len() {
                    return Err(error(format!(
                        "each side of {op} must have the same number of columns ({} and {})",
                        columns.len(),
                        right_columns.len()
                    )));
                }
                let all = match set_quantifier {
                    SetQuantifier::All => true,
                    SetQuantifier::Distinct | SetQuantifier::None => false,
                    other => return Err(error(format!("{op} {other} is not supported"))),
                };
                Ok((columns, combine(*op, all, left, right)))
            }
            other => {
                let query = match other {
                    SetExpr::Query(query) => (**query).clone(),
                    body => plain_query(body.clone()),
                };
                let output = self.run(&Statement::Query(Box::new(query)), params)?;
                Ok((output.columns, output.rows))
            }
        }
    }

    /// ORDER BY over a set operation names an output column, by position or by name.
    fn sort_column(
        &self,
        item: &OrderByExpr,
        columns: &[String],
        params: &[Value],
    ) -> Result<(usize, bool, bool), DbError> {
        let asc = item.asc.unwrap_or(true);
        let nulls_first = item.nulls_first.unwrap_or(!asc);
        let column = match &item.expr {
            Expr::Identifier(ident) => columns.iter().position(|c| *c == ident.value),
            Expr::CompoundIdentifier(idents) => idents
                .last()
                .and_then(|ident| columns.iter().position(|c| *c == ident.value)),
            expr @ (Expr::Value(_) | Expr::UnaryOp { .. }) => {
                let n = count(expr, params)?;
                (1..=columns.len()).contains(&n).then(|| n - 1)
            }
            _ => None,
        };
        column.map(|c| (c, asc, nulls_first)).ok_or_else(|| {
            error(format!(
                "ORDER BY of a UNION / INTERSECT / EXCEPT must name an output column or its position: {}",
                item.expr
            ))
        })
    }
}

/// A LIMIT / OFFSET / position: a non-negative integer literal or parameter.
pub(super) fn count(expr: &Expr, params: &[Value]) -> Result<usize, DbError> {
    let value = match expr {
        Expr::Value(SqlValue::Number(n, _)) => n.to_string().parse::<i64>().ok(),
        Expr::Value(SqlValue::Placeholder(p)) => p
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| params.get(n.checked_sub(1)?))
            .and_then(|v| match v {
                Value::I64(n) => Some(*n),
                Value::I32(n) => Some((*n).into()),
                _ => None,
            }),
        Expr::Nested(inner) => return count(inner, params),
        _ => None,
    };
    value
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| error(format!("expected a non-negative integer, got {expr}")))
}
