//! Untyped values converted to the type their context gives (bind_types.rs): parameters, so
//! every value a query returns is accepted back as one (a DECIMAL as "12.50" or 12.5, dates and
//! times as returned, an INTERVAL as its ISO 8601 duration, a POINT as { x, y }), and quoted
//! literals next to a number, a UUID, an INET, a BOOLEAN or an INTERVAL (`d = '12.5'`, `iv =
//! '3 days'`), bound as parameters of that type. Decides no type itself; changes a statement only by binding such a literal.

use {
    super::{
        bind_types::{insert_targets, is_quoted, type_untyped, unifies_arguments, Role},
        Engine,
    },
    crate::error::{DbError, ErrorCode},
    crate::kinds::{is_float_type, is_float_value, is_integer_type, is_integer_value},
    gluesql_core::{
        ast::DataType,
        data::{Interval, Point, Value},
        sqlparser::ast::{BinaryOperator, Expr, Insert, SetExpr, Statement, Value as SqlValue},
    },
};

/// Whether any parameter could need converting: text, fractions, objects.
pub fn needs_conversion(params: &[Value]) -> bool {
    params.iter().any(|v| {
        matches!(
            v,
            Value::Str(_)
                | Value::F64(_)
                | Value::F32(_)
                | Value::Map(_)
                | Value::I128(_)
                | Value::U128(_)
        )
    })
}

fn placeholder_index(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Value(SqlValue::Placeholder(p)) => p
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1)),
        Expr::Nested(inner) => placeholder_index(inner),
        _ => None,
    }
}

impl Engine {
    /// The types of the columns an INSERT's values go to, in order (`None`: not known).
    fn insert_column_types(&self, insert: &Insert) -> Vec<Option<DataType>> {
        let table = insert.table_name.0.last().map(|i| i.value.as_str());
        let columns = table.and_then(|t| self.columns_of_table(t));
        insert_targets(insert, &columns.unwrap_or_default())
    }

    /// The parameters of `INSERT … VALUES` with the types of the columns they are stored in;
    /// `None` for an INSERT from a query. Needs no copy of the statement (W1's path).
    fn insert_value_targets(&self, insert: &Insert) -> Option<Vec<(usize, DataType, Role)>> {
        let SetExpr::Values(values) = insert.source.as_ref()?.body.as_ref() else {
            return None;
        };
        let targets = self.insert_column_types(insert);
        let mut found = Vec::new();
        for row in &values.rows {
            for (item, target) in row.iter().zip(&targets) {
                if let (Some(index), Some(data_type)) = (placeholder_index(item), target) {
                    found.push((index, data_type.clone(), Role::Store));
                }
            }
        }
        Some(found)
    }

    /// Each parameter index whose type its context gives (the binder's typing), with that
    /// type and how it meets it.
    fn parameter_targets(
        &self,
        statement: &mut Statement,
        params: &[Value],
    ) -> Vec<(usize, DataType, Role)> {
        let mut found = Vec::new();
        type_untyped(self, statement, params, |expr, data_type, role| {
            if let Some(index) = placeholder_index(expr) {
                found.push((index, data_type.clone(), role));
            }
        });
        found
    }

    /// Converts parameters to the types of the columns they meet; answers which indexes were
    /// converted (they are bound as typed values, not inlined as literals).
    pub(super) fn type_parameters(
        &self,
        statement: &Statement,
        params: &mut std::borrow::Cow<'_, [Value]>,
    ) -> Result<Vec<bool>, DbError> {
        let mut typed = vec![false; params.len()];
        let targets = match statement {
            Statement::Insert(insert) => self.insert_value_targets(insert),
            _ => None,
        }
        .unwrap_or_else(|| {
            // The walk borrows expressions mutably (it shares helpers with the rewriting
            // passes); it changes nothing, so it walks a copy.
            self.parameter_targets(&mut statement.clone(), params)
        });
        for (index, data_type, role) in targets {
            let Some(value) = params.get(index) else {
                continue;
            };
            // (Not maps and lists: GlueSQL stores a bound one as its JSON text; inlined, the
            // text converts to the column's MAP or LIST.)
            let bound_as_is = !matches!(data_type, DataType::Map | DataType::List);
            if bound_as_is && value.get_type().as_ref() == Some(&data_type) {
                // Already the column's type: bound as it is. (Left untyped, it would be inlined
                // as a literal: a copy of the statement per call, a 500-row INSERT's whole tree.)
                typed[index] = true;
            } else if let Some(converted) = convert(value, &data_type, role)
                .map_err(|message| parameter_error(index, message))?
            {
                params.to_mut()[index] = converted;
                typed[index] = true;
            }
        }
        Ok(typed)
    }
}

