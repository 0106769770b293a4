//! Argument checks in front of GlueSQL's evaluator: GlueSQL 0.20 panics on some function
//! arguments (an empty LPAD fill, a negative REPEAT, a byte index inside a character, a bad
//! FORMAT pattern), and the browser build cannot catch a panic. Every statement (after
//! translation), every stored function body and every column DEFAULT passes through here, so
//! such arguments become an `execute` error instead; values made text there take PostgreSQL's
//! spelling (see `as_text`). It evaluates nothing itself, except a DEFAULT's constant parts
//! (see `constant`).

mod as_text;
mod calls;
mod constant;
mod dates;
mod types;
mod values;
pub(crate) mod walk;

pub use {
    constant::{check_default, DefaultError},
    values::check_value,
};

use {
    crate::error::{DbError, ErrorCode},
    gluesql_core::{
        ast::{AlterTableOperation, DataType, Expr, Function, Literal, Statement},
        data::CustomFunction,
        error::{Error as GlueError, ValueError},
    },
    types::Scope,
};

/// Longest text LPAD, RPAD or REPEAT may make: past it the browser's memory is at stake.
pub const MAX_TEXT_CHARS: i64 = 10_000_000;

/// Expression nodes the guards may add to one statement: each guard repeats the arguments it
/// checks, so nested guarded calls multiply.
const MAX_ADDED_NODES: usize = 100_000;

/// Starts the text of the error a failed check raises (see `raise`).
const MARKER: &str = "idbsql-guard: ";

/// An expression that fails with `message` when evaluated, and only then: the one runtime
/// error GlueSQL lets an expression carry a text of ours in (a UUID that does not parse).
pub(crate) fn raise(message: &str) -> Expr {
    Expr::Function(Box::new(Function::Cast {
        expr: Expr::Literal(Literal::QuotedString(format!("{MARKER}{message}"))),
        data_type: DataType::Uuid,
    }))
}

/// The message of an error a guard raised, if `error` is one.
pub fn guard_message(error: &GlueError) -> Option<&str> {
    match error {
        GlueError::Value(value) => match value.as_ref() {
            ValueError::FailedToParseUUID(text) => text.strip_prefix(MARKER),
            _ => None,
        },
        _ => None,
    }
}

/// Too many checks would be added: the statement is refused rather than made huge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the statement nests too many checked function calls to run")]
pub struct TooComplex;

/// The columns (name and type) of a table, or `None` when there is no such table.
pub type ColumnsOf<'a> = &'a dyn Fn(&str) -> Option<Vec<(String, DataType)>>;

/// Readies a translated statement for GlueSQL: every call that needs one behind its guard,
/// and every DEFAULT it defines checked (GlueSQL evaluates those as written, see `constant`).
/// `columns_of` tells which names may hold dates (their arithmetic is guarded too).
pub fn guard_statement(statement: &mut Statement, columns_of: ColumnsOf) -> Result<(), DbError> {
    let defaults: Vec<&Expr> = match &*statement {
        Statement::CreateTable {
            columns: Some(columns),
            ..
        } => columns.iter().filter_map(|c| c.default.as_ref()).collect(),
        Statement::AlterTable {
            operation: AlterTableOperation::AddColumn { column_def },
            ..
        } => column_def.default.iter().collect(),
        Statement::CreateFunction { args, .. } => {
            args.iter().filter_map(|a| a.default.as_ref()).collect()
        }
        _ => Vec::new(),
    };
    for default in defaults {
        check_default(default).map_err(|error| match error {
            DefaultError::Fails(_) => DbError::new(ErrorCode::Execute, error.to_string()),
            DefaultError::Unsupported(_) => DbError::new(ErrorCode::Plan, error.to_string()),
        })?;
    }
    let mut budget = Budget::new(None);
    walk::statement_exprs(statement, &mut |expr| budget.guard(expr));
    // Only sums and texts made of values need the names' types; most statements have
    // neither, and skip looking them up.
    if budget.sums || budget.texts {
        budget.scope = Some(Scope::of_statement(statement, columns_of));
    }
    if budget.sums {
        walk::statement_top(statement, &mut |expr| budget.guard_dates(expr));
    }
    if budget.texts {
        walk::statement_exprs(statement, &mut |expr| budget.guard_text(expr));
    }
    budget
        .result()
        .map_err(|too_complex| DbError::new(ErrorCode::Plan, too_complex.to_string()))
}

