//! Rows our layer computed (a set operation, a recursive WITH) handed to GlueSQL as a relation
//! that lives in one statement: `VALUES` rows bound as parameters, each column cast to the one
//! type its values have. Never touches the store, the catalog or anything that outlives the statement.

use {
    crate::error::{DbError, ErrorCode},
    gluesql_core::{
        ast::DataType,
        data::Value,
        sqlparser::ast::{Expr, Query, SetExpr, Statement, TableFactor, Value as SqlValue},
    },
};

/// The query `SELECT CAST(c0 AS T) AS c0, … FROM (VALUES …) AS rows (c0, …)` over `rows`, each
/// `width` values long; their values are appended to `params`.
pub fn values_query(
    rows: Vec<Vec<Value>>,
    width: usize,
    params: &mut Vec<Value>,
) -> Result<Query, DbError> {
    values_query_typed(rows, width, &[], params)
}

/// `values_query`, where `declared` gives the type a column has where it comes from (a
/// table's column a computed join read): a column of NULLs only then keeps it, so a DATE
/// NULL beside a DATE is still subtracted as a DATE.
pub fn values_query_typed(
    mut rows: Vec<Vec<Value>>,
    width: usize,
    declared: &[Option<DataType>],
    params: &mut Vec<Value>,
) -> Result<Query, DbError> {
    for column in 0..width {
        widen_column(
            &mut rows,
            column,
            declared.get(column).and_then(Option::as_ref),
        );
    }
    // Each column cast to the one type its values have, so the passes that type expressions
    // (numeric.rs) see it as they see a table's column.
    // A column without a value (no rows, or only NULLs: the side an outer join found nothing
    // on) is read as a NULL whatever its type: any type gives the same answers, and an untyped
    // one leaves COALESCE(d, c0) >= LENGTH(t) and LEAST(2.5, c0, i) untyped, which GlueSQL then
    // compares DECIMAL with integer as neither smaller nor larger.
    let projection: Vec<String> = (0..width)
        .map(|i| match column_type(&rows, i) {
            Some(data_type) => format!("CAST(c{i} AS {data_type}) AS c{i}"),
            None if rows.iter().all(|row| row.get(i).is_none_or(Value::is_null)) => {
                let data_type = declared
                    .get(i)
                    .and_then(Option::as_ref)
                    .and_then(type_name)
                    .unwrap_or("INTEGER");
                format!("CAST(c{i} AS {data_type}) AS c{i}")
            }
            None => format!("c{i}"),
        })
        .collect();
    let names: Vec<String> = (0..width).map(|i| format!("c{i}")).collect();
    // VALUES needs a row: without any, one of NULLs that no row passes.
    let filter = if rows.is_empty() { " WHERE false" } else { "" };
    let template = format!(
        "SELECT {} FROM (VALUES ({})) AS rows ({}){filter}",
        projection.join(", "),
        vec!["NULL"; width].join(", "),
        names.join(", ")
    );
    let mut query = match super::parse_sql(&template)?.pop() {
        Some(Statement::Query(query)) => *query,
        _ => return Err(unexpected()),
    };
    if rows.is_empty() {
        return Ok(query);
    }
    // The rows go straight into the parsed tree: as text, they were printed and parsed again.
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Err(unexpected());
    };
    let Some(TableFactor::Derived { subquery, .. }) =
        select.from.first_mut().map(|t| &mut t.relation)
    else {
        return Err(unexpected());
    };
    let SetExpr::Values(values) = subquery.body.as_mut() else {
        return Err(unexpected());
    };
    values.rows = rows
        .into_iter()
        .map(|row| row.into_iter().map(|value| bind(params, value)).collect())
        .collect();
    Ok(query)
}

fn unexpected() -> DbError {
    DbError::new(
        ErrorCode::Execute,
        "internal: the rows relation did not parse as expected",
    )
}

/// Appends `value` as the next parameter and returns its placeholder.
pub fn bind(params: &mut Vec<Value>, value: Value) -> Expr {
    params.push(value);
    Expr::Value(SqlValue::Placeholder(format!("${}", params.len())))
}

/// One column of computed rows, of one numeric kind as SQL gives it (integers meeting floats
/// are floats, integers meeting decimals decimals): GlueSQL's VALUES wants one type per
/// column, and `SELECT f … UNION SELECT 1` gives each row its own. A `declared` FLOAT or
/// DECIMAL (the type the binder gives a set operation's column) decides even where no row of
/// that kind came: `SELECT i … UNION ALL SELECT f … WHERE false` is a FLOAT column, so its
/// `v / 2` is 1.5, not 1.
pub(super) fn widen_column(rows: &mut [Vec<Value>], column: usize, declared: Option<&DataType>) {
    let values = || rows.iter().filter_map(|row| row.get(column));
    let to = if declared.is_some_and(crate::kinds::is_float_type)
        || values().any(crate::kinds::is_float_value)
    {
        DataType::Float
    } else if declared == Some(&DataType::Decimal)
        || values().any(|v| matches!(v, Value::Decimal(_)))
    {
        DataType::Decimal
    } else {
        return;
    };
    for row in rows.iter_mut() {
        if let Some(value) = row.get_mut(column) {
            let numeric = crate::kinds::is_integer_value(value)
                || crate::kinds::is_float_value(value)
                || matches!(value, Value::Decimal(_));
            if numeric {
                if let Ok(widened) = value.cast(&to) {
                    *value = widened;
                }
            }
        }
    }
}

/// The name a CAST reads for the declared types `column_type` can give.
fn type_name(data_type: &DataType) -> Option<&'static str> {
    Some(match data_type {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int | DataType::Int128 => {
            "INTEGER"
        }
        DataType::Float32 | DataType::Float => "FLOAT",
        DataType::Decimal => "DECIMAL",
        DataType::Text => "TEXT",
        DataType::Boolean => "BOOLEAN",
        DataType::Date => "DATE",
        DataType::Timestamp => "TIMESTAMP",
        DataType::Time => "TIME",
        _ => return None,
    })
}

/// The SQL type every non-NULL value of one column has, if they share one.
fn column_type(rows: &[Vec<Value>], column: usize) -> Option<&'static str> {
    let mut found = None;
    for value in rows.iter().filter_map(|row| row.get(column)) {
        let data_type = match value {
            Value::Null => continue,
            Value::I8(_) | Value::I16(_) | Value::I32(_) | Value::I64(_) => "INTEGER",
            Value::F32(_) | Value::F64(_) => "FLOAT",
            Value::Decimal(_) => "DECIMAL",
            Value::Str(_) => "TEXT",
            Value::Bool(_) => "BOOLEAN",
            Value::Date(_) => "DATE",
            Value::Timestamp(_) => "TIMESTAMP",
            Value::Time(_) => "TIME",
            _ => return None,
        };
        if found.is_some_and(|f| f != data_type) {
            return None;
        }
        found = Some(data_type);
    }
    found
}
