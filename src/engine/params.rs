//! Binds parameter values to `$1`, `$2`, … placeholders. Text and JS-style numbers are inlined
//! as SQL literals, so they convert to the column's type (DATE, FLOAT, …) exactly as literals do.

use {
    crate::error::{DbError, ErrorCode},
    gluesql_core::sqlparser::ast::{Expr as SqlExpr, Statement as SqlStatement, Value as SqlValue},
    gluesql_core::{
        data::Value,
        translate::{IntoParamLiteral, ParamLiteral},
    },
    std::ops::ControlFlow,
};

/// A copy of `statement` with each text or number parameter's placeholder replaced by a
/// literal, or `None` when there is none. Parameters marked `typed` (already converted to the
/// type of the column they meet) stay bound as typed values.
pub fn inline_text_params(
    statement: &SqlStatement,
    params: &[Value],
    typed: &[bool],
) -> Option<SqlStatement> {
    let inlined = |i: usize| !typed.get(i).copied().unwrap_or(false);
    if !params
        .iter()
        .enumerate()
        .any(|(i, value)| inlined(i) && literal_of(value).is_some())
    {
        return None;
    }
    let mut statement = statement.clone();
    let _ = super::visit::exprs_mut(&mut statement, |expr| {
        if let SqlExpr::Value(SqlValue::Placeholder(placeholder)) = expr {
            let text = placeholder
                .strip_prefix('$')
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1))
                .filter(|i| inlined(*i))
                .and_then(|i| params.get(i));
            if let Some(literal) = text.and_then(literal_of) {
                *expr = SqlExpr::Value(literal);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    Some(statement)
}

/// The literal a parameter is inlined as: text (maps and lists as their JSON text, which
/// GlueSQL parses into MAP / LIST columns), or a whole number. A JS number arrives as I64 when
/// whole and must fit an INT or a FLOAT column alike, as a numeric literal does.
fn literal_of(value: &Value) -> Option<SqlValue> {
    match value {
        Value::Str(text) => Some(SqlValue::SingleQuotedString(text.clone())),
        Value::Map(_) | Value::List(_) => serde_json::Value::try_from(value.clone())
            .ok()
            .map(|json| SqlValue::SingleQuotedString(json.to_string())),
        // Whole numbers only: GlueSQL's decimal-to-float conversion of a literal is not exact,
        // so a fractional F64 stays a typed value (FLOAT columns take it as it is).
        Value::I64(n) => Some(SqlValue::Number(n.to_string().parse().ok()?, false)),
        _ => None,
    }
}

pub fn bind_params(params: &[Value]) -> Result<Vec<ParamLiteral>, DbError> {
    params
        .iter()
        .enumerate()
        .map(|(i, value)| bind(i, value))
        .collect()
}

fn bind(position: usize, value: &Value) -> Result<ParamLiteral, DbError> {
    Ok(match value.clone() {
        Value::Null => ParamLiteral::null(),
        Value::Bool(v) => v.into_param_literal(),
        Value::I8(v) => v.into_param_literal(),
        Value::I16(v) => v.into_param_literal(),
        Value::I32(v) => v.into_param_literal(),
        Value::I64(v) => v.into_param_literal(),
        Value::I128(v) => v.into_param_literal(),
        Value::U8(v) => v.into_param_literal(),
        Value::U16(v) => v.into_param_literal(),
        Value::U32(v) => v.into_param_literal(),
        Value::U64(v) => v.into_param_literal(),
        Value::U128(v) => v.into_param_literal(),
        Value::F32(v) => v.into_param_literal(),
        Value::F64(v) => v.into_param_literal(),
        Value::Decimal(v) => v.into_param_literal(),
        Value::Str(v) => v.into_param_literal(),
        Value::Bytea(v) => v.into_param_literal(),
        Value::Inet(v) => v.into_param_literal(),
        Value::Date(v) => v.into_param_literal(),
        Value::Timestamp(v) => v.into_param_literal(),
        Value::Time(v) => v.into_param_literal(),
        Value::Interval(v) => v.into_param_literal(),
        Value::Uuid(v) => uuid::Uuid::from_u128(v).into_param_literal(),
        Value::Point(v) => v.into_param_literal(),
        // GlueSQL has no map or list literal parameter; their JSON text casts on insert.
        value @ (Value::Map(_) | Value::List(_)) => {
            let json = serde_json::Value::try_from(value).map_err(|e| {
                DbError::new(
                    ErrorCode::Params,
                    format!("parameter ${}: {e}", position + 1),
                )
            })?;
            json.to_string().into_param_literal()
        }
    })
}

/// The value a `$n` placeholder stands for, if `expr` is one with a value given.
pub(super) fn bound_value<'a>(expr: &SqlExpr, params: &'a [Value]) -> Option<&'a Value> {
    let SqlExpr::Value(SqlValue::Placeholder(p)) = expr else {
        return None;
    };
    let n = p.strip_prefix('$')?.parse::<usize>().ok()?;
    params.get(n.checked_sub(1)?)
}

/// Whether `expr` is NULL written out or a parameter given as NULL.
pub(super) fn is_null_or_null_param(expr: &SqlExpr, params: &[Value]) -> bool {
    match expr {
        // `(NULL)`: how a CASE no row can take is left (constant_case.rs).
        SqlExpr::Nested(inner) => is_null_or_null_param(inner, params),
        SqlExpr::Value(SqlValue::Null) => true,
        _ => matches!(bound_value(expr, params), Some(Value::Null)),
    }
}
