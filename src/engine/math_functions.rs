//! PostgreSQL's rounding and math functions over every numeric type, where GlueSQL 0.20 computes
//! them over BIGINT and FLOAT only: ROUND / CEIL / FLOOR / TRUNC of a DECIMAL exact (a DECIMAL,
//! half away from zero), ROUND / TRUNC to n places, ROUND of a FLOAT half to even, a CAST to
//! an integer type rounding as ROUND does, narrower integers and DECIMALs widened for the FLOAT
//! functions. Reads the binder's types (bind_types.rs);
//! rewrites calls, evaluates nothing, and refuses by name what PostgreSQL has no answer for.

use {
    super::{bind_types::type_calls, functions::cast, logic::binary, Engine},
    crate::{
        error::{DbError, ErrorCode},
        kinds::{is_float_type, is_integer_type},
    },
    bigdecimal::BigDecimal,
    gluesql_core::{
        ast::DataType as GlueType,
        data::Value,
        sqlparser::ast::{
            BinaryOperator, DataType, ExactNumberInfo, Expr, FunctionArg, FunctionArgExpr,
            FunctionArguments, Statement, UnaryOperator, Value as SqlValue,
        },
    },
    std::ops::ControlFlow,
};

/// The functions GlueSQL computes in FLOAT from a BIGINT or a FLOAT only.
const FLOAT_FUNCTIONS: [&str; 16] = [
    "SQRT", "CBRT", "POWER", "EXP", "LN", "LOG", "LOG2", "LOG10", "SIN", "COS", "TAN", "ASIN",
    "ACOS", "ATAN", "RADIANS", "DEGREES",
];

/// Places `ROUND(x, n)` rounds to: a DECIMAL holds 28 digits after its point at most.
const MAX_PLACES: i64 = 28;

/// Expression nodes the rewrites may add to one statement: `ROUND(x)` writes `x` twice, so
/// nested calls multiply.
const MAX_ADDED_NODES: usize = 100_000;

