//! The values of window functions over rows already computed: partitions, their order, peers,
//! frames, and each function's value per row, with GlueSQL's value arithmetic and SQL's order
//! (value_order.rs).
//! Knows no SQL text or engine: windows.rs hands in the rows and reads the columns back.

use {
    super::{
        json_calls::JsonTree,
        setops::compare_rows,
        value_order::{compare_values, wider_kind},
    },
    crate::error::{DbError, ErrorCode},
    gluesql_core::{ast::DataType, data::Value},
    std::cmp::Ordering,
};

/// What one window function computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Function {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    /// `NTILE(buckets)`.
    Ntile,
    /// `LAG(value [, offset [, default]])`.
    Lag,
    Lead,
    FirstValue,
    LastValue,
    /// `NTH_VALUE(value, n)`.
    NthValue,
    CountRows,
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// `string_agg(value, separator)` over a window frame.
    StringAgg,
    /// The aggregate `string_agg` / `group_concat` of one group (string_agg.rs): the whole
    /// partition's string on its last row, NULL on the others, so that a group's string is
    /// held once however many rows the group has; `distinct` keeps each text once.
    GroupString {
        distinct: bool,
    },
    /// A JSON operation (json_calls.rs), computed from each row's own values: `Call::json`.
    Json,
}

/// The internal window function string_agg.rs computes a group's string with.
pub(super) const GROUP_STRING: &str = "__idbsql_group_string";
pub(super) const GROUP_STRING_DISTINCT: &str = "__idbsql_group_string_distinct";

impl Function {
    /// The function of this name and how many arguments it takes, at least and at most.
    pub fn named(name: &str, wildcard: bool) -> Option<(Self, usize, usize)> {
        Some(match name.to_ascii_uppercase().as_str() {
            "ROW_NUMBER" => (Self::RowNumber, 0, 0),
            "RANK" => (Self::Rank, 0, 0),
            "DENSE_RANK" => (Self::DenseRank, 0, 0),
            "PERCENT_RANK" => (Self::PercentRank, 0, 0),
            "CUME_DIST" => (Self::CumeDist, 0, 0),
            "NTILE" => (Self::Ntile, 1, 1),
            "LAG" => (Self::Lag, 1, 3),
            "LEAD" => (Self::Lead, 1, 3),
            "FIRST_VALUE" => (Self::FirstValue, 1, 1),
            "LAST_VALUE" => (Self::LastValue, 1, 1),
            "NTH_VALUE" => (Self::NthValue, 2, 2),
            "COUNT" if wildcard => (Self::CountRows, 0, 0),
            "COUNT" => (Self::Count, 1, 1),
            "SUM" => (Self::Sum, 1, 1),
            "AVG" => (Self::Avg, 1, 1),
            "MIN" => (Self::Min, 1, 1),
            "MAX" => (Self::Max, 1, 1),
            "STRING_AGG" => (Self::StringAgg, 2, 2),
            _ if name.eq_ignore_ascii_case(GROUP_STRING) => {
                (Self::GroupString { distinct: false }, 2, 2)
            }
            _ if name.eq_ignore_ascii_case(GROUP_STRING_DISTINCT) => {
                (Self::GroupString { distinct: true }, 2, 2)
            }
            _ => return None,
        })
    }
}

/// One end of a frame; offsets are constants, already checked non-negative.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Bound {
    UnboundedPreceding,
    Preceding(Value),
    CurrentRow,
    Following(Value),
    UnboundedFollowing,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Frame {
    /// `ROWS` counts rows; `RANGE` compares the ORDER BY value (peers are one step).
    pub rows: bool,
    pub start: Bound,
    pub end: Bound,
}

impl Default for Frame {
    /// SQL's frame when none is written: from the partition's start to the current row's last peer.
    fn default() -> Self {
        Self {
            rows: false,
            start: Bound::UnboundedPreceding,
            end: Bound::CurrentRow,
        }
    }
}

/// One ORDER BY key of a window: a column of the rows, its direction and where NULLs go.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct SortKey {
    pub column: usize,
    pub asc: bool,
    pub nulls_first: bool,
}

/// A window function call, its operands as columns of the rows.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Call {
    pub function: Function,
    pub args: Vec<usize>,
    pub partition: Vec<usize>,
    pub order: Vec<SortKey>,
    pub frame: Frame,
    /// What a `Function::Json` call computes.
    pub json: Option<JsonTree>,
}

fn error(message: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Execute, message)
}

fn value_error(error: gluesql_core::error::Error) -> DbError {
    DbError::from(error)
}

