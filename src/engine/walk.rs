//! The immediate operands of a SQL expression, for passes that rewrite or inspect expressions
//! with their own context. Subqueries are not operands here: each pass decides how to enter them.

use gluesql_core::sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Interval, Subscript,
};

/// A call's upper-cased name and its arguments, when every argument is a plain expression.
pub fn plain_args(function: &Function) -> Option<(String, Vec<&Expr>)> {
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    let args: Vec<&Expr> = list
        .args
        .iter()
        .filter_map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect();
    (args.len() == list.args.len()).then(|| (function.name.to_string().to_uppercase(), args))
}

/// The operand expressions of `expr` (not those inside a subquery it holds), mutably.
pub fn operands_mut(expr: &mut Expr) -> Vec<&mut Expr> {
    match expr {
        Expr::IsNull(e)
        | Expr::IsNotNull(e)
        | Expr::IsTrue(e)
        | Expr::IsFalse(e)
        | Expr::IsNotTrue(e)
        | Expr::IsNotFalse(e)
        | Expr::IsUnknown(e)
        | Expr::IsNotUnknown(e)
        | Expr::Nested(e)
        | Expr::UnaryOp { expr: e, .. }
        | Expr::Cast { expr: e, .. }
        | Expr::Extract { expr: e, .. }
        | Expr::Floor { expr: e, .. }
        | Expr::Ceil { expr: e, .. }
        | Expr::Interval(Interval { value: e, .. }) => vec![e],
        Expr::InSubquery { expr, .. } => vec![expr],
        Expr::BinaryOp { left, right, .. } => vec![left, right],
        Expr::Like { expr, pattern, .. }
        | Expr::ILike { expr, pattern, .. }
        | Expr::SimilarTo { expr, pattern, .. } => vec![expr, pattern],
        Expr::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        Expr::InList { expr, list, .. } => {
            let mut all = vec![expr.as_mut()];
            all.extend(list.iter_mut());
            all
        }
        Expr::Case {
            operand,
            conditions,
            results,
            else_result,
        } => {
            let mut all: Vec<&mut Expr> = operand.iter_mut().map(|e| e.as_mut()).collect();
            all.extend(conditions.iter_mut());
            all.extend(results.iter_mut());
            all.extend(else_result.iter_mut().map(|e| e.as_mut()));
            all
        }
        Expr::Trim {
            expr,
            trim_what,
            trim_characters,
            ..
        } => {
            let mut all = vec![expr.as_mut()];
            all.extend(trim_what.iter_mut().map(|e| e.as_mut()));
            all.extend(trim_characters.iter_mut().flatten());
            all
        }
        Expr::Position { expr, r#in } => vec![expr, r#in],
        Expr::Subscript { expr, subscript } => match subscript.as_mut() {
            Subscript::Index { index } => vec![expr, index],
            Subscript::Slice {
                lower_bound,
                upper_bound,
                stride,
            } => {
                let mut all = vec![expr.as_mut()];
                all.extend(lower_bound.iter_mut());
                all.extend(upper_bound.iter_mut());
                all.extend(stride.iter_mut());
                all
            }
        },
        Expr::Array(array) => array.elem.iter_mut().collect(),
        Expr::Tuple(items) => items.iter_mut().collect(),
        Expr::Function(function) => {
            let mut all = Vec::new();
            if let FunctionArguments::List(list) = &mut function.args {
                for arg in &mut list.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                    | FunctionArg::Named {
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    } = arg
                    {
                        all.push(e);
                    }
                }
            }
            all.extend(function.filter.iter_mut().map(|e| e.as_mut()));
            all
        }
        _ => Vec::new(),
    }
}
