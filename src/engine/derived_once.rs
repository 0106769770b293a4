//! A derived table joined after the first FROM item, reading nothing outside itself, is run
//! once ahead and handed to GlueSQL as the `VALUES` rows it gave: GlueSQL 0.20's nested-loop
//! join runs the right side's query again for every row on its left (a view or WITH query
//! after a product of other tables ran thousands of times). Runs last, on lowered SQL; a
//! derived table that fails to run now is left for GlueSQL, which raises the error only if it
//! gets there. Changes no answer: a derived table's rows never depend on the row beside it.

use {
    super::{params::bind_params, relation::values_query, result::output_of, visit, Engine},
    gluesql_core::{
        data::Value,
        sqlparser::ast::{Ident, Query, SetExpr, Statement, TableFactor},
    },
    std::ops::ControlFlow,
};

/// Whether some SELECT in `statement` joins a derived table after its first FROM item (asked
/// only of a statement reading two relations or more).
pub fn may_apply(statement: &Statement) -> bool {
    visit::queries(statement, |query| {
        let SetExpr::Select(select) = query.body.as_ref() else {
            return ControlFlow::Continue(());
        };
        let joined = select
            .from
            .iter()
            .flat_map(|table| &table.joins)
            .any(|join| is_plain_derived(&join.relation));
        if joined {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

fn is_plain_derived(factor: &TableFactor) -> bool {
    matches!(
        factor,
        TableFactor::Derived {
            lateral: false,
            alias: Some(_),
            ..
        }
    )
}

impl Engine {
    /// Replaces each joined derived table of `statement` that reads nothing outside itself
    /// by its rows (inner queries first), appended to `params`.
    pub(super) fn compute_joined_derived(
        &mut self,
        statement: &mut Statement,
        params: &mut Vec<Value>,
    ) {
        let _ = visit::queries_mut(statement, |query| {
            let SetExpr::Select(select) = query.body.as_mut() else {
                return ControlFlow::Continue(());
            };
            for join in select.from.iter_mut().flat_map(|table| &mut table.joins) {
                let TableFactor::Derived {
                    lateral: false,
                    subquery,
                    alias: Some(alias),
                } = &mut join.relation
                else {
                    continue;
                };
                if !self.is_closed(subquery, &mut Vec::new()) {
                    continue;
                }
                let Some((columns, rows)) = self.run_lowered(subquery, params) else {
                    continue;
                };
                // Its rows are bound only once the query around them is made.
                let Ok(values) = values_query(rows, columns.len(), params) else {
                    continue;
                };
                if alias.columns.is_empty() {
                    alias.columns = columns.iter().map(Ident::new).collect();
                }
                **subquery = values;
            }
            ControlFlow::Continue(())
        });
    }

    /// The output columns and rows of a lowered query run by GlueSQL as it stands, or `None`
    /// where it fails or gives no columns.
    fn run_lowered(
        &mut self,
        query: &Query,
        params: &[Value],
    ) -> Option<(Vec<String>, Vec<Vec<Value>>)> {
        let statement = Statement::Query(Box::new(query.clone()));
        let bound = bind_params(params).ok()?;
        let output = output_of(self.execute_lowered(&statement, &bound).ok()?);
        (output.command == "SELECT" && !output.columns.is_empty())
            .then_some((output.columns, output.rows))
    }
}
