//! A whole-table aggregate (`SELECT COUNT(*), SUM(score) FROM kv`: COUNT/SUM/MIN/MAX, no WHERE,
//! GROUP BY, DISTINCT or ORDER BY) computed straight over the stored rows with GlueSQL's own
//! value arithmetic and its rules (NULLs skipped, first value kept, empty → 0 or NULL), so
//! nothing is cloned per row. Any other shape, or any error, is left to GlueSQL.

use {
    super::{read_columns::only_table, Engine},
    gluesql_core::{
        data::Value,
        prelude::Payload,
        sqlparser::ast::{
            Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, SelectItem,
            SetExpr, Statement,
        },
    },
    std::cmp::Ordering,
};

#[derive(Clone, Copy)]
enum Kind {
    CountRows,
    Count(usize),
    Sum(usize),
    Min(usize),
    Max(usize),
}

/// The table and, per projected item, its label and what it computes.
fn plan(engine: &Engine, statement: &Statement) -> Option<(String, Vec<(String, Kind)>)> {
    let Statement::Query(query) = statement else {
        return None;
    };
    let plain_query = query.with.is_none()
        && query.order_by.is_none()
        && query.limit.is_none()
        && query.limit_by.is_empty()
        && query.offset.is_none()
        && query.fetch.is_none()
        && query.locks.is_empty()
        && query.for_clause.is_none()
        && query.settings.is_none()
        && query.format_clause.is_none();
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let no_grouping =
        matches!(&select.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty());
    let plain_select = select.distinct.is_none()
        && select.top.is_none()
        && select.into.is_none()
        && select.lateral_views.is_empty()
        && select.prewhere.is_none()
        && select.selection.is_none()
        && no_grouping
        && select.cluster_by.is_empty()
        && select.distribute_by.is_empty()
        && select.sort_by.is_empty()
        && select.having.is_none()
        && select.named_window.is_empty()
        && select.qualify.is_none()
        && select.value_table_mode.is_none()
        && select.connect_by.is_none();
    if !plain_query || !plain_select {
        return None;
    }
    let name = only_table(select)?;
    let [table_name] = name.0.as_slice() else {
        return None;
    };
    let table = engine.store().table(&table_name.value)?;
    let defs = table.schema.column_defs.as_ref()?;
    let column = |expr: &Expr| match expr {
        Expr::Identifier(ident) => defs.iter().position(|def| def.name == ident.value),
        _ => None,
    };
    let items = select
        .projection
        .iter()
        .map(|item| {
            let (expr, label) = match item {
                SelectItem::UnnamedExpr(expr) => (expr, expr.to_string()),
                SelectItem::ExprWithAlias { expr, alias } => (expr, alias.value.clone()),
                _ => return None,
            };
            let Expr::Function(function) = expr else {
                return None;
            };
            let FunctionArguments::List(list) = &function.args else {
                return None;
            };
            let plain_call = function.name.0.len() == 1
                && matches!(function.parameters, FunctionArguments::None)
                && function.filter.is_none()
                && function.null_treatment.is_none()
                && function.over.is_none()
                && function.within_group.is_empty()
                && list.duplicate_treatment.is_none()
                && list.clauses.is_empty();
            let [FunctionArg::Unnamed(argument)] = list.args.as_slice() else {
                return None;
            };
            if !plain_call {
                return None;
            }
            let name = function.name.0[0].value.to_ascii_uppercase();
            let kind = match (name.as_str(), argument) {
                ("COUNT", FunctionArgExpr::Wildcard) => Kind::CountRows,
                (_, FunctionArgExpr::Expr(expr)) => {
                    let index = column(expr)?;
                    match name.as_str() {
                        "COUNT" => Kind::Count(index),
                        "SUM" => Kind::Sum(index),
                        "MIN" => Kind::Min(index),
                        "MAX" => Kind::Max(index),
                        _ => return None,
                    }
                }
                _ => return None,
            };
            Some((label, kind))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((table_name.value.clone(), items))
}

impl Engine {
    /// The statement's answer when it is a whole-table aggregate this path computes; `None`
    /// to run it through GlueSQL.
    pub(super) fn whole_table_aggregate(&self, statement: &Statement) -> Option<Payload> {
        let (table, items) = plan(self, statement)?;
        let rows = &self.store().table(&table)?.rows;
        let mut values = Vec::with_capacity(items.len());
        for (_, kind) in &items {
            let value = match *kind {
                Kind::CountRows => Value::I64(i64::try_from(rows.len()).ok()?),
                Kind::Count(index) => {
                    let count = rows
                        .values()
                        .filter(|row| row.get(index).is_some_and(|v| !v.is_null()))
                        .count();
                    Value::I64(i64::try_from(count).ok()?)
                }
                Kind::Sum(index) | Kind::Min(index) | Kind::Max(index) => {
                    // GlueSQL's fold: NULLs skipped, the first value kept, then combined.
                    let mut folded: Option<Value> = None;
                    for value in rows.values().filter_map(|row| row.get(index)) {
                        if value.is_null() {
                            continue;
                        }
                        folded = Some(match (folded, *kind) {
                            (None, _) => value.clone(),
                            (Some(sum), Kind::Sum(_)) => sum.add(value).ok()?,
                            (Some(min), Kind::Min(_)) => {
                                if min.evaluate_cmp(value) == Some(Ordering::Greater) {
                                    value.clone()
                                } else {
                                    min
                                }
                            }
                            (Some(max), _) => {
                                if max.evaluate_cmp(value) == Some(Ordering::Less) {
                                    value.clone()
                                } else {
                                    max
                                }
                            }
                        });
                    }
                    folded.unwrap_or(Value::Null)
                }
            };
            values.push(value);
        }
        Some(Payload::Select {
            labels: items.into_iter().map(|(label, _)| label).collect(),
            rows: vec![values],
        })
    }
}
