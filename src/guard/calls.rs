//! One guard per GlueSQL function that panics, or answers differently from PostgreSQL, on some
//! arguments: the call becomes `CASE WHEN <bad arguments> THEN <raise> … ELSE <call> END`.
//! GlueSQL evaluates CASE lazily, so the call only runs on arguments it handles. GlueSQL's text
//! functions count bytes where SQL counts characters: a call whose answer would depend on that
//! difference is refused, never answered differently.

use {
    super::{raise, MAX_TEXT_CHARS},
    bigdecimal,
    gluesql_core::{
        ast::{BinaryOperator, DataType, Expr, Function, Literal, UnaryOperator},
        chrono::format::{Fixed, Item, Numeric, StrftimeItems},
        data::Value,
    },
};

/// The guarded form of a call to `function`, or `None` when it needs no guard.
pub fn guarded(function: &Function) -> Option<Expr> {
    use Function as F;
    let original = || call(function.clone());
    let arms = match function {
        F::Lpad { expr, size, fill } | F::Rpad { expr, size, fill } => {
            let name = if matches!(function, F::Lpad { .. }) {
                "LPAD"
            } else {
                "RPAD"
            };
            let mut arms = vec![(not(ascii(expr)), non_ascii(name))];
            if let Some(fill) = fill {
                arms.push((not(ascii(fill)), non_ascii(name)));
                arms.push((
                    and(eq(fill.clone(), text("")), gt(size.clone(), chars(expr))),
                    format!("{name} cannot pad with an empty fill"),
                ));
            }
            arms.push((gt(size.clone(), number(MAX_TEXT_CHARS)), too_long(name)));
            arms
        }
        F::Repeat { expr, num } => {
            let arms = vec![(
                gt(
                    binary(chars(expr), BinaryOperator::Multiply, num.clone()),
                    number(MAX_TEXT_CHARS),
                ),
                too_long("REPEAT"),
            )];
            // SQL repeats a negative number of times as none; GlueSQL's count overflows.
            let never = call(F::Repeat {
                expr: expr.clone(),
                num: number(0),
            });
            return Some(case(
                vec![(lt(num.clone(), number(0)), never)],
                arms,
                original(),
            ));
        }
        F::Substr { expr, start, count } => {
            // GlueSQL adds start and count unchecked (a panic, or a wrapped position).
            let out_of_range = "SUBSTR: the position or length is out of range".to_owned();
            let mut arms = vec![
                (
                    gt(start.clone(), number(MAX_POSITION)),
                    out_of_range.clone(),
                ),
                (
                    lt(start.clone(), number(-MAX_POSITION)),
                    out_of_range.clone(),
                ),
            ];
            if let Some(count) = count {
                arms.push((gt(count.clone(), number(MAX_POSITION)), out_of_range));
            }
            let first = binary(start.clone(), BinaryOperator::Minus, number(1));
            arms.push((cut_is_not_ascii(expr, &first), positions("SUBSTR")));
            if let Some(count) = count {
                let end = binary(first.clone(), BinaryOperator::Plus, count.clone());
                let counted = and(
                    gt_eq(count.clone(), number(0)),
                    cut_is_not_ascii(expr, &end),
                );
                arms.push((counted, positions("SUBSTR")));
            }
            // GlueSQL's SUBSTR of a computed text it holds as a slice of another (an inner
            // SUBSTR) reads past the slice's end: `SUBSTR(SUBSTR('ab', 1, 1), 2, 1)` was 'b'.
            // A CAST makes the argument a text of its own.
            if !matches!(
                expr,
                Expr::Identifier(_) | Expr::CompoundIdentifier { .. } | Expr::Literal(_)
            ) {
                let whole = call(F::Substr {
                    expr: call(F::Cast {
                        expr: expr.clone(),
                        data_type: DataType::Text,
                    }),
                    start: start.clone(),
                    count: count.clone(),
                });
                return Some(case(Vec::new(), arms, whole));
            }
            arms
        }
        // GlueSQL negates the smallest integer of a type unchecked; SQL refuses it.
        // (For a typed value, `x - 1` fails with an overflow error exactly at the minimum.)
        F::Abs(expr) => vec![
            (
                eq(expr.clone(), number(i64::MIN)),
                "ABS: the value is out of range".to_owned(),
            ),
            (
                and(
                    lt(expr.clone(), number(0)),
                    Expr::IsNull(Box::new(binary(
                        expr.clone(),
                        BinaryOperator::Minus,
                        number(1),
                    ))),
                ),
                "ABS: the value is out of range".to_owned(),
            ),
        ],
        // PostgreSQL refuses a logarithm or a square root outside its domain; GlueSQL's are
        // -inf or NaN, which no query should carry on with.
        F::Ln(x) | F::Log2(x) | F::Log10(x) => logarithm(function_name(function), x),
        F::Log { antilog, base } => {
            let mut arms = logarithm("LOG", antilog);
            arms.extend(logarithm("LOG", base));
            arms.push((
                eq(base.clone(), number(1)),
                "LOG: division by zero".to_owned(),
            ));
            arms
        }
        F::Sqrt(x) => vec![(
            lt(x.clone(), number(0)),
            "SQRT: cannot take square root of a negative number".to_owned(),
        )],
        F::Asin(x) | F::Acos(x) => {
            let message = format!("{}: input is out of range", function_name(function));
            vec![
                (lt(x.clone(), number(-1)), message.clone()),
                (gt(x.clone(), number(1)), message),
            ]
        }
        // Compared as a FLOAT: GlueSQL compares an integer with a fraction literal as with
        // its integer part.
        F::Exp(x) => vec![
            (
                gt(as_float(x), fraction("709.782712893384")),
                "EXP: value out of range: overflow".to_owned(),
            ),
            (
                lt(as_float(x), fraction("-745.1332191019412")),
                "EXP: value out of range: underflow".to_owned(),
            ),
        ],
        F::Power { expr: x, power } => vec![
            (
                and(eq(x.clone(), number(0)), lt(power.clone(), number(0))),
                "POWER: zero raised to a negative power is undefined".to_owned(),
            ),
            (
                and(
                    lt(x.clone(), number(0)),
                    not(eq(
                        binary(power.clone(), BinaryOperator::Modulo, number(1)),
                        number(0),
                    )),
                ),
                "POWER: a negative number raised to a non-integer power yields a complex result"
                    .to_owned(),
            ),
        ],
        F::Left { expr, size } => vec![(cut_is_not_ascii(expr, size), positions("LEFT"))],
        F::Right { expr, size } => {
            // The last `size` bytes are the last `size` characters when they are ASCII.
            let tail = call(F::Right {
                expr: expr.clone(),
                size: size.clone(),
            });
            let bad = when_inside(expr, size, not(ascii(&tail)));
            vec![(bad, positions("RIGHT"))]
        }
        F::Trim {
            filter_chars: Some(chars_removed),
            ..
        }
        | F::Ltrim {
            chars: Some(chars_removed),
            ..
        }
        | F::Rtrim {
            chars: Some(chars_removed),
            ..
        } => {
            let name = match function {
                F::Trim { .. } => "TRIM",
                F::Ltrim { .. } => "LTRIM",
                _ => "RTRIM",
            };
            let message = format!("{name} of characters that are not ASCII is not supported");
            vec![(not(ascii(chars_removed)), message)]
        }
        F::Position {
            from_expr,
            sub_expr,
        } => return Some(position(from_expr, sub_expr, original())),
        F::FindIdx {
            from_expr,
            sub_expr,
            start: None,
        } => return Some(position(from_expr, sub_expr, original())),
        F::FindIdx {
            from_expr,
            start: Some(start),
            ..
        } => vec![
            (not(ascii(from_expr)), positions("FIND_IDX")),
            (
                gt(
                    start.clone(),
                    binary(chars(from_expr), BinaryOperator::Plus, number(1)),
                ),
                "FIND_IDX: the start is past the end of the text".to_owned(),
            ),
        ],
        F::Format { expr, format } => format_arms(expr, format)?,
        F::LastDay(expr) => vec![(
            gt_eq(
                call(F::Extract {
                    field: gluesql_core::ast::DateTimeField::Year,
                    expr: expr.clone(),
                }),
                number(MAX_YEAR),
            ),
            "LAST_DAY: the date is out of range".to_owned(),
        )],
        F::AddMonth { size, .. } => vec![(
            lt(size.clone(), number(-i64::from(u32::MAX))),
            "ADD_MONTH: the number of months is out of range".to_owned(),
        )],
        F::Splice {
            begin_index,
            end_index,
            ..
        } => vec![(
            and(
                lt(end_index.clone(), begin_index.clone()),
                gt(begin_index.clone(), number(0)),
            ),
            "SPLICE: the end index comes before the begin index".to_owned(),
        )],
        _ => return None,
    };
    Some(case(Vec::new(), arms, original()))
}

