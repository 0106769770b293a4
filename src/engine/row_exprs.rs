//! Planned expressions compiled once for evaluation over many stored rows (RETURNING's): a
//! column, a value, `+ - * / %` and UPPER / LOWER run with GlueSQL's own value operations and
//! no per-call context (GlueSQL's evaluator allocates one and finds each column by name per
//! call), into values or packed straight for JS (packed_rows.rs). Every other shape, and any
//! value of a kind a shape does not expect, is evaluated by GlueSQL's `evaluate_stateless`:
//! this module must never decide a value GlueSQL would not.

use {
    crate::{error::DbError, packed_rows::PackedRows},
    gluesql_core::{
        ast::BinaryOperator,
        data::Value,
        error::Result as GlueResult,
        executor::{evaluate_stateless, RowContext},
        plan::{ExprPlan, FunctionExprPlan},
    },
    std::borrow::Cow,
};

/// A compiled expression; `None` from `compile` means GlueSQL evaluates the whole item.
enum Compiled<'p> {
    Column(usize),
    Value(&'p Value),
    Arithmetic(
        Box<Compiled<'p>>,
        fn(&Value, &Value) -> GlueResult<Value>,
        Box<Compiled<'p>>,
    ),
    /// UPPER (true) or LOWER (false) of a text.
    Case(bool, Box<Compiled<'p>>),
}

fn compile<'p>(expr: &'p ExprPlan, columns: &[String]) -> Option<Compiled<'p>> {
    Some(match expr {
        // As GlueSQL's row context finds a name: the first column so named, exactly.
        ExprPlan::Identifier(name) => Compiled::Column(columns.iter().position(|c| c == name)?),
        ExprPlan::Value(value) => Compiled::Value(value),
        ExprPlan::Nested(inner) => compile(inner, columns)?,
        ExprPlan::BinaryOp { left, op, right } => {
            let apply: fn(&Value, &Value) -> GlueResult<Value> = match op {
                BinaryOperator::Plus => Value::add,
                BinaryOperator::Minus => Value::subtract,
                BinaryOperator::Multiply => Value::multiply,
                BinaryOperator::Divide => Value::divide,
                BinaryOperator::Modulo => Value::modulo,
                _ => return None,
            };
            Compiled::Arithmetic(
                Box::new(compile(left, columns)?),
                apply,
                Box::new(compile(right, columns)?),
            )
        }
        ExprPlan::Function(function) => match function.as_ref() {
            FunctionExprPlan::Upper(inner) => {
                Compiled::Case(true, Box::new(compile(inner, columns)?))
            }
            FunctionExprPlan::Lower(inner) => {
                Compiled::Case(false, Box::new(compile(inner, columns)?))
            }
            _ => return None,
        },
        _ => return None,
    })
}

/// The value of `compiled` over `row`; `None` where GlueSQL must say (an error, a kind the
/// shape does not take), so the caller asks it.
fn value_of(compiled: &Compiled<'_>, row: &[Value]) -> Option<Value> {
    match compiled {
        Compiled::Column(i) => row.get(*i).cloned(),
        Compiled::Value(value) => Some((*value).clone()),
        Compiled::Arithmetic(left, apply, right) => {
            let left = operand(left, row)?;
            let right = operand(right, row)?;
            // GlueSQL's binary operators answer NULL for a NULL operand before anything else.
            if left.is_null() || right.is_null() {
                return Some(Value::Null);
            }
            apply(&left, &right).ok()
        }
        Compiled::Case(upper, inner) => match operand(inner, row)?.as_ref() {
            Value::Null => Some(Value::Null),
            Value::Str(text) if text.is_ascii() => {
                let mut changed = String::with_capacity(text.len());
                ascii_case(text, *upper, &mut changed);
                Some(Value::Str(changed))
            }
            Value::Str(text) if *upper => Some(Value::Str(text.to_uppercase())),
            Value::Str(text) => Some(Value::Str(text.to_lowercase())),
            _ => None,
        },
    }
}

/// ASCII `text` appended to `out` in upper (or lower) case: byte by byte, as Unicode's mapping
/// would change it.
fn ascii_case(text: &str, upper: bool, out: &mut String) {
    let start = out.len();
    out.push_str(text);
    if upper {
        out[start..].make_ascii_uppercase();
    } else {
        out[start..].make_ascii_lowercase();
    }
}

/// An operand's value, borrowed where it is stored (a column, a constant): an operator only
/// reads its operands, and a copy per row of each (a text's included) cost as much as the
/// operation.
fn operand<'v>(compiled: &Compiled<'v>, row: &'v [Value]) -> Option<Cow<'v, Value>> {
    match compiled {
        Compiled::Column(i) => row.get(*i).map(Cow::Borrowed),
        Compiled::Value(value) => Some(Cow::Borrowed(*value)),
        _ => value_of(compiled, row).map(Cow::Owned),
    }
}

/// Expressions planned over the rows of a table with `columns`, each compiled where it can be.
pub(super) struct RowExprs<'p> {
    columns: &'p [String],
    items: Vec<(&'p ExprPlan, Option<Compiled<'p>>)>,
}

impl<'p> RowExprs<'p> {
    pub(super) fn new(exprs: impl Iterator<Item = &'p ExprPlan>, columns: &'p [String]) -> Self {
        RowExprs {
            columns,
            items: exprs.map(|expr| (expr, compile(expr, columns))).collect(),
        }
    }