/// Whether a quoted literal stands where its context may type it: an operand of a comparison
/// or of arithmetic, in an IN list, BETWEEN, CASE or COALESCE, or a value a write stores.
/// Cheap: a schema is read only for an INSERT whose VALUES hold a quoted literal.
pub(super) fn may_type_literals(engine: &Engine, statement: &Statement) -> bool {
    if stores_quoted(engine, statement) {
        return true;
    }
    super::visit::exprs(statement, |expr| {
        let found = match expr {
            Expr::BinaryOp { left, op, right } => {
                !matches!(
                    op,
                    BinaryOperator::And | BinaryOperator::Or | BinaryOperator::StringConcat
                ) && is_quoted(left) != is_quoted(right)
            }
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                is_quoted(a) != is_quoted(b)
            }
            Expr::InList { list, .. } => list.iter().any(is_quoted),
            Expr::Between { low, high, .. } => is_quoted(low) || is_quoted(high),
            Expr::Case {
                results,
                else_result,
                conditions,
                ..
            } => results
                .iter()
                .chain(conditions)
                .chain(else_result.as_deref())
                .any(is_quoted),
            Expr::Function(function) => {
                super::walk::plain_args(function).is_some_and(|(name, args)| {
                    unifies_arguments(&name) && args.into_iter().any(is_quoted)
                })
            }
            _ => false,
        };
        if found {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    })
    .is_break()
}

/// Whether a write stores a quoted literal: in VALUES (in a column of a type it is bound as:
/// a 10,000-row INSERT of text is not copied), a SELECT's outputs, SET.
fn stores_quoted(engine: &Engine, statement: &Statement) -> bool {
    use gluesql_core::sqlparser::ast::{OnConflict, OnConflictAction, OnInsert, SelectItem};
    let set = |assignments: &[gluesql_core::sqlparser::ast::Assignment]| {
        assignments.iter().any(|a| is_quoted(&a.value))
    };
    match statement {
        Statement::Insert(insert) => {
            let source = insert
                .source
                .as_deref()
                .is_some_and(|q| match q.body.as_ref() {
                    SetExpr::Values(values) if values.rows.iter().flatten().any(is_quoted) => {
                        let types = engine.insert_column_types(insert);
                        values.rows.iter().any(|row| {
                            row.iter().zip(&types).any(|(value, data_type)| {
                                is_quoted(value) && data_type.as_ref().is_some_and(binds_literal)
                            })
                        })
                    }
                    SetExpr::Select(select) => select.projection.iter().any(|item| {
                        matches!(
                            item,
                            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }
                                if is_quoted(e)
                        )
                    }),
                    _ => false,
                });
            let upsert = matches!(
                &insert.on,
                Some(OnInsert::OnConflict(OnConflict {
                    action: OnConflictAction::DoUpdate(update),
                    ..
                })) if set(&update.assignments)
            );
            source || upsert
        }
        Statement::Update { assignments, .. } => set(assignments),
        _ => false,
    }
}

/// The types a quoted literal is bound as, when its context gives one: those GlueSQL does not
/// compare with text itself (it reads a DATE, TIMESTAMP or TIME from its text already).
fn binds_literal(data_type: &DataType) -> bool {
    is_numeric_type(data_type)
        || matches!(
            data_type,
            DataType::Decimal
                | DataType::Uuid
                | DataType::Inet
                | DataType::Boolean
                | DataType::Interval
        )
}

impl Engine {
    /// Binds each quoted literal whose context types it (`d = '12.5'` beside a DECIMAL) as a
    /// new parameter of that type, as PostgreSQL reads an `unknown` literal there; answers the
    /// values bound, to append to `params` (numbered after them). A literal that is no value of
    /// the type is refused, naming both.
    pub(super) fn type_literals(
        &self,
        statement: &mut Statement,
        params: &[Value],
    ) -> Result<Vec<Value>, DbError> {
        let mut refused = None;
        let mut bound = Vec::new();
        type_untyped(self, statement, params, |expr, data_type, role| {
            let Expr::Value(SqlValue::SingleQuotedString(text)) = expr else {
                return;
            };
            if !binds_literal(data_type) || refused.is_some() {
                return;
            }
            match convert(&Value::Str(text.clone()), data_type, role) {
                Ok(Some(value)) => {
                    bound.push(value);
                    let number = params.len() + bound.len();
                    *expr = Expr::Value(SqlValue::Placeholder(format!("${number}")));
                }
                Ok(None) => {}
                Err(message) => refused = Some(message),
            }
        });
        match refused {
            Some(message) => Err(DbError::new(ErrorCode::Execute, message)),
            None => Ok(bound),
        }
    }
}

