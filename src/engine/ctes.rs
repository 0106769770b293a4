//! `WITH name [(columns)] AS (query)`: each reference to a common table expression becomes its
//! query as a derived table under the reference's name (GlueSQL 0.20 refuses WITH). Pure
//! syntax, once per parsed statement. A query that reads itself under `WITH RECURSIVE` becomes
//! its marked form (recursive.rs), computed when the statement runs; data-modifying WITH is refused.

use {
    super::visit,
    crate::error::{DbError, ErrorCode},
    gluesql_core::sqlparser::ast::{
        Cte, Expr, Ident, ObjectName, Query, SetExpr, Statement, TableAlias, TableFactor,
    },
    std::ops::ControlFlow,
};

/// Marks a reference to the k-th expression of the WITH being inlined (no name starts so).
const MARK: &str = "\u{1}cte\u{1}";

/// Replaces every WITH in `statement` (in subqueries, views, INSERT … SELECT too) by its
/// expressions' queries where they are read.
pub fn inline(statement: &mut Statement) -> Result<(), DbError> {
    let mut failed = None;
    // Inner queries first: a WITH inside shadows one outside for what it holds, and is gone
    // before the outer one is inlined, so what is left to match are outer names.
    let _ = visit::queries_mut(statement, |query| match inline_query(query) {
        Ok(()) => ControlFlow::Continue(()),
        Err(error) => {
            failed = Some(error);
            ControlFlow::Break(())
        }
    });
    failed.map_or(Ok(()), Err)
}

fn refused(what: &str) -> DbError {
    DbError::new(ErrorCode::Plan, format!("{what} is not supported"))
}

fn inline_query(query: &mut Query) -> Result<(), DbError> {
    if query.with.is_none() || super::recursive::is_recursive(query) {
        // No WITH, or a recursive one already in its marked form (a stored view).
        return Ok(());
    }
    let Some(with) = query.with.take() else {
        return Ok(());
    };
    if matches!(query.body.as_ref(), SetExpr::Insert(_) | SetExpr::Update(_)) {
        return Err(refused("WITH before INSERT, UPDATE or DELETE"));
    }
    let mut defined: Vec<Cte> = Vec::with_capacity(with.cte_tables.len());
    let names: Vec<String> = with
        .cte_tables
        .iter()
        .map(|cte| cte.alias.name.value.clone())
        .collect();
    for (k, mut cte) in with.cte_tables.into_iter().enumerate() {
        if !matches!(
            cte.query.body.as_ref(),
            SetExpr::Select(_)
                | SetExpr::Query(_)
                | SetExpr::SetOperation { .. }
                | SetExpr::Values(_)
        ) {
            return Err(refused("a data-modifying statement in WITH"));
        }
        let name = cte.alias.name.value.clone();
        if defined
            .iter()
            .any(|d| d.alias.name.value.eq_ignore_ascii_case(&name))
        {
            return Err(DbError::new(
                ErrorCode::Plan,
                format!("WITH query name \"{name}\" specified more than once"),
            ));
        }
        // An expression reads those before it (and, without RECURSIVE, not itself).
        substitute(cte.query.as_mut(), &defined)?;
        if with.recursive {
            // With RECURSIVE, every name of the list is visible everywhere in it, so one
            // defined later would be read where a table of that name is meant to be.
            if let Some(later) = names[k + 1..]
                .iter()
                .find(|later| super::recursive::reads(&cte.query, later))
            {
                return Err(DbError::new(
                    ErrorCode::Plan,
                    format!(
                        "WITH query \"{name}\" reads \"{later}\", defined after it: \
                         mutual recursion is not supported"
                    ),
                ));
            }
            if super::recursive::reads(&cte.query, &name) {
                cte.query = Box::new(super::recursive::marked(&cte)?);
            }
        }
        defined.push(cte);
    }
    substitute(query, &defined)
}

/// The expression a table name refers to, if `name` is one of `defined` (matched ignoring
/// case, as table names are).
fn referenced(name: &ObjectName, defined: &[Cte]) -> Option<usize> {
    let [ident] = name.0.as_slice() else {
        return None;
    };
    defined
        .iter()
        .position(|cte| cte.alias.name.value.eq_ignore_ascii_case(&ident.value))
}

