//! What a column DEFAULT may be. GlueSQL evaluates a default as written (unguarded) when a
//! table is created or altered and on every INSERT that leaves the column out, here and on
//! every replica it syncs to. So a default is accepted only when that evaluation is known
//! safe: its constant parts are evaluated now, behind the guards, and whatever varies (the
//! clock, RAND, GENERATE_UUID) may only pass through arithmetic and casts that cannot panic.

use {
    super::calls,
    gluesql_core::{
        ast::{BinaryOperator, Expr, Function, UnaryOperator},
        data::{Interval, Value},
        executor::evaluate_stateless,
        plan::plan_scalar_expr,
    },
};

/// Why a default is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefaultError {
    /// Its evaluation fails (a guard's refusal included).
    #[error("DEFAULT {0}")]
    Fails(String),
    /// Its shape is not one idbsql can run safely on every replica.
    #[error("DEFAULT {0}")]
    Unsupported(String),
}

/// Dates this far from year 0 and intervals this long keep date arithmetic inside chrono's
/// range (±262,000 years) for as long as anyone will run this code.
const MAX_YEARS: i64 = 100_000;
const MAX_INTERVAL_YEARS: i64 = 10_000;

/// Checks a default expression (see the module); its value when it is a constant.
pub fn check_default(expr: &Expr) -> Result<Option<Value>, DefaultError> {
    match eval(expr)? {
        Kind::Value(value) => Ok(Some(value)),
        Kind::Clock | Kind::Random => Ok(None),
    }
}

enum Kind {
    Value(Value),
    /// NOW(), CURRENT_DATE and friends, and arithmetic over them.
    Clock,
    /// RAND(), GENERATE_UUID(), and numbers made from them.
    Random,
}

fn eval(expr: &Expr) -> Result<Kind, DefaultError> {
    use Function as F;
    match expr {
        Expr::Literal(_) | Expr::Value(_) | Expr::TypedString { .. } => evaluate(expr.clone()),
        Expr::Interval {
            expr: inner,
            leading_field,
            last_field,
        } => match eval(inner)? {
            Kind::Value(value) => {
                let interval = evaluate(Expr::Interval {
                    expr: Box::new(Expr::Value(value)),
                    leading_field: *leading_field,
                    last_field: *last_field,
                })?;
                if let Kind::Value(Value::Interval(interval)) = &interval {
                    check_interval(interval)?;
                }
                Ok(interval)
            }
            _ => Err(unsupported("INTERVAL of a value that varies")),
        },
        Expr::Nested(inner) => eval(inner),
        Expr::UnaryOp { op, expr: inner } => match (eval(inner)?, op) {
            (Kind::Value(value), _) => evaluate(Expr::UnaryOp {
                op: op.clone(),
                expr: Box::new(Expr::Value(value)),
            }),
            (Kind::Random, UnaryOperator::Minus | UnaryOperator::Plus) => Ok(Kind::Random),
            _ => Err(unsupported("with an operator over a value that varies")),
        },
        Expr::BinaryOp { left, op, right } => binary(eval(left)?, op, eval(right)?),
        Expr::Function(function) => match function.as_ref() {
            F::Now() | F::CurrentDate() | F::CurrentTime() | F::CurrentTimestamp() => {
                Ok(Kind::Clock)
            }
            F::GenerateUuid() | F::Rand(None) => Ok(Kind::Random),
            F::Rand(Some(seed)) => match eval(seed)? {
                Kind::Value(_) => Ok(Kind::Random),
                _ => Err(unsupported("RAND seeded by a value that varies")),
            },
            F::Cast {
                expr: inner,
                data_type,
            } => match eval(inner)? {
                Kind::Value(value) => evaluate(Expr::Function(Box::new(F::Cast {
                    expr: Expr::Value(value),
                    data_type: data_type.clone(),
                }))),
                other => Ok(other),
            },
            _ => {
                let mut call = function.as_ref().clone();
                let mut refused = None;
                super::walk::function_args(&mut call, &mut |arg| match eval(arg) {
                    Ok(Kind::Value(value)) => *arg = Expr::Value(value),
                    Ok(_) => {
                        refused.get_or_insert(unsupported(&format!(
                            "calling {} on a value that varies (the clock, RAND or GENERATE_UUID)",
                            function_name(function)
                        )));
                    }
                    Err(error) => {
                        refused.get_or_insert(error);
                    }
                });
                if let Some(error) = refused {
                    return Err(error);
                }
                let call = calls::guarded(&call).unwrap_or(Expr::Function(Box::new(call)));
                evaluate(call)
            }
        },
        Expr::Case { .. } => {
            // Constant throughout, so evaluated whole (guarded) like a call.
            let mut case = expr.clone();
            let mut refused = None;
            super::walk::children(&mut case, &mut |e| match eval(e) {
                Ok(Kind::Value(value)) => *e = Expr::Value(value),
                Ok(_) => {
                    refused.get_or_insert(unsupported("CASE over a value that varies"));
                }
                Err(error) => {
                    refused.get_or_insert(error);
                }
            });
            match refused {
                Some(error) => Err(error),
                None => evaluate(case),
            }
        }
        Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::InList { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::ILike { .. }
        | Expr::Array { .. }
        | Expr::ArrayIndex { .. } => {
            // Constant comparisons and lists: every part must be a value.
            let mut whole = expr.clone();
            let mut refused = None;
            super::walk::expr(&mut whole, &mut |e| {
                if matches!(
                    e,
                    Expr::Identifier(_)
                        | Expr::CompoundIdentifier { .. }
                        | Expr::Subquery(_)
                        | Expr::Exists { .. }
                        | Expr::InSubquery { .. }
                        | Expr::Aggregate(_)
                        | Expr::Function(_)
                ) {
                    refused.get_or_insert(unsupported("with that expression"));
                }
            });
            match refused {
                Some(error) => Err(error),
                None => evaluate(whole),
            }
        }
        Expr::Identifier(name) => Err(unsupported(&format!("may not name a column ({name})"))),
        Expr::CompoundIdentifier { alias, ident } => Err(unsupported(&format!(
            "may not name a column ({alias}.{ident})"
        ))),
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
            Err(unsupported("may not hold a subquery"))
        }
        Expr::Aggregate(_) => Err(unsupported("may not hold an aggregate")),
        Expr::Regex { .. } => Err(unsupported("may not hold a regular expression match")),
    }
}

