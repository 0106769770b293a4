//! Every expression of a translated GlueSQL statement, visited children first, for the guards
//! to rewrite. Only the walk lives here: what to do at each expression is the caller's.
//! Stored definitions (column defaults, function bodies) are not visited: they stay as written.

use gluesql_core::ast::{
    Aggregate, AggregateFunction, CountArgExpr, Expr, Function, JoinConstraint, JoinOperator,
    Projection, Query, SelectItem, SetExpr, Statement, TableFactor, TableWithJoins,
};

/// Calls `visit` on every expression `statement` evaluates, innermost first.
pub fn statement_exprs(statement: &mut Statement, visit: &mut dyn FnMut(&mut Expr)) {
    statement_top(statement, &mut |e| expr(e, visit));
}

/// `e` and everything inside it, children first.
pub fn expr(e: &mut Expr, visit: &mut dyn FnMut(&mut Expr)) {
    children(e, &mut |child| expr(child, visit));
    visit(e);
}

/// Calls `each` on the expressions `statement` holds directly (not those inside them).
pub fn statement_top(statement: &mut Statement, each: &mut dyn FnMut(&mut Expr)) {
    match statement {
        Statement::Query(query) => query_top(query, each),
        Statement::Insert { source, .. } => query_top(source, each),
        Statement::Update {
            assignments,
            selection,
            ..
        } => {
            for assignment in assignments {
                each(&mut assignment.value);
            }
            if let Some(selection) = selection {
                each(selection);
            }
        }
        Statement::Delete {
            selection: Some(selection),
            ..
        } => each(selection),
        Statement::CreateTable {
            source: Some(source),
            ..
        } => query_top(source, each),
        _ => {}
    }
}

/// Calls `each` on the expressions a query holds directly, its derived tables' included.
pub fn query_top(query: &mut Query, each: &mut dyn FnMut(&mut Expr)) {
    match &mut query.body {
        SetExpr::Select(select) => {
            let Projection::SelectItems(items) = &mut select.projection;
            for item in items {
                if let SelectItem::Expr { expr: e, .. } = item {
                    each(e);
                }
            }
            table_top(&mut select.from, each);
            if let Some(selection) = &mut select.selection {
                each(selection);
            }
            for group in &mut select.group_by {
                each(group);
            }
            if let Some(having) = &mut select.having {
                each(having);
            }
        }
        SetExpr::Values(values) => {
            for row in &mut values.0 {
                for e in row {
                    each(e);
                }
            }
        }
    }
    for order in &mut query.order_by {
        each(&mut order.expr);
    }
    if let Some(limit) = &mut query.limit {
        each(limit);
    }
    if let Some(offset) = &mut query.offset {
        each(offset);
    }
}

fn table_top(from: &mut TableWithJoins, each: &mut dyn FnMut(&mut Expr)) {
    factor_top(&mut from.relation, each);
    for join in &mut from.joins {
        factor_top(&mut join.relation, each);
        let (JoinOperator::Inner(constraint) | JoinOperator::LeftOuter(constraint)) =
            &mut join.join_operator;
        if let JoinConstraint::On(on) = constraint {
            each(on);
        }
    }
}

fn factor_top(factor: &mut TableFactor, each: &mut dyn FnMut(&mut Expr)) {
    match factor {
        TableFactor::Derived { subquery, .. } => query_top(subquery, each),
        TableFactor::Series { size, .. } => each(size),
        TableFactor::Table { .. } | TableFactor::Dictionary { .. } => {}
    }
}

/// Calls `each` on the expressions directly inside `e` (a subquery's top expressions too).
pub fn children(e: &mut Expr, each: &mut dyn FnMut(&mut Expr)) {
    match e {
        Expr::Identifier(_)
        | Expr::CompoundIdentifier { .. }
        | Expr::Literal(_)
        | Expr::Value(_)
        | Expr::TypedString { .. } => {}
        Expr::IsNull(inner)
        | Expr::IsNotNull(inner)
        | Expr::Nested(inner)
        | Expr::UnaryOp { expr: inner, .. }
        | Expr::Interval { expr: inner, .. } => each(inner),
        Expr::InList { expr: e, list, .. } => {
            each(e);
            list.iter_mut().for_each(each);
        }
        Expr::InSubquery {
            expr: e, subquery, ..
        } => {
            each(e);
            query_top(subquery, each);
        }
        Expr::Between {
            expr: e, low, high, ..
        } => {
            each(e);
            each(low);
            each(high);
        }
        Expr::Like {
            expr: e, pattern, ..
        }
        | Expr::ILike {
            expr: e, pattern, ..
        }
        | Expr::Regex {
            expr: e, pattern, ..
        } => {
            each(e);
            each(pattern);
        }
        Expr::BinaryOp { left, right, .. } => {
            each(left);
            each(right);
        }
        Expr::Function(function) => function_args(function, each),
        Expr::Aggregate(aggregate) => aggregate_args(aggregate, each),
        Expr::Exists { subquery, .. } | Expr::Subquery(subquery) => query_top(subquery, each),
        Expr::Case {
            operand,
            when_then,
            else_result,
        } => {
            if let Some(operand) = operand {
                each(operand);
            }
            for (when, then) in when_then {
                each(when);
                each(then);
            }
            if let Some(else_result) = else_result {
                each(else_result);
            }
        }
        Expr::ArrayIndex { obj, indexes } => {
            each(obj);
            indexes.iter_mut().for_each(each);
        }
        Expr::Array { elem } => elem.iter_mut().for_each(each),
    }
}

