//! SQL's boolean tests and aggregates that GlueSQL 0.20 lacks, rewritten into what it runs with
//! the same meaning: `x IS [NOT] TRUE | FALSE | UNKNOWN`, `bool_and`, `bool_or` and `every`.
//! Pure syntax, once per parsed statement; never looks at schemas or data.

use {
    super::visit,
    gluesql_core::sqlparser::ast::{
        BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
        ObjectName, SelectItem, SetExpr, Statement, UnaryOperator, Value,
    },
    std::ops::ControlFlow,
};

/// Rewrites every boolean test and aggregate in `statement`; a select-list column holding one
/// keeps the name the query wrote (`bool_and(done)`), not its rewritten text.
pub fn rewrite(statement: &mut Statement) {
    if !visit::any_expr(&*statement, is_rewritten) {
        return;
    }
    let _ = visit::queries_mut(statement, |query| {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in &mut select.projection {
                if let SelectItem::UnnamedExpr(e) = item {
                    if visit::any_expr(&*e, is_rewritten) {
                        let alias = super::windows::label(e);
                        let expr = std::mem::replace(e, Expr::Value(Value::Null));
                        *item = SelectItem::ExprWithAlias { expr, alias };
                    }
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = visit::try_replace_exprs(statement, |expr| Ok::<_, ()>(lowered(expr)));
}

fn is_rewritten(expr: &Expr) -> bool {
    match expr {
        Expr::IsTrue(_)
        | Expr::IsNotTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotFalse(_)
        | Expr::IsUnknown(_)
        | Expr::IsNotUnknown(_) => true,
        Expr::Function(function) => aggregate(function).is_some(),
        _ => false,
    }
}

/// Which of the boolean aggregates `function` is: `true` for `bool_and` / `every` (all true),
/// `false` for `bool_or` (any true).
fn aggregate(function: &Function) -> Option<bool> {
    match function.name.to_string().to_uppercase().as_str() {
        "BOOL_AND" | "EVERY" => Some(true),
        "BOOL_OR" => Some(false),
        _ => None,
    }
}

fn boolean(value: bool) -> Expr {
    Expr::Value(Value::Boolean(value))
}

fn number(n: i64) -> Expr {
    Expr::Value(Value::Number(bigdecimal::BigDecimal::from(n), false))
}

fn not(expr: Expr) -> Expr {
    Expr::UnaryOp {
        op: UnaryOperator::Not,
        expr: Box::new(Expr::Nested(Box::new(expr))),
    }
}

/// `CASE WHEN when THEN then ELSE otherwise END`: a condition that is NULL takes the ELSE.
fn case(when: Expr, then: Expr, otherwise: Expr) -> Expr {
    Expr::Nested(Box::new(Expr::Case {
        operand: None,
        conditions: vec![when],
        results: vec![then],
        else_result: Some(Box::new(otherwise)),
    }))
}

fn lowered(expr: &Expr) -> Option<Expr> {
    let tested = |x: &Expr| Expr::Nested(Box::new(x.clone()));
    Some(match expr {
        // Never NULL: a NULL operand is neither true nor false.
        Expr::IsTrue(x) => case(tested(x), boolean(true), boolean(false)),
        Expr::IsNotTrue(x) => case(tested(x), boolean(false), boolean(true)),
        Expr::IsFalse(x) => case(not(tested(x)), boolean(true), boolean(false)),
        Expr::IsNotFalse(x) => case(not(tested(x)), boolean(false), boolean(true)),
        Expr::IsUnknown(x) => Expr::IsNull(Box::new(tested(x))),
        Expr::IsNotUnknown(x) => Expr::IsNotNull(Box::new(tested(x))),
        Expr::Function(function) => {
            let all = aggregate(function)?;
            // Each row's value as 1 (true) or 0 (false), NULL skipped as the aggregates skip
            // it: all are true when the least is 1, any is when the greatest is; no non-NULL
            // row leaves MIN / MAX NULL, and so the answer.
            let FunctionArguments::List(list) = &function.args else {
                return None;
            };
            let [FunctionArg::Unnamed(FunctionArgExpr::Expr(x))] = list.args.as_slice() else {
                return None;
            };
            let as_number = Expr::Case {
                operand: None,
                conditions: vec![Expr::Nested(Box::new(x.clone())), not(x.clone())],
                results: vec![number(1), number(0)],
                else_result: None,
            };
            let mut args = list.clone();
            args.args = vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(as_number))];
            let extreme = Expr::Function(Function {
                name: ObjectName(vec![Ident::new(if all { "MIN" } else { "MAX" })]),
                args: FunctionArguments::List(args),
                ..function.clone()
            });
            Expr::Nested(Box::new(Expr::BinaryOp {
                left: Box::new(extreme),
                op: BinaryOperator::Eq,
                right: Box::new(number(1)),
            }))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse::rewritten;

    #[test]
    fn boolean_tests_become_cases_that_are_never_null() {
        assert_eq!(
            rewritten("SELECT id FROM t WHERE done IS NOT TRUE"),
            "SELECT id FROM t WHERE (CASE WHEN (done) THEN false ELSE true END)"
        );
        assert_eq!(
            rewritten("SELECT id FROM t WHERE done IS UNKNOWN"),
            "SELECT id FROM t WHERE (done) IS NULL"
        );
    }

    #[test]
    fn boolean_aggregates_keep_their_window_filter_and_written_name() {
        assert_eq!(
            rewritten("SELECT bool_or(done) FILTER (WHERE id > 1) OVER (ORDER BY id) FROM t"),
            "SELECT (MAX(CASE WHEN id > 1 THEN CASE WHEN (done) THEN 1 WHEN NOT (done) THEN 0 END END) \
             OVER (ORDER BY id) = 1) AS bool_or(done) FILTER (WHERE id > 1) OVER (ORDER BY id) FROM t"
        );
    }
}
