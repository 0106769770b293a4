//! The rows of a FULL JOIN, or of a RIGHT JOIN after other joins (GlueSQL 0.20 has neither):
//! the inner join's rows, then each row of a kept side that nothing matched, with NULLs for the
//! other side. Runs plain SELECTs through the engine; computed_from.rs hands the rows back.

use {
    super::{
        computed_from::{refused, select_columns, Computed, Named},
        setops::{float_columns, set_canon},
        Engine,
    },
    crate::error::DbError,
    gluesql_core::{
        data::Value,
        sqlparser::ast::{Expr, Join, JoinConstraint, JoinOperator, TableWithJoins},
    },
    std::collections::HashSet,
};

const WHAT: &str = "RIGHT or FULL JOIN";

impl Engine {
    /// The rows of `left` joined with `join`'s relation as `join` says (FULL or RIGHT).
    pub(super) fn outer_join_rows(
        &mut self,
        left_table: TableWithJoins,
        left: Vec<Named>,
        join: Join,
        params: &[Value],
    ) -> Result<Computed, DbError> {
        let (full, condition) = match join.join_operator {
            JoinOperator::FullOuter(JoinConstraint::On(on)) => (true, on),
            JoinOperator::RightOuter(JoinConstraint::On(on)) => (false, on),
            JoinOperator::FullOuter(JoinConstraint::None) => (
                true,
                Expr::Value(gluesql_core::sqlparser::ast::Value::Boolean(true)),
            ),
            _ => return Err(refused("this RIGHT or FULL JOIN form is not supported")),
        };
        let right = self.named(std::iter::once(&join.relation))?;
        let left_width: usize = left.iter().map(|n| n.columns.len()).sum();
        let right_width: usize = right.iter().map(|n| n.columns.len()).sum();
        let names: Vec<Named> = left.iter().chain(&right).cloned().collect();

        // The inner join, then every row of each kept side, to find those nothing matched: two
        // equal rows of one side meet the same rows, so a row is matched when its value is.
        // Written as an inner join here, its ON gets what compat.rs gives every ON at parse time.
        let mut condition = condition;
        super::compat::join_condition(&mut condition, right.first().map(|n| n.name.as_str()));
        let mut inner_table = left_table.clone();
        inner_table.joins.push(Join {
            relation: join.relation.clone(),
            global: false,
            join_operator: JoinOperator::Inner(JoinConstraint::On(condition)),
        });
        let inner = self.rows_of(select_columns(&names, inner_table), params, WHAT)?;
        let right_only = TableWithJoins {
            relation: join.relation,
            joins: Vec::new(),
        };
        let right_rows = self.rows_of(select_columns(&right, right_only), params, WHAT)?;
        let left_rows = if full {
            self.rows_of(select_columns(&left, left_table), params, WHAT)?
        } else {
            Vec::new()
        };

        // A side's row is matched when its values are, by value: one column may hold a FLOAT
        // in the inner join and a DECIMAL alone (GlueSQL types a CASE of a DECIMAL and a
        // literal row by row, and each query lowers it in its own scope).
        let left_floats = float_columns(
            inner
                .iter()
                .map(|row| &row[..left_width])
                .chain(left_rows.iter().map(Vec::as_slice)),
        );
        let right_floats = float_columns(
            inner
                .iter()
                .map(|row| &row[left_width..])
                .chain(right_rows.iter().map(Vec::as_slice)),
        );
        let matched_left: HashSet<_> = inner
            .iter()
            .map(|row| set_canon(&row[..left_width], &left_floats))
            .collect();
        let matched_right: HashSet<_> = inner
            .iter()
            .map(|row| set_canon(&row[left_width..], &right_floats))
            .collect();
        let mut rows = inner;
        for mut row in left_rows {
            if !matched_left.contains(&set_canon(&row, &left_floats)) {
                row.extend(std::iter::repeat_n(Value::Null, right_width));
                rows.push(row);
            }
        }
        for row in right_rows {
            if !matched_right.contains(&set_canon(&row, &right_floats)) {
                let mut joined = vec![Value::Null; left_width];
                joined.extend(row);
                rows.push(joined);
            }
        }
        Ok(Computed { names, rows })
    }
}