/// A literal interval scaled by a factor: refused when the product would pass the stored range
/// (GlueSQL multiplies unchecked). Sums of dates are `super::dates`'s.
pub fn guarded_arithmetic(left: &Expr, op: &BinaryOperator, right: &Expr) -> Option<Expr> {
    use BinaryOperator as B;
    match op {
        B::Multiply | B::Divide => {
            // Only a written INTERVAL is scaled here: nothing else is evaluated to find one.
            let is_interval = |e: &Expr| matches!(e, Expr::Interval { .. });
            if !is_interval(left) && !is_interval(right) {
                return None;
            }
            let (left_value, right_value) = (static_value(left), static_value(right));
            let (interval, factor) = match (&left_value, &right_value) {
                (Some(Value::Interval(interval)), _) => (interval, right),
                (_, Some(Value::Interval(interval))) if matches!(op, B::Multiply) => {
                    (interval, left)
                }
                _ => return None,
            };
            let micros = super::values::interval_micros(interval).unsigned_abs();
            if micros == 0 {
                return None;
            }
            let limit = i128::from(super::values::MAX_YEARS) * 366 * 24 * 3600 * 1_000_000;
            let message = format!(
                "an INTERVAL scaled past {} years is not supported",
                super::values::MAX_YEARS
            );
            let bound = (limit / micros as i128).max(1);
            let arms = if matches!(op, B::Multiply) {
                let bound = i64::try_from(bound).unwrap_or(i64::MAX);
                vec![
                    (gt(factor.clone(), number(bound)), message.clone()),
                    (lt(factor.clone(), number(-bound)), message),
                ]
            } else {
                // Dividing by a factor closer to zero than 1/bound scales it up past the range.
                let smallest = Expr::Literal(Literal::Number(
                    bigdecimal::BigDecimal::from(1) / bigdecimal::BigDecimal::from(bound),
                ));
                let negative = Expr::UnaryOp {
                    op: UnaryOperator::Minus,
                    expr: Box::new(smallest.clone()),
                };
                vec![
                    (
                        and(gt(factor.clone(), number(0)), lt(factor.clone(), smallest)),
                        message.clone(),
                    ),
                    (
                        and(lt(factor.clone(), number(0)), gt(factor.clone(), negative)),
                        message,
                    ),
                ]
            };
            let original = Expr::BinaryOp {
                left: Box::new(left.clone()),
                op: op.clone(),
                right: Box::new(right.clone()),
            };
            Some(case(Vec::new(), arms, original))
        }
        _ => None,
    }
}