/// GlueSQL's ordering of two non-NULL values (values it cannot compare are equal).
/// The value of `call` for each of `rows`, in their order.
pub(super) fn evaluate(rows: &[Vec<Value>], call: &Call) -> Result<Vec<Value>, DbError> {
    if let Some(tree) = &call.json {
        return rows.iter().map(|row| tree.eval(row)).collect();
    }
    // Partition keys first (NULLs one group), then the window's ORDER BY keys.
    let keys: Vec<(usize, bool, bool)> = call
        .partition
        .iter()
        .map(|&c| (c, true, false))
        .chain(call.order.iter().map(|k| (k.column, k.asc, k.nulls_first)))
        .collect();
    let partition_keys = &keys[..call.partition.len()];
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| compare_rows(&rows[a], &rows[b], &keys));
    let mut out = vec![Value::Null; rows.len()];
    let mut start = 0;
    while start < order.len() {
        let first = order[start];
        let len = order[start..]
            .iter()
            .position(|&row| {
                compare_rows(&rows[first], &rows[row], partition_keys) != Ordering::Equal
            })
            .unwrap_or(order.len() - start);
        let partition = Partition::new(rows, call, &order[start..start + len]);
        partition.evaluate(&mut out)?;
        start += len;
    }
    Ok(out)
}

/// One partition's rows in window order, and where each row's peers begin and end.
struct Partition<'a> {
    rows: &'a [Vec<Value>],
    call: &'a Call,
    members: &'a [usize],
    peer_start: Vec<usize>,
    peer_end: Vec<usize>,
    /// How many peer groups come before each row's.
    group: Vec<usize>,
}

impl<'a> Partition<'a> {
    fn new(rows: &'a [Vec<Value>], call: &'a Call, members: &'a [usize]) -> Self {
        let n = members.len();
        let mut peer_start = vec![0; n];
        let mut peer_end = vec![n; n];
        let mut group = vec![0; n];
        let order_keys: Vec<(usize, bool, bool)> =
            call.order.iter().map(|k| (k.column, true, false)).collect();
        let peers =
            |a: usize, b: usize| compare_rows(&rows[a], &rows[b], &order_keys) == Ordering::Equal;
        let mut begin = 0;
        let mut groups = 0;
        for i in 0..n {
            if i > 0 && !peers(members[i - 1], members[i]) {
                for end in &mut peer_end[begin..i] {
                    *end = i;
                }
                begin = i;
                groups += 1;
            }
            peer_start[i] = begin;
            group[i] = groups;
        }
        Self {
            rows,
            call,
            members,
            peer_start,
            peer_end,
            group,
        }
    }

    fn arg(&self, position: usize, at: usize) -> &Value {
        match self.call.args.get(at) {
            Some(&column) => &self.rows[self.members[position]][column],
            None => &Value::Null,
        }
    }

    fn evaluate(&self, out: &mut [Value]) -> Result<(), DbError> {
        let n = self.members.len();
        let function = self.call.function;
        if let Function::GroupString { distinct } = function {
            if let Some(&last) = self.members.last() {
                out[last] = self.group_string(distinct)?;
            }
            return Ok(());
        }
        let mut aggregate = Aggregate::new(function);
        for i in 0..n {
            let value = match function {
                Function::RowNumber => Value::I64(i as i64 + 1),
                Function::Rank => Value::I64(self.peer_start[i] as i64 + 1),
                Function::DenseRank => Value::I64(self.group[i] as i64 + 1),
                Function::PercentRank if n > 1 => {
                    Value::F64(self.peer_start[i] as f64 / (n - 1) as f64)
                }
                Function::PercentRank => Value::F64(0.0),
                Function::CumeDist => Value::F64(self.peer_end[i] as f64 / n as f64),
                Function::Ntile => match positive(self.arg(i, 0), "ntile")? {
                    None => Value::Null,
                    Some(buckets) => Value::I64(ntile(i, n, buckets) as i64),
                },
                Function::Lag | Function::Lead => self.shifted(i)?,
                _ => {
                    let (start, end) = self.frame(i)?;
                    self.framed(&mut aggregate, i, start, end)?
                }
            };
            out[self.members[i]] = value;
        }
        Ok(())
    }

    /// The partition's non-NULL values as text in window order, each after the separator of
    /// its own row (the first's unused); NULL when there are none.
    fn group_string(&self, distinct: bool) -> Result<Value, DbError> {
        let mut joined = Joined::default();
        let mut seen = std::collections::HashSet::new();
        for position in 0..self.members.len() {
            let Some(text) = text_of(self.arg(position, 0))? else {
                continue;
            };
            if distinct && !seen.insert(text.clone()) {
                continue;
            }
            joined.push(&text, self.arg(position, 1))?;
        }
        Ok(joined.value())
    }

