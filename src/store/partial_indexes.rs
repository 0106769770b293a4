//! Which partial indexes a statement may read: one holds only the rows its predicate is TRUE
//! for, so the planner sees it (as an index of its value) only where the statement's WHERE
//! keeps no other row. Decides from the plan alone; never reads or changes rows.

use {
    super::index_expr::partial_parts,
    gluesql_core::{
        ast::BinaryOperator,
        data::Schema,
        plan::{
            plan_scalar_expr, AggregationInputPlan, ExprPlan, FilterInputPlan, FilterPlan,
            ProjectInputPlan, SourcePlan, StatementPlan,
        },
    },
    std::collections::HashMap,
};

/// Whether any table of `schema_map` has a partial index (the usual answer, no, costs this).
pub fn any(schema_map: &HashMap<String, Schema>) -> bool {
    schema_map.values().any(|schema| {
        schema
            .indexes
            .iter()
            .any(|i| partial_parts(&i.expr).is_some())
    })
}

/// `schema_map` as the index planner may see it for `statement`: each partial index either
/// as an index of its value (the statement reads its table once, filtered by a WHERE whose
/// conjuncts imply the predicate) or left out.
pub fn usable(
    schema_map: &HashMap<String, Schema>,
    statement: &StatementPlan,
) -> HashMap<String, Schema> {
    let filtered = filtered_table(statement);
    let mut map = schema_map.clone();
    for (table, schema) in map.iter_mut() {
        let filter = filtered
            .filter(|(name, _)| name == table)
            .filter(|_| table_reads(statement, table) == 1)
            .map(|(_, expr)| expr);
        schema.indexes = std::mem::take(&mut schema.indexes)
            .into_iter()
            .filter_map(|mut index| {
                let Some((predicate, value)) = partial_parts(&index.expr) else {
                    return Some(index);
                };
                let predicate = plan_scalar_expr(predicate.clone());
                let value = value.clone();
                filter
                    .filter(|filter| implies(filter, &predicate))
                    .map(|_| {
                        index.expr = value;
                        index
                    })
            })
            .collect();
    }
    map
}

/// The table a query reads and its WHERE, when the query is one table (no join) under a
/// WHERE, possibly grouped, ordered or limited.
fn filtered_table(statement: &StatementPlan) -> Option<(&str, &ExprPlan)> {
    let StatementPlan::Query(query) = statement else {
        return None;
    };
    let filter = match &query.project()?.input {
        ProjectInputPlan::Filter(filter) => filter,
        ProjectInputPlan::Aggregation(aggregation) => match &aggregation.input {
            AggregationInputPlan::Filter(filter) => filter,
            _ => return None,
        },
        ProjectInputPlan::Having(having) => match &having.input.input {
            AggregationInputPlan::Filter(filter) => filter,
            _ => return None,
        },
        _ => return None,
    };
    match filter {
        FilterPlan {
            input: FilterInputPlan::Source(SourcePlan::Table(source)),
            expr,
        } => Some((source.name.as_str(), expr)),
        _ => None,
    }
}

/// How many times `statement` reads `table` (subqueries, derived tables and joins included):
/// counted on its serialized form, which names every table source as `{"Table": {"name": …}}`.
fn table_reads(statement: &StatementPlan, table: &str) -> usize {
    fn count(value: &serde_json::Value, table: &str) -> usize {
        match value {
            serde_json::Value::Object(map) => {
                let here = match map.get("Table") {
                    Some(serde_json::Value::Object(source))
                        if source.get("name").and_then(|n| n.as_str()) == Some(table) =>
                    {
                        1
                    }
                    _ => 0,
                };
                here + map.values().map(|v| count(v, table)).sum::<usize>()
            }
            serde_json::Value::Array(items) => items.iter().map(|v| count(v, table)).sum(),
            _ => 0,
        }
    }
    // A plan that does not serialize is counted as read twice: no partial index for it.
    serde_json::to_value(statement).map_or(2, |value| count(&value, table))
}

fn strip(expr: &ExprPlan) -> &ExprPlan {
    match expr {
        ExprPlan::Nested(inner) => strip(inner),
        other => other,
    }
}

/// The conjuncts of `expr` (its top-level ANDs).
fn conjuncts<'e>(expr: &'e ExprPlan, out: &mut Vec<&'e ExprPlan>) {
    match strip(expr) {
        ExprPlan::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        other => out.push(other),
    }
}

/// Whether a row that `filter` is TRUE for has `predicate` TRUE: every conjunct of the
/// predicate is one of the filter's, or is `x IS NOT NULL` where a filter conjunct compares
/// `x` (a comparison is never TRUE with a NULL operand).
fn implies(filter: &ExprPlan, predicate: &ExprPlan) -> bool {
    let mut have = Vec::new();
    conjuncts(filter, &mut have);
    let mut need = Vec::new();
    conjuncts(predicate, &mut need);
    need.iter().all(|needed| {
        have.iter().any(|held| strip(held) == strip(needed))
            || matches!(strip(needed), ExprPlan::IsNotNull(x) if have.iter().any(|held| compares(held, x)))
    })
}

/// Whether `held` being TRUE needs `x` not NULL: a comparison with `x` as an operand.
fn compares(held: &ExprPlan, x: &ExprPlan) -> bool {
    let x = strip(x);
    match strip(held) {
        ExprPlan::BinaryOp { left, op, right } => {
            matches!(
                op,
                BinaryOperator::Eq
                    | BinaryOperator::NotEq
                    | BinaryOperator::Lt
                    | BinaryOperator::LtEq
                    | BinaryOperator::Gt
                    | BinaryOperator::GtEq
            ) && (strip(left) == x || strip(right) == x)
        }
        ExprPlan::InList { expr, .. }
        | ExprPlan::Between { expr, .. }
        | ExprPlan::Like { expr, .. }
        | ExprPlan::ILike { expr, .. } => strip(expr) == x,
        _ => false,
    }
}