/// The value of an operand written as a literal (a typed literal, an INTERVAL, a CAST of one).
pub(super) fn static_value(expr: &Expr) -> Option<Value> {
    let constant = match expr {
        Expr::Literal(_) | Expr::Value(_) | Expr::TypedString { .. } => true,
        Expr::Interval { expr: inner, .. } | Expr::Nested(inner) => {
            matches!(**inner, Expr::Literal(_) | Expr::Value(_))
        }
        Expr::Function(function) => matches!(
            function.as_ref(),
            Function::Cast {
                expr: Expr::Literal(_) | Expr::Value(_),
                ..
            }
        ),
        _ => false,
    };
    if !constant {
        return None;
    }
    let plan = gluesql_core::plan::plan_scalar_expr(expr.clone());
    let evaluated = gluesql_core::executor::evaluate_stateless(None, &plan).ok()?;
    evaluated.try_into().ok()
}

/// Text positions past this are refused (GlueSQL's position arithmetic would overflow).
const MAX_POSITION: i64 = 1 << 60;

/// Years past this are refused where GlueSQL's date arithmetic would overflow chrono's range.
const MAX_YEAR: i64 = 262_000;

/// `CASE WHEN <answer_if> THEN <answer> … WHEN <bad> THEN <raise> … ELSE <otherwise> END`.
fn case(answers: Vec<(Expr, Expr)>, bad: Vec<(Expr, String)>, otherwise: Expr) -> Expr {
    let when_then = answers
        .into_iter()
        .chain(
            bad.into_iter()
                .map(|(when, message)| (when, raise(&message))),
        )
        .collect();
    Expr::Case {
        operand: None,
        when_then,
        else_result: Some(Box::new(otherwise)),
    }
}