/// `expr`, naming no column, with every call that needs one behind its guard.
pub fn guard_expr(expr: &mut Expr) -> Result<(), TooComplex> {
    guard_in(expr, Scope::default())
}

fn guard_in(expr: &mut Expr, scope: Scope) -> Result<(), TooComplex> {
    let mut budget = Budget::new(Some(scope));
    walk::expr(expr, &mut |e| budget.guard(e));
    budget.guard_dates(expr);
    if budget.texts {
        walk::expr(expr, &mut |e| budget.guard_text(e));
    }
    budget.result()
}

/// `expr` reading a row of columns `columns` (a partial index's predicate), with every call
/// behind its guard.
pub fn guard_row_expr(expr: &mut Expr, columns: &[(String, DataType)]) -> Result<(), TooComplex> {
    guard_in(expr, Scope::of_arguments(columns))
}

/// A stored function as it is evaluated: its body and argument defaults guarded. The
/// function as written (exported, synced, listed) is kept apart by the store.
pub fn guarded_function(function: &CustomFunction) -> Result<CustomFunction, TooComplex> {
    let mut guarded = function.clone();
    let args: Vec<(String, DataType)> = function
        .args
        .iter()
        .map(|arg| (arg.name.clone(), arg.data_type.clone()))
        .collect();
    guard_in(&mut guarded.body, Scope::of_arguments(&args))?;
    for arg in &mut guarded.args {
        if let Some(default) = &mut arg.default {
            guard_expr(default)?;
        }
    }
    Ok(guarded)
}

struct Budget {
    added: usize,
    /// Whether a `+` or `-` was met (date arithmetic is guarded in a second pass).
    sums: bool,
    /// Whether a CAST to TEXT, a `||` or a CONCAT was met (values made text in a pass of their
    /// own).
    texts: bool,
    /// The types names may have; looked up only once a sum or a text is met.
    scope: Option<Scope>,
}

impl Budget {
    fn new(scope: Option<Scope>) -> Self {
        Self {
            added: 0,
            sums: false,
            texts: false,
            scope,
        }
    }

    fn guard(&mut self, expr: &mut Expr) {
        if self.added > MAX_ADDED_NODES {
            return;
        }
        self.sums |= dates::is_sum(expr);
        self.texts |= as_text::may_apply(expr);
        let guarded = match expr {
            Expr::Function(function) => calls::guarded(function),
            Expr::BinaryOp { left, op, right } => calls::guarded_arithmetic(left, op, right),
            _ => None,
        };
        if let Some(guarded) = guarded {
            self.added += size(&guarded);
            *expr = guarded;
        }
    }

    /// Puts the chains of date arithmetic in `expr` behind their checks (see `dates`).
    fn guard_dates(&mut self, expr: &mut Expr) {
        if let (true, Some(scope)) = (self.added <= MAX_ADDED_NODES, &self.scope) {
            self.added += dates::guard(expr, scope);
        }
    }

    /// Makes text of values in `expr` as PostgreSQL does (see `as_text`).
    fn guard_text(&mut self, expr: &mut Expr) {
        let (true, Some(scope)) = (self.added <= MAX_ADDED_NODES, &self.scope) else {
            return;
        };
        if let Some(guarded) = as_text::guarded(expr, scope) {
            self.added += size(&guarded);
            *expr = guarded;
        }
    }

    fn result(self) -> Result<(), TooComplex> {
        if self.added > MAX_ADDED_NODES {
            Err(TooComplex)
        } else {
            Ok(())
        }
    }
}

/// Nodes in an expression, subqueries included.
fn size(expr: &Expr) -> usize {
    let mut count = 0;
    let mut copy = expr.clone();
    walk::expr(&mut copy, &mut |_| count += 1);
    count
}

#[cfg(test)]
mod tests;