    /// One row's values, as GlueSQL's projection evaluates them.
    pub(super) fn evaluate(&self, row: &[Value]) -> Result<Vec<Value>, DbError> {
        // A plain loop into a sized vector: run per written row, an iterator of results
        // collected through `Result` cost as much again as the compiled items themselves.
        let mut values = Vec::with_capacity(self.items.len());
        for (expr, compiled) in &self.items {
            values.push(match compiled.as_ref().and_then(|c| value_of(c, row)) {
                Some(value) => value,
                None => by_gluesql(expr, self.columns, row)?,
            });
        }
        Ok(values)
    }
}

impl RowExprs<'_> {
    /// One row's values, as `evaluate` gives them, packed (see packed_rows.rs) with no value
    /// made where one is stored or is an ASCII text changing case: a column is packed from the
    /// row, UPPER / LOWER of such a text is written straight into the packed text.
    pub(super) fn pack(&self, row: &[Value], packed: &mut PackedRows) -> Result<(), DbError> {
        for (column, (expr, compiled)) in self.items.iter().enumerate() {
            match compiled {
                Some(Compiled::Column(i)) => {
                    if let Some(value) = row.get(*i) {
                        packed.push(column, value);
                        continue;
                    }
                }
                Some(Compiled::Case(upper, inner)) => {
                    if let Some(Value::Str(text)) = operand(inner, row).as_deref() {
                        if text.is_ascii() {
                            packed.push_text(column, |packed| ascii_case(text, *upper, packed));
                            continue;
                        }
                    }
                }
                _ => {}
            }
            let value = match compiled.as_ref().and_then(|c| value_of(c, row)) {
                Some(value) => value,
                None => by_gluesql(expr, self.columns, row)?,
            };
            packed.push(column, &value);
        }
        Ok(())
    }
}

/// GlueSQL's evaluation of one item over one row. Kept out of line: inlined, its evaluator's
/// large stack frame was set up (and probed) on every call, compiled items' included.
#[inline(never)]
#[cold]
fn by_gluesql(expr: &ExprPlan, columns: &[String], row: &[Value]) -> Result<Value, DbError> {
    let context = RowContext::RefVecData {
        columns,
        values: row,
    };
    Ok(evaluate_stateless(Some(context), expr)?.try_into()?)
}

#[cfg(test)]
mod tests {
    use {super::*, gluesql_core::ast::Literal};

    /// Each shape answers as GlueSQL's evaluator does, errors and NULLs included.
    #[test]
    fn compiled_shapes_answer_as_gluesql_does() {
        let columns = vec!["id".to_owned(), "score".to_owned(), "name".to_owned()];
        let rows = [
            vec![
                Value::I64(1),
                Value::F64(2.5),
                Value::Str("ÉtÉ ß".to_owned()),
            ],
            vec![Value::I64(i64::MAX), Value::Null, Value::Null],
            vec![Value::I64(0), Value::F64(-0.0), Value::I64(7)],
            vec![
                Value::I64(3),
                Value::F64(1e308),
                Value::Str("MiXed ascii 42".to_owned()),
            ],
        ];
        let id = || Box::new(ExprPlan::Identifier("id".to_owned()));
        let score = || Box::new(ExprPlan::Identifier("score".to_owned()));
        let name = || ExprPlan::Identifier("name".to_owned());
        let op = |left, op, right| ExprPlan::BinaryOp { left, op, right };
        let exprs = [
            *id(),
            op(
                score(),
                BinaryOperator::Multiply,
                Box::new(ExprPlan::Value(Value::I64(2))),
            ),
            op(
                id(),
                BinaryOperator::Plus,
                Box::new(ExprPlan::Value(Value::I64(1))),
            ),
            op(
                Box::new(ExprPlan::Value(Value::I64(10))),
                BinaryOperator::Divide,
                id(),
            ),
            op(
                id(),
                BinaryOperator::Modulo,
                Box::new(ExprPlan::Value(Value::I64(0))),
            ),
            op(id(), BinaryOperator::Minus, score()),
            ExprPlan::Function(Box::new(FunctionExprPlan::Upper(name()))),
            ExprPlan::Function(Box::new(FunctionExprPlan::Lower(name()))),
            ExprPlan::Nested(Box::new(ExprPlan::Identifier("nope".to_owned()))),
            // Not compiled: GlueSQL evaluates a literal itself.
            op(
                id(),
                BinaryOperator::Plus,
                Box::new(ExprPlan::Literal(Literal::Number(2.into()))),
            ),
        ];
        let fast = RowExprs::new(exprs.iter(), &columns);
        assert!(fast.items[..8].iter().all(|(_, c)| c.is_some()));
        for row in &rows {
            for (i, expr) in exprs.iter().enumerate() {
                let context = RowContext::RefVecData {
                    columns: &columns,
                    values: row,
                };
                let glue: Result<Value, DbError> = evaluate_stateless(Some(context), expr)
                    .map_err(DbError::from)
                    .and_then(|v| Ok(v.try_into()?));
                let ours = RowExprs::new(std::iter::once(expr), &columns)
                    .evaluate(row)
                    .map(|mut values| values.remove(0));
                match (&glue, &ours) {
                    (Ok(a), Ok(b)) => assert!(
                        a == b || (a.is_null() && b.is_null()),
                        "item {i} over {row:?}: {a:?} vs {b:?}"
                    ),
                    (Err(a), Err(b)) => assert_eq!(a.message, b.message, "item {i}"),
                    _ => panic!("item {i} over {row:?}: {glue:?} vs {ours:?}"),
                }
            }
        }
    }
}
