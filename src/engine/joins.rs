//! Join planning: the inner joins a SELECT opens with (commas, CROSS JOIN, JOIN … ON) are put
//! in an order where each table meets one it shares a predicate with, and every WHERE or ON
//! conjunct over those tables moves to the first join that sees all of them, so GlueSQL hashes
//! on the equalities instead of filtering a cross product (issue 25). It changes the order rows
//! are made in, never which rows or columns: what it cannot place exactly stays as written.

use {
    super::{scope::Scope, visit, Engine},
    gluesql_core::sqlparser::ast::{
        BinaryOperator, Expr, Ident, Join, JoinConstraint, JoinOperator, ObjectName, OrderBy,
        Query, Select, SelectItem, SetExpr, Statement, TableFactor, UnaryOperator,
    },
    std::{cmp::Reverse, ops::ControlFlow},
};

/// A FROM item as join planning sees it.
struct Item {
    /// The name its columns are qualified by, as written, and in lower case for matching
    /// (names match ignoring case, README "Names").
    ident: Ident,
    name: String,
    /// Its columns in lower case; `None` when they cannot be known here.
    columns: Option<Vec<String>>,
    /// Rows of a stored table; derived tables count as large.
    rows: usize,
}

/// A conjunct of WHERE or of an inner join's ON, with the run items it reads (a bit each;
/// 0: none) and, for an equality, what each side reads.
struct Conjunct {
    expr: Expr,
    reads: u64,
    sides: Option<(u64, u64)>,
    /// Where it was written: 0 for WHERE, p for the ON of the run's p-th join.
    origin: usize,
    /// Its place among WHERE's conjuncts, which keep their written order.
    rank: usize,
}

/// At most this many inner-joined items are planned (one bit each in a `u64`).
const MAX_ITEMS: usize = 64;

/// The query a statement runs to read rows, if any: itself, or the one feeding an INSERT or a
/// CREATE TABLE (not a bulk INSERT … VALUES, which is never walked for nothing).
pub fn query_of(statement: &Statement) -> Option<&Query> {
    match statement {
        Statement::Query(query) => Some(query),
        Statement::Insert(insert) => insert
            .source
            .as_deref()
            .filter(|source| !matches!(source.body.as_ref(), SetExpr::Values(_))),
        Statement::CreateTable(create) => create.query.as_deref(),
        _ => None,
    }
}

