//! SQL that SQLite and PostgreSQL users write and GlueSQL 0.20 refuses or misreads, rewritten
//! into what it runs with the same meaning: comma joins, CROSS JOIN, parenthesised joins, ON
//! equalities it mis-plans, GROUP BY positions, aggregate FILTER, IS [NOT] DISTINCT FROM, and the
//! usual type names.
//! Pure syntax, done once per parsed statement; never looks at data or schemas.

use gluesql_core::sqlparser::ast::{
    AlterTableOperation, BinaryOperator, ColumnDef, ColumnOption, ColumnOptionDef, DataType,
    ExactNumberInfo, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, Ident,
    Join, JoinConstraint, JoinOperator, ObjectName, Query, Select, SelectItem, SetExpr, Statement,
    TableFactor, TableWithJoins, TimezoneInfo, UnaryOperator, Value,
};
use std::ops::ControlFlow;

/// Groups every `IS [NOT] DISTINCT FROM` chain of `statement` by SQL's precedence (see
/// `regroup_distinct`), before any pass reads what an expression means.
pub fn regroup_distinct_from(statement: &mut Statement) {
    let has_distinct_from = super::visit::exprs(&*statement, |expr| match expr {
        Expr::IsDistinctFrom(..) | Expr::IsNotDistinctFrom(..) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break();
    if has_distinct_from {
        let _ = super::visit::exprs_mut(statement, |expr| {
            regroup_distinct(expr);
            ControlFlow::<()>::Continue(())
        });
    }
}

/// Rewrites `statement` in place; a statement that needs nothing is left untouched.
/// `regroup_distinct_from` must have run first: the joins' ON conditions are read as SQL
/// groups them (`ON a IS DISTINCT FROM b AND 13 = t2.x` shows its `13 = t2.x` to
/// `join_condition`).
pub fn rewrite_statement(statement: &mut Statement) {
    match statement {
        Statement::CreateTable(create) => {
            for column in &mut create.columns {
                column_type(column);
            }
            if let Some(query) = create.query.as_mut() {
                query_joins(query);
            }
        }
        Statement::AlterTable { operations, .. } => {
            for operation in operations {
                if let AlterTableOperation::AddColumn { column_def, .. } = operation {
                    column_type(column_def);
                }
            }
        }
        Statement::Query(query) => query_joins(query),
        Statement::Insert(insert) => {
            if let Some(source) = insert.source.as_mut() {
                query_joins(source);
            }
        }
        Statement::CreateView { query, .. } => query_joins(query),
        _ => {}
    }
    // Casts, IS [NOT] DISTINCT FROM, and subqueries anywhere in expressions.
    let _ = super::visit::exprs_mut(statement, |expr| {
        match expr {
            Expr::IsDistinctFrom(..) | Expr::IsNotDistinctFrom(..) => {
                let taken = std::mem::replace(expr, Expr::Value(Value::Null));
                *expr = distinct_from(taken);
            }
            Expr::Cast { data_type, .. } => {
                if let Some(supported) = supported_type(data_type) {
                    *data_type = supported;
                }
            }
            Expr::Subquery(query)
            | Expr::Exists {
                subquery: query, ..
            }
            | Expr::InSubquery {
                subquery: query, ..
            } => query_joins(query),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `a IS [NOT] DISTINCT FROM b` as GlueSQL runs it (after `regroup_distinct`).
fn distinct_from(expr: Expr) -> Expr {
    match expr {
        Expr::IsDistinctFrom(a, b) => distinct_or_not(&a, &b, true),
        Expr::IsNotDistinctFrom(a, b) => distinct_or_not(&a, &b, false),
        other => other,
    }
}

/// One piece of an AND / OR / NOT / IS [NOT] DISTINCT FROM chain, in written order.
enum Piece {
    Operand(Box<Expr>),
    And,
    Or,
    Not,
    /// `IS DISTINCT FROM` (true) or `IS NOT DISTINCT FROM`.
    Distinct(bool),
}

/// sqlparser 0.52 reads everything after `IS [NOT] DISTINCT FROM` as its right operand (`a IS
/// DISTINCT FROM b OR c` as `a IS DISTINCT FROM (b OR c)`), where SQL's IS binds more tightly
/// than NOT, AND and OR. The chain's pieces keep their written order in any grouping, so
/// they are grouped again by SQL's precedence.
fn regroup_distinct(expr: &mut Expr) {
    let chained = matches!(expr, Expr::IsDistinctFrom(..) | Expr::IsNotDistinctFrom(..))
        || matches!(
            expr,
            Expr::BinaryOp {
                op: BinaryOperator::And | BinaryOperator::Or,
                ..
            } | Expr::UnaryOp {
                op: UnaryOperator::Not,
                ..
            }
        );
    if !chained {
        return;
    }
    let mut pieces = Vec::new();
    pieces_of(expr.clone(), &mut pieces);
    if !pieces.iter().any(|p| matches!(p, Piece::Distinct(_))) {
        return;
    }
    let mut pieces = pieces.into_iter().peekable();
    if let Some(grouped) = group(&mut pieces, 0) {
        if pieces.peek().is_none() {
            *expr = grouped;
        }
    }
}

fn pieces_of(expr: Expr, pieces: &mut Vec<Piece>) {
    match expr {
        Expr::BinaryOp {
            left,
            op: op @ (BinaryOperator::And | BinaryOperator::Or),
            right,
        } => {
            pieces_of(*left, pieces);
            pieces.push(if op == BinaryOperator::And {
                Piece::And
            } else {
                Piece::Or
            });
            pieces_of(*right, pieces);
        }
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => {
            pieces.push(Piece::Not);
            pieces_of(*expr, pieces);
        }
        Expr::IsDistinctFrom(a, b) => {
            pieces_of(*a, pieces);
            pieces.push(Piece::Distinct(true));
            pieces_of(*b, pieces);
        }
        Expr::IsNotDistinctFrom(a, b) => {
            pieces_of(*a, pieces);
            pieces.push(Piece::Distinct(false));
            pieces_of(*b, pieces);
        }
        other => pieces.push(Piece::Operand(Box::new(other))),
    }
}

/// Precedence climbing over `pieces`: OR 1, AND 2, NOT 3 (prefix), IS 4.
fn group(pieces: &mut std::iter::Peekable<std::vec::IntoIter<Piece>>, min: u8) -> Option<Expr> {
    let mut left = match pieces.next()? {
        Piece::Operand(expr) => *expr,
        Piece::Not => Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: Box::new(group(pieces, 3)?),
        },
        _ => return None,
    };
    loop {
        let precedence = match pieces.peek() {
            Some(Piece::Or) => 1,
            Some(Piece::And) => 2,
            Some(Piece::Distinct(_)) => 4,
            _ => return Some(left),
        };
        if precedence <= min {
            return Some(left);
        }
        let op = pieces.next()?;
        let right = Box::new(group(pieces, precedence)?);
        left = match op {
            Piece::Or => Expr::BinaryOp {
                left: Box::new(left),
                op: BinaryOperator::Or,
                right,
            },
            Piece::And => Expr::BinaryOp {
                left: Box::new(left),
                op: BinaryOperator::And,
                right,
            },
            Piece::Distinct(true) => Expr::IsDistinctFrom(Box::new(left), right),
            _ => Expr::IsNotDistinctFrom(Box::new(left), right),
        };
    }
}

fn distinct_or_not(a: &Expr, b: &Expr, distinct: bool) -> Expr {
    let same = not_distinct(a, b);
    if distinct {
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: Box::new(same),
        }
    } else {
        same
    }
}

/// `a IS NOT DISTINCT FROM b` (GlueSQL has neither form): equal, or both NULL; never NULL.
fn not_distinct(a: &Expr, b: &Expr) -> Expr {
    let is_null = |e: &Expr| Expr::IsNull(Box::new(e.clone()));
    Expr::Nested(Box::new(Expr::Case {
        operand: None,
        conditions: vec![is_null(a), is_null(b)],
        results: vec![is_null(b), Expr::Value(Value::Boolean(false))],
        else_result: Some(Box::new(Expr::BinaryOp {
            left: Box::new(a.clone()),
            op: BinaryOperator::Eq,
            right: Box::new(b.clone()),
        })),
    }))
}

fn column_type(column: &mut ColumnDef) {
    // A JSON column is TEXT to GlueSQL; the comment tells the store to check what it holds
    // (crate::json).
    let json = match column.data_type {
        DataType::JSON => Some(crate::json::JsonKind::Json),
        DataType::JSONB => Some(crate::json::JsonKind::Jsonb),
        _ => None,
    };
    if let Some(kind) = json {
        column.data_type = DataType::Text;
        column.options.push(ColumnOptionDef {
            name: None,
            option: ColumnOption::Comment(kind.marker().to_owned()),
        });
        return;
    }
    if let Some(supported) = supported_type(&column.data_type) {
        column.data_type = supported;
    }
}

/// The GlueSQL type another database's type name means, when GlueSQL does not take the name.
/// Lengths, precisions and scales are accepted and not enforced (README, "SQL dialect").
pub fn supported_type(data_type: &DataType) -> Option<DataType> {
    Some(match data_type {
        DataType::Real
        | DataType::Double
        | DataType::DoublePrecision
        | DataType::Float8
        | DataType::Float(Some(_)) => DataType::Float64,
        DataType::Float4 => DataType::Float32,
        DataType::Int(Some(_)) | DataType::Integer(Some(_)) | DataType::Int4(_) => {
            DataType::Int(None)
        }
        DataType::BigInt(_) => DataType::Int(None),
        DataType::SmallInt(_) | DataType::Int2(_) => DataType::Int16,
        DataType::TinyInt(_) => DataType::Int8(None),
        DataType::MediumInt(_) => DataType::Int32,
        DataType::Character(_)
        | DataType::Char(_)
        | DataType::CharacterVarying(_)
        | DataType::CharVarying(_)
        | DataType::Varchar(_)
        | DataType::Nvarchar(_)
        | DataType::CharacterLargeObject(_)
        | DataType::CharLargeObject(_)
        | DataType::Clob(_)
        | DataType::String(_) => DataType::Text,
        DataType::Numeric(_)
        | DataType::Dec(_)
        | DataType::Decimal(ExactNumberInfo::Precision(_))
        | DataType::Decimal(ExactNumberInfo::PrecisionAndScale(_, _)) => {
            DataType::Decimal(ExactNumberInfo::None)
        }
        DataType::Blob(_) | DataType::Binary(_) | DataType::Varbinary(_) => DataType::Bytea,
        DataType::Bool => DataType::Boolean,
        DataType::Datetime(_) | DataType::Timestamp(Some(_), TimezoneInfo::None) => {
            DataType::Timestamp(None, TimezoneInfo::None)
        }
        _ => return None,
    })
}

/// Joins in every SELECT of `query`, including derived tables and set operation branches.
fn query_joins(query: &mut Query) {
    set_expr_joins(&mut query.body);
}

fn set_expr_joins(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => {
            group_by_positions(select);
            aggregate_filters(select);
            // Parentheses first: a RIGHT JOIN after a parenthesised join is then not swapped
            // around it, which would leave the parenthesised join where nothing splices it.
            splice_parenthesised(select);
            right_joins(select);
            if let Some(from) = combine_from(std::mem::take(&mut select.from)) {
                select.from = vec![from];
            }
            for table in &mut select.from {
                factor_joins(&mut table.relation);
                for join in &mut table.joins {
                    factor_joins(&mut join.relation);
                    let joined = super::computed_from::factor_name(&join.relation);
                    if let JoinOperator::Inner(JoinConstraint::On(on))
                    | JoinOperator::LeftOuter(JoinConstraint::On(on)) = &mut join.join_operator
                    {
                        join_condition(on, joined.as_deref());
                    }
                }
            }
        }
        SetExpr::Query(query) => query_joins(query),
        SetExpr::SetOperation { left, right, .. } => {
            set_expr_joins(left);
            set_expr_joins(right);
        }
        _ => {}
    }
}

/// `GROUP BY 1` groups by the first output column's expression, as in PostgreSQL and SQLite
/// (GlueSQL grouped by the constant 1: one group). A position outside the select list is left
/// for `unsupported` to refuse.
fn group_by_positions(select: &mut Select) {
    let GroupByExpr::Expressions(exprs, _) = &mut select.group_by else {
        return;
    };
    for expr in exprs {
        let Expr::Value(Value::Number(n, _)) = expr else {
            continue;
        };
        let Some(item) = n
            .to_string()
            .parse::<usize>()
            .ok()
            .and_then(|p| p.checked_sub(1))
            .and_then(|p| select.projection.get(p))
        else {
            continue;
        };
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
            *expr = e.clone();
        }
    }
}

/// `agg(x) FILTER (WHERE c)` as `agg(CASE WHEN c THEN x END)` and `COUNT(*) FILTER (WHERE c)`
/// as `COUNT(CASE WHEN c THEN 1 END)`: aggregates skip NULLs, so only the rows where `c` holds
/// count (GlueSQL ignored the FILTER and counted every row).
fn aggregate_filters(select: &mut Select) {
    for item in &mut select.projection {
        let (SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) = item else {
            continue;
        };
        let filtered = super::visit::exprs(&*e, |e| match e {
            Expr::Function(f) if f.filter.is_some() => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break();
        if !filtered {
            continue;
        }
        // The column keeps the name the query wrote.
        if let SelectItem::UnnamedExpr(e) = item {
            let label = Ident::with_quote('"', e.to_string());
            let expr = std::mem::replace(e, Expr::Value(Value::Null));
            *item = SelectItem::ExprWithAlias { expr, alias: label };
        }
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
            let _ = super::visit::exprs_mut(e, |e| {
                filtered_aggregate(e);
                ControlFlow::Continue(())
            });
        }
    }
    if let Some(having) = select.having.as_mut() {
        let _ = super::visit::exprs_mut(having, |e| {
            filtered_aggregate(e);
            ControlFlow::Continue(())
        });
    }
}

fn filtered_aggregate(expr: &mut Expr) {
    let Expr::Function(function) = expr else {
        return;
    };
    let Some(filter) = function.filter.take() else {
        return;
    };
    let FunctionArguments::List(list) = &mut function.args else {
        function.filter = Some(filter);
        return;
    };
    let [arg] = list.args.as_mut_slice() else {
        function.filter = Some(filter);
        return;
    };
    let value = match arg {
        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => {
            Expr::Value(Value::Number(1.into(), false))
        }
        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => e.clone(),
        _ => {
            function.filter = Some(filter);
            return;
        }
    };
    *arg = FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Case {
        operand: None,
        conditions: vec![*filter],
        results: vec![value],
        else_result: None,
    }));
}

/// GlueSQL 0.20 plans an equality in ON as a hash join whenever one side can be computed from
/// the joined table, and then looks the other side up in the wrong row: `ON 1 = t2.x` and
/// `ON t2.a = t2.b` fail with "identifier not found". A constant moves to the right
/// (`t2.x = 1` works); an equality within the joined table, or with a side that reads it and
/// another table (`t1.a + t2.b = 1`), becomes `NOT (a <> b)` (the same truth, NULL included),
/// which is not a hash-join candidate.
pub(super) fn join_condition(on: &mut Expr, joined: Option<&str>) {
    match on {
        Expr::Nested(inner) => join_condition(inner, joined),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            join_condition(left, joined);
            join_condition(right, joined);
        }
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => {
            let (l, r) = (qualifiers(left), qualifiers(right));
            if l.as_ref().is_some_and(Vec::is_empty) && !r.as_ref().is_some_and(Vec::is_empty) {
                std::mem::swap(left, right);
            }
            let is_joined = |q: &String| joined.is_some_and(|j| q.eq_ignore_ascii_case(j));
            // A side reading the joined table and another one (`a.x + b.y = 1`): GlueSQL would
            // hash the joined table on the other side and read this one in the wrong row.
            let mixed = |side: &Option<Vec<String>>| {
                side.as_ref()
                    .is_some_and(|qs| qs.iter().any(&is_joined) && qs.iter().any(|q| !is_joined(q)))
            };
            let within_joined = match (&l, &r) {
                (Some(l), Some(r)) => {
                    !(l.is_empty() && r.is_empty()) && l.iter().chain(r.iter()).all(is_joined)
                }
                _ => false,
            };
            if within_joined || mixed(&l) || mixed(&r) {
                let (a, b) = (
                    std::mem::replace(left.as_mut(), Expr::Value(Value::Null)),
                    std::mem::replace(right.as_mut(), Expr::Value(Value::Null)),
                );
                *on = Expr::UnaryOp {
                    op: UnaryOperator::Not,
                    expr: Box::new(Expr::Nested(Box::new(Expr::BinaryOp {
                        left: Box::new(a),
                        op: BinaryOperator::NotEq,
                        right: Box::new(b),
                    }))),
                };
            }
        }
        _ => {}
    }
}