fn binary(left: Kind, op: &BinaryOperator, right: Kind) -> Result<Kind, DefaultError> {
    use BinaryOperator as B;
    match (left, right) {
        (Kind::Value(left), Kind::Value(right)) => {
            if matches!(op, B::Plus | B::Minus) {
                check_date_arithmetic(&left, &right)?;
            }
            if matches!(op, B::Multiply | B::Divide)
                && (matches!(left, Value::Interval(_)) || matches!(right, Value::Interval(_)))
            {
                return Err(unsupported("multiplying or dividing an INTERVAL"));
            }
            evaluate(Expr::BinaryOp {
                left: Box::new(Expr::Value(left)),
                op: op.clone(),
                right: Box::new(Expr::Value(right)),
            })
        }
        (Kind::Clock, Kind::Value(Value::Interval(_)))
        | (Kind::Value(Value::Interval(_)), Kind::Clock)
            if matches!(op, B::Plus | B::Minus) =>
        {
            Ok(Kind::Clock)
        }
        (Kind::Random, Kind::Random) if is_arithmetic(op) => Ok(Kind::Random),
        (Kind::Random, Kind::Value(number)) | (Kind::Value(number), Kind::Random)
            if is_arithmetic(op) && is_number(&number) =>
        {
            Ok(Kind::Random)
        }
        _ => Err(unsupported(&format!(
            "with {} over a value that varies",
            op_name(op)
        ))),
    }
}

fn is_arithmetic(op: &BinaryOperator) -> bool {
    use BinaryOperator as B;
    matches!(op, B::Plus | B::Minus | B::Multiply | B::Divide)
}

fn is_number(value: &Value) -> bool {
    crate::kinds::is_integer_value(value)
        || crate::kinds::is_float_value(value)
        || matches!(value, Value::Decimal(_))
}

/// A date, time or timestamp plus or minus an interval stays inside chrono's range.
fn check_date_arithmetic(left: &Value, right: &Value) -> Result<(), DefaultError> {
    use gluesql_core::chrono::Datelike;
    let year = |value: &Value| match value {
        Value::Date(date) => Some(i64::from(date.year())),
        Value::Timestamp(timestamp) => Some(i64::from(timestamp.year())),
        _ => None,
    };
    for (date, interval) in [(left, right), (right, left)] {
        if let Value::Interval(interval) = interval {
            check_interval(interval)?;
            if year(date).is_some_and(|year| year.abs() > MAX_YEARS) {
                return Err(unsupported("date arithmetic this far from year 0"));
            }
        }
    }
    Ok(())
}

fn check_interval(interval: &Interval) -> Result<(), DefaultError> {
    if super::values::interval_years(interval).abs() > MAX_INTERVAL_YEARS {
        return Err(unsupported(&format!(
            "with an INTERVAL longer than {MAX_INTERVAL_YEARS} years"
        )));
    }
    Ok(())
}

/// Evaluates a constant expression behind its guards.
fn evaluate(mut expr: Expr) -> Result<Kind, DefaultError> {
    super::guard_expr(&mut expr).map_err(|e| DefaultError::Unsupported(e.to_string()))?;
    let plan = plan_scalar_expr(expr);
    let evaluated = evaluate_stateless(None, &plan).map_err(fails)?;
    let value: Value = evaluated.try_into().map_err(fails)?;
    Ok(Kind::Value(value))
}

fn fails(error: gluesql_core::error::Error) -> DefaultError {
    let message = match super::guard_message(&error) {
        Some(message) => message.to_owned(),
        None => error.to_string(),
    };
    DefaultError::Fails(format!("cannot be evaluated: {message}"))
}

fn unsupported(what: &str) -> DefaultError {
    DefaultError::Unsupported(format!("{what} is not supported"))
}

fn function_name(function: &Function) -> String {
    function.to_string()
}

fn op_name(op: &BinaryOperator) -> String {
    use gluesql_core::ast::ToSql;
    op.to_sql()
}