/// Whether `statement` may hold a SELECT that joins: its query reads two relations or more.
pub fn may_join(statement: &Statement) -> bool {
    let Some(query) = query_of(statement) else {
        return false;
    };
    let mut relations = 0;
    visit::relations(query, |_| {
        relations += 1;
        if relations >= 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

impl Engine {
    /// Plans the joins of every SELECT in `statement` (subqueries and derived tables included).
    pub(super) fn plan_joins(&self, statement: &mut Statement) {
        let _ = visit::queries_mut(statement, |query| {
            let Query { body, order_by, .. } = query;
            self.plan_body(body, order_by.as_ref());
            ControlFlow::Continue(())
        });
    }

    fn plan_body(&self, body: &mut SetExpr, order_by: Option<&OrderBy>) {
        match body {
            SetExpr::Select(select) => self.plan_select(select, order_by),
            // A set operation's ORDER BY names its output columns, not an arm's FROM items.
            SetExpr::SetOperation { left, right, .. } => {
                self.plan_body(left, None);
                self.plan_body(right, None);
            }
            _ => {}
        }
    }

    fn describe(&self, factor: &TableFactor) -> Option<Item> {
        let (ident, rows) = match factor {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => {
                let table = name.0.last()?;
                let rows = self
                    .glue
                    .storage
                    .table(&table.value)
                    .map_or(usize::MAX, |t| t.rows.len());
                (alias.as_ref().map_or(table, |a| &a.name).clone(), rows)
            }
            TableFactor::Derived {
                lateral: false,
                alias: Some(alias),
                ..
            } => (alias.name.clone(), usize::MAX),
            _ => return None,
        };
        let mut scope = Scope::default();
        self.scope_of_factor(factor, &mut scope);
        let columns = scope
            .tables
            .pop()?
            .columns
            .map(|columns| columns.into_iter().map(|(c, _)| c.to_lowercase()).collect());
        Some(Item {
            name: ident.value.to_lowercase(),
            ident,
            columns,
            rows,
        })
    }

    fn plan_select(&self, select: &mut Select, order_by: Option<&OrderBy>) {
        let [from] = select.from.as_slice() else {
            return;
        };
        let run = 1 + from
            .joins
            .iter()
            .take_while(|join| is_inner(&join.join_operator))
            .count();
        if !(2..=MAX_ITEMS).contains(&run) {
            return;
        }
        let factors = std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation));
        let mut items = Vec::with_capacity(1 + from.joins.len());
        let mut laterals = false;
        for (i, factor) in factors.enumerate() {
            match self.describe(factor) {
                Some(item)
                    if !laterals && items.iter().all(|other: &Item| other.name != item.name) =>
                {
                    items.push(item)
                }
                // LATERAL subqueries ending the item read the run's rows, planned before them
                // (correlated_setops.rs lifts subqueries there); a conjunct reading one stays.
                None if i >= run && super::computed_from::is_lateral(factor) => laterals = true,
                _ => return,
            }
        }
        let names = Names { items: &items, run };

        let mut conjuncts = Vec::new();
        for (p, join) in from.joins[..run - 1].iter().enumerate() {
            if let JoinOperator::Inner(JoinConstraint::On(on)) = &join.join_operator {
                for expr in split(on) {
                    // An ON conjunct it cannot read stays put, and so does the whole run; so
                    // does one that divides (its guard must still come first, logic.rs).
                    let Some(reads) = names.reads(expr) else {
                        return;
                    };
                    if divides(expr) {
                        return;
                    }
                    conjuncts.push(conjunct(&names, expr, reads, p + 1, 0));
                }
            }
        }
        let mut kept = Vec::new();
        if let Some(selection) = &select.selection {
            for (rank, expr) in split(selection).into_iter().enumerate() {
                // A conjunct that divides stays in WHERE, after every guard that may have moved
                // to a join before it (`b.x <> 0 AND a.y / b.x > 1` never divides by zero).
                if divides(expr) {
                    kept.push((rank, expr.clone()));
                    continue;
                }
                match names.reads(expr) {
                    Some(reads) => conjuncts.push(conjunct(&names, expr, reads, 0, rank)),
                    None => kept.push((rank, expr.clone())),
                }
            }
        }
        let reorder = !names.ambiguous(select, order_by)
            && select.projection.iter().all(|item| match item {
                SelectItem::Wildcard(options) => *options == Default::default(),
                _ => true,
            });
        let order = if reorder {
            choose_order(&items[..run], &conjuncts)
        } else {
            (0..run).collect()
        };
        let mut place = vec![0; run];
        for (p, &i) in order.iter().enumerate() {
            place[i] = p;
        }
        // A lifted one-row LATERAL after the run (correlated_setops.rs) moves to just after
        // the last run item it reads: it adds a column to each row, wherever it stands, and
        // there it runs beside the rows of those items, not beside the product of the run.
        let later: Option<Vec<String>> = from.joins[run - 1..]
            .iter()
            .map(|join| factor_name(&join.relation))
            .collect();
        let mut early: Vec<(usize, usize)> = Vec::new();
        let movable = later.as_ref().map_or(&[][..], |_| &from.joins[run - 1..]);
        let later = later.unwrap_or_default();
        for (j, join) in movable.iter().enumerate() {
            if !super::correlated_setops::is_lifted_row(join) {
                continue;
            }
            if let Some(reads) = names.read_by(&join.relation, &later) {
                let after = bits(reads).map(|i| place[i]).max().unwrap_or(0);
                if after + 1 < run {
                    early.push((j, after));
                }
            }
        }

        // Each conjunct joins the first join that sees all it reads; one reading only the
        // first item stays in WHERE (GlueSQL's key lookups look there) and is also copied to
        // the first join, so the rows it drops are not joined with every later item first.
        let identity = order.iter().enumerate().all(|(p, &i)| p == i);
        // A conjunct reading no row (`1 > 2`, a parameter) goes to the first join: false, it
        // empties the join there instead of after a cross product.
        let at = |c: &Conjunct| bits(c.reads).map(|i| place[i]).max().unwrap_or(1);
        if identity && early.is_empty() && conjuncts.iter().all(|c| at(c) == c.origin && at(c) != 0)
        {
            return;
        }
        let mut ons: Vec<Vec<Conjunct>> = (0..run).map(|_| Vec::new()).collect();
        let mut where_after = Vec::new();
        for c in conjuncts {
            match at(&c) {
                0 => {
                    ons[1].push(Conjunct {
                        expr: c.expr.clone(),
                        ..c
                    });
                    if c.origin == 0 {
                        kept.push((c.rank, c.expr));
                    } else {
                        where_after.push(c.expr);
                    }
                }
                p => ons[p].push(c),
            }
        }
        kept.sort_by_key(|(rank, _)| *rank);
        let kept: Vec<Expr> = kept
            .into_iter()
            .map(|(_, e)| e)
            .chain(where_after)
            .collect();

        if !identity {
            // `*` keeps the written column order: one `t.*` per FROM item, as written.
            let wildcard: Vec<SelectItem> = items
                .iter()
                .map(|item| {
                    SelectItem::QualifiedWildcard(
                        ObjectName(vec![item.ident.clone()]),
                        Default::default(),
                    )
                })
                .collect();
            let projection = std::mem::take(&mut select.projection);
            for item in projection {
                match item {
                    SelectItem::Wildcard(_) => select.projection.extend(wildcard.iter().cloned()),
                    other => select.projection.push(other),
                }
            }
        }

        let from = &mut select.from[0];
        let mut rest: Vec<Option<Join>> = from
            .joins
            .split_off(run - 1)
            .into_iter()
            .map(Some)
            .collect();
        let mut factors: Vec<Option<TableFactor>> = std::iter::once(from.relation.clone())
            .chain(
                std::mem::take(&mut from.joins)
                    .into_iter()
                    .map(|j| j.relation),
            )
            .map(Some)
            .collect();
        let mut take = |i: usize| factors[i].take().expect("each item placed once");
        let mut laterals_after = |p: usize, joins: &mut Vec<Join>| {
            for &(r, _) in early.iter().filter(|(_, after)| *after == p) {
                joins.extend(rest[r].take());
            }
        };
        from.relation = take(order[0]);
        laterals_after(0, &mut from.joins);
        for (p, on) in ons.into_iter().enumerate().skip(1) {
            let joined = order[p];
            let condition = join_condition(on, joined, &order[..p]);
            from.joins.push(Join {
                relation: take(joined),
                global: false,
                join_operator: JoinOperator::Inner(match condition {
                    Some(on) => JoinConstraint::On(on),
                    None => JoinConstraint::None,
                }),
            });
            laterals_after(p, &mut from.joins);
        }
        from.joins.extend(rest.into_iter().flatten());
        select.selection = kept.into_iter().reduce(and);
    }
}

/// The name a FROM item's columns are qualified by, in lower case.
fn factor_name(factor: &TableFactor) -> Option<String> {
    let ident = match factor {
        TableFactor::Table { name, alias, .. } => {
            alias.as_ref().map(|a| &a.name).or(name.0.last())?
        }
        TableFactor::Derived { alias, .. } => &alias.as_ref()?.name,
        _ => return None,
    };
    Some(ident.value.to_lowercase())
}

/// Whether `expr` divides anywhere (its subqueries included): where it is evaluated matters.
fn divides(expr: &Expr) -> bool {
    visit::exprs(expr, |e| match e {
        Expr::BinaryOp {
            op: BinaryOperator::Divide | BinaryOperator::Modulo,
            ..
        } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

fn is_inner(operator: &JoinOperator) -> bool {
    matches!(
        operator,
        JoinOperator::CrossJoin | JoinOperator::Inner(JoinConstraint::On(_) | JoinConstraint::None)
    )
}

/// How names in a SELECT find its FROM items (the first `run` of them are being planned).
struct Names<'a> {
    items: &'a [Item],
    run: usize,
}

impl Names<'_> {
    /// The item an unqualified column belongs to: exactly one has it, and every item's
    /// columns are known (else it could be another's, or an outer query's).
    fn owner_of_column(&self, column: &str) -> Option<usize> {
        let column = column.to_lowercase();
        let mut owner = None;
        for (i, item) in self.items.iter().enumerate() {
            if item.columns.as_ref()?.contains(&column) {
                if owner.is_some() {
                    return None;
                }
                owner = Some(i);
            }
        }
        owner
    }

    fn owner_named(&self, name: &str) -> Option<usize> {
        let name = name.to_lowercase();
        self.items.iter().position(|item| item.name == name)
    }

    /// The run items `expr` reads, or `None` when that cannot be known exactly: a name of an
    /// outer query or of a later (outer-joined) item, a subquery, a volatile function.
    fn reads(&self, expr: &Expr) -> Option<u64> {
        let mut reads = 0u64;
        let flow = visit::exprs(expr, |e| {
            let owner = match e {
                Expr::Identifier(ident) => self.owner_of_column(&ident.value),
                Expr::CompoundIdentifier(idents) if idents.len() == 2 => {
                    self.owner_named(&idents[0].value)
                }
                Expr::CompoundIdentifier(_)
                | Expr::Subquery(_)
                | Expr::Exists { .. }
                | Expr::InSubquery { .. } => None,
                Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("random") => None,
                _ => return ControlFlow::Continue(()),
            };
            match owner {
                Some(i) if i < self.run => {
                    reads |= 1 << i;
                    ControlFlow::Continue(())
                }
                _ => ControlFlow::Break(()),
            }
        });
        flow.is_continue().then_some(reads)
    }

    /// The run items a LATERAL `factor` reads by `name.column` anywhere inside it, or `None`
    /// when it names one of the `later` FROM items (after the run) or an item it cannot place.
    fn read_by(&self, factor: &TableFactor, later: &[String]) -> Option<u64> {
        let mut reads = 0u64;
        let flow = visit::exprs(factor, |e| {
            let Expr::CompoundIdentifier(idents) = e else {
                return ControlFlow::Continue(());
            };
            let [qualifier, _] = idents.as_slice() else {
                return ControlFlow::Continue(());
            };
            let name = qualifier.value.to_lowercase();
            if later.contains(&name) {
                return ControlFlow::Break(());
            }
            match self.owner_named(&name) {
                Some(i) if i < self.run => reads |= 1 << i,
                Some(_) => return ControlFlow::Break(()),
                // A relation of the subquery's own.
                None => {}
            }
            ControlFlow::Continue(())
        });
        flow.is_continue().then_some(reads)
    }

    /// Whether an unqualified name anywhere in the SELECT or its ORDER BY could be a column of
    /// two FROM items: GlueSQL takes the first, so the written order must stay.
    fn ambiguous(&self, select: &Select, order_by: Option<&OrderBy>) -> bool {
        let check = |e: &Expr| {
            let Expr::Identifier(ident) = e else {
                return ControlFlow::Continue(());
            };
            let column = ident.value.to_lowercase();
            let owners = self
                .items
                .iter()
                .filter(|item| item.columns.as_ref().is_none_or(|c| c.contains(&column)))
                .count();
            if owners >= 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        visit::exprs(select, check).is_break()
            || order_by.is_some_and(|order_by| visit::exprs(order_by, check).is_break())
    }
}

fn conjunct(names: &Names, expr: &Expr, reads: u64, origin: usize, rank: usize) -> Conjunct {
    let sides = match unnested(expr) {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => names.reads(left).zip(names.reads(right)),
        _ => None,
    };
    Conjunct {
        expr: expr.clone(),
        reads,
        sides,
        origin,
        rank,
    }
}

fn unnested(expr: &Expr) -> &Expr {
    match expr {
        Expr::Nested(inner) => unnested(inner),
        other => other,
    }
}

/// The conjuncts of an AND chain (parentheses looked through).
pub(super) fn split(expr: &Expr) -> Vec<&Expr> {
    match unnested(expr) {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut all = split(left);
            all.extend(split(right));
            all
        }
        other => vec![other],
    }
}

fn and(left: Expr, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op: BinaryOperator::And,
        right: Box::new(right),
    }
}

fn bits(mask: u64) -> impl Iterator<Item = usize> {
    (0..MAX_ITEMS).filter(move |i| mask & (1 << i) != 0)
}

/// Whether `c` is an equality GlueSQL can hash item `i` on, given the items `joined`.
fn hashes(c: &Conjunct, i: usize, joined: u64) -> bool {
    let bit = 1u64 << i;
    c.sides.is_some_and(|(l, r)| {
        (l == bit && r != 0 && r & !joined == 0) || (r == bit && l != 0 && l & !joined == 0)
    })
}

/// The order to join the run's items in: first the most selective-looking item (an equality
/// with a constant, then any filter, then the fewest rows), then each time an item an equality
/// joins to those already joined (else one any predicate connects, else the next as written).
fn choose_order(items: &[Item], conjuncts: &[Conjunct]) -> Vec<usize> {
    let n = items.len();
    let pinned = |i: usize| {
        conjuncts.iter().any(|c| {
            c.sides
                .is_some_and(|(l, r)| (l == 1 << i && r == 0) || (r == 1 << i && l == 0))
        })
    };
    let filtered = |i: usize| conjuncts.iter().any(|c| c.reads == 1 << i);
    let start = (0..n)
        .max_by_key(|&i| (pinned(i), filtered(i), Reverse(items[i].rows), Reverse(i)))
        .unwrap_or(0);
    let mut order = vec![start];
    let mut joined = 1u64 << start;
    while order.len() < n {
        let connected = |i: usize| {
            let bit = 1u64 << i;
            conjuncts.iter().any(|c| {
                c.reads & bit != 0 && c.reads & joined != 0 && c.reads & !(joined | bit) == 0
            })
        };
        let next = (0..n)
            .filter(|i| joined & (1 << i) == 0)
            .max_by_key(|&i| {
                (
                    conjuncts.iter().any(|c| hashes(c, i, joined)),
                    connected(i),
                    pinned(i),
                    filtered(i),
                    Reverse(items[i].rows),
                    Reverse(i),
                )
            })
            .unwrap_or(0);
        order.push(next);
        joined |= 1 << next;
    }
    order
}

/// The ON condition of joining item `joined` after `before`: equalities GlueSQL can hash on
/// first (it takes the first it finds), then the rest as written. An equality GlueSQL would
/// hash the wrong way round (`5 = t.x`, `t.a = t.b` with `t` the joined item: it looks the
/// other side up in the earlier row) is written `NOT (a <> b)`, the same truth.
fn join_condition(on: Vec<Conjunct>, joined: usize, before: &[usize]) -> Option<Expr> {
    let earlier = before.iter().fold(0u64, |mask, &i| mask | 1 << i);
    let (mut hashed, rest): (Vec<Conjunct>, Vec<Conjunct>) =
        on.into_iter().partition(|c| hashes(c, joined, earlier));
    hashed.extend(rest);
    let bit = 1u64 << joined;
    hashed
        .into_iter()
        .map(|c| {
            // GlueSQL hashes the joined item on the first side readable from it alone and
            // looks the other up in the earlier row, which misreads it if it reads `joined`.
            let misread = c.sides.is_some_and(|(l, r)| {
                if l & !bit == 0 {
                    r & bit != 0
                } else {
                    r & !bit == 0 && l & bit != 0
                }
            });
            if misread {
                not_distinct_written(c.expr)
            } else {
                c.expr
            }
        })
        .reduce(and)
}

/// `a = b` as `NOT (a <> b)`.
fn not_distinct_written(expr: Expr) -> Expr {
    match expr {
        Expr::Nested(inner) => not_distinct_written(*inner),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: Box::new(Expr::Nested(Box::new(Expr::BinaryOp {
                left,
                op: BinaryOperator::NotEq,
                right,
            }))),
        },
        other => other,
    }
}