fn parameter_error(index: usize, message: String) -> DbError {
    DbError::new(
        ErrorCode::Params,
        format!("parameter ${}: {message}", index + 1),
    )
}

/// `value` as `data_type`, when it needs converting and can be; `Ok(None)` leaves it as is.
fn convert(value: &Value, data_type: &DataType, role: Role) -> Result<Option<Value>, String> {
    let refuse = |value: &Value| {
        Err(format!(
            "cannot convert {} to {data_type}",
            match value {
                Value::Str(s) => format!("'{s}'"),
                other => String::from(other),
            }
        ))
    };
    Ok(Some(match (value, data_type) {
        (Value::Null, _) | (Value::Str(_), DataType::Text) => return Ok(None),
        // Text of a number, as PostgreSQL reads `'5'` for an INT: whole for an integer type.
        // Other text is left as it is (compared, it equals no number, as before): the type
        // may be a guess, a column of NULLs only that relation.rs casts to INTEGER.
        (Value::Str(text), t) if is_numeric_type(t) => {
            let text = text.trim();
            let number = if is_integer_type(t) {
                match text.parse::<i128>() {
                    Ok(n) => Some(Value::I128(n)),
                    // A number with a fraction is no integer's text: PostgreSQL refuses `id <=
                    // '16.75'` (left as text, it compared unequal to every integer: no row).
                    Err(_) if text.parse::<f64>().is_ok_and(f64::is_finite) => {
                        return Err(format!("invalid input syntax for type integer: \"{text}\""));
                    }
                    Err(_) => None,
                }
            } else {
                text.parse::<f64>().ok().map(Value::F64)
            };
            match number.map(|n| n.cast(data_type)) {
                Some(Ok(v)) => v,
                _ => return Ok(None),
            }
        }
        (Value::Str(text), DataType::Boolean) => match text.trim().to_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "on" | "1" => Value::Bool(true),
            "false" | "f" | "no" | "n" | "off" | "0" => Value::Bool(false),
            _ => return Ok(None),
        },
        (Value::Str(text), DataType::Interval) => {
            match iso_duration(text).or_else(|| super::functions::interval_value(text)) {
                Some(interval) => Value::Interval(interval),
                None => match value.cast(data_type) {
                    Ok(v) => v,
                    Err(_) => return refuse(value),
                },
            }
        }
        // Read digit for digit, scale kept; refused where it would be rounded.
        (Value::Str(text), DataType::Decimal) => match crate::decimal::exact(text) {
            Ok(d) => Value::Decimal(d),
            Err(error) if error.would_round() => return Err(error.to_string()),
            Err(_) => return refuse(value),
        },
        (
            Value::Str(_),
            DataType::Date | DataType::Timestamp | DataType::Time | DataType::Uuid | DataType::Inet,
        ) => match value.cast(data_type) {
            Ok(v) => v,
            Err(_) => return refuse(value),
        },
        // Compared, a float no DECIMAL holds stays a float (the numeric layer compares it).
        (Value::F64(f), DataType::Decimal) => match crate::decimal::from_f64(*f) {
            Ok(d) => Value::Decimal(d),
            Err(_) if role == Role::Compare => return Ok(None),
            Err(error) => return Err(error.to_string()),
        },
        (Value::F32(f), DataType::Decimal) => match crate::decimal::exact(&f.to_string()) {
            Ok(d) => Value::Decimal(d),
            Err(_) if role == Role::Compare => return Ok(None),
            Err(error) => return Err(error.to_string()),
        },
        // Stored: an integer is a DECIMAL exactly (compared, the numeric layer widens it).
        (v, DataType::Decimal) if role == Role::Store && is_integer_value(v) => {
            match value.cast(data_type) {
                Ok(v) => v,
                Err(_) => return refuse(value),
            }
        }
        // Stored into a FLOAT column, a DECIMAL (an INSERT … SELECT's) is the nearest FLOAT, as
        // PostgreSQL's assignment makes it: read from its digits, correctly rounded.
        (Value::Decimal(d), t) if role == Role::Store && is_float_type(t) => {
            let nearest = d.to_string().parse::<f64>().map(Value::F64);
            match nearest.map(|f| f.cast(data_type)) {
                Ok(Ok(v)) => v,
                _ => return refuse(value),
            }
        }
        (Value::Map(map), DataType::Point) => {
            let coordinate = |name: &str| match map.get(name) {
                Some(Value::F64(v)) => Some(*v),
                Some(Value::I64(v)) => Some(*v as f64),
                _ => None,
            };
            match (coordinate("x"), coordinate("y"), map.len()) {
                (Some(x), Some(y), 2) => Value::Point(Point::new(x, y)),
                _ => return refuse(value),
            }
        }
        // Stored into another numeric type: converted when nothing is lost (a whole float into
        // an integer column, a big integer into UINT64, 1.5 into FLOAT32).
        (v, t) if role == Role::Store && is_number(v) && is_numeric_type(t) => {
            let fraction = match v {
                Value::F64(f) => f.fract() != 0.0,
                Value::F32(f) => f.fract() != 0.0,
                _ => false,
            };
            if fraction && is_integer_type(t) {
                return Ok(None);
            }
            match value.cast(data_type) {
                Ok(v) => v,
                Err(_) => return refuse(value),
            }
        }
        _ => return Ok(None),
    }))
}

