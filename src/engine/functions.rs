//! PostgreSQL's everyday functions and literals that GlueSQL 0.20 lacks or runs otherwise,
//! rewritten into what it runs with the same meaning: GREATEST / LEAST ignoring NULLs,
//! `gen_random_uuid()`, `date_trunc`, `INTERVAL '1 day'`, EXTRACT of NULL and of PostgreSQL's
//! other fields, `SUBSTRING(s FROM a FOR n)` / `SUBSTRING(s, a, n)`, a SUBSTR from before
//! the first character and LEFT / RIGHT of a negative count. Pure syntax, once per parsed
//! statement.

use {
    super::logic::binary,
    gluesql_core::sqlparser::ast::{
        BinaryOperator, CastKind, DataType, DateTimeField, ExactNumberInfo, Expr, ExtractSyntax,
        Function, FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident,
        Interval, ObjectName, SelectItem, SetExpr, Statement, TimezoneInfo, Value,
    },
    std::ops::ControlFlow,
};

/// GREATEST / LEAST over more arguments are left to GlueSQL: each one more doubles the
/// rewritten expression's size (the running result is read three times).
const EXTREME_ARGS_MAX: usize = 6;

/// The functions `call` rewrites.
const REWRITTEN: [&str; 8] = [
    "GEN_RANDOM_UUID",
    "UUID_GENERATE_V4",
    "GREATEST",
    "LEAST",
    "DATE_TRUNC",
    "SUBSTR",
    "LEFT",
    "RIGHT",
];