/// The table names `expr`'s columns are qualified by (empty: a constant); `None` when a
/// column is unqualified or a subquery is inside, so where it reads from is not known here.
fn qualifiers(expr: &Expr) -> Option<Vec<String>> {
    let mut found = Vec::new();
    super::visit::exprs(expr, |e| match e {
        Expr::CompoundIdentifier(idents) if idents.len() == 2 => {
            found.push(idents[0].value.clone());
            ControlFlow::Continue(())
        }
        Expr::Identifier(_)
        | Expr::CompoundIdentifier(_)
        | Expr::Subquery(_)
        | Expr::Exists { .. }
        | Expr::InSubquery { .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_continue()
    .then_some(found)
}

fn factor_joins(factor: &mut TableFactor) {
    match factor {
        TableFactor::Derived { subquery, .. } => query_joins(subquery),
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => {
            factor_joins(&mut table_with_joins.relation);
            for join in &mut table_with_joins.joins {
                factor_joins(&mut join.relation);
            }
        }
        _ => {}
    }
}

/// `a RIGHT JOIN b ON c` joins the rows `b LEFT JOIN a ON c` does (GlueSQL 0.20 has no
/// RIGHT JOIN): the sides are swapped where the RIGHT JOIN is the first join of its FROM item,
/// and `*` becomes each item's `q.*` in the written order, so the columns come out as written.
/// Elsewhere (after other joins, with USING or NATURAL, a `*` that cannot be spelled so) it is
/// left for GlueSQL to refuse.
fn right_joins(select: &mut Select) {
    let swappable = |table: &TableWithJoins| {
        table.joins.first().is_some_and(|join| {
            matches!(
                join.join_operator,
                JoinOperator::RightOuter(JoinConstraint::On(_))
            )
        })
    };
    if !select.from.iter().any(swappable) {
        return;
    }
    let has_wildcard = select
        .projection
        .iter()
        .any(|item| matches!(item, SelectItem::Wildcard(_)));
    if has_wildcard {
        let mut items = Vec::new();
        for table in &select.from {
            let factors =
                std::iter::once(&table.relation).chain(table.joins.iter().map(|j| &j.relation));
            for factor in factors {
                match wildcard_of(factor) {
                    Some(item) => items.push(item),
                    None => return,
                }
            }
        }
        let projection = std::mem::take(&mut select.projection);
        for item in projection {
            match item {
                SelectItem::Wildcard(options) if options == Default::default() => {
                    select.projection.extend(items.iter().cloned());
                }
                other => select.projection.push(other),
            }
        }
    }
    for table in &mut select.from {
        if !swappable(table) {
            continue;
        }
        let first = &mut table.joins[0];
        std::mem::swap(&mut table.relation, &mut first.relation);
        let operator = std::mem::replace(&mut first.join_operator, JoinOperator::CrossJoin);
        if let JoinOperator::RightOuter(constraint) = operator {
            first.join_operator = JoinOperator::LeftOuter(constraint);
        }
    }
}

/// `q.*` for one FROM item, `None` when it has no name to qualify with.
fn wildcard_of(factor: &TableFactor) -> Option<SelectItem> {
    let name = match factor {
        TableFactor::Table {
            alias: Some(alias), ..
        }
        | TableFactor::Derived {
            alias: Some(alias), ..
        } => ObjectName(vec![alias.name.clone()]),
        TableFactor::Table { name, .. } => name.clone(),
        _ => return None,
    };
    Some(SelectItem::QualifiedWildcard(name, Default::default()))
}

fn inner(relation: TableFactor, constraint: JoinConstraint) -> Join {
    Join {
        relation,
        global: false,
        join_operator: JoinOperator::Inner(constraint),
    }
}

/// `FROM a, b` and `a CROSS JOIN b` are inner joins without a condition, and a parenthesised
/// run of inner joins without an alias joins the same rows unparenthesised. Anything else
/// (outer joins inside parentheses) is left for GlueSQL to accept or refuse.
fn combine_from(from: Vec<TableWithJoins>) -> Option<TableWithJoins> {
    let mut tables = from.into_iter();
    let first = tables.next()?;
    let mut combined = flatten(first);
    for table in tables {
        let table = flatten(table);
        combined
            .joins
            .push(inner(table.relation, JoinConstraint::None));
        combined.joins.extend(table.joins);
    }
    Some(combined)
}

/// Parenthesised joins spliced in again once using.rs has turned their USING into ON: this
/// module runs at parse time, before the catalog names USING's columns.
pub(super) fn splice_parenthesised(select: &mut Select) {
    select.from = std::mem::take(&mut select.from)
        .into_iter()
        .map(flatten)
        .collect();
}

/// One FROM item with CROSS JOINs made inner and unaliased parenthesised inner joins spliced in.
fn flatten(table: TableWithJoins) -> TableWithJoins {
    let TableWithJoins { relation, joins } = table;
    // Joins read left to right: `(a LEFT JOIN b ON p) JOIN c ON q` is `a LEFT JOIN b ON p JOIN
    // c ON q` whatever the kinds, so a parenthesised join that comes first is always spliced.
    let mut out = match splice(relation, true) {
        Ok(nested) => nested,
        Err(relation) => TableWithJoins {
            relation: *relation,
            joins: Vec::new(),
        },
    };
    for join in joins {
        let constraint = match join.join_operator {
            JoinOperator::CrossJoin => JoinConstraint::None,
            JoinOperator::Inner(constraint) => constraint,
            other => {
                out.joins.push(Join {
                    join_operator: other,
                    ..join
                });
                continue;
            }
        };
        // USING and NATURAL name the columns of the item they join: kept with it (and
        // refused by `unsupported`), never dropped to join every row.
        let splice_it = matches!(constraint, JoinConstraint::On(_) | JoinConstraint::None);
        let spliced = if splice_it {
            splice(join.relation, false)
        } else {
            Err(Box::new(join.relation))
        };
        match spliced {
            Ok(nested) => {
                // `x JOIN (b JOIN c ON p1) ON p2` joins the rows `x JOIN b JOIN c ON p1 AND p2` does.
                out.joins.push(inner(nested.relation, JoinConstraint::None));
                let last = nested.joins.len();
                for (i, mut inner_join) in nested.joins.into_iter().enumerate() {
                    if i + 1 == last {
                        if let (JoinOperator::Inner(c), JoinConstraint::On(p2)) =
                            (&mut inner_join.join_operator, &constraint)
                        {
                            *c = and(std::mem::replace(c, JoinConstraint::None), p2.clone());
                        }
                    }
                    out.joins.push(inner_join);
                }
                if last == 0 {
                    if let Some(join) = out.joins.last_mut() {
                        join.join_operator = JoinOperator::Inner(constraint);
                    }
                }
            }
            Err(relation) => out.joins.push(inner(*relation, constraint)),
        }
    }
    out
}

fn and(constraint: JoinConstraint, extra: Expr) -> JoinConstraint {
    match constraint {
        JoinConstraint::On(existing) => JoinConstraint::On(Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(existing))),
            op: BinaryOperator::And,
            right: Box::new(Expr::Nested(Box::new(extra))),
        }),
        _ => JoinConstraint::On(extra),
    }
}