/// Whether `statement` calls a rounding or FLOAT function (a cheap look, no schema read).
pub(super) fn may_apply(statement: &Statement) -> bool {
    // W1's bulk path: VALUES of constants hold no call, and are not walked value by value.
    if super::numeric::is_plain_insert(statement) {
        return false;
    }
    let mut found = false;
    let _ = super::visit::exprs(statement, |expr| {
        found = match expr {
            Expr::Ceil { .. } | Expr::Floor { .. } => true,
            Expr::Cast { data_type, .. } => super::bind_types::is_integer_cast(data_type),
            Expr::Function(function) => {
                let name = function.name.to_string().to_uppercase();
                matches!(name.as_str(), "ROUND" | "TRUNC" | "CEILING")
                    || FLOAT_FUNCTIONS.contains(&name.as_str())
            }
            _ => false,
        };
        if found {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    found
}

/// What the binder knows of an argument's type, as the rewrites read it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Decimal,
    /// BIGINT: GlueSQL's FLOAT functions read it.
    BigInt,
    /// Another integer type (SMALLINT, INT32, unsigned …), which GlueSQL's functions refuse.
    NarrowInt,
    Float,
    Unknown,
}

fn kind_of(data_type: Option<&GlueType>) -> Kind {
    match data_type {
        Some(GlueType::Decimal) => Kind::Decimal,
        Some(GlueType::Int) => Kind::BigInt,
        Some(t) if is_integer_type(t) => Kind::NarrowInt,
        Some(t) if is_float_type(t) => Kind::Float,
        _ => Kind::Unknown,
    }
}

impl Engine {
    /// Rewrites every rounding and FLOAT function call of `statement` so GlueSQL computes
    /// PostgreSQL's answer, or refuses the statement naming the call it cannot compute.
    pub(super) fn lower_math(
        &self,
        statement: &mut Statement,
        params: &[Value],
    ) -> Result<(), DbError> {
        let mut failed = None;
        let mut added = 0;
        type_calls(self, statement, params, |call, types| {
            if failed.is_none() {
                if let Err(error) = lower(call, types, params, &mut added) {
                    failed = Some(error);
                }
            }
        });
        failed.map_or(Ok(()), Err)
    }
}

fn refused(what: String) -> DbError {
    DbError::new(ErrorCode::Plan, what)
}

/// Rewrites one call, its arguments' types given.
fn lower(
    call: &mut Expr,
    types: &[Option<GlueType>],
    params: &[Value],
    added: &mut usize,
) -> Result<(), DbError> {
    let kind = kind_of(types.first().and_then(Option::as_ref));
    if let Expr::Cast { expr: x, .. } = call {
        // Only integer CASTs are handed over (bind_types.rs, `is_integer_cast`).
        return round_for_integer_cast(x, kind, added);
    }
    let (name, args) = match call {
        Expr::Ceil { expr, field } if is_plain(field) => ("CEIL".to_owned(), vec![&**expr]),
        Expr::Floor { expr, field } if is_plain(field) => ("FLOOR".to_owned(), vec![&**expr]),
        Expr::Function(function) if function.over.is_none() => {
            match super::walk::plain_args(function) {
                Some(plain) => plain,
                None => return Ok(()),
            }
        }
        _ => return Ok(()),
    };
    let rewritten = match (name.as_str(), args.as_slice()) {
        ("ROUND" | "CEIL" | "CEILING" | "FLOOR" | "TRUNC", [x]) => match kind {
            // A value of a type the binder does not know (EXTRACT's, a NULL) may be a DECIMAL
            // when it runs: rounded as one, as PostgreSQL rounds a NUMERIC.
            Kind::Decimal | Kind::Unknown if name == "ROUND" => match rounded(x, kind, added)? {
                Some(rounded) => rounded,
                None => return Ok(()),
            },
            Kind::Decimal | Kind::Unknown => {
                let x = as_decimal(x);
                budget(added, &x, 2)?;
                match name.as_str() {
                    "TRUNC" => whole(x),
                    "FLOOR" => step(x, BinaryOperator::Minus, BinaryOperator::Lt),
                    _ => step(x, BinaryOperator::Plus, BinaryOperator::Gt),
                }
            }
            Kind::Float if name == "ROUND" => match rounded(x, kind, added)? {
                Some(rounded) => rounded,
                None => return Ok(()),
            },
            Kind::NarrowInt => float_call(&name, cast((*x).clone(), DataType::Float64)),
            _ if name == "CEILING" => float_call("CEIL", (*x).clone()),
            _ => return Ok(()),
        },
        ("ROUND" | "TRUNC", [x, n]) => {
            if kind == Kind::Float {
                return Err(refused(format!(
                    "{name}(x, n) of a FLOAT: PostgreSQL rounds only a NUMERIC to n places; \
                     write {name}(CAST(x AS DECIMAL), n)"
                )));
            }
            let places = places(n, params).ok_or_else(|| {
                refused(format!(
                    "{name}(x, n) needs n to be a whole number from -{MAX_PLACES} to {MAX_PLACES} \
                     written in the statement or bound as a parameter"
                ))
            })?;
            let scaled = Expr::Nested(Box::new(Expr::BinaryOp {
                left: Box::new(as_decimal(x)),
                op: BinaryOperator::Multiply,
                right: Box::new(power_of_ten(places)),
            }));
            let whole_part = if name == "ROUND" {
                budget(added, &scaled, 2)?;
                round_decimal(scaled)
            } else {
                whole(scaled)
            };
            // Times 10^-n written with n places: the result keeps n places, as PostgreSQL's.
            Expr::Nested(Box::new(Expr::BinaryOp {
                left: Box::new(whole_part),
                op: BinaryOperator::Multiply,
                right: Box::new(power_of_ten(-places)),
            }))
        }
        // PostgreSQL's LOG(b, x) is the base-b logarithm of x, GlueSQL's LOG(x, b): written
        // as GlueSQL computes it, LN(x) / LN(b), so lowering it again changes nothing; LOG2 and
        // LOG10 for a base of 2 or 10, exact at its powers. PostgreSQL's LOG(x) is LOG10(x).
        ("LOG", [b, x]) => {
            let widened = |e: &Expr, t: Option<&Option<GlueType>>| {
                as_float_argument(e, kind_of(t.and_then(Option::as_ref)))
            };
            let x = widened(x, types.get(1));
            let base = match b {
                Expr::Value(SqlValue::Number(n, _)) if n == &BigDecimal::from(2) => Some("LOG2"),
                Expr::Value(SqlValue::Number(n, _)) if n == &BigDecimal::from(10) => Some("LOG10"),
                _ => None,
            };
            match base {
                Some(name) => float_call(name, x),
                None => Expr::Nested(Box::new(binary(
                    float_call("LN", x),
                    BinaryOperator::Divide,
                    float_call("LN", widened(b, types.first())),
                ))),
            }
        }
        ("LOG", [x]) => float_call("LOG10", as_float_argument(x, kind)),
        (name, _) if FLOAT_FUNCTIONS.contains(&name) => {
            // Every argument GlueSQL refuses is computed as a FLOAT (PostgreSQL computes a
            // NUMERIC's in NUMERIC: README, "Numbers", says what differs).
            let widens = |t: &Option<GlueType>| needs_float(kind_of(t.as_ref()));
            if !types.iter().any(widens) {
                return Ok(());
            }
            let Expr::Function(function) = call else {
                return Ok(());
            };
            if let FunctionArguments::List(list) = &mut function.args {
                for (arg, data_type) in list.args.iter_mut().zip(types) {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg {
                        if widens(data_type) {
                            *e = as_float_argument(e, Kind::Unknown);
                        }
                    }
                }
            }
            return Ok(());
        }
        _ => return Ok(()),
    };
    *call = rewritten;
    Ok(())
}

/// `CAST(x AS INTEGER)` (any integer type) of a DECIMAL or a FLOAT rounds as PostgreSQL's: a
/// NUMERIC half away from zero, a DOUBLE PRECISION to even (`rint`); GlueSQL's truncates (and
/// refuses a literal with a fraction). `x` is rounded in place first, so the CAST only drops a
/// zero fraction; a value already whole (lowered before: a set operation's arm) is left alone.
fn round_for_integer_cast(x: &mut Expr, kind: Kind, added: &mut usize) -> Result<(), DbError> {
    // Integers need nothing; a text or a NULL converts (or fails) as it does in PostgreSQL.
    if is_whole(x) || !matches!(kind, Kind::Decimal | Kind::Float) {
        return Ok(());
    }
    if let Some(rounded) = rounded(x, kind, added)? {
        *x = rounded;
    }
    Ok(())
}

/// `ROUND(x)` as PostgreSQL's for `x` of this kind: a FLOAT to even, anything else as a
/// DECIMAL, half away from zero. `None`: a FLOAT's ROUND lowered already (left as it is).
fn rounded(x: &Expr, kind: Kind, added: &mut usize) -> Result<Option<Expr>, DbError> {
    if kind == Kind::Float {
        let Some(rounded) = round_half_even(x.clone()) else {
            return Ok(None);
        };
        budget(added, x, 3)?;
        return Ok(Some(rounded));
    }
    let x = as_decimal(x);
    budget(added, &x, 2)?;
    Ok(Some(round_decimal(x)))
}

/// Whether `x` is already a whole number as these rewrites write one: a one-argument ROUND,
/// CEIL, FLOOR or TRUNC, or a DECIMAL's rounded or whole part.
fn is_whole(x: &Expr) -> bool {
    match x {
        Expr::Nested(inner) => is_whole(inner),
        Expr::Ceil { .. } | Expr::Floor { .. } => true,
        Expr::Function(function) => {
            let name = function.name.to_string().to_uppercase();
            matches!(
                name.as_str(),
                "ROUND" | "TRUNC" | "CEIL" | "CEILING" | "FLOOR"
            ) && super::walk::plain_args(function).is_some_and(|(_, args)| args.len() == 1)
        }
        Expr::Cast {
            expr, data_type, ..
        } if *data_type == decimal() => matches!(
            expr.as_ref(),
            Expr::Cast {
                data_type: DataType::Int128,
                ..
            }
        ),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Plus,
            right,
        } => is_whole(left) && is_whole(right),
        _ => false,
    }
}

/// Whether GlueSQL's FLOAT functions need an argument of this kind made a FLOAT first: they
/// read only BIGINT and FLOAT, and a value of a type the binder does not know (EXTRACT's, a
/// text parameter's) may be a DECIMAL when it runs.
fn needs_float(kind: Kind) -> bool {
    !matches!(kind, Kind::BigInt | Kind::Float)
}

/// `x` as a FLOAT function's argument: cast to FLOAT where `needs_float` says so.
fn as_float_argument(x: &Expr, kind: Kind) -> Expr {
    if needs_float(kind) {
        cast(x.clone(), DataType::Float64)
    } else {
        x.clone()
    }
}

/// `CEIL(x)` / `FLOOR(x)` without `TO field`.
fn is_plain(field: &gluesql_core::sqlparser::ast::CeilFloorKind) -> bool {
    use gluesql_core::sqlparser::ast::{CeilFloorKind, DateTimeField};
    matches!(
        field,
        CeilFloorKind::DateTimeField(DateTimeField::NoDateTime)
    )
}

/// Counts the nodes a rewrite writing `x` `copies` times adds; refuses past the budget.
fn budget(added: &mut usize, x: &Expr, copies: usize) -> Result<(), DbError> {
    let mut nodes = 0usize;
    let _ = super::visit::exprs(x, |_| {
        nodes += 1;
        ControlFlow::Continue(())
    });
    *added = added.saturating_add(nodes.saturating_mul(copies - 1));
    if *added > MAX_ADDED_NODES {
        return Err(refused(
            "ROUND, CEIL, FLOOR and TRUNC are nested too deeply in this statement".to_owned(),
        ));
    }
    Ok(())
}

/// `n` of `ROUND(x, n)` when the statement fixes it: a whole literal, maybe negated, or an
/// integer parameter, within what a DECIMAL holds.
fn places(n: &Expr, params: &[Value]) -> Option<i64> {
    let value = match n {
        Expr::Nested(inner) => return places(inner, params),
        Expr::Value(SqlValue::Number(text, _)) if text.is_integer() => {
            text.to_string().parse::<i64>().ok()?
        }
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => places(expr, params)?.checked_neg()?,
        Expr::Value(SqlValue::Placeholder(_)) => match super::params::bound_value(n, params)? {
            Value::I8(v) => (*v).into(),
            Value::I16(v) => (*v).into(),
            Value::I32(v) => (*v).into(),
            Value::I64(v) => *v,
            Value::I128(v) => i64::try_from(*v).ok()?,
            _ => return None,
        },
        _ => return None,
    };
    (-MAX_PLACES..=MAX_PLACES).contains(&value).then_some(value)
}

fn decimal() -> DataType {
    DataType::Decimal(ExactNumberInfo::None)
}

/// `x` as a DECIMAL: a literal with a fraction is a FLOAT to GlueSQL.
fn as_decimal(x: &Expr) -> Expr {
    cast(x.clone(), decimal())
}

/// 10^`exponent` as a DECIMAL written with `-exponent` places when negative (`0.01`), so a
/// product with it has exactly that many.
fn power_of_ten(exponent: i64) -> Expr {
    let text = if exponent >= 0 {
        format!("1{}", "0".repeat(exponent.unsigned_abs() as usize))
    } else {
        format!("0.{}1", "0".repeat(exponent.unsigned_abs() as usize - 1))
    };
    cast(Expr::Value(SqlValue::SingleQuotedString(text)), decimal())
}

fn number(n: i64) -> Expr {
    Expr::Value(SqlValue::Number(BigDecimal::from(n), false))
}

/// The whole part of a DECIMAL `x`, toward zero, as a DECIMAL with no places (an INT128 holds
/// every DECIMAL's whole part).
fn whole(x: Expr) -> Expr {
    cast(cast(x, DataType::Int128), decimal())
}

/// `x % 1`: the fraction of a DECIMAL, with `x`'s sign.
fn fraction(x: Expr) -> Expr {
    Expr::Nested(Box::new(binary(x, BinaryOperator::Modulo, number(1))))
}

/// `ROUND(x)` of a DECIMAL, half away from zero: its whole part plus the whole part of twice
/// its fraction (1 from +0.5 up, -1 from -0.5 down).
fn round_decimal(x: Expr) -> Expr {
    let twice = binary(fraction(x.clone()), BinaryOperator::Multiply, number(2));
    Expr::Nested(Box::new(binary(
        whole(x),
        BinaryOperator::Plus,
        whole(twice),
    )))
}

/// `FLOOR(x)` (`op` minus, where the fraction is below 0) or `CEIL(x)` (plus, above 0) of a
/// DECIMAL: its whole part moved by one where it has such a fraction.
fn step(x: Expr, op: BinaryOperator, fraction_is: BinaryOperator) -> Expr {
    let by = Expr::Case {
        operand: None,
        conditions: vec![binary(fraction(x.clone()), fraction_is, number(0))],
        results: vec![number(1)],
        else_result: Some(Box::new(number(0))),
    };
    Expr::Nested(Box::new(binary(whole(x), op, by)))
}

/// `ROUND(x)` of a FLOAT as PostgreSQL's (C's `rint`): a tie goes to the even neighbour, where
/// GlueSQL's goes away from zero. A tie whose away-from-zero neighbour is odd has `x % 2` of
/// ±0.5: it is moved half a step toward zero first, onto that even neighbour, which GlueSQL's
/// ROUND then keeps. The statement may be lowered again (a set operation's arms are): a ROUND
/// whose argument is already moved is left as it is.
fn round_half_even(x: Expr) -> Option<Expr> {
    if let Expr::Nested(inner) = &x {
        if let Expr::BinaryOp {
            left,
            op: BinaryOperator::Minus,
            right,
        } = inner.as_ref()
        {
            if **right == tie_step((**left).clone()) {
                return None;
            }
        }
    }
    let moved = Expr::Nested(Box::new(binary(
        x.clone(),
        BinaryOperator::Minus,
        tie_step(x),
    )));
    Some(float_call("ROUND", moved))
}

/// 0.5 where `x % 2` is 0.5, -0.5 where it is -0.5, else 0.
fn tie_step(x: Expr) -> Expr {
    let rem = || {
        Expr::Nested(Box::new(binary(
            x.clone(),
            BinaryOperator::Modulo,
            number(2),
        )))
    };
    let half = || Expr::Value(SqlValue::Number(BigDecimal::new(5.into(), 1), false));
    let minus_half = || Expr::UnaryOp {
        op: UnaryOperator::Minus,
        expr: Box::new(half()),
    };
    Expr::Case {
        operand: None,
        conditions: vec![
            binary(rem(), BinaryOperator::Eq, half()),
            binary(rem(), BinaryOperator::Eq, minus_half()),
        ],
        results: vec![half(), minus_half()],
        else_result: Some(Box::new(number(0))),
    }
}

/// `name(x)`, a plain call; `CEIL(x)` and `FLOOR(x)` as the parser gives them (GlueSQL knows
/// no function of those names, nor CEILING).
fn float_call(name: &str, x: Expr) -> Expr {
    use gluesql_core::sqlparser::ast::{CeilFloorKind, DateTimeField};
    let plain = || CeilFloorKind::DateTimeField(DateTimeField::NoDateTime);
    match name {
        "CEIL" | "CEILING" => Expr::Ceil {
            expr: Box::new(x),
            field: plain(),
        },
        "FLOOR" => Expr::Floor {
            expr: Box::new(x),
            field: plain(),
        },
        _ => super::string_agg::call(name, vec![x]),
    }
}