    /// LAG / LEAD: the value `offset` rows before / after, else the default.
    fn shifted(&self, i: usize) -> Result<Value, DbError> {
        let offset = match self.call.args.get(1) {
            None => 1,
            Some(_) => match integer(self.arg(i, 1))? {
                None => return Ok(Value::Null),
                Some(offset) => offset,
            },
        };
        let offset = if self.call.function == Function::Lag {
            offset.checked_neg()
        } else {
            Some(offset)
        };
        // An offset past either end (however large) reads the default.
        let target = offset
            .and_then(|offset| (i as i64).checked_add(offset))
            .and_then(|target| usize::try_from(target).ok())
            .filter(|&target| target < self.members.len());
        Ok(match target {
            Some(target) => self.arg(target, 0).clone(),
            None => self.arg(i, 2).clone(),
        })
    }

    /// The frame of row `i`: positions `start..end` of the partition.
    fn frame(&self, i: usize) -> Result<(usize, usize), DbError> {
        let n = self.members.len();
        let frame = &self.call.frame;
        let start = match &frame.start {
            Bound::UnboundedPreceding => 0,
            Bound::CurrentRow if frame.rows => i,
            Bound::CurrentRow => self.peer_start[i],
            Bound::Preceding(offset) if frame.rows => i.saturating_sub(rows_offset(offset)),
            Bound::Following(offset) if frame.rows => i.saturating_add(rows_offset(offset)),
            bound @ (Bound::Preceding(_) | Bound::Following(_)) => {
                self.range_bound(i, bound, true)?
            }
            Bound::UnboundedFollowing => n,
        };
        let end = match &frame.end {
            Bound::UnboundedFollowing => n,
            Bound::CurrentRow if frame.rows => i + 1,
            Bound::CurrentRow => self.peer_end[i],
            Bound::Preceding(offset) if frame.rows => (i + 1).saturating_sub(rows_offset(offset)),
            Bound::Following(offset) if frame.rows => {
                i.saturating_add(rows_offset(offset)).saturating_add(1)
            }
            bound @ (Bound::Preceding(_) | Bound::Following(_)) => {
                self.range_bound(i, bound, false)?
            }
            Bound::UnboundedPreceding => 0,
        };
        let start = start.min(n);
        Ok((start, end.clamp(start, n)))
    }

    /// A RANGE bound `offset PRECEDING / FOLLOWING`: by the value of the one ORDER BY key.
    fn range_bound(&self, i: usize, bound: &Bound, start: bool) -> Result<usize, DbError> {
        let Some(key) = self.call.order.first() else {
            return Err(error("RANGE with an offset needs an ORDER BY column"));
        };
        let value = |position: usize| &self.rows[self.members[position]][key.column];
        let current = value(i);
        if matches!(current, Value::Null) {
            // A NULL key's frame is its peers, the other NULLs.
            return Ok(if start {
                self.peer_start[i]
            } else {
                self.peer_end[i]
            });
        }
        // Following in the window's order is larger when ascending, smaller when descending.
        let (offset, forward) = match bound {
            Bound::Preceding(offset) => (offset, false),
            Bound::Following(offset) => (offset, true),
            _ => return Err(error("internal: not an offset bound")),
        };
        let limit = if forward == key.asc {
            current.add(offset)
        } else {
            current.subtract(offset)
        }
        .map_err(value_error)?;
        // The rows with a key, in order: NULLs sort to one end.
        let n = self.members.len();
        let (lo, hi) = if key.nulls_first {
            let first = (0..n)
                .find(|&p| !matches!(value(p), Value::Null))
                .unwrap_or(n);
            (first, n)
        } else {
            let end = (0..n)
                .find(|&p| matches!(value(p), Value::Null))
                .unwrap_or(n);
            (0, end)
        };
        // Rows before `limit` in the window's order (and, for an end, the rows equal to it).
        let positions: Vec<usize> = (lo..hi).collect();
        let found = positions.partition_point(|&p| {
            let ordering = compare_values(value(p), &limit);
            let ordering = if key.asc {
                ordering
            } else {
                ordering.reverse()
            };
            if start {
                ordering == Ordering::Less
            } else {
                ordering != Ordering::Greater
            }
        });
        Ok(lo + found)
    }

