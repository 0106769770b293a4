//! Walks of parsed SQL through sqlparser's visitor, every pass through the same two visitor
//! types: sqlparser's traversal is generic over the visitor, so each closure-typed visitor
//! compiled a copy of it for the whole AST (~190 KB of the wasm for a dozen passes; issue 14,
//! W6). Knows nothing of what a pass looks for: callers hand in closures.

use {
    gluesql_core::sqlparser::ast::{
        Expr, ObjectName, Query, TableFactor, Visit, VisitMut, Visitor, VisitorMut,
    },
    std::ops::ControlFlow,
};

type ExprFn<'a> = &'a mut dyn FnMut(&Expr) -> ControlFlow<()>;
type RelationFn<'a> = &'a mut dyn FnMut(&ObjectName) -> ControlFlow<()>;
type FactorFn<'a> = &'a mut dyn FnMut(&TableFactor) -> ControlFlow<()>;
type QueryFn<'a> = &'a mut dyn FnMut(&Query) -> ControlFlow<()>;
type ExprMutFn<'a> = &'a mut dyn FnMut(&mut Expr) -> ControlFlow<()>;
type FactorMutFn<'a> = &'a mut dyn FnMut(&mut TableFactor) -> ControlFlow<()>;
type RelationMutFn<'a> = &'a mut dyn FnMut(&mut ObjectName) -> ControlFlow<()>;
type QueryMutFn<'a> = &'a mut dyn FnMut(&mut Query) -> ControlFlow<()>;
type NodeMutFn<'a> = &'a mut dyn FnMut(Node<'_>) -> ControlFlow<()>;

/// What `nodes_mut` hands its one closure: an expression after its operands, a query before
/// and after what it holds (so a walk may take a query out and put it back bound).
pub enum Node<'n> {
    Expr(&'n mut Expr),
    QueryEnter(&'n mut Query),
    QueryLeave(&'n mut Query),
}

/// The one read-only visitor: an expression, a relation, a table factor and a query hook,
/// each optional.
#[derive(Default)]
struct Reader<'a> {
    expr: Option<ExprFn<'a>>,
    relation: Option<RelationFn<'a>>,
    factor: Option<FactorFn<'a>>,
    query: Option<QueryFn<'a>>,
}

impl Visitor for Reader<'_> {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        self.expr
            .as_mut()
            .map_or(ControlFlow::Continue(()), |f| f(expr))
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        self.relation
            .as_mut()
            .map_or(ControlFlow::Continue(()), |f| f(relation))
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        self.factor
            .as_mut()
            .map_or(ControlFlow::Continue(()), |f| f(factor))
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        self.query
            .as_mut()
            .map_or(ControlFlow::Continue(()), |f| f(query))
    }
}

/// The one rewriting visitor: expressions after their operands (as sqlparser's
/// `visit_expressions_mut`), table factors before what they hold, queries after theirs.
#[derive(Default)]
struct Rewriter<'a> {
    expr: Option<ExprMutFn<'a>>,
    factor: Option<FactorMutFn<'a>>,
    relation: Option<RelationMutFn<'a>>,
    query: Option<QueryMutFn<'a>>,
    node: Option<NodeMutFn<'a>>,
}

impl VisitorMut for Rewriter<'_> {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Some(f) = self.node.as_mut() {
            return f(Node::Expr(expr));
        }
        self.expr
            .as_mut()
            .map_or(ControlFlow::Continue(()), |f| f(expr))
    }

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        self.node
            .as_mut()
            .map_or(ControlFlow::Continue(()), |f| f(Node::QueryEnter(query)))
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        self.factor
            .as_mut()
            .map_or(ControlFlow::Continue(()), |f| f(factor))
    }

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<()> {
        self.relation
            .as_mut()
            .map_or(ControlFlow::Continue(()), |f| f(relation))
    }

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let Some(f) = self.node.as_mut() {
            return f(Node::QueryLeave(query));
        }
        self.query
            .as_mut()
            .map_or(ControlFlow::Continue(()), |f| f(query))
    }
}

/// `f` on every expression in `node`, outer before inner, until it breaks.
pub fn exprs<N: Visit + ?Sized>(
    node: &N,
    mut f: impl FnMut(&Expr) -> ControlFlow<()>,
) -> ControlFlow<()> {
    node.visit(&mut Reader {
        expr: Some(&mut f),
        ..Reader::default()
    })
}

