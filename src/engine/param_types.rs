//! Parameters converted to the type of the column they are stored in or compared with, so
//! every value a query returns is accepted back as a parameter: a DECIMAL as "12.50" or 12.5,
//! dates and times as returned, an INTERVAL as its ISO 8601 duration, a POINT as { x, y }.
//! Finds the columns from the store's schemas; never changes the statement.

use {
    super::{
        scope::{column_type_of, Scope},
        subquery::{all_selects, select_exprs_mut},
        walk::operands_mut,
        Engine,
    },
    crate::error::{DbError, ErrorCode},
    crate::kinds::{is_float_type, is_float_value, is_integer_type, is_integer_value},
    gluesql_core::{
        ast::DataType,
        data::{Interval, Point, Value},
        sqlparser::ast::{
            BinaryOperator, Expr, FromTable, Insert, Query, SetExpr, Statement, Value as SqlValue,
        },
        store::Store,
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

/// What a parameter meets: a column it is stored in, or one it is compared with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Store,
    Compare,
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

struct Finder<'a> {
    engine: &'a Engine,
    found: Vec<(usize, DataType, Role)>,
}

impl Finder<'_> {
    fn note(&mut self, placeholder: &Expr, column: &Expr, scopes: &[Scope]) {
        if let (Some(index), Some(data_type)) = (
            placeholder_index(placeholder),
            column_type_of(column, scopes),
        ) {
            self.found.push((index, data_type, Role::Compare));
        }
    }

    fn query(&mut self, query: &mut Query, scopes: &mut Vec<Scope>) {
        let engine = self.engine;
        all_selects(&mut query.body, &mut |select| {
            scopes.push(engine.scope_of_from(&select.from));
            for expr in select_exprs_mut(select) {
                self.expr(expr, scopes);
            }
            scopes.pop();
            true
        });
    }

    fn expr(&mut self, expr: &mut Expr, scopes: &mut Vec<Scope>) {
        match expr {
            Expr::BinaryOp {
                left,
                op:
                    BinaryOperator::Eq
                    | BinaryOperator::NotEq
                    | BinaryOperator::Lt
                    | BinaryOperator::LtEq
                    | BinaryOperator::Gt
                    | BinaryOperator::GtEq,
                right,
            } => {
                self.note(right, left, scopes);
                self.note(left, right, scopes);
            }
            Expr::InList { expr, list, .. } => {
                for item in list.iter() {
                    self.note(item, expr, scopes);
                }
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                self.note(low, expr, scopes);
                self.note(high, expr, scopes);
            }
            Expr::Subquery(query)
            | Expr::Exists {
                subquery: query, ..
            } => return self.query(query, scopes),
            Expr::InSubquery { subquery, .. } => self.query(subquery, scopes),
            _ => {}
        }
        for operand in operands_mut(expr) {
            self.expr(operand, scopes);
        }
    }
}

impl Engine {
    /// The parameters of `INSERT … VALUES` with the types of the columns they are stored in;
    /// `None` for an INSERT from a query. Needs no copy of the statement (W1's path).
    fn insert_value_targets(&self, insert: &Insert) -> Option<Vec<(usize, DataType, Role)>> {
        let SetExpr::Values(values) = insert.source.as_ref()?.body.as_ref() else {
            return None;
        };
        let table = insert.table_name.0.last().map(|i| i.value.as_str());
        let schema = table.and_then(|t| self.glue.storage.fetch_schema(t).ok().flatten());
        let defs = schema.and_then(|s| s.column_defs).unwrap_or_default();
        let targets: Vec<Option<&DataType>> = if insert.columns.is_empty() {
            defs.iter().map(|d| Some(&d.data_type)).collect()
        } else {
            insert
                .columns
                .iter()
                .map(|c| {
                    defs.iter()
                        .find(|d| d.name == c.value)
                        .map(|d| &d.data_type)
                })
                .collect()
        };
        let mut found = Vec::new();
        for row in &values.rows {
            for (item, target) in row.iter().zip(&targets) {
                if let (Some(index), Some(data_type)) = (placeholder_index(item), target) {
                    found.push((index, (*data_type).clone(), Role::Store));
                }
            }
        }
        Some(found)
    }

    /// Each parameter index that meets a column, with the column's type and how it meets it.
    fn parameter_targets(&self, statement: &mut Statement) -> Vec<(usize, DataType, Role)> {
        let mut finder = Finder {
            engine: self,
            found: Vec::new(),
        };
        let mut scopes = Vec::new();
        match statement {
            Statement::Query(query) => finder.query(query, &mut scopes),
            Statement::Insert(insert) => {
                if let Some(values) = self.insert_value_targets(insert) {
                    finder.found = values;
                } else if let Some(source) = insert.source.as_mut() {
                    finder.query(source, &mut scopes);
                }
            }
            Statement::Update {
                table,
                assignments,
                selection,
                ..
            } => {
                scopes.push(self.scope_of_from(std::slice::from_ref(table)));
                for assignment in assignments.iter() {
                    let column = Expr::Identifier(gluesql_core::sqlparser::ast::Ident::new(
                        assignment.target.to_string(),
                    ));
                    if let (Some(index), Some(data_type)) = (
                        placeholder_index(&assignment.value),
                        column_type_of(&column, &scopes),
                    ) {
                        finder.found.push((index, data_type, Role::Store));
                    }
                }
                for assignment in assignments.iter_mut() {
                    finder.expr(&mut assignment.value, &mut scopes);
                }
                if let Some(selection) = selection {
                    finder.expr(selection, &mut scopes);
                }
            }
            Statement::Delete(delete) => {
                let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) =
                    &delete.from;
                scopes.push(self.scope_of_from(from));
                if let Some(selection) = delete.selection.as_mut() {
                    finder.expr(selection, &mut scopes);
                }
            }
            _ => {}
        }
        finder.found
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
            self.parameter_targets(&mut statement.clone())
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
        (Value::Str(text), DataType::Interval) => match iso_duration(text) {
            Some(interval) => Value::Interval(interval),
            None => match value.cast(data_type) {
                Ok(v) => v,
                Err(_) => return refuse(value),
            },
        },
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
