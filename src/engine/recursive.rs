//! `WITH RECURSIVE`: a common table expression that reads itself, iterated to a fixed point
//! (GlueSQL 0.20 has no recursion). ctes.rs puts each reference in place as a derived table of
//! the marked form made here; when the statement runs its rows are computed here and handed
//! on as a relation of that statement (relation.rs). Nothing computed here is ever stored.

use {
    super::{
        relation::values_query,
        setops::{plain_query, row_canon},
        Engine,
    },
    crate::error::{DbError, ErrorCode},
    gluesql_core::{
        data::Value,
        sqlparser::{
            ast::{
                Cte, Expr, Ident, JoinOperator, ObjectName, Query, SelectItem, SetExpr,
                SetOperator, SetQuantifier, Statement, TableAlias, TableFactor, With,
            },
            dialect::PostgreSqlDialect,
            parser::Parser,
        },
    },
    std::{collections::HashSet, ops::ControlFlow},
};

/// How many times the recursive term may run for one reference, and how many rows it may
/// give in all (README, "SQL dialect"): past them the statement fails rather than run on.
pub const MAX_ITERATIONS: usize = 10_000;
pub const MAX_ROWS: usize = 1_000_000;

/// Starts the name a recursive reference is given (no table name starts so).
const MARKER: &str = "\u{1}recursive\u{1}";

/// Whether `name` is a recursive query's reference to its own rows.
pub fn is_self_reference(name: &str) -> bool {
    name.starts_with(MARKER)
}

fn refused(message: String) -> DbError {
    DbError::new(ErrorCode::Plan, message)
}

/// How many FROM items in `node` name the table `name` (as a WITH query is named: one part,
/// any case).
fn references(node: &Query, name: &str) -> usize {
    let mut count = 0;
    let _ = super::visit::table_factors(node, |factor| {
        if let TableFactor::Table {
            name: table,
            args: None,
            ..
        } = factor
        {
            if let [ident] = table.0.as_slice() {
                if ident.value.eq_ignore_ascii_case(name) {
                    count += 1;
                }
            }
        }
        ControlFlow::Continue(())
    });
    count
}

/// Whether `node` reads the WITH query `name`.
pub fn reads(node: &Query, name: &str) -> bool {
    references(node, name) > 0
}

const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "stdev",
    "variance",
    "string_agg",
    "group_concat",
];

/// Whether `expr` calls an aggregate at its own level (one in a subquery is that query's).
fn has_aggregate(expr: &mut Expr) -> bool {
    match expr {
        Expr::Function(f)
            if AGGREGATES
                .iter()
                .any(|a| f.name.to_string().eq_ignore_ascii_case(a)) =>
        {
            true
        }
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => false,
        other => super::walk::operands_mut(other)
            .into_iter()
            .any(has_aggregate),
    }
}

/// The marked form of a WITH query that reads itself, which every reference to it becomes as
/// a derived table: its own body, its reference to itself renamed to the marker, and a WITH
/// naming the marker. It prints as SQL that parses back to itself (views store it so).
pub fn marked(cte: &Cte) -> Result<Query, DbError> {
    let name = cte.alias.name.value.as_str();
    let query = cte.query.as_ref();
    if query.order_by.is_some() || query.limit.is_some() || query.offset.is_some() {
        return Err(refused(format!(
            "ORDER BY, LIMIT or OFFSET in the recursive WITH query \"{name}\" is not supported"
        )));
    }
    let SetExpr::SetOperation {
        op: SetOperator::Union,
        set_quantifier: SetQuantifier::All | SetQuantifier::None | SetQuantifier::Distinct,
        left,
        right,
    } = query.body.as_ref()
    else {
        return Err(refused(format!(
            "recursive WITH query \"{name}\" must be `non-recursive term UNION [ALL] recursive term`"
        )));
    };
    if reads(&plain_query(left.as_ref().clone()), name) {
        return Err(refused(format!(
            "recursive reference to query \"{name}\" must not appear within its non-recursive term"
        )));
    }
    let mut recursive = right.as_ref().clone();
    let SetExpr::Select(select) = &mut recursive else {
        return Err(refused(format!(
            "the recursive term of WITH query \"{name}\" must be one SELECT"
        )));
    };
    if references(&plain_query(SetExpr::Select(select.clone())), name) > 1 {
        return Err(refused(format!(
            "recursive reference to query \"{name}\" must not appear more than once"
        )));
    }
    let aggregate = select.projection.iter_mut().any(|item| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => has_aggregate(e),
        _ => false,
    });
    if aggregate || select.having.is_some() {
        return Err(refused(format!(
            "aggregate functions in the recursive term of WITH query \"{name}\" are not supported"
        )));
    }
    // Where it may stand: a FROM item of that SELECT, not the side of an outer join that may
    // be NULL (PostgreSQL's rule), not inside a subquery or derived table.
    let marker = format!("{MARKER}{}", name.to_lowercase());
    let mut direct = 0;
    for table in &mut select.from {
        let items = std::iter::once((&mut table.relation, true)).chain(table.joins.iter_mut().map(
            |join| {
                let inner = !matches!(
                    join.join_operator,
                    JoinOperator::LeftOuter(_)
                        | JoinOperator::RightOuter(_)
                        | JoinOperator::FullOuter(_)
                );
                (&mut join.relation, inner)
            },
        ));
        for (factor, allowed) in items {
            let TableFactor::Table {
                name: table_name,
                alias,
                args: None,
                ..
            } = factor
            else {
                continue;
            };
            let own = matches!(table_name.0.as_slice(), [ident] if ident.value.eq_ignore_ascii_case(name));
            if !own || !allowed {
                continue;
            }
            direct += 1;
            *table_name = ObjectName(vec![Ident::with_quote('"', marker.clone())]);
            if alias.is_none() {
                *alias = Some(TableAlias {
                    name: cte.alias.name.clone(),
                    columns: Vec::new(),
                });
            }
        }
    }
    if direct != 1 {
        return Err(refused(format!(
            "recursive reference to query \"{name}\" must stand once in the FROM of its \
             recursive term, not within a subquery or an outer join"
        )));
    }
    let Ok(Some(Statement::Query(null))) = Parser::parse_sql(&PostgreSqlDialect {}, "SELECT NULL")
        .map(|mut statements| statements.pop())
    else {
        return Err(refused("internal: SELECT NULL did not parse".to_owned()));
    };
    let mut marked = plain_query(SetExpr::SetOperation {
        op: SetOperator::Union,
        set_quantifier: match query.body.as_ref() {
            SetExpr::SetOperation { set_quantifier, .. } => *set_quantifier,
            _ => SetQuantifier::None,
        },
        left: left.clone(),
        right: Box::new(recursive),
    });
    marked.with = Some(With {
        recursive: true,
        cte_tables: vec![Cte {
            alias: TableAlias {
                name: Ident::with_quote('"', marker),
                columns: Vec::new(),
            },
            query: null,
            from: None,
            materialized: None,
        }],
    });
    Ok(marked)
}