fn aggregate_args(aggregate: &mut Aggregate, each: &mut dyn FnMut(&mut Expr)) {
    match &mut aggregate.func {
        AggregateFunction::Count(CountArgExpr::Wildcard) => {}
        AggregateFunction::Count(CountArgExpr::Expr(e))
        | AggregateFunction::Sum(e)
        | AggregateFunction::Max(e)
        | AggregateFunction::Min(e)
        | AggregateFunction::Avg(e)
        | AggregateFunction::Variance(e)
        | AggregateFunction::Stdev(e) => each(e),
    }
}

/// Calls `each` on every argument of a function call, in order.
pub fn function_args(function: &mut Function, each: &mut dyn FnMut(&mut Expr)) {
    use Function as F;
    match function {
        F::Now() | F::CurrentDate() | F::CurrentTime() | F::CurrentTimestamp() | F::Pi() => {}
        F::GenerateUuid() | F::Rand(None) => {}
        F::Abs(e)
        | F::Lower(e)
        | F::Initcap(e)
        | F::Upper(e)
        | F::Asin(e)
        | F::Acos(e)
        | F::Atan(e)
        | F::Ceil(e)
        | F::Rand(Some(e))
        | F::Round(e)
        | F::Trunc(e)
        | F::Floor(e)
        | F::Exp(e)
        | F::Ln(e)
        | F::Log2(e)
        | F::Log10(e)
        | F::Sin(e)
        | F::Cos(e)
        | F::Tan(e)
        | F::Sqrt(e)
        | F::Radians(e)
        | F::Degrees(e)
        | F::LastDay(e)
        | F::Reverse(e)
        | F::Sign(e)
        | F::Ascii(e)
        | F::Chr(e)
        | F::Md5(e)
        | F::Hex(e)
        | F::GetX(e)
        | F::GetY(e)
        | F::IsEmpty(e)
        | F::Length(e)
        | F::Entries(e)
        | F::Keys(e)
        | F::Values(e)
        | F::Dedup(e)
        | F::Cast { expr: e, .. }
        | F::Extract { expr: e, .. } => each(e),
        F::AddMonth { expr: a, size: b }
        | F::Left { expr: a, size: b }
        | F::Right { expr: a, size: b }
        | F::IfNull { expr: a, then: b }
        | F::NullIf { expr1: a, expr2: b }
        | F::Log {
            antilog: a,
            base: b,
        }
        | F::Div {
            dividend: a,
            divisor: b,
        }
        | F::Mod {
            dividend: a,
            divisor: b,
        }
        | F::Gcd { left: a, right: b }
        | F::Lcm { left: a, right: b }
        | F::Power { expr: a, power: b }
        | F::Repeat { expr: a, num: b }
        | F::Unwrap {
            expr: a,
            selector: b,
        }
        | F::Format { expr: a, format: b }
        | F::ToDate { expr: a, format: b }
        | F::ToTimestamp { expr: a, format: b }
        | F::ToTime { expr: a, format: b }
        | F::Position {
            from_expr: a,
            sub_expr: b,
        }
        | F::Append { expr: a, value: b }
        | F::Prepend { expr: a, value: b }
        | F::Skip { expr: a, size: b }
        | F::Take { expr: a, size: b }
        | F::Point { x: a, y: b }
        | F::CalcDistance {
            geometry1: a,
            geometry2: b,
        } => {
            each(a);
            each(b);
        }
        F::Lpad {
            expr: a,
            size: b,
            fill: c,
        }
        | F::Rpad {
            expr: a,
            size: b,
            fill: c,
        }
        | F::Substr {
            expr: a,
            start: b,
            count: c,
        }
        | F::FindIdx {
            from_expr: a,
            sub_expr: b,
            start: c,
        } => {
            each(a);
            each(b);
            if let Some(c) = c {
                each(c);
            }
        }
        F::Replace {
            expr: a,
            old: b,
            new: c,
        }
        | F::Slice {
            expr: a,
            start: b,
            length: c,
        } => {
            each(a);
            each(b);
            each(c);
        }
        F::Trim {
            expr: a,
            filter_chars: b,
            ..
        }
        | F::Ltrim { expr: a, chars: b }
        | F::Rtrim { expr: a, chars: b }
        | F::Sort { expr: a, order: b } => {
            each(a);
            if let Some(b) = b {
                each(b);
            }
        }
        F::Splice {
            list_data,
            begin_index,
            end_index,
            values,
        } => {
            each(list_data);
            each(begin_index);
            each(end_index);
            if let Some(values) = values {
                each(values);
            }
        }
        F::Coalesce(list) | F::Concat(list) | F::Greatest(list) | F::Custom { exprs: list, .. } => {
            list.iter_mut().for_each(each)
        }
        F::ConcatWs { separator, exprs } => {
            each(separator);
            exprs.iter_mut().for_each(each);
        }
    }
}