fn is_number(value: &Value) -> bool {
    is_integer_value(value) || is_float_value(value)
}

fn is_numeric_type(data_type: &DataType) -> bool {
    is_integer_type(data_type) || is_float_type(data_type)
}

/// An ISO 8601 duration as idbsql returns INTERVALs: `P1Y2M`, `P1DT2H3M4.5S`, `-P0DT1H0M0S`.
/// Years and months, or days and time: GlueSQL's INTERVAL holds one or the other.
pub fn iso_duration(text: &str) -> Option<Interval> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let rest = rest.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    let mut months: i64 = 0;
    let mut micros: i128 = 0;
    let mut has_months = false;
    let mut has_micros = false;
    let mut number = String::new();
    for c in date.chars() {
        match c {
            '0'..='9' => number.push(c),
            'Y' | 'M' | 'W' | 'D' => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                match c {
                    'Y' => {
                        months = months.checked_add(n.checked_mul(12)?)?;
                        has_months = true;
                    }
                    'M' => {
                        months = months.checked_add(n)?;
                        has_months = true;
                    }
                    'W' => {
                        micros += i128::from(n) * 7 * 86_400_000_000;
                        has_micros = true;
                    }
                    _ => {
                        micros += i128::from(n) * 86_400_000_000;
                        has_micros = true;
                    }
                }
            }
            _ => return None,
        }
    }
    if !number.is_empty() {
        return None;
    }
    if let Some(time) = time {
        for c in time.chars() {
            match c {
                '0'..='9' | '.' => number.push(c),
                'H' | 'M' | 'S' => {
                    let unit: f64 = match c {
                        'H' => 3_600_000_000.0,
                        'M' => 60_000_000.0,
                        _ => 1_000_000.0,
                    };
                    let n: f64 = number.parse().ok()?;
                    number.clear();
                    micros += (n * unit).round() as i128;
                    has_micros = true;
                }
                _ => return None,
            }
        }
        if !number.is_empty() {
            return None;
        }
    }
    let sign = if negative { -1 } else { 1 };
    match (has_months, has_micros) {
        (true, false) => Some(Interval::Month(i32::try_from(months * sign).ok()?)),
        (false, true) => Some(Interval::Microsecond(
            i64::try_from(micros * sign as i128).ok()?,
        )),
        (false, false) => None,
        // Both: only when the day-and-time part is zero (as idbsql prints month intervals).
        (true, true) if micros == 0 => Some(Interval::Month(i32::try_from(months * sign).ok()?)),
        (true, true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_read_back() {
        assert_eq!(iso_duration("P1Y2M"), Some(Interval::Month(14)));
        assert_eq!(iso_duration("-P0Y3M"), Some(Interval::Month(-3)));
        assert_eq!(
            iso_duration("P1DT2H3M4.5S"),
            Some(Interval::Microsecond(93_784_500_000))
        );
        assert_eq!(
            iso_duration("-P0DT1H0M0S"),
            Some(Interval::Microsecond(-3_600_000_000))
        );
        assert_eq!(iso_duration("1 day"), None);
        assert_eq!(iso_duration("P1Y2DT3H"), None);
    }
}
