//! What a secondary index's expression may be, as kept in a table's schema: a column, an
//! expression of its columns (`lower(name)`), or a partial index's `CASE WHEN p THEN e END`
//! (the value `e` of the rows `p` holds for; see docs/format.md). Checks and reads them; never
//! evaluates one (index_data.rs does, guarded).

use gluesql_core::ast::{Expr, Function};

/// Most nodes one index expression (with its predicate) may have, and how deep it may nest:
/// every replica evaluates it for every row written, so it stays small.
const MOST_NODES: usize = 200;
const DEEPEST: usize = 24;

/// A partial index's schema expression: its value and predicate joined as one CASE.
pub fn partial(value: Expr, predicate: Expr) -> Expr {
    Expr::Case {
        operand: None,
        when_then: vec![(predicate, value)],
        else_result: None,
    }
}

/// `(predicate, value)` of a partial index's schema expression; `None` for a full index. (A
/// full index written as this CASE reads the same: under its predicate the CASE is its value.)
pub fn partial_parts(expr: &Expr) -> Option<(&Expr, &Expr)> {
    match expr {
        Expr::Case {
            operand: None,
            when_then,
            else_result: None,
        } => match when_then.as_slice() {
            [(predicate, value)] => Some((predicate, value)),
            _ => None,
        },
        _ => None,
    }
}

/// Functions whose value is not fixed by their arguments: an index of them would go stale.
fn is_volatile(function: &Function) -> bool {
    matches!(
        function,
        Function::Now()
            | Function::CurrentDate()
            | Function::CurrentTime()
            | Function::CurrentTimestamp()
            | Function::Rand(_)
            | Function::GenerateUuid()
            | Function::Custom { .. }
    )
}

/// Every column name `expr` reads (bounded like `check`; deeper parts are not visited).
pub fn columns_read(expr: &Expr) -> Vec<String> {
    let mut columns = Vec::new();
    let mut nodes = 0;
    let _ = walk(expr, 0, &mut nodes, &mut |e| {
        match e {
            Expr::Identifier(name) => columns.push(name.clone()),
            Expr::CompoundIdentifier { ident, .. } => columns.push(ident.clone()),
            _ => {}
        }
        Ok(())
    });
    columns
}

/// Whether `expr` is an index expression of a table with `columns`: it reads at least one of
/// them and nothing else, is small, and holds no subquery, aggregate, parameter or function
/// whose value changes between calls. What it evaluates is guarded like every statement.
pub fn check(expr: &Expr, columns: &[String]) -> Result<(), String> {
    let mut reads_a_column = false;
    let mut nodes = 0;
    walk(expr, 0, &mut nodes, &mut |e| match e {
        Expr::Identifier(name) => {
            if columns.iter().any(|c| c == name) {
                reads_a_column = true;
                Ok(())
            } else {
                Err(format!("column {name} does not exist"))
            }
        }
        Expr::CompoundIdentifier { .. } => {
            Err("an index expression names its table's columns unqualified".to_owned())
        }
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
            Err("an index expression cannot use a subquery".to_owned())
        }
        Expr::Aggregate(_) => Err("an index expression cannot use an aggregate".to_owned()),
        Expr::Function(function) if is_volatile(function) => Err(format!(
            "functions in an index expression must be immutable (built-in and fixed by their \
             arguments): {}",
            gluesql_core::ast::ToSql::to_sql(e)
        )),
        _ => Ok(()),
    })?;
    if reads_a_column {
        Ok(())
    } else {
        Err("an index expression must read a column of its table".to_owned())
    }
}

/// Visits `e` and what it holds, children first, refusing past `MOST_NODES` or `DEEPEST`.
fn walk(
    e: &Expr,
    depth: usize,
    nodes: &mut usize,
    visit: &mut dyn FnMut(&Expr) -> Result<(), String>,
) -> Result<(), String> {
    *nodes += 1;
    if depth > DEEPEST || *nodes > MOST_NODES {
        return Err("an index expression is too complex".to_owned());
    }
    // `children` takes the expression mutably; a clone keeps the caller's untouched.
    let mut owned = e.clone();
    let mut result = Ok(());
    crate::guard::walk::children(&mut owned, &mut |child| {
        if result.is_ok() {
            result = walk(child, depth + 1, nodes, visit);
        }
    });
    result?;
    visit(e)
}
