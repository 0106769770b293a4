//! Values made text as PostgreSQL makes them where GlueSQL differs: a boolean is 'true' /
//! 'false' (GlueSQL: 'TRUE' / 'FALSE') in a CAST to TEXT and in `||`, and 't' / 'f' in CONCAT,
//! which also skips a NULL (GlueSQL's answers NULL). Every other text stays; an operand is evaluated twice only
//! where its type cannot be told (then only if it is not boolean).

use {
    super::types::Scope,
    gluesql_core::{
        ast::{BinaryOperator, DataType, Expr, Function, Literal, UnaryOperator},
        data::Value,
    },
};

/// Whether `expr` makes text of an operand (the second pass runs only where one does).
pub fn may_apply(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::BinaryOp {
            op: BinaryOperator::StringConcat,
            ..
        }
    ) || matches!(expr, Expr::Function(f) if matches!(
        f.as_ref(),
        Function::Cast {
            data_type: DataType::Text,
            ..
        } | Function::Concat(_)
    ))
}

/// `expr` with its boolean operand written as PostgreSQL writes it, or `None` when it has none.
pub fn guarded(expr: &Expr, scope: &Scope) -> Option<Expr> {
    match expr {
        Expr::Function(function) => match function.as_ref() {
            Function::Cast {
                expr: operand,
                data_type: DataType::Text,
            } => spelled(operand, scope, WORDS, cast_text),
            // CONCAT_WS skips NULLs and makes text of every argument, as PostgreSQL's CONCAT.
            Function::Concat(args) => Some(Expr::Function(Box::new(Function::ConcatWs {
                separator: text(""),
                exprs: args
                    .iter()
                    .map(|arg| spelled(arg, scope, LETTERS, |e| e).unwrap_or_else(|| arg.clone()))
                    .collect(),
            }))),
            _ => None,
        },
        Expr::BinaryOp {
            left,
            op: BinaryOperator::StringConcat,
            right,
        } => {
            let (new_left, new_right) = (
                spelled(left, scope, WORDS, |e| e),
                spelled(right, scope, WORDS, |e| e),
            );
            if new_left.is_none() && new_right.is_none() {
                return None;
            }
            Some(Expr::BinaryOp {
                left: Box::new(new_left.unwrap_or_else(|| (**left).clone())),
                op: BinaryOperator::StringConcat,
                right: Box::new(new_right.unwrap_or_else(|| (**right).clone())),
            })
        }
        _ => None,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Boolean,
    NotBoolean,
    Unknown,
}

/// A boolean as a CAST to TEXT and `||` write it (PostgreSQL's boolean-to-text cast).
const WORDS: (&str, &str) = ("true", "false");
/// A boolean as CONCAT writes it (PostgreSQL's boolean output function).
const LETTERS: (&str, &str) = ("t", "f");

/// `operand` as text, `(true, false)` spelling a boolean and `as_text` of it anything else; or
/// `None` where it cannot be boolean.
fn spelled(
    operand: &Expr,
    scope: &Scope,
    (yes, no): (&str, &str),
    as_text: impl Fn(Expr) -> Expr,
) -> Option<Expr> {
    let kind = kind(operand, scope);
    if kind == Kind::NotBoolean {
        return None;
    }
    // The operand is evaluated once; a boolean equals only a boolean in GlueSQL, so nothing
    // else takes the first arms. A boolean NULL falls through to NULL.
    let otherwise = (kind == Kind::Unknown).then(|| Box::new(as_text(operand.clone())));
    Some(Expr::Case {
        operand: Some(Box::new(operand.clone())),
        when_then: vec![
            (Expr::Value(Value::Bool(true)), text(yes)),
            (Expr::Value(Value::Bool(false)), text(no)),
        ],
        else_result: otherwise,
    })
}

fn kind(expr: &Expr, scope: &Scope) -> Kind {
    use {BinaryOperator as B, Kind::*};
    match expr {
        Expr::Identifier(_) | Expr::CompoundIdentifier { .. } => {
            if scope.is_boolean(expr) {
                Boolean
            } else if scope.may_be_boolean(expr) {
                Unknown
            } else {
                NotBoolean
            }
        }
        Expr::Value(Value::Bool(_)) => Boolean,
        // Boolean only if every answer is (NULL is any type's).
        Expr::Case {
            when_then,
            else_result,
            ..
        } => {
            let answers = when_then
                .iter()
                .map(|(_, then)| then)
                .chain(else_result.as_deref())
                .filter(|e| !matches!(e, Expr::Value(Value::Null)))
                .map(|e| kind(e, scope));
            let mut joined = None;
            for answer in answers {
                match (&joined, answer) {
                    (_, Unknown) => return Unknown,
                    (None, answer) => joined = Some(answer),
                    (Some(seen), answer) if *seen != answer => return Unknown,
                    _ => {}
                }
            }
            joined.unwrap_or(NotBoolean)
        }
        Expr::Value(_) | Expr::Literal(_) | Expr::Interval { .. } => NotBoolean,
        Expr::TypedString { data_type, .. } => cast_kind(data_type),
        Expr::Nested(inner) => kind(inner, scope),
        Expr::BinaryOp { op, .. } => match op {
            B::Gt | B::Lt | B::GtEq | B::LtEq | B::Eq | B::NotEq | B::And | B::Or | B::Xor => {
                Boolean
            }
            B::Arrow => Unknown,
            B::Plus
            | B::Minus
            | B::Multiply
            | B::Divide
            | B::Modulo
            | B::StringConcat
            | B::BitwiseAnd
            | B::BitwiseShiftLeft
            | B::BitwiseShiftRight => NotBoolean,
        },
        Expr::UnaryOp { op, .. } => match op {
            UnaryOperator::Not => Boolean,
            UnaryOperator::Plus
            | UnaryOperator::Minus
            | UnaryOperator::Factorial
            | UnaryOperator::BitwiseNot => NotBoolean,
        },
        Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::InList { .. }
        | Expr::InSubquery { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::ILike { .. }
        | Expr::Regex { .. }
        | Expr::Exists { .. } => Boolean,
        Expr::Function(function) => match function.as_ref() {
            Function::Cast { data_type, .. } => cast_kind(data_type),
            Function::Upper(_)
            | Function::Lower(_)
            | Function::Concat(_)
            | Function::Substr { .. }
            | Function::Trim { .. }
            | Function::Length(_)
            | Function::Abs(_)
            | Function::Round(_)
            | Function::Now()
            | Function::CurrentDate()
            | Function::CurrentTimestamp() => NotBoolean,
            _ => Unknown,
        },
        _ => Unknown,
    }
}

fn cast_kind(data_type: &DataType) -> Kind {
    if *data_type == DataType::Boolean {
        Kind::Boolean
    } else {
        Kind::NotBoolean
    }
}

fn cast_text(expr: Expr) -> Expr {
    Expr::Function(Box::new(Function::Cast {
        expr,
        data_type: DataType::Text,
    }))
}

fn text(s: &str) -> Expr {
    Expr::Literal(Literal::QuotedString(s.to_owned()))
}