/// Whether `holds` is true of some expression in `node`.
pub fn any_expr<N: Visit + ?Sized>(node: &N, mut holds: impl FnMut(&Expr) -> bool) -> bool {
    exprs(node, |e| match holds(e) {
        true => ControlFlow::Break(()),
        false => ControlFlow::Continue(()),
    })
    .is_break()
}

/// Every expression in `node`, inner before outer, replaced by what `f` gives for it (`None`
/// keeps it); the first error stops the walk and is answered.
pub fn try_replace_exprs<N: VisitMut + ?Sized, E>(
    node: &mut N,
    mut f: impl FnMut(&Expr) -> Result<Option<Expr>, E>,
) -> Result<(), E> {
    let mut failed = None;
    let _ = exprs_mut(node, |expr| match f(expr) {
        Ok(replacement) => {
            if let Some(replacement) = replacement {
                *expr = replacement;
            }
            ControlFlow::Continue(())
        }
        Err(error) => {
            failed = Some(error);
            ControlFlow::Break(())
        }
    });
    failed.map_or(Ok(()), Err)
}

/// `f` on every table or view name `node` reads, until it breaks.
pub fn relations<N: Visit + ?Sized>(
    node: &N,
    mut f: impl FnMut(&ObjectName) -> ControlFlow<()>,
) -> ControlFlow<()> {
    node.visit(&mut Reader {
        relation: Some(&mut f),
        ..Reader::default()
    })
}

/// `f` on every table factor in `node`, outer before inner, until it breaks.
pub fn table_factors<N: Visit + ?Sized>(
    node: &N,
    mut f: impl FnMut(&TableFactor) -> ControlFlow<()>,
) -> ControlFlow<()> {
    node.visit(&mut Reader {
        factor: Some(&mut f),
        ..Reader::default()
    })
}

/// `f` on every query in `node` (the statement's, derived tables, subqueries, set operation
/// arms in parentheses), outer before inner, until it breaks.
pub fn queries<N: Visit + ?Sized>(
    node: &N,
    mut f: impl FnMut(&Query) -> ControlFlow<()>,
) -> ControlFlow<()> {
    node.visit(&mut Reader {
        query: Some(&mut f),
        ..Reader::default()
    })
}

/// `f` on every expression in `node`, inner before outer, each free to rewrite it.
pub fn exprs_mut<N: VisitMut + ?Sized>(
    node: &mut N,
    mut f: impl FnMut(&mut Expr) -> ControlFlow<()>,
) -> ControlFlow<()> {
    node.visit(&mut Rewriter {
        expr: Some(&mut f),
        ..Rewriter::default()
    })
}

/// `f` on every table factor in `node` before what it holds (a replacement is walked too).
pub fn table_factors_mut<N: VisitMut + ?Sized>(
    node: &mut N,
    mut f: impl FnMut(&mut TableFactor) -> ControlFlow<()>,
) -> ControlFlow<()> {
    node.visit(&mut Rewriter {
        factor: Some(&mut f),
        ..Rewriter::default()
    })
}

/// `f` on every table or view name `node` reads or writes, free to respell it.
pub fn relations_mut<N: VisitMut + ?Sized>(
    node: &mut N,
    mut f: impl FnMut(&mut ObjectName) -> ControlFlow<()>,
) -> ControlFlow<()> {
    node.visit(&mut Rewriter {
        relation: Some(&mut f),
        ..Rewriter::default()
    })
}

/// `f` on every query in `node` (derived tables, subqueries, set operation arms written in
/// parentheses), inner before outer, each free to rewrite it.
pub fn queries_mut<N: VisitMut + ?Sized>(
    node: &mut N,
    mut f: impl FnMut(&mut Query) -> ControlFlow<()>,
) -> ControlFlow<()> {
    node.visit(&mut Rewriter {
        query: Some(&mut f),
        ..Rewriter::default()
    })
}

/// `f` on every expression (inner before outer) and every query (on entering and on leaving
/// it) in `node`, free to rewrite each.
pub fn nodes_mut<N: VisitMut + ?Sized>(
    node: &mut N,
    mut f: impl FnMut(Node<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    node.visit(&mut Rewriter {
        node: Some(&mut f),
        ..Rewriter::default()
    })
}