/// Rewrites every such function and literal in `statement`.
pub fn rewrite(statement: &mut Statement) {
    // Most statements hold none: they are left as parsed, their select lists not copied.
    let candidate = super::visit::exprs(&*statement, |expr| match expr {
        Expr::Function(function) if function.over.is_none() => {
            let name = function.name.to_string();
            if REWRITTEN.iter().any(|k| name.eq_ignore_ascii_case(k)) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        Expr::Interval(_) | Expr::Extract { .. } | Expr::Substring { .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break();
    if !candidate {
        return;
    }
    // A select list's column the rewrite changes keeps the name the query wrote: named first
    // (queries are visited inner ones first, so each by what it held before any rewrite), then
    // everything is rewritten once — a rewritten expression is never rewritten again, since
    // each node is visited after what it holds.
    let _ = super::visit::queries_mut(statement, |query| {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in &mut select.projection {
                if let SelectItem::UnnamedExpr(e) = item {
                    let mut rewritten = e.clone();
                    rewrite_exprs(&mut rewritten);
                    if rewritten != *e {
                        let alias = super::windows::label(e);
                        let expr = std::mem::replace(e, Expr::Value(Value::Null));
                        *item = SelectItem::ExprWithAlias { expr, alias };
                    }
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    rewrite_exprs(statement);
}

fn rewrite_exprs<N: gluesql_core::sqlparser::ast::VisitMut + ?Sized>(node: &mut N) {
    let _ = super::visit::exprs_mut(node, |expr| {
        let replaced = match expr {
            Expr::Function(function) if function.over.is_none() => call(function),
            Expr::Interval(interval) => interval_text(interval),
            Expr::Extract {
                field,
                syntax: ExtractSyntax::From,
                expr: value,
            } => Some(extract(field, value)),
            Expr::Substring {
                expr: value,
                substring_from,
                substring_for,
                ..
            } => Some(substring(
                (**value).clone(),
                substring_from.as_deref().cloned(),
                substring_for.as_deref().cloned(),
            )),
            _ => None,
        };
        if let Some(replaced) = replaced {
            *expr = replaced;
        }
        ControlFlow::<()>::Continue(())
    });
}

fn text(value: &str) -> Expr {
    Expr::Value(Value::SingleQuotedString(value.to_owned()))
}

/// `CAST(expr AS data_type)`.
pub(super) fn cast(expr: Expr, data_type: DataType) -> Expr {
    Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(expr),
        data_type,
        format: None,
    }
}

/// `value` formatted with one of chrono's specifiers, read back as an integer.
fn formatted_integer(value: &Expr, specifier: &str) -> Expr {
    cast(
        format_call(value.clone(), specifier),
        DataType::Integer(None),
    )
}

/// `EXTRACT(field FROM value)`: NULL of NULL (GlueSQL fails with "extract format not
/// matched"), and PostgreSQL's DOW, ISODOW, DOY, WEEK, ISOYEAR, QUARTER and EPOCH (GlueSQL
/// knows none) read off the value formatted. The fields GlueSQL computes are left to it. The
/// text it becomes parses back (a view keeps it) and is guarded again there, to the same value.
fn extract(field: &DateTimeField, value: &Expr) -> Expr {
    let computed = match field {
        DateTimeField::Dow => formatted_integer(value, "%w"),
        DateTimeField::Isodow => formatted_integer(value, "%u"),
        DateTimeField::Doy => formatted_integer(value, "%j"),
        DateTimeField::Week(None) | DateTimeField::IsoWeek => formatted_integer(value, "%V"),
        DateTimeField::Isoyear => formatted_integer(value, "%G"),
        DateTimeField::Quarter => Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(Expr::BinaryOp {
                left: Box::new(formatted_integer(value, "%m")),
                op: BinaryOperator::Plus,
                right: Box::new(Expr::Value(Value::Number(2.into(), false))),
            }))),
            op: BinaryOperator::Divide,
            right: Box::new(Expr::Value(Value::Number(3.into(), false))),
        },
        DateTimeField::Epoch => {
            // Whole seconds (rounded down, also before 1970) plus the microseconds, exact.
            let at = cast(value.clone(), DataType::Timestamp(None, TimezoneInfo::None));
            let decimal = DataType::Decimal(ExactNumberInfo::None);
            Expr::BinaryOp {
                left: Box::new(cast(format_call(at.clone(), "%s"), decimal.clone())),
                op: BinaryOperator::Plus,
                right: Box::new(Expr::BinaryOp {
                    left: Box::new(cast(format_call(at, "%6f"), decimal)),
                    op: BinaryOperator::Divide,
                    right: Box::new(Expr::Value(Value::Number(1_000_000.into(), false))),
                }),
            }
        }
        _ => Expr::Extract {
            field: field.clone(),
            syntax: ExtractSyntax::From,
            expr: Box::new(value.clone()),
        },
    };
    Expr::Case {
        operand: None,
        conditions: vec![Expr::IsNull(Box::new(value.clone()))],
        results: vec![Expr::Value(Value::Null)],
        else_result: Some(Box::new(computed)),
    }
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
        "SUBSTR" => match <[Expr; 2]>::try_from(plain_args(function)?) {
            Ok([value, start]) => Some(substring(value, Some(start), None)),
            Err(_) => None,
        },
        "LEFT" | "RIGHT" => {
            let [value, count] = <[Expr; 2]>::try_from(plain_args(function)?).ok()?;
            end_characters(value, count, name == "LEFT")
        }
        _ => None,
    }
}

fn case(branches: Vec<(Expr, Expr)>, otherwise: Expr) -> Expr {
    let (conditions, results) = branches.into_iter().unzip();
    Expr::Case {
        operand: None,
        conditions,
        results,
        else_result: Some(Box::new(otherwise)),
    }
}

/// `LEFT(s, n)` / `RIGHT(s, n)` as PostgreSQL has them: a negative `n` takes all but the last
/// (first) `-n` characters (GlueSQL refused it, "function requires usize value"). Left as
/// written where `n` is a literal that is not negative; otherwise written as a SUBSTR with a
/// count, which is never rewritten again.
fn end_characters(value: Expr, count: Expr, left: bool) -> Option<Expr> {
    let literal = match &count {
        Expr::Value(Value::Number(n, _)) => Some(n.clone()),
        Expr::UnaryOp {
            op: gluesql_core::sqlparser::ast::UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            Expr::Value(Value::Number(n, _)) => Some(-n.clone()),
            _ => None,
        },
        _ => None,
    };
    let zero = bigdecimal::BigDecimal::from(0);
    if literal.as_ref().is_some_and(|n| *n >= zero) {
        return None;
    }
    let length = || super::string_agg::call("LENGTH", vec![value.clone()]);
    let negative = binary(count.clone(), BinaryOperator::Lt, number(0));
    let unknown = Expr::IsNull(Box::new(count.clone()));
    let null = Expr::Value(Value::Null);
    // `LENGTH(s) + n` characters remain of a negative `n`, none when that is not positive.
    let remaining = binary(length(), BinaryOperator::Plus, count.clone());
    let kept = case(
        vec![(
            binary(remaining.clone(), BinaryOperator::Gt, number(0)),
            remaining,
        )],
        number(0),
    );
    let (start, length_taken) = if left {
        let taken = match literal {
            Some(_) => kept,
            None => case(vec![(unknown, null), (negative, kept)], count),
        };
        (number(1), taken)
    } else {
        // All but the first `-n`: from character `1 - n` to the end. A count that is not
        // negative: the last `n`, from `LENGTH(s) - n + 1` or the first character.
        let skip_to = binary(number(1), BinaryOperator::Minus, count.clone());
        match literal {
            Some(_) => (skip_to, length()),
            None => {
                let from_end = binary(
                    binary(length(), BinaryOperator::Minus, count.clone()),
                    BinaryOperator::Plus,
                    number(1),
                );
                let start = case(
                    vec![
                        (unknown.clone(), null.clone()),
                        (negative.clone(), skip_to),
                        (
                            binary(from_end.clone(), BinaryOperator::Gt, number(1)),
                            from_end,
                        ),
                    ],
                    number(1),
                );
                (start, case(vec![(negative, length())], count))
            }
        }
    };
    Some(super::string_agg::call(
        "SUBSTR",
        vec![value, start, length_taken],
    ))
}

/// `SUBSTR(value, start[, count])`, as PostgreSQL's SUBSTRING in every spelling. Without a
/// count, a start before the first character takes the whole text (GlueSQL dropped as many
/// characters from its end: `SUBSTR('hello', 0)` was 'hell'); with one, GlueSQL counts from
/// `start` as PostgreSQL does (`SUBSTR('hello', -1, 3)` is 'h').
fn substring(value: Expr, start: Option<Expr>, count: Option<Expr>) -> Expr {
    let start = start.unwrap_or_else(|| number(1));
    let start = match (&count, &start) {
        (Some(_), _) => start,
        // Clamped already (a statement rewritten again).
        (None, Expr::Case { results, .. }) if results == &[number(1)] => start,
        (None, Expr::Value(Value::Number(n, _))) if n < &bigdecimal::BigDecimal::from(1) => {
            number(1)
        }
        (None, Expr::Value(Value::Number(..))) => start,
        (None, _) => Expr::Case {
            operand: None,
            conditions: vec![Expr::BinaryOp {
                left: Box::new(start.clone()),
                op: BinaryOperator::Lt,
                right: Box::new(number(1)),
            }],
            results: vec![number(1)],
            else_result: Some(Box::new(start)),
        },
    };
    let mut args = vec![value, start];
    args.extend(count);
    super::string_agg::call("SUBSTR", args)
}

fn number(n: i64) -> Expr {
    Expr::Value(Value::Number(n.into(), false))
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
/// compare them), NULL only when every argument is. Of equal arguments (2 and 2.0) LEAST
/// answers the last and GREATEST the first, as SQLite's min() and max() do: PostgreSQL's
/// answer is then of the same kind wherever SQLite's is a fraction.
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
                BinaryOperator::GtEq
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
    Some(cast(
        format_call(value.clone(), format),
        DataType::Timestamp(None, TimezoneInfo::None),
    ))
}

/// `FORMAT(value, 'format')`, GlueSQL's strftime.
pub(super) fn format_call(value: Expr, format: &str) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![Ident::new("FORMAT")]),
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![
                FunctionArg::Unnamed(FunctionArgExpr::Expr(value)),
                FunctionArg::Unnamed(FunctionArgExpr::Expr(text(format))),
            ],
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
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
    let parts = interval_parts(text)?;
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

/// PostgreSQL's quantity-and-unit interval text as its parts: each quantity (weeks as days),
/// its field, and whether it counts months.
fn interval_parts(text: &str) -> Option<Vec<(i64, DateTimeField, bool)>> {
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
    Some(parts)
}

/// PostgreSQL's quantity-and-unit interval text (`'3 days'`, `'1 year 2 months'`) as a value,
/// when its parts are all months or all time (GlueSQL's intervals hold one or the other).
pub fn interval_value(text: &str) -> Option<gluesql_core::data::Interval> {
    use gluesql_core::data::Interval as Value;
    const SECOND: i64 = 1_000_000;
    let parts = interval_parts(text)?;
    if parts.iter().all(|p| p.2) {
        let months = parts.iter().try_fold(0i64, |sum, (quantity, field, _)| {
            let months = match field {
                DateTimeField::Year => quantity.checked_mul(12)?,
                _ => *quantity,
            };
            sum.checked_add(months)
        })?;
        return i32::try_from(months).ok().map(Value::Month);
    }
    if parts.iter().any(|p| p.2) {
        return None;
    }
    let micros = parts.iter().try_fold(0i64, |sum, (quantity, field, _)| {
        let unit = match field {
            DateTimeField::Day => 86_400 * SECOND,
            DateTimeField::Hour => 3_600 * SECOND,
            DateTimeField::Minute => 60 * SECOND,
            _ => SECOND,
        };
        sum.checked_add(quantity.checked_mul(unit)?)
    })?;
    Some(Value::Microsecond(micros))
}