    /// A function over row `i`'s frame `start..end`; `aggregate` carries the previous row's
    /// frame, extended when this one only reaches further (a running total costs one step).
    fn framed(
        &self,
        aggregate: &mut Aggregate,
        i: usize,
        start: usize,
        end: usize,
    ) -> Result<Value, DbError> {
        let value_at = |position: usize| self.arg(position, 0).clone();
        Ok(match self.call.function {
            Function::FirstValue if start < end => value_at(start),
            Function::LastValue if start < end => value_at(end - 1),
            Function::NthValue => match positive(self.arg(i, 1), "nth_value")? {
                Some(nth) if start + nth - 1 < end => value_at(start + nth - 1),
                _ => Value::Null,
            },
            Function::FirstValue | Function::LastValue => Value::Null,
            _ => {
                if aggregate.start != start || aggregate.end > end {
                    aggregate.reset(start);
                }
                while aggregate.end < end {
                    let position = aggregate.end;
                    aggregate.add(self.arg(position, 0), self.arg(position, 1))?;
                    aggregate.end += 1;
                }
                aggregate.value()?
            }
        })
    }
}

fn rows_offset(offset: &Value) -> usize {
    match offset {
        Value::I64(n) => usize::try_from(*n).unwrap_or(usize::MAX),
        _ => 0,
    }
}

/// A whole-number argument (LAG's offset), `None` for NULL.
fn integer(value: &Value) -> Result<Option<i64>, DbError> {
    match value {
        Value::Null => Ok(None),
        Value::I8(v) => Ok(Some((*v).into())),
        Value::I16(v) => Ok(Some((*v).into())),
        Value::I32(v) => Ok(Some((*v).into())),
        Value::I64(v) => Ok(Some(*v)),
        other => Err(error(format!(
            "the offset of LAG / LEAD must be an integer, got {other:?}"
        ))),
    }
}

/// NTILE's and NTH_VALUE's argument: a whole number above zero, `None` for NULL.
fn positive(value: &Value, function: &str) -> Result<Option<usize>, DbError> {
    match integer(value) {
        Ok(None) => Ok(None),
        Ok(Some(n)) if n > 0 => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        _ => Err(error(format!(
            "argument of {function} must be greater than zero"
        ))),
    }
}

/// The bucket (from 1) of position `i` of `n` rows in `buckets` buckets: the first `n %
/// buckets` buckets hold one row more.
fn ntile(i: usize, n: usize, buckets: usize) -> usize {
    let small = n / buckets;
    let large = n % buckets;
    let in_large = large * (small + 1);
    if i < in_large {
        i / (small + 1) + 1
    } else {
        large + (i - in_large) / small.max(1) + 1
    }
}

/// A value as string_agg concatenates it: text as it is, any other kind cast to text.
fn text_of(value: &Value) -> Result<Option<String>, DbError> {
    Ok(match value {
        Value::Null => None,
        Value::Str(text) => Some(text.clone()),
        other => match other.cast(&DataType::Text).map_err(value_error)? {
            Value::Str(text) => Some(text),
            _ => None,
        },
    })
}

/// A string_agg result being built: each value after its row's separator (a NULL separator
/// adds nothing, as in PostgreSQL).
#[derive(Default)]
struct Joined {
    text: Option<String>,
}

impl Joined {
    fn push(&mut self, text: &str, separator: &Value) -> Result<(), DbError> {
        match self.text.as_mut() {
            None => self.text = Some(text.to_owned()),
            Some(joined) => {
                if let Some(separator) = text_of(separator)? {
                    joined.push_str(&separator);
                }
                joined.push_str(text);
            }
        }
        Ok(())
    }

    fn value(self) -> Value {
        self.text.map_or(Value::Null, Value::Str)
    }
}

/// An aggregate over the frame `start..end` seen so far.
struct Aggregate {
    function: Function,
    start: usize,
    end: usize,
    count: i64,
    value: Option<Value>,
    joined: Joined,
}

impl Aggregate {
    fn new(function: Function) -> Self {
        Self {
            function,
            start: 0,
            end: 0,
            count: 0,
            value: None,
            joined: Joined::default(),
        }
    }

    fn reset(&mut self, start: usize) {
        self.start = start;
        self.end = start;
        self.count = 0;
        self.value = None;
        self.joined = Joined::default();
    }

