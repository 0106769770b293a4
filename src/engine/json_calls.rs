//! JSON operators, functions and casts in statements (crate::json::ops computes them): each
//! becomes one internal call at parse, folded to its value when its arguments are constants
//! (literals, and at run parameters), and computed per row as a tree of calls over a row's
//! values. Where a call runs is json_placement.rs's; this file never looks at schemas.

use {
    super::computed_from::refused,
    crate::{
        error::{DbError, ErrorCode},
        json::{
            ops,
            ops::{Keys, Op},
            JsonKind,
        },
    },
    gluesql_core::{
        data::Value,
        sqlparser::ast::{
            BinaryOperator, DataType, Expr, Function, FunctionArg, FunctionArgExpr,
            FunctionArgumentList, FunctionArguments, Ident, ObjectName, SelectItem, SetExpr,
            Statement, UnaryOperator, Value as SqlValue,
        },
    },
    std::ops::ControlFlow,
};

/// The internal function every JSON operation becomes: `CALL('<op>', '<flags>', args…)`, the
/// flags a `j` for each argument holding JSON (set at run, empty until then).
pub const CALL: &str = "__idbsql_json";

pub(super) fn text_literal(text: &str) -> Expr {
    Expr::Value(SqlValue::SingleQuotedString(text.to_owned()))
}