/// POSITION counts bytes: its answer is the character position when what precedes the match
/// is ASCII. An empty search text is found at 1, as in SQL (GlueSQL answers 0).
fn position(text_expr: &Expr, sub: &Expr, original: Expr) -> Expr {
    let found = original.clone();
    let before = binary(found.clone(), BinaryOperator::Minus, number(1));
    let prefix = call(Function::Left {
        expr: text_expr.clone(),
        size: cast_int(before),
    });
    let bad = Expr::Case {
        operand: None,
        when_then: vec![(gt(found, number(1)), not(ascii(&prefix)))],
        else_result: Some(Box::new(boolean(false))),
    };
    case(
        vec![(
            and(
                Expr::IsNotNull(Box::new(text_expr.clone())),
                eq(sub.clone(), text("")),
            ),
            number(1),
        )],
        vec![(bad, positions("POSITION"))],
        original,
    )
}

/// Whether cutting `text_expr` after `at` bytes would cut elsewhere than after `at`
/// characters: `at` lies inside the text and what precedes it is not all ASCII.
fn cut_is_not_ascii(text_expr: &Expr, at: &Expr) -> Expr {
    let prefix = call(Function::Left {
        expr: text_expr.clone(),
        size: cast_int(at.clone()),
    });
    when_inside(text_expr, at, not(ascii(&prefix)))
}

/// `bad` when `0 < at < bytes(text)`, FALSE otherwise (a CASE, so `bad` is evaluated only
/// then: LEFT refuses a negative size).
fn when_inside(text_expr: &Expr, at: &Expr, bad: Expr) -> Expr {
    Expr::Case {
        operand: None,
        when_then: vec![(
            and(gt(at.clone(), number(0)), lt(at.clone(), bytes(text_expr))),
            bad,
        )],
        else_result: Some(Box::new(boolean(false))),
    }
}

fn format_arms(value: &Expr, format: &Expr) -> Option<Vec<(Expr, String)>> {
    let present = Expr::IsNotNull(Box::new(value.clone()));
    let Some(pattern) = literal_text(format) else {
        let message = "FORMAT takes its format as a text literal".to_owned();
        return Some(vec![(
            and(present, Expr::IsNotNull(Box::new(format.clone()))),
            message,
        )]);
    };
    let mut needs_date = false;
    let mut needs_time = false;
    for item in StrftimeItems::new(&pattern) {
        match item {
            Item::Error => {
                let message = format!("FORMAT: {pattern:?} is not a valid format");
                return Some(vec![(present, message)]);
            }
            Item::Fixed(
                Fixed::TimezoneName
                | Fixed::TimezoneOffset
                | Fixed::TimezoneOffsetColon
                | Fixed::TimezoneOffsetDoubleColon
                | Fixed::TimezoneOffsetTripleColon
                | Fixed::TimezoneOffsetColonZ
                | Fixed::TimezoneOffsetZ
                | Fixed::RFC2822
                | Fixed::RFC3339,
            ) => {
                let message =
                    format!("FORMAT: {pattern:?} needs a time zone, and values have none");
                return Some(vec![(present, message)]);
            }
            Item::Fixed(
                Fixed::ShortMonthName
                | Fixed::LongMonthName
                | Fixed::ShortWeekdayName
                | Fixed::LongWeekdayName,
            ) => needs_date = true,
            // chrono panics printing this one (`%#z`), whatever the value.
            Item::Fixed(Fixed::Internal(internal))
                if format!("{internal:?}").contains("TimezoneOffset") =>
            {
                let message =
                    format!("FORMAT: {pattern:?} needs a time zone, and values have none");
                return Some(vec![(present, message)]);
            }
            Item::Fixed(
                Fixed::LowerAmPm
                | Fixed::UpperAmPm
                | Fixed::Nanosecond
                | Fixed::Nanosecond3
                | Fixed::Nanosecond6
                | Fixed::Nanosecond9
                | Fixed::Internal(_),
            ) => needs_time = true,
            Item::Numeric(numeric, _) => match numeric {
                Numeric::Hour
                | Numeric::Hour12
                | Numeric::Minute
                | Numeric::Second
                | Numeric::Nanosecond => needs_time = true,
                Numeric::Timestamp => {
                    needs_date = true;
                    needs_time = true;
                }
                _ => needs_date = true,
            },
            Item::Fixed(_) => {
                let message = format!("FORMAT: {pattern:?} is not supported");
                return Some(vec![(present, message)]);
            }
            Item::Literal(_) | Item::OwnedLiteral(_) | Item::Space(_) | Item::OwnedSpace(_) => {}
        }
    }
    // A value's text form tells its type: a date has '-', a time ':', a timestamp both.
    let shown = call(Function::Cast {
        expr: value.clone(),
        data_type: DataType::Text,
    });
    // (Only where `present`, i.e. not NULL: GlueSQL's NULL LIKE is an error.)
    let has = |mark: &str| Expr::Case {
        operand: None,
        when_then: vec![(Expr::IsNull(Box::new(value.clone())), boolean(true))],
        else_result: Some(Box::new(Expr::Like {
            expr: Box::new(shown.clone()),
            negated: false,
            pattern: Box::new(text(&format!("%{mark}%"))),
        })),
    };
    let mut arms = Vec::new();
    if needs_date {
        let message = format!("FORMAT: {pattern:?} needs a DATE or TIMESTAMP");
        arms.push((and(present.clone(), not(has("-"))), message));
    }
    if needs_time {
        let message = format!("FORMAT: {pattern:?} needs a TIME or TIMESTAMP");
        arms.push((and(present, not(has(":"))), message));
    }
    (!arms.is_empty()).then_some(arms)
}

