//! Every expression of a translated GlueSQL statement, visited children first, for the guards
//! to rewrite. Only the walk lives here: what to do at each expression is the caller's.
//! Stored definitions (column defaults, function bodies) are not visited: they stay as written.

use gluesql_core::ast::{
    Aggregate, AggregateFunction, CountArgExpr, Expr, Function, JoinConstraint, JoinOperator,
    Projection, Query, SelectItem, SetExpr, Statement, TableFactor, TableWithJoins,
};

/// Calls `visit` on every expression `statement` evaluates, innermost first.
pub fn statement_exprs(statement: &mut Statement, visit: &mut dyn FnMut(&mut Expr)) {
    match statement {
        Statement::Query(query) => query_exprs(query, visit),
        Statement::Insert { source, .. } => query_exprs(source, visit),
        Statement::Update {
            assignments,
            selection,
            ..
        } => {
            for assignment in assignments {
                expr(&mut assignment.value, visit);
            }
            if let Some(selection) = selection {
                expr(selection, visit);
            }
        }
        Statement::Delete {
            selection: Some(selection),
            ..
        } => expr(selection, visit),
        Statement::CreateTable {
            source: Some(source),
            ..
        } => query_exprs(source, visit),
        _ => {}
    }
}

pub fn query_exprs(query: &mut Query, visit: &mut dyn FnMut(&mut Expr)) {
    match &mut query.body {
        SetExpr::Select(select) => {
            let Projection::SelectItems(items) = &mut select.projection;
            for item in items {
                if let SelectItem::Expr { expr: e, .. } = item {
                    expr(e, visit);
                }
            }
            table_exprs(&mut select.from, visit);
            if let Some(selection) = &mut select.selection {
                expr(selection, visit);
            }
            for group in &mut select.group_by {
                expr(group, visit);
            }
            if let Some(having) = &mut select.having {
                expr(having, visit);
            }
        }
        SetExpr::Values(values) => {
            for row in &mut values.0 {
                for e in row {
                    expr(e, visit);
                }
            }
        }
    }
    for order in &mut query.order_by {
        expr(&mut order.expr, visit);
    }
    if let Some(limit) = &mut query.limit {
        expr(limit, visit);
    }
    if let Some(offset) = &mut query.offset {
        expr(offset, visit);
    }
}

fn table_exprs(from: &mut TableWithJoins, visit: &mut dyn FnMut(&mut Expr)) {
    factor_exprs(&mut from.relation, visit);
    for join in &mut from.joins {
        factor_exprs(&mut join.relation, visit);
        let (JoinOperator::Inner(constraint) | JoinOperator::LeftOuter(constraint)) =
            &mut join.join_operator;
        if let JoinConstraint::On(on) = constraint {
            expr(on, visit);
        }
    }
}

fn factor_exprs(factor: &mut TableFactor, visit: &mut dyn FnMut(&mut Expr)) {
    match factor {
        TableFactor::Derived { subquery, .. } => query_exprs(subquery, visit),
        TableFactor::Series { size, .. } => expr(size, visit),
        TableFactor::Table { .. } | TableFactor::Dictionary { .. } => {}
    }
}

/// `e` and everything inside it, children first.
pub fn expr(e: &mut Expr, visit: &mut dyn FnMut(&mut Expr)) {
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
        | Expr::Interval { expr: inner, .. } => expr(inner, visit),
        Expr::InList { expr: e, list, .. } => {
            expr(e, visit);
            list.iter_mut().for_each(|item| expr(item, visit));
        }
        Expr::InSubquery {
            expr: e, subquery, ..
        } => {
            expr(e, visit);
            query_exprs(subquery, visit);
        }
        Expr::Between {
            expr: e, low, high, ..
        } => {
            expr(e, visit);
            expr(low, visit);
            expr(high, visit);
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
            expr(e, visit);
            expr(pattern, visit);
        }
        Expr::BinaryOp { left, right, .. } => {
            expr(left, visit);
            expr(right, visit);
        }
        Expr::Function(function) => function_args(function, &mut |arg| expr(arg, visit)),
        Expr::Aggregate(aggregate) => aggregate_args(aggregate, &mut |arg| expr(arg, visit)),
        Expr::Exists { subquery, .. } | Expr::Subquery(subquery) => query_exprs(subquery, visit),
        Expr::Case {
            operand,
            when_then,
            else_result,
        } => {
            if let Some(operand) = operand {
                expr(operand, visit);
            }
            for (when, then) in when_then {
                expr(when, visit);
                expr(then, visit);
            }
            if let Some(else_result) = else_result {
                expr(else_result, visit);
            }
        }
        Expr::ArrayIndex { obj, indexes } => {
            expr(obj, visit);
            indexes.iter_mut().for_each(|index| expr(index, visit));
        }
        Expr::Array { elem } => elem.iter_mut().for_each(|item| expr(item, visit)),
    }
    visit(e);
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