/// Replaces references to `defined` in `node` by derived tables, in two walks: marks first, so
/// that a query put in place is not searched again (its own names are tables, not these).
fn substitute(node: &mut Query, defined: &[Cte]) -> Result<(), DbError> {
    if defined.is_empty() {
        return Ok(());
    }
    let mut reads = vec![0usize; defined.len()];
    let _ = visit::table_factors_mut(node, |factor| {
        if let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = factor
        {
            if let Some(k) = referenced(name, defined) {
                reads[k] += 1;
                let cte = &defined[k];
                let named = match alias.take() {
                    Some(alias) if !alias.columns.is_empty() => alias,
                    Some(alias) => TableAlias {
                        name: alias.name,
                        columns: cte.alias.columns.clone(),
                    },
                    None => TableAlias {
                        name: name.0[0].clone(),
                        columns: cte.alias.columns.clone(),
                    },
                };
                *name = ObjectName(vec![Ident::new(format!("{MARK}{k}"))]);
                *alias = Some(named);
            }
        }
        ControlFlow::Continue(())
    });
    for (k, cte) in defined.iter().enumerate() {
        // Read twice, a query calling random() would give each reader other rows, where
        // PostgreSQL computes it once.
        if reads[k] > 1 && calls_random(&cte.query) {
            return Err(refused("a WITH query calling random() read more than once"));
        }
    }
    let _ = visit::table_factors_mut(node, |factor| {
        if let TableFactor::Table { name, alias, .. } = factor {
            let k = match name.0.as_slice() {
                [ident] => ident
                    .value
                    .strip_prefix(MARK)
                    .and_then(|k| k.parse::<usize>().ok()),
                _ => None,
            };
            if let Some(k) = k {
                *factor = TableFactor::Derived {
                    lateral: false,
                    subquery: defined[k].query.clone(),
                    alias: alias.take(),
                };
            }
        }
        ControlFlow::Continue(())
    });
    Ok(())
}

fn calls_random(query: &Query) -> bool {
    visit::exprs(query, |e| match e {
        Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("random") => {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

#[cfg(test)]
mod tests {
    use {super::*, gluesql_core::parse_sql::parse};

    fn inlined(sql: &str) -> Result<String, String> {
        let mut statement = parse(sql).unwrap().remove(0);
        inline(&mut statement)
            .map(|()| statement.to_string())
            .map_err(|e| e.message)
    }

    #[test]
    fn references_become_derived_tables() {
        assert_eq!(
            inlined(
                "WITH a AS (SELECT x FROM t), b (y) AS (SELECT x FROM a) SELECT * FROM b, A AS z"
            )
            .unwrap(),
            "SELECT * FROM (SELECT x FROM (SELECT x FROM t) AS a) AS b (y), (SELECT x FROM t) AS z"
        );
        // Without RECURSIVE, a query's own name is the table; an inner WITH shadows.
        assert_eq!(
            inlined(
                "WITH t AS (SELECT * FROM t) SELECT (WITH t AS (SELECT 1) SELECT * FROM t) FROM t"
            )
            .unwrap(),
            "SELECT (SELECT * FROM (SELECT 1) AS t) FROM (SELECT * FROM t) AS t"
        );
    }

    #[test]
    fn a_recursive_query_prints_as_sql_that_parses_back_to_itself() {
        // Views store a statement as its printed text.
        let once = inlined(
            "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM T WHERE n < 3), \
             u AS (SELECT 2) SELECT * FROM t, u",
        )
        .unwrap();
        assert!(
            once.contains("FROM (WITH RECURSIVE \"\u{1}recursive\u{1}t\""),
            "{once}"
        );
        assert!(!once.contains(" u,"), "{once}");
        assert_eq!(inlined(&once).unwrap(), once);
        // Without RECURSIVE, or not reading itself, it is an ordinary WITH query.
        assert_eq!(
            inlined("WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r").unwrap(),
            "SELECT * FROM (SELECT 1) AS r"
        );
    }

    #[test]
    fn what_cannot_be_inlined_is_refused() {
        assert!(inlined(
            "WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT * FROM r, r AS s) SELECT 1"
        )
        .unwrap_err()
        .contains("more than once"));
        assert!(inlined("WITH a AS (SELECT 1), A AS (SELECT 2) SELECT 1")
            .unwrap_err()
            .contains("more than once"));
        assert!(
            inlined("WITH r AS (SELECT RANDOM() AS v) SELECT * FROM r, r AS s")
                .unwrap_err()
                .contains("random()")
        );
    }
}