fn literal_text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Literal(Literal::QuotedString(text)) | Expr::Value(Value::Str(text)) => {
            Some(text.clone())
        }
        Expr::Nested(inner) => literal_text(inner),
        _ => None,
    }
}

fn non_ascii(name: &str) -> String {
    format!("{name} of text with characters that are not ASCII is not supported")
}

fn positions(name: &str) -> String {
    format!("{name} at positions in text with characters that are not ASCII is not supported")
}

fn too_long(name: &str) -> String {
    format!("{name}: a result longer than {MAX_TEXT_CHARS} characters is refused")
}

/// PostgreSQL's refusals of a logarithm of `x`.
fn logarithm(name: &str, x: &Expr) -> Vec<(Expr, String)> {
    vec![
        (
            eq(x.clone(), number(0)),
            format!("{name}: cannot take logarithm of zero"),
        ),
        (
            lt(x.clone(), number(0)),
            format!("{name}: cannot take logarithm of a negative number"),
        ),
    ]
}

fn function_name(function: &Function) -> &'static str {
    match function {
        Function::Ln(_) => "LN",
        Function::Log2(_) => "LOG2",
        Function::Log10(_) => "LOG10",
        Function::Asin(_) => "ASIN",
        Function::Acos(_) => "ACOS",
        _ => "the function",
    }
}

// --- expression builders ---

fn as_float(expr: &Expr) -> Expr {
    call(Function::Cast {
        expr: expr.clone(),
        data_type: DataType::Float,
    })
}

/// A number literal written with a fraction (`text` is a valid decimal).
fn fraction(text: &str) -> Expr {
    Expr::Literal(Literal::Number(
        text.parse()
            .unwrap_or_else(|_| bigdecimal::BigDecimal::from(0)),
    ))
}

fn call(function: Function) -> Expr {
    Expr::Function(Box::new(function))
}

fn number(n: i64) -> Expr {
    Expr::Literal(Literal::Number(n.into()))
}

fn text(s: &str) -> Expr {
    Expr::Literal(Literal::QuotedString(s.to_owned()))
}

fn boolean(b: bool) -> Expr {
    Expr::Value(Value::Bool(b))
}

fn cast_int(expr: Expr) -> Expr {
    call(Function::Cast {
        expr,
        data_type: DataType::Int,
    })
}

fn binary(left: Expr, op: BinaryOperator, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op,
        right: Box::new(right),
    }
}

fn and(left: Expr, right: Expr) -> Expr {
    binary(left, BinaryOperator::And, right)
}

fn eq(left: Expr, right: Expr) -> Expr {
    binary(left, BinaryOperator::Eq, right)
}

fn gt(left: Expr, right: Expr) -> Expr {
    binary(left, BinaryOperator::Gt, right)
}

fn gt_eq(left: Expr, right: Expr) -> Expr {
    binary(left, BinaryOperator::GtEq, right)
}

fn lt(left: Expr, right: Expr) -> Expr {
    binary(left, BinaryOperator::Lt, right)
}

fn not(expr: Expr) -> Expr {
    Expr::UnaryOp {
        op: UnaryOperator::Not,
        expr: Box::new(expr),
    }
}

/// Characters in a text, as an INT (GlueSQL's LENGTH is unsigned).
fn chars(expr: &Expr) -> Expr {
    cast_int(call(Function::Length(expr.clone())))
}

/// Bytes in a text's UTF-8 form: its hex form has two digits a byte.
fn bytes(expr: &Expr) -> Expr {
    let digits = cast_int(call(Function::Length(call(Function::Hex(expr.clone())))));
    binary(digits, BinaryOperator::Divide, number(2))
}

/// Whether a text is all ASCII: as many bytes as characters.
fn ascii(expr: &Expr) -> Expr {
    eq(bytes(expr), chars(expr))
}