/// A parenthesised join without an alias, flattened when it comes `first` or its joins are all
/// inner; anything else comes back unchanged as `Err`.
fn splice(relation: TableFactor, first: bool) -> Result<TableWithJoins, Box<TableFactor>> {
    match relation {
        TableFactor::NestedJoin {
            table_with_joins,
            alias: None,
        } if first
            || table_with_joins.joins.iter().all(|join| {
                matches!(
                    join.join_operator,
                    JoinOperator::CrossJoin | JoinOperator::Inner(_)
                )
            }) =>
        {
            Ok(flatten(*table_with_joins))
        }
        other => Err(Box::new(other)),
    }
}

#[cfg(test)]
mod tests {
    use {super::*, gluesql_core::parse_sql::parse};

    fn rewritten(sql: &str) -> String {
        let mut statement = parse(sql).unwrap().remove(0);
        rewrite_statement(&mut statement);
        statement.to_string()
    }

    #[test]
    fn comma_and_cross_joins_become_inner_joins() {
        assert_eq!(
            rewritten("SELECT * FROM a, b CROSS JOIN c WHERE a.x = c.x"),
            "SELECT * FROM a JOIN b JOIN c WHERE a.x = c.x"
        );
        assert_eq!(
            rewritten("SELECT * FROM (a AS x CROSS JOIN b AS y) JOIN c ON c.k = y.k"),
            "SELECT * FROM a AS x JOIN b AS y JOIN c ON c.k = y.k"
        );
    }

    #[test]
    fn a_right_join_first_in_its_item_swaps_sides_and_keeps_the_written_columns() {
        assert_eq!(
            rewritten("SELECT *, 1 FROM x, a AS p RIGHT JOIN b ON b.k = p.k JOIN c ON c.k = b.k"),
            "SELECT x.*, p.*, b.*, c.*, 1 FROM x JOIN b LEFT JOIN a AS p ON b.k = p.k JOIN c ON c.k = b.k"
        );
        // After another join, it is not the same rows: left for GlueSQL to refuse.
        assert_eq!(
            rewritten("SELECT * FROM a JOIN b ON a.k = b.k RIGHT JOIN c ON c.k = b.k"),
            "SELECT * FROM a JOIN b ON a.k = b.k RIGHT JOIN c ON c.k = b.k"
        );
    }

    #[test]
    fn type_names_map_to_glue_types() {
        assert_eq!(
            rewritten("CREATE TABLE t (a REAL, b VARCHAR(8), c NUMERIC(10,2), d BIGINT)"),
            "CREATE TABLE t (a FLOAT64, b TEXT, c DECIMAL, d INT)"
        );
    }
}