pub(super) fn internal(op: Op, args: Vec<Expr>) -> Expr {
    let args = [text_literal(op.name()), text_literal("")]
        .into_iter()
        .chain(args)
        .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
        .collect();
    Expr::Function(Function {
        name: ObjectName(vec![Ident::new(CALL)]),
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args,
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

/// A call's operation, flags and argument expressions, if `expr` is one.
pub(super) fn as_call(expr: &Expr) -> Option<(Op, Vec<bool>, Vec<&Expr>)> {
    let Expr::Function(f) = expr else {
        return None;
    };
    if f.name.0.len() != 1 || !f.name.0[0].value.eq_ignore_ascii_case(CALL) {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let mut exprs = list.args.iter().map(|a| match a {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
        _ => None,
    });
    let op = match exprs.next()?? {
        Expr::Value(SqlValue::SingleQuotedString(name)) => Op::named(name)?,
        _ => return None,
    };
    let flags = match exprs.next()?? {
        Expr::Value(SqlValue::SingleQuotedString(flags)) => {
            flags.chars().map(|c| c == 'j').collect()
        }
        _ => return None,
    };
    let args = exprs.collect::<Option<Vec<_>>>()?;
    Some((op, flags, args))
}

pub(super) fn is_call(expr: &Expr) -> bool {
    as_call(expr).is_some()
}

pub(super) fn call_args_mut(expr: &mut Expr) -> Vec<&mut Expr> {
    match expr {
        Expr::Function(Function {
            args: FunctionArguments::List(list),
            ..
        }) => list
            .args
            .iter_mut()
            .skip(2)
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A call as the query wrote it (for messages): each internal call spelled back.
pub(super) fn written(expr: &Expr) -> String {
    let mut expr = expr.clone();
    let _ = super::visit::exprs_mut(&mut expr, |e| {
        let Some((op, _, args)) = as_call(e) else {
            return ControlFlow::<()>::Continue(());
        };
        match (spelling(op), args.as_slice()) {
            (Spelling::Operator(operator), [left, right]) => {
                *e = Expr::BinaryOp {
                    left: Box::new((*left).clone()),
                    op: operator,
                    right: Box::new((*right).clone()),
                };
            }
            (Spelling::Function(name), _) => {
                if let Expr::Function(f) = e {
                    f.name = ObjectName(vec![Ident::new(name)]);
                    if let FunctionArguments::List(list) = &mut f.args {
                        list.args.drain(..2.min(list.args.len()));
                    }
                }
            }
            (Spelling::Operator(_), _) => {}
        }
        ControlFlow::Continue(())
    });
    expr.to_string()
}

/// How a query writes an operation: an operator between two operands, or a function.
enum Spelling {
    Operator(BinaryOperator),
    Function(String),
}

fn spelling(op: Op) -> Spelling {
    let lower = |kind: JsonKind| kind.name().to_ascii_lowercase();
    Spelling::Function(match op {
        Op::Get { text: false } => return Spelling::Operator(BinaryOperator::Arrow),
        Op::Get { text: true } => return Spelling::Operator(BinaryOperator::LongArrow),
        Op::Path { text: false } => return Spelling::Operator(BinaryOperator::HashArrow),
        Op::Path { text: true } => return Spelling::Operator(BinaryOperator::HashLongArrow),
        Op::Contains => return Spelling::Operator(BinaryOperator::AtArrow),
        Op::HasKey(Keys::One) => return Spelling::Operator(BinaryOperator::Question),
        Op::HasKey(Keys::Any) => return Spelling::Operator(BinaryOperator::QuestionPipe),
        Op::HasKey(Keys::All) => return Spelling::Operator(BinaryOperator::QuestionAnd),
        Op::Equals { equal: true } => return Spelling::Operator(BinaryOperator::Eq),
        Op::Equals { equal: false } => return Spelling::Operator(BinaryOperator::NotEq),
        Op::Cast(kind) => lower(kind),
        Op::TypeOf => "json_typeof".into(),
        Op::ArrayLength => "json_array_length".into(),
        Op::BuildObject(kind) => format!("{}_build_object", lower(kind)),
        Op::BuildArray(kind) => format!("{}_build_array", lower(kind)),
        Op::ToJson(kind) => format!("to_{}", lower(kind)),
        Op::Extract => "json_extract".into(),
        Op::RowObject => "row_to_json".into(),
        Op::Set => "jsonb_set".into(),
        Op::RowElement => "json_agg".into(),
        Op::Element(kind) | Op::ArrayOf(kind) => format!("{}_agg", lower(kind)),
    })
}

/// Whether an operation's result is JSON (not text, a number or a boolean).
pub(super) fn yields_json(op: Op) -> bool {
    matches!(
        op,
        Op::Get { text: false }
            | Op::Path { text: false }
            | Op::BuildObject(_)
            | Op::BuildArray(_)
            | Op::Cast(_)
            | Op::ToJson(_)
            | Op::ArrayOf(_)
            | Op::RowObject
            | Op::Set
    )
}

/// The JSON operation a parsed expression spells, with its operands.
fn spelled(expr: &Expr) -> Option<(Op, Vec<Expr>)> {
    match expr {
        Expr::BinaryOp { left, op, right } => {
            let (op, args) = match op {
                BinaryOperator::Arrow => (Op::Get { text: false }, [left, right]),
                BinaryOperator::LongArrow => (Op::Get { text: true }, [left, right]),
                BinaryOperator::HashArrow => (Op::Path { text: false }, [left, right]),
                BinaryOperator::HashLongArrow => (Op::Path { text: true }, [left, right]),
                BinaryOperator::AtArrow => (Op::Contains, [left, right]),
                BinaryOperator::ArrowAt => (Op::Contains, [right, left]),
                BinaryOperator::Question => (Op::HasKey(Keys::One), [left, right]),
                BinaryOperator::QuestionPipe => (Op::HasKey(Keys::Any), [left, right]),
                BinaryOperator::QuestionAnd => (Op::HasKey(Keys::All), [left, right]),
                _ => return None,
            };
            Some((op, args.into_iter().map(|e| (**e).clone()).collect()))
        }
        Expr::Cast {
            expr, data_type, ..
        } => {
            let kind = match data_type {
                DataType::JSON => JsonKind::Json,
                DataType::JSONB => JsonKind::Jsonb,
                _ => return None,
            };
            Some((Op::Cast(kind), vec![(**expr).clone()]))
        }
        Expr::Function(f)
            if f.over.is_none() && f.name.0.len() == 1 && aggregate_kind(f).is_some() =>
        {
            let kind = aggregate_kind(f)?;
            // json_agg(x …) is string_agg(<x as JSON>, ', ' …) made an array: string_agg.rs
            // groups it, keeping DISTINCT, ORDER BY and FILTER as written.
            let mut agg = f.clone();
            agg.name = ObjectName(vec![Ident::new("string_agg")]);
            let FunctionArguments::List(list) = &mut agg.args else {
                return None;
            };
            let [FunctionArg::Unnamed(FunctionArgExpr::Expr(value))] = list.args.as_slice() else {
                return None;
            };
            let element = internal(Op::Element(kind), vec![value.clone()]);
            list.args = vec![
                FunctionArg::Unnamed(FunctionArgExpr::Expr(element)),
                FunctionArg::Unnamed(FunctionArgExpr::Expr(text_literal(", "))),
            ];
            Some((Op::ArrayOf(kind), vec![Expr::Function(agg)]))
        }
        Expr::Function(f) if f.over.is_none() && f.filter.is_none() && f.name.0.len() == 1 => {
            let op = match f.name.0[0].value.to_ascii_lowercase().as_str() {
                "json_typeof" | "jsonb_typeof" => Op::TypeOf,
                "json_array_length" | "jsonb_array_length" => Op::ArrayLength,
                "json_build_object" => Op::BuildObject(JsonKind::Json),
                "jsonb_build_object" => Op::BuildObject(JsonKind::Jsonb),
                "json_build_array" => Op::BuildArray(JsonKind::Json),
                "jsonb_build_array" => Op::BuildArray(JsonKind::Jsonb),
                "to_json" => Op::ToJson(JsonKind::Json),
                "to_jsonb" => Op::ToJson(JsonKind::Jsonb),
                "json_extract" => Op::Extract,
                "row_to_json" => Op::RowObject,
                "jsonb_set" => Op::Set,
                _ => return None,
            };
            let args = match &f.args {
                FunctionArguments::None => Vec::new(),
                FunctionArguments::List(list)
                    if list.duplicate_treatment.is_none() && list.clauses.is_empty() =>
                {
                    list.args
                        .iter()
                        .map(|a| match a {
                            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                            _ => None,
                        })
                        .collect::<Option<Vec<_>>>()?
                }
                _ => return None,
            };
            Some((op, args))
        }
        _ => None,
    }
}

/// The value a `json_agg` element is made from, if `expr` is one.
pub(super) fn element_of(expr: &Expr) -> Option<&Expr> {
    match as_call(expr)? {
        (Op::Element(_), _, args) => args.first().copied(),
        _ => None,
    }
}

/// `json_agg` / `jsonb_agg` of one value.
fn aggregate_kind(f: &Function) -> Option<JsonKind> {
    let kind = match f.name.0.first()?.value.to_ascii_lowercase().as_str() {
        "json_agg" => JsonKind::Json,
        "jsonb_agg" => JsonKind::Jsonb,
        _ => return None,
    };
    matches!(&f.args, FunctionArguments::List(list) if list.args.len() == 1).then_some(kind)
}

/// Whether `statement` spells a JSON operation anywhere.
fn spells_json(statement: &Statement) -> bool {
    super::visit::exprs(statement, |e| match spelled(e).is_some() || is_call(e) {
        true => ControlFlow::Break(()),
        false => ControlFlow::Continue(()),
    })
    .is_break()
}

/// Whether an internal call stands anywhere in `statement` (run-time work to do).
pub fn has_call(statement: &Statement) -> bool {
    super::visit::exprs(statement, |e| match is_call(e) {
        true => ControlFlow::Break(()),
        false => ControlFlow::Continue(()),
    })
    .is_break()
}

/// Whether an UPDATE's values or condition, or a DELETE's condition, hold a call outside a
/// subquery: it runs as a SELECT of the rows' keys and values (joined_writes.rs).
pub fn write_computes_json(statement: &Statement) -> bool {
    let holds = |expr: &Expr| holds_call(&mut expr.clone());
    match statement {
        Statement::Update {
            assignments,
            selection,
            ..
        } => assignments.iter().any(|a| holds(&a.value)) || selection.as_ref().is_some_and(holds),
        Statement::Delete(delete) => delete.selection.as_ref().is_some_and(holds),
        _ => false,
    }
}

/// Whether a call stands in `expr` itself (not in a subquery it holds).
pub(super) fn holds_call(expr: &mut Expr) -> bool {
    is_call(expr) || super::walk::operands_mut(expr).into_iter().any(holds_call)
}

/// Whether a SELECT stands anywhere in `statement` (its comparisons may meet JSON columns).
pub fn has_select(statement: &Statement) -> bool {
    fn holds_select(body: &SetExpr) -> bool {
        match body {
            SetExpr::Select(_) => true,
            SetExpr::Query(query) => holds_select(&query.body),
            SetExpr::SetOperation { left, right, .. } => holds_select(left) || holds_select(right),
            _ => false,
        }
    }
    super::visit::queries(statement, |query| match holds_select(&query.body) {
        true => ControlFlow::Break(()),
        false => ControlFlow::Continue(()),
    })
    .is_break()
}

/// Parse-time: every JSON operation becomes an internal call, folded where it can be. A column
/// of a select list keeps the name the query wrote.
pub fn rewrite(statement: &mut Statement) -> Result<(), DbError> {
    if !spells_json(statement) {
        return Ok(());
    }
    let _ = super::visit::queries_mut(statement, |query| {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in &mut select.projection {
                if let SelectItem::UnnamedExpr(e) = item {
                    let written = super::visit::exprs(&*e, |x| match spelled(x) {
                        Some(_) => ControlFlow::Break(()),
                        None => ControlFlow::Continue(()),
                    });
                    if written.is_break() {
                        let alias = super::windows::label(e);
                        let expr = std::mem::replace(e, Expr::Value(SqlValue::Null));
                        *item = SelectItem::ExprWithAlias { expr, alias };
                    }
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    // Inner before outer: an operand is a call already when its operation is rewritten.
    let _ = super::visit::exprs_mut(statement, |expr| {
        if let Some((op, args)) = spelled(expr) {
            *expr = internal(op, args);
        }
        ControlFlow::<()>::Continue(())
    });
    fold(statement, &[])
}

/// Every call whose arguments are constants (literals, parameters, calls over them) becomes
/// its value. Only outermost calls fold: a call folded inside another would lose that its
/// text is JSON, so the calls that are other calls' arguments are set aside first.
pub(super) fn fold<
    N: gluesql_core::sqlparser::ast::VisitMut + gluesql_core::sqlparser::ast::Visit + ?Sized,
>(
    node: &mut N,
    params: &[Value],
) -> Result<(), DbError> {
    let mut nested = Vec::new();
    let _ = super::visit::exprs(&*node, |e| {
        if let Some((_, _, args)) = as_call(e) {
            nested.extend(
                args.into_iter()
                    .map(unnested)
                    .filter(|a| is_call(a))
                    .cloned(),
            );
        }
        ControlFlow::Continue(())
    });
    let mut failed = None;
    let _ = super::visit::exprs_mut(node, |expr| {
        if is_call(expr) && !nested.contains(expr) {
            match constant(expr, params) {
                Ok(Some((value, _))) => *expr = literal(value),
                Ok(None) => {}
                Err(error) => {
                    failed = Some(error);
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    });
    failed.map_or(Ok(()), Err)
}

/// A call's value when every argument is a constant, and whether it is JSON.
fn constant(expr: &Expr, params: &[Value]) -> Result<Option<(Value, bool)>, DbError> {
    if let Some((op, _, args)) = as_call(expr) {
        let mut values = Vec::with_capacity(args.len());
        let mut flags = Vec::with_capacity(args.len());
        for arg in args {
            match constant(arg, params)? {
                Some((value, json)) => {
                    values.push(value);
                    flags.push(json);
                }
                None => return Ok(None),
            }
        }
        let value = ops::apply(op, &values, &flags).map_err(execute)?;
        return Ok(Some((value, yields_json(op))));
    }
    Ok(literal_value(expr, params).map(|v| (v, false)))
}

fn execute(message: String) -> DbError {
    DbError::new(ErrorCode::Execute, message)
}

/// A literal's or parameter's value (numbers with a fraction exact, as DECIMAL).
fn literal_value(expr: &Expr, params: &[Value]) -> Option<Value> {
    match expr {
        Expr::Nested(inner) => literal_value(inner, params),
        Expr::Value(SqlValue::SingleQuotedString(s)) => Some(Value::Str(s.clone())),
        Expr::Value(SqlValue::Boolean(b)) => Some(Value::Bool(*b)),
        Expr::Value(SqlValue::Null) => Some(Value::Null),
        Expr::Value(SqlValue::Number(n, _)) => number(&n.to_string()),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            Expr::Value(SqlValue::Number(n, _)) => number(&format!("-{n}")),
            _ => None,
        },
        other => super::params::bound_value(other, params).and_then(|v| match v {
            // A parameter's map or list is JSON text to these functions.
            Value::Map(_) | Value::List(_) => serde_json::Value::try_from(v.clone())
                .ok()
                .map(|j| Value::Str(j.to_string())),
            v => Some(v.clone()),
        }),
    }
}

fn number(text: &str) -> Option<Value> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::I64(i));
    }
    text.parse::<rust_decimal::Decimal>()
        .ok()
        .map(Value::Decimal)
        .or_else(|| text.parse::<f64>().ok().map(Value::F64))
}

fn literal(value: Value) -> Expr {
    Expr::Value(match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Boolean(b),
        Value::Str(s) => SqlValue::SingleQuotedString(s),
        other => {
            let text = String::from(&other);
            match text.parse() {
                Ok(number) => SqlValue::Number(number, false),
                Err(_) => SqlValue::SingleQuotedString(text),
            }
        }
    })
}

/// A JSON call as computed per row: its operation, which arguments are JSON, and each
/// argument a column of the rows or a call of its own.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct JsonTree {
    pub op: Op,
    pub flags: Vec<bool>,
    pub args: Vec<JsonArg>,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum JsonArg {
    Column(usize),
    /// A literal, kept exact (a number's digits as written, as PostgreSQL's numeric keeps them).
    Const(Value),
    Tree(JsonTree),
}

impl JsonTree {
    /// The tree of `expr` (a call), each argument that is no call made a column by `leaf`.
    pub fn of(
        expr: &Expr,
        leaf: &mut impl FnMut(&Expr) -> Result<usize, DbError>,
    ) -> Result<Self, DbError> {
        let (op, flags, args) =
            as_call(expr).ok_or_else(|| refused("internal: not a JSON call"))?;
        let args = args
            .into_iter()
            .map(|arg| match as_call(unnested(arg)) {
                Some(_) => JsonTree::of(unnested(arg), leaf).map(JsonArg::Tree),
                None => match literal_value(arg, &[]) {
                    Some(value) => Ok(JsonArg::Const(value)),
                    None => leaf(arg).map(JsonArg::Column),
                },
            })
            .collect::<Result<_, _>>()?;
        Ok(JsonTree { op, flags, args })
    }

    pub fn eval(&self, row: &[Value]) -> Result<Value, DbError> {
        let args = self
            .args
            .iter()
            .map(|arg| match arg {
                JsonArg::Column(c) => Ok(row.get(*c).cloned().unwrap_or(Value::Null)),
                JsonArg::Const(value) => Ok(value.clone()),
                JsonArg::Tree(tree) => tree.eval(row),
            })
            .collect::<Result<Vec<_>, _>>()?;
        ops::apply(self.op, &args, &self.flags).map_err(execute)
    }
}

pub(super) fn unnested(expr: &Expr) -> &Expr {
    match expr {
        Expr::Nested(inner) => unnested(inner),
        other => other,
    }
}
