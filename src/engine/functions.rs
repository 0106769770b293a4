//! PostgreSQL's everyday functions and literals that GlueSQL 0.20 lacks or runs otherwise,
//! rewritten into what it runs with the same meaning: GREATEST / LEAST ignoring NULLs,
//! `gen_random_uuid()`, `date_trunc`, `INTERVAL '1 day'`. Pure syntax, once per parsed statement.

use {
    gluesql_core::sqlparser::ast::{
        BinaryOperator, CastKind, DataType, DateTimeField, Expr, Function, FunctionArg,
        FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident, Interval, ObjectName,
        Statement, Value,
    },
    std::ops::ControlFlow,
};

/// GREATEST / LEAST over more arguments are left to GlueSQL: each one more doubles the
/// rewritten expression's size (the running result is read three times).
const EXTREME_ARGS_MAX: usize = 6;

/// Rewrites every such function and literal in `statement`.
pub fn rewrite(statement: &mut Statement) {
    let _ = super::visit::exprs_mut(statement, |expr| {
        let replaced = match expr {
            Expr::Function(function) if function.over.is_none() => call(function),
            Expr::Interval(interval) => interval_text(interval),
            _ => None,
        };
        if let Some(replaced) = replaced {
            *expr = replaced;
        }
        ControlFlow::<()>::Continue(())
    });
}

fn call(function: &mut Function) -> Option<Expr> {
    let name = function.name.to_string().to_ascii_uppercase();
    match name.as_str() {
        "GEN_RANDOM_UUID" | "UUID_GENERATE_V4" => {
            function.name = ObjectName(vec![Ident::new("GENERATE_UUID")]);
            None
        }
        "GREATEST" | "LEAST" => {
            let args = plain_args(function)?;
            (args.len() <= EXTREME_ARGS_MAX).then(|| extreme(args, name == "GREATEST"))
        }
        "DATE_TRUNC" => date_trunc(plain_args(function)?),
        _ => None,
    }
}

fn plain_args(function: &Function) -> Option<Vec<Expr>> {
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return None;
    }
    list.args
        .iter()
        .map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// GREATEST / LEAST as PostgreSQL has them: NULL arguments are ignored (GlueSQL refuses to
/// compare them), NULL only when every argument is.
fn extreme(args: Vec<Expr>, greatest: bool) -> Expr {
    let mut args = args.into_iter();
    let Some(mut best) = args.next() else {
        return Expr::Value(Value::Null);
    };
    for next in args {
        let beaten = Expr::BinaryOp {
            left: Box::new(best.clone()),
            op: if greatest {
                BinaryOperator::Lt
            } else {
                BinaryOperator::Gt
            },
            right: Box::new(next.clone()),
        };
        let unset = Expr::IsNull(Box::new(best.clone()));
        best = Expr::Nested(Box::new(Expr::Case {
            operand: None,
            conditions: vec![Expr::BinaryOp {
                left: Box::new(unset),
                op: BinaryOperator::Or,
                right: Box::new(beaten),
            }],
            results: vec![next],
            else_result: Some(Box::new(best)),
        }));
    }
    best
}

/// `date_trunc('month', ts)` as the timestamp formatted down to that unit and read back.
fn date_trunc(args: Vec<Expr>) -> Option<Expr> {
    let [Expr::Value(Value::SingleQuotedString(unit)), value] = args.as_slice() else {
        return None;
    };
    let format = match unit.to_ascii_lowercase().as_str() {
        "year" => "%Y-01-01 00:00:00",
        "month" => "%Y-%m-01 00:00:00",
        "day" => "%Y-%m-%d 00:00:00",
        "hour" => "%Y-%m-%d %H:00:00",
        "minute" => "%Y-%m-%d %H:%M:00",
        "second" => "%Y-%m-%d %H:%M:%S",
        _ => return None,
    };
    let formatted = Expr::Function(Function {
        name: ObjectName(vec![Ident::new("FORMAT")]),
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![
                FunctionArg::Unnamed(FunctionArgExpr::Expr(value.clone())),
                FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(
                    Value::SingleQuotedString(format.to_owned()),
                ))),
            ],
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    });
    Some(Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(formatted),
        data_type: DataType::Timestamp(None, gluesql_core::sqlparser::ast::TimezoneInfo::None),
        format: None,
    })
}

/// `INTERVAL '1 day'`, `'2 hours 30 minutes'`, `'-3 weeks'` (PostgreSQL's quantity-and-unit
/// text, which GlueSQL cannot read) as `INTERVAL '1' DAY` and sums of such. Parts mixing
/// months and days are left as written: GlueSQL's intervals hold one or the other.
fn interval_text(interval: &Interval) -> Option<Expr> {
    if interval.leading_field.is_some() || interval.last_field.is_some() {
        return None;
    }
    let Expr::Value(Value::SingleQuotedString(text)) = interval.value.as_ref() else {
        return None;
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return None;
    }
    let mut parts = Vec::new();
    for pair in words.chunks(2) {
        let quantity: i64 = pair[0].parse().ok()?;
        let (quantity, field, months) = match pair[1].to_ascii_lowercase().as_str() {
            "year" | "years" | "yr" | "yrs" | "y" => (quantity, DateTimeField::Year, true),
            "mon" | "mons" | "month" | "months" => (quantity, DateTimeField::Month, true),
            "week" | "weeks" | "w" => (quantity.checked_mul(7)?, DateTimeField::Day, false),
            "day" | "days" | "d" => (quantity, DateTimeField::Day, false),
            "hour" | "hours" | "hr" | "hrs" | "h" => (quantity, DateTimeField::Hour, false),
            "minute" | "minutes" | "min" | "mins" | "m" => (quantity, DateTimeField::Minute, false),
            "second" | "seconds" | "sec" | "secs" | "s" => (quantity, DateTimeField::Second, false),
            _ => return None,
        };
        parts.push((quantity, field, months));
    }
    if parts.iter().any(|p| p.2) && parts.iter().any(|p| !p.2) {
        return None;
    }
    let mut parts = parts.into_iter().map(|(quantity, field, _)| {
        Expr::Interval(Interval {
            value: Box::new(Expr::Value(Value::SingleQuotedString(quantity.to_string()))),
            leading_field: Some(field),
            leading_precision: None,
            last_field: None,
            fractional_seconds_precision: None,
        })
    });
    let first = parts.next()?;
    Some(parts.fold(first, |sum, part| {
        Expr::Nested(Box::new(Expr::BinaryOp {
            left: Box::new(sum),
            op: BinaryOperator::Plus,
            right: Box::new(part),
        }))
    }))
}
