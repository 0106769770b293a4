//! Shrinks a query that idbsql answers wrongly to a smaller one it still answers wrongly:
//! greedily drops clauses and replaces expressions by their parts, keeping each step only
//! while the references still agree and idbsql still differs.

use crate::ast::*;

/// At most this many candidate queries are tried.
const MAX_TRIES: usize = 400;

pub fn minimize(query: &Query, still_fails: &mut dyn FnMut(&Query) -> bool) -> Query {
    let mut best = query.clone();
    let mut tries = 0;
    'outer: loop {
        for candidate in candidates(&best) {
            if tries >= MAX_TRIES {
                break 'outer;
            }
            tries += 1;
            if still_fails(&candidate) {
                best = candidate;
                continue 'outer;
            }
        }
        break;
    }
    best
}

fn candidates(query: &Query) -> Vec<Query> {
    let mut out = Vec::new();
    if !query.order_by.is_empty() || query.limit.is_some() {
        out.push(Query {
            order_by: Vec::new(),
            nulls_first: None,
            limit: None,
            ..query.clone()
        });
    }
    match &query.body {
        Body::Set(left, _, _) => out.push((**left).clone()),
        Body::Select(select) => {
            let with = |select: Select| Query {
                body: Body::Select(Box::new(select)),
                ..query.clone()
            };
            if let Some(filter) = &select.filter {
                out.push(with(Select {
                    filter: None,
                    ..(**select).clone()
                }));
                for part in parts(filter) {
                    out.push(with(Select {
                        filter: Some(part),
                        ..(**select).clone()
                    }));
                }
            }
            if select.having.is_some() {
                out.push(with(Select {
                    having: None,
                    ..(**select).clone()
                }));
            }
            if select.distinct {
                out.push(with(Select {
                    distinct: false,
                    ..(**select).clone()
                }));
            }
            for j in 0..select.joins.len() {
                let mut smaller = (**select).clone();
                smaller.joins.remove(j);
                out.push(with(smaller));
            }
            if select.items.len() > 1 && query.order_by.is_empty() {
                for i in 0..select.items.len() {
                    let mut smaller = (**select).clone();
                    smaller.items.remove(i);
                    out.push(with(smaller));
                }
            }
            for (i, (item, _)) in select.items.iter().enumerate() {
                for part in parts(item) {
                    let mut smaller = (**select).clone();
                    smaller.items[i].0 = part;
                    out.push(with(smaller));
                }
            }
            for (j, join) in select.joins.iter().enumerate() {
                for part in parts(&join.on) {
                    let mut smaller = (**select).clone();
                    smaller.joins[j].on = part;
                    out.push(with(smaller));
                }
            }
        }
    }
    out
}

/// Smaller expressions to try in place of `expr`: its parts, and itself with one part
/// replaced by a smaller one.
fn parts(expr: &Expr) -> Vec<Expr> {
    let mut out = direct(expr);
    // One level deeper: each child replaced by each of its own parts.
    let children = direct(expr);
    for (i, child) in children.iter().enumerate() {
        for grandchild in direct(child) {
            if let Some(replaced) = replace_child(expr, i, grandchild) {
                out.push(replaced);
            }
        }
    }
    out
}

fn direct(expr: &Expr) -> Vec<Expr> {
    match expr {
        Expr::Bin(l, _, r) => vec![(**l).clone(), (**r).clone()],
        Expr::Not(e)
        | Expr::Neg(e)
        | Expr::IsNull(e, _)
        | Expr::Like(e, _, _)
        | Expr::Truth(e, _)
        | Expr::BoolAgg(e, _) => {
            vec![(**e).clone()]
        }
        Expr::InList(e, list, _) => {
            let mut out = vec![(**e).clone()];
            out.extend(list.iter().cloned());
            out
        }
        Expr::Between(e, low, high, _) => vec![(**e).clone(), (**low).clone(), (**high).clone()],
        Expr::SimpleCase(operand, arms, otherwise) => {
            let mut out = vec![(**operand).clone()];
            out.extend(arms.iter().flat_map(|(w, t)| [w.clone(), t.clone()]));
            out.extend(otherwise.iter().map(|e| (**e).clone()));
            out
        }
        Expr::Case(arms, otherwise) => {
            let mut out: Vec<Expr> = arms
                .iter()
                .flat_map(|(w, t)| [w.clone(), t.clone()])
                .collect();
            out.extend(otherwise.iter().map(|e| (**e).clone()));
            out
        }
        Expr::Func(_, args) => args.clone(),
        Expr::Agg(_, Some(arg), _) => vec![(**arg).clone()],
        Expr::Filtered(aggregate, _) => vec![(**aggregate).clone()],
        Expr::StringAgg { value, .. } => vec![(**value).clone()],
        Expr::DateDiff(l, r) | Expr::DateAdd(l, r) => vec![(**l).clone(), (**r).clone()],
        Expr::Extract(_, date)
        | Expr::AddMonths(date, _)
        | Expr::IntCast(date)
        | Expr::Substring(date, _, _) => {
            vec![(**date).clone()]
        }
        Expr::InSub(e, _, _) => vec![(**e).clone()],
        Expr::EndChars(text, count, _) => vec![(**text).clone(), (**count).clone()],
        _ => Vec::new(),
    }
}

fn replace_child(expr: &Expr, index: usize, with: Expr) -> Option<Expr> {
    let mut copy = expr.clone();
    let slot: &mut Expr = match &mut copy {
        Expr::Bin(l, _, r) => {
            if index == 0 {
                l
            } else {
                r
            }
        }
        Expr::Not(e)
        | Expr::Neg(e)
        | Expr::IsNull(e, _)
        | Expr::Like(e, _, _)
        | Expr::Truth(e, _)
        | Expr::BoolAgg(e, _) => e,
        Expr::Func(_, args) => args.get_mut(index)?,
        Expr::Agg(_, Some(arg), _) => arg,
        Expr::StringAgg { value, .. } => value,
        _ => return None,
    };
    *slot = with;
    Some(copy)
}