/// The name the recursive term reads its own rows by, if `query` is of the marked form.
fn marker_of(query: &Query) -> Option<&str> {
    match query.with.as_ref()?.cte_tables.as_slice() {
        [cte] if is_self_reference(&cte.alias.name.value) => Some(&cte.alias.name.value),
        _ => None,
    }
}

/// Whether `query` is a recursive WITH query in its marked form.
pub fn is_recursive(query: &Query) -> bool {
    marker_of(query).is_some()
}

fn limit_error(name: &str, what: String) -> DbError {
    DbError::new(
        ErrorCode::Execute,
        format!(
            "recursive WITH query \"{name}\" stopped: {what}; does its recursive term ever end?"
        ),
    )
}

impl Engine {
    /// The rows of a recursive WITH query (marked form): the non-recursive term, then the
    /// recursive term over the rows the last round added, until a round adds none; with UNION,
    /// rows already there are not added again. Handed on as a relation of the statement;
    /// `alias` gets the column names when it names none.
    pub(super) fn recursive_relation(
        &mut self,
        query: &Query,
        alias: &mut TableAlias,
        params: &mut Vec<Value>,
    ) -> Result<Query, DbError> {
        let internal = || refused("internal: a recursive WITH query lost its form".to_owned());
        let marker = marker_of(query).ok_or_else(internal)?.to_owned();
        let SetExpr::SetOperation {
            set_quantifier,
            left,
            right,
            ..
        } = query.body.as_ref()
        else {
            return Err(internal());
        };
        let distinct = !matches!(set_quantifier, SetQuantifier::All);
        let name = alias.name.value.clone();
        let outer = || {
            refused(format!(
                "recursive WITH query \"{name}\" reads columns of an outer query; not supported"
            ))
        };
        let mut first = plain_query(left.as_ref().clone());
        if !self.is_closed(&mut first, &mut Vec::new()) {
            return Err(outer());
        }
        let output = self.execute(&Statement::Query(Box::new(first)), params)?;
        let width = output.columns.len();
        if alias.columns.is_empty() {
            alias.columns = output.columns.iter().map(Ident::new).collect();
        } else if alias.columns.len() != width {
            return Err(refused(format!(
                "WITH query \"{name}\" has {width} columns available but {} columns specified",
                alias.columns.len()
            )));
        }
        let mut seen = HashSet::new();
        let mut keep = |row: &Vec<Value>| !distinct || seen.insert(row_canon(row));
        let mut working: Vec<Vec<Value>> = output.rows.into_iter().filter(&mut keep).collect();
        let mut all = working.clone();
        let mut rounds = 0;
        while !working.is_empty() {
            rounds += 1;
            if rounds > MAX_ITERATIONS {
                return Err(limit_error(&name, format!("{MAX_ITERATIONS} iterations")));
            }
            // The round's rows are bound after the statement's own parameters, apart from
            // `params`: only the final rows stay.
            let mut round_params = params.clone();
            let rows = values_query(std::mem::take(&mut working), width, &mut round_params)?;
            let mut term = plain_query(right.as_ref().clone());
            let _ = super::visit::table_factors_mut(&mut term, |factor| {
                if let TableFactor::Table {
                    name: table,
                    alias: reference,
                    ..
                } = factor
                {
                    if matches!(table.0.as_slice(), [ident] if ident.value == marker) {
                        let visible = reference
                            .take()
                            .map_or_else(|| Ident::new(name.clone()), |a| a.name);
                        *factor = TableFactor::Derived {
                            lateral: false,
                            subquery: Box::new(rows.clone()),
                            alias: Some(TableAlias {
                                name: visible,
                                columns: alias.columns.clone(),
                            }),
                        };
                    }
                }
                ControlFlow::Continue(())
            });
            if rounds == 1 && !self.is_closed(&mut term, &mut Vec::new()) {
                return Err(outer());
            }
            let output = self.execute(&Statement::Query(Box::new(term)), &round_params)?;
            if output.columns.len() != width {
                return Err(refused(format!(
                    "the terms of recursive WITH query \"{name}\" give {width} and {} columns",
                    output.columns.len()
                )));
            }
            working = output.rows.into_iter().filter(&mut keep).collect();
            if all.len() + working.len() > MAX_ROWS {
                return Err(limit_error(&name, format!("more than {MAX_ROWS} rows")));
            }
            all.extend(working.iter().cloned());
        }
        values_query(all, width, params)
    }
}