    /// Adds one row's value (and, for string_agg, its separator).
    fn add(&mut self, value: &Value, separator: &Value) -> Result<(), DbError> {
        if self.function == Function::CountRows {
            self.count += 1;
            return Ok(());
        }
        if self.function == Function::StringAgg {
            if let Some(text) = text_of(value)? {
                self.joined.push(&text, separator)?;
            }
            return Ok(());
        }
        if matches!(value, Value::Null) {
            return Ok(());
        }
        self.count += 1;
        self.value = Some(match (self.function, self.value.take()) {
            (Function::Count, _) => Value::Null,
            (_, None) => value.clone(),
            (Function::Sum | Function::Avg, Some(sum)) => widened_sum(&sum, value)?,
            (Function::Min, Some(best)) if compare_values(value, &best) == Ordering::Less => {
                value.clone()
            }
            (Function::Max, Some(best)) if compare_values(value, &best) == Ordering::Greater => {
                value.clone()
            }
            (_, Some(best)) => best,
        });
        Ok(())
    }

    fn value(&self) -> Result<Value, DbError> {
        Ok(match (self.function, &self.value) {
            (Function::CountRows | Function::Count, _) => Value::I64(self.count),
            (Function::StringAgg, _) => self
                .joined
                .text
                .as_ref()
                .map_or(Value::Null, |text| Value::Str(text.clone())),
            (_, None) => Value::Null,
            // As GlueSQL's AVG: the sum as a float, divided by the count.
            (Function::Avg, Some(sum)) => sum
                .cast(&DataType::Float)
                .and_then(|sum| sum.divide(&Value::I64(self.count)))
                .map_err(value_error)?,
            (_, Some(value)) => value.clone(),
        })
    }
}

/// `a + b` in the wider of their kinds, as SQL adds: an integer meeting a DECIMAL is a DECIMAL,
/// anything meeting a FLOAT a FLOAT (`wider_kind`). GlueSQL adds in the left operand's kind, so a sum that
/// began with an integer dropped the fractions of every DECIMAL after it.
fn widened_sum(a: &Value, b: &Value) -> Result<Value, DbError> {
    let sum = match wider_kind(a, b) {
        Some(data_type) => a
            .cast(&data_type)
            .and_then(|a| b.cast(&data_type).and_then(|b| a.add(&b))),
        None => a.add(b),
    };
    sum.map_err(value_error)
}

#[cfg(test)]
mod tests {
    use {
        super::{evaluate, ntile, widened_sum, Call, Frame, Function, SortKey},
        gluesql_core::data::Value,
    };

    #[test]
    fn lag_and_lead_by_any_offset_read_the_default_past_either_end() {
        let rows: Vec<Vec<Value>> = (1..=3)
            .map(|id| vec![Value::I64(id), Value::I64(i64::MIN), Value::I64(-1)])
            .collect();
        for function in [Function::Lag, Function::Lead] {
            let call = Call {
                function,
                args: vec![0, 1, 2],
                partition: Vec::new(),
                order: vec![SortKey {
                    column: 0,
                    asc: true,
                    nulls_first: false,
                }],
                frame: Frame::default(),
                json: None,
            };
            let values = evaluate(&rows, &call).expect("evaluates");
            assert_eq!(values, vec![Value::I64(-1); 3]);
        }
    }

    #[test]
    fn a_sum_takes_the_wider_kind_of_its_values_in_either_order() {
        let decimal = |text: &str| Value::Decimal(text.parse().expect("a decimal"));
        let sum = widened_sum(&Value::I64(3), &decimal("15.87")).expect("adds");
        assert_eq!(sum, decimal("18.87"));
        let sum = widened_sum(&decimal("15.87"), &Value::I64(3)).expect("adds");
        assert_eq!(sum, decimal("18.87"));
        let sum = widened_sum(&Value::I64(3), &Value::F64(0.5)).expect("adds");
        assert_eq!(sum, Value::F64(3.5));
        let sum = widened_sum(&decimal("1.25"), &Value::F64(0.5)).expect("adds");
        assert_eq!(sum, Value::F64(1.75));
        assert_eq!(
            widened_sum(&Value::I64(3), &Value::I64(4)).expect("adds"),
            Value::I64(7)
        );
    }

    #[test]
    fn ntile_gives_the_first_buckets_one_row_more() {
        let buckets: Vec<usize> = (0..10).map(|i| ntile(i, 10, 4)).collect();
        assert_eq!(buckets, [1, 1, 1, 2, 2, 2, 3, 3, 4, 4]);
        let more_buckets_than_rows: Vec<usize> = (0..3).map(|i| ntile(i, 3, 5)).collect();
        assert_eq!(more_buckets_than_rows, [1, 2, 3]);
    }
}
