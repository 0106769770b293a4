//! Numbers mixed the way SQL mixes them. GlueSQL 0.20 converts the right operand to the left
//! one's type when the left is an integer: `int_col * 2.5` multiplies by 2, `int_col < 4.5` and
//! `int_col = $1` (4.5) compare with 4, and an integer against `4.0` never matches. Column types
//! come from the store's schemas; expressions are rewritten so GlueSQL computes the SQL answer.
//!
//! A comparison of an integer with a constant keeps the column untouched (the index planner
//! still sees it): the constant becomes the equivalent integer bound (`< 4.5` is `< 5`).

use {
    super::{
        scope::{column_type_named, column_type_of, Scope},
        subquery::{all_selects, query_tail_exprs_mut, select_exprs_mut},
        walk::operands_mut,
        Engine,
    },
    crate::kinds::{is_float_type, is_float_value, is_integer_type, is_integer_value},
    bigdecimal::{BigDecimal, FromPrimitive, RoundingMode, ToPrimitive},
    gluesql_core::{
        ast::DataType as GlueType,
        data::Value,
        sqlparser::ast::{
            BinaryOperator, CastKind, DataType, ExactNumberInfo, Expr, FunctionArg,
            FunctionArgExpr, FunctionArguments, Query, SetExpr, Statement, TableFactor,
            UnaryOperator, Value as SqlValue,
        },
    },
    std::str::FromStr,
};

/// What is known of an expression's numeric type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Num {
    /// A typed integer value (an INT column, COUNT, a CAST).
    Int,
    /// An integer literal: GlueSQL converts it to the other operand's type.
    IntLiteral,
    Float,
    /// A literal with a decimal point: GlueSQL makes it a FLOAT next to a typed value.
    FloatLiteral,
    Decimal,
    /// Not a number, or not known.
    Unknown,
}

fn of_glue_type(data_type: &GlueType) -> Num {
    match data_type {
        t if is_integer_type(t) => Num::Int,
        t if is_float_type(t) => Num::Float,
        GlueType::Decimal => Num::Decimal,
        _ => Num::Unknown,
    }
}

fn of_sql_type(data_type: &DataType) -> Num {
    match data_type {
        DataType::Int(_)
        | DataType::Integer(_)
        | DataType::Int8(_)
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Int128
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::UInt128 => Num::Int,
        DataType::Float(_) | DataType::Float32 | DataType::Float64 => Num::Float,
        DataType::Decimal(_) => Num::Decimal,
        _ => Num::Unknown,
    }
}

fn of_value(value: &Value) -> Num {
    match value {
        v if is_integer_value(v) => Num::Int,
        v if is_float_value(v) => Num::Float,
        Value::Decimal(_) => Num::Decimal,
        _ => Num::Unknown,
    }
}

fn is_integer(num: Num) -> bool {
    matches!(num, Num::Int | Num::IntLiteral)
}

fn cast(expr: Expr, data_type: DataType) -> Expr {
    Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(expr),
        data_type,
        format: None,
    }
}

fn float() -> DataType {
    DataType::Float64
}

fn decimal() -> DataType {
    DataType::Decimal(ExactNumberInfo::None)
}

fn number(value: BigDecimal) -> Expr {
    Expr::Value(SqlValue::Number(value, false))
}

fn mirror(op: &BinaryOperator) -> BinaryOperator {
    match op {
        BinaryOperator::Lt => BinaryOperator::Gt,
        BinaryOperator::LtEq => BinaryOperator::GtEq,
        BinaryOperator::Gt => BinaryOperator::Lt,
        BinaryOperator::GtEq => BinaryOperator::LtEq,
        other => other.clone(),
    }
}

struct Typer<'a> {
    engine: &'a Engine,
    params: &'a [Value],
}

/// Rewrites `statement` in place so integer/float/decimal mixes compute as SQL says.
pub fn rewrite_statement(engine: &Engine, statement: &mut Statement, params: &[Value]) {
    let typer = Typer { engine, params };
    let mut scopes = Vec::new();
    match statement {
        Statement::Query(query) => typer.query(query, &mut scopes),
        Statement::Insert(insert) => {
            if let Some(source) = insert.source.as_mut() {
                typer.query(source, &mut scopes);
            }
        }
        Statement::Update {
            table,
            assignments,
            selection,
            ..
        } => {
            scopes.push(engine.scope_of_from(std::slice::from_ref(table)));
            for assignment in assignments {
                typer.expr(&mut assignment.value, &mut scopes);
            }
            if let Some(selection) = selection {
                typer.expr(selection, &mut scopes);
            }
        }
        Statement::Delete(delete) => {
            let (gluesql_core::sqlparser::ast::FromTable::WithFromKeyword(from)
            | gluesql_core::sqlparser::ast::FromTable::WithoutKeyword(from)) = &delete.from;
            scopes.push(engine.scope_of_from(from));
            if let Some(selection) = delete.selection.as_mut() {
                typer.expr(selection, &mut scopes);
            }
        }
        _ => {}
    }
}

impl Typer<'_> {
    fn query(&self, query: &mut Query, scopes: &mut Vec<Scope>) {
        all_selects(&mut query.body, &mut |select| {
            for table in &mut select.from {
                self.factor(&mut table.relation, scopes);
                for join in &mut table.joins {
                    self.factor(&mut join.relation, scopes);
                }
            }
            scopes.push(self.engine.scope_of_from(&select.from));
            for expr in select_exprs_mut(select) {
                self.expr(expr, scopes);
            }
            scopes.pop();
            true
        });
        for expr in query_tail_exprs_mut(query) {
            self.expr(expr, scopes);
        }
    }

    fn factor(&self, factor: &mut TableFactor, scopes: &mut Vec<Scope>) {
        match factor {
            TableFactor::Derived { subquery, .. } => self.query(subquery, scopes),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => {
                self.factor(&mut table_with_joins.relation, scopes);
                for join in &mut table_with_joins.joins {
                    self.factor(&mut join.relation, scopes);
                }
            }
            _ => {}
        }
    }

    fn column(&self, table: Option<&str>, column: &str, scopes: &[Scope]) -> Num {
        column_type_named(table, column, scopes).map_or(Num::Unknown, |t| of_glue_type(&t))
    }

    /// The range of an integer column's type, for a column reference.
    fn int_range(&self, expr: &Expr, scopes: &[Scope]) -> Range {
        column_type_of(expr, scopes).and_then(|t| range_of(&t))
    }

    fn param(&self, placeholder: &str) -> Option<&Value> {
        placeholder
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| self.params.get(n.checked_sub(1)?))
    }

    /// The exact value of a numeric constant: a literal (maybe negated) or a bound parameter.
    fn constant(&self, expr: &Expr) -> Option<BigDecimal> {
        match expr {
            Expr::Value(SqlValue::Number(n, _)) => Some(n.clone()),
            Expr::Value(SqlValue::Placeholder(p)) => match self.param(p)? {
                Value::F64(f) => BigDecimal::from_f64(*f),
                Value::F32(f) => BigDecimal::from_f32(*f),
                Value::Decimal(d) => BigDecimal::from_str(&d.to_string()).ok(),
                _ => None,
            },
            Expr::Nested(inner) => self.constant(inner),
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => self.constant(expr).map(|v| -v),
            _ => None,
        }
    }

    fn expr(&self, expr: &mut Expr, scopes: &mut Vec<Scope>) -> Num {
        match expr {
            Expr::Identifier(ident) => self.column(None, &ident.value, scopes),
            Expr::CompoundIdentifier(idents) if idents.len() == 2 => {
                self.column(Some(&idents[0].value), &idents[1].value, scopes)
            }
            Expr::Value(SqlValue::Number(n, _)) => {
                if n.fractional_digit_count() <= 0 {
                    Num::IntLiteral
                } else {
                    Num::FloatLiteral
                }
            }
            Expr::Value(SqlValue::Placeholder(p)) => self.param(p).map_or(Num::Unknown, of_value),
            Expr::Nested(inner) => self.expr(inner, scopes),
            Expr::UnaryOp {
                op: UnaryOperator::Minus | UnaryOperator::Plus,
                expr,
            } => self.expr(expr, scopes),
            Expr::Cast {
                expr, data_type, ..
            } => {
                self.expr(expr, scopes);
                of_sql_type(data_type)
            }
            Expr::BinaryOp { left, op, right } => {
                let l = self.expr(left, scopes);
                let r = self.expr(right, scopes);
                match op {
                    BinaryOperator::Plus
                    | BinaryOperator::Minus
                    | BinaryOperator::Multiply
                    | BinaryOperator::Divide
                    | BinaryOperator::Modulo => self.arithmetic(left, l, r),
                    BinaryOperator::Eq
                    | BinaryOperator::NotEq
                    | BinaryOperator::Lt
                    | BinaryOperator::LtEq
                    | BinaryOperator::Gt
                    | BinaryOperator::GtEq => {
                        let ranges = (self.int_range(left, scopes), self.int_range(right, scopes));
                        self.comparison(expr, l, r, ranges);
                        Num::Unknown
                    }
                    _ => Num::Unknown,
                }
            }
            Expr::Function(function) => {
                let mut args = Vec::new();
                if let FunctionArguments::List(list) = &mut function.args {
                    for arg in &mut list.args {
                        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                        | FunctionArg::Named {
                            arg: FunctionArgExpr::Expr(e),
                            ..
                        } = arg
                        {
                            args.push(self.expr(e, scopes));
                        }
                    }
                }
                let first = args.first().copied().unwrap_or(Num::Unknown);
                let as_value = |n: Num| match n {
                    Num::IntLiteral => Num::Int,
                    Num::FloatLiteral => Num::Float,
                    n => n,
                };
                match function.name.to_string().to_uppercase().as_str() {
                    "COUNT" => Num::Int,
                    "AVG" => Num::Float,
                    "SUM" | "MIN" | "MAX" => as_value(first),
                    "ABS" | "NULLIF" | "COALESCE" | "IFNULL" => first,
                    _ => Num::Unknown,
                }
            }
            Expr::Case {
                operand,
                conditions,
                results,
                else_result,
            } => {
                if let Some(operand) = operand {
                    self.expr(operand, scopes);
                }
                for condition in conditions {
                    self.expr(condition, scopes);
                }
                let mut kinds: Vec<Num> =
                    results.iter_mut().map(|r| self.expr(r, scopes)).collect();
                if let Some(e) = else_result {
                    kinds.push(self.expr(e, scopes));
                }
                match kinds.split_first() {
                    Some((first, rest)) if rest.iter().all(|k| k == first) => *first,
                    _ => Num::Unknown,
                }
            }
            Expr::Subquery(query)
            | Expr::Exists {
                subquery: query, ..
            } => {
                self.query(query, scopes);
                Num::Unknown
            }
            Expr::InSubquery { expr, subquery, .. } => {
                self.expr(expr, scopes);
                self.query(subquery, scopes);
                Num::Unknown
            }
            other => {
                for operand in operands_mut(other) {
                    self.expr(operand, scopes);
                }
                Num::Unknown
            }
        }
    }

    /// An integer on the left of a FLOAT or DECIMAL operand is widened first.
    fn arithmetic(&self, left: &mut Box<Expr>, l: Num, r: Num) -> Num {
        let widen = |side: &mut Box<Expr>, to: DataType| {
            let taken = std::mem::replace(side.as_mut(), Expr::Value(SqlValue::Null));
            **side = cast(taken, to);
        };
        match (l, r) {
            (Num::Int | Num::IntLiteral | Num::Unknown, Num::Float | Num::FloatLiteral)
                if l != Num::IntLiteral || r == Num::Float =>
            {
                widen(left, float());
                Num::Float
            }
            (Num::Int, Num::Decimal) => {
                widen(left, decimal());
                Num::Decimal
            }
            (Num::IntLiteral, Num::Decimal) => Num::Decimal,
            (Num::Float | Num::FloatLiteral, _) | (_, Num::Float | Num::FloatLiteral) => Num::Float,
            (Num::Decimal, _) | (_, Num::Decimal) => Num::Decimal,
            (a, b) if is_integer(a) && is_integer(b) => {
                if a == Num::IntLiteral && b == Num::IntLiteral {
                    Num::IntLiteral
                } else {
                    Num::Int
                }
            }
            _ => Num::Unknown,
        }
    }

    /// An integer compared with a fraction: against a constant, the equivalent integer bound;
    /// against anything else, both as FLOAT (or DECIMAL).
    fn comparison(&self, expr: &mut Expr, l: Num, r: Num, ranges: (Range, Range)) {
        let Expr::BinaryOp { left, op, right } = expr else {
            return;
        };
        // Put the integer on the left, mirroring the operator.
        let (int_on_left, other, range) = match (l, r) {
            (Num::Int, Num::Float | Num::FloatLiteral | Num::Decimal) => (true, r, ranges.0),
            (Num::Float | Num::FloatLiteral | Num::Decimal, Num::Int) => (false, l, ranges.1),
            // An integer literal outside a small integer column's range: GlueSQL cannot convert
            // it to the column's type and calls every comparison false (`tiny < 300`).
            (Num::Int, Num::IntLiteral) if ranges.0.is_some() => (true, r, ranges.0),
            (Num::IntLiteral, Num::Int) if ranges.1.is_some() => (false, l, ranges.1),
            _ => return,
        };
        let (constant_side, op_for_int) = if int_on_left {
            (right.as_ref(), op.clone())
        } else {
            (left.as_ref(), mirror(op))
        };
        if let Some(c) = self.constant(constant_side) {
            if let Some(bound) = integer_bound(&op_for_int, &c, range) {
                let new_op = bound.0;
                let literal = number(bound.1);
                if int_on_left {
                    *op = new_op;
                    **right = literal;
                } else {
                    *op = mirror(&new_op);
                    **left = literal;
                }
            } else if !matches!(constant_side, Expr::Value(SqlValue::Number(..))) {
                // A non-integral parameter: as a literal, GlueSQL compares it exactly.
                let literal = number(c);
                if int_on_left {
                    **right = literal;
                } else {
                    **left = literal;
                }
            }
            return;
        }
        // Two typed values: GlueSQL compares a FLOAT with an integer correctly only when the
        // FLOAT is on the left, and a DECIMAL only with a DECIMAL.
        let to = if other == Num::Decimal {
            decimal()
        } else {
            float()
        };
        let int_side = if int_on_left { left } else { right };
        let taken = std::mem::replace(int_side.as_mut(), Expr::Value(SqlValue::Null));
        **int_side = cast(taken, to);
    }
}

/// The values an integer column's type holds, when known.
type Range = Option<(i128, i128)>;

fn range_of(data_type: &GlueType) -> Range {
    Some(match data_type {
        GlueType::Int8 => (i8::MIN.into(), i8::MAX.into()),
        GlueType::Int16 => (i16::MIN.into(), i16::MAX.into()),
        GlueType::Int32 => (i32::MIN.into(), i32::MAX.into()),
        GlueType::Int => (i64::MIN.into(), i64::MAX.into()),
        GlueType::Uint8 => (0, u8::MAX.into()),
        GlueType::Uint16 => (0, u16::MAX.into()),
        GlueType::Uint32 => (0, u32::MAX.into()),
        GlueType::Uint64 => (0, u64::MAX.into()),
        _ => return None,
    })
}

/// `int op c` as an equivalent comparison with an integer the column's type holds, when `op`
/// orders or `c` is whole: `< 4.5` is `< 5`, and on an INT8 column `< 300` is `<= 127`.
fn integer_bound(
    op: &BinaryOperator,
    c: &BigDecimal,
    range: Range,
) -> Option<(BinaryOperator, BigDecimal)> {
    use BinaryOperator::{Eq, Gt, GtEq, Lt, LtEq, NotEq};
    let floor = c.with_scale_round(0, RoundingMode::Floor);
    let ceil = c.with_scale_round(0, RoundingMode::Ceiling);
    let whole = floor == ceil;
    let (op, bound) = match op {
        Eq | NotEq if whole => (op.clone(), floor),
        Lt => (Lt, ceil),
        LtEq => (LtEq, floor),
        Gt => (Gt, floor),
        GtEq => (GtEq, ceil),
        _ => return None,
    };
    let (op, bound) = match (range, &op, bound.to_i128()) {
        (Some((_, max)), Lt | LtEq, Some(b)) if b > max => (LtEq, max.into()),
        (Some((min, _)), Lt | LtEq, Some(b)) if b < min => (Lt, min.into()),
        (Some((_, max)), Gt | GtEq, Some(b)) if b > max => (Gt, max.into()),
        (Some((min, _)), Gt | GtEq, Some(b)) if b < min => (GtEq, min.into()),
        // Equality with a value the type cannot hold is already FALSE (or NULL) in GlueSQL.
        (Some((min, max)), Eq | NotEq, Some(b)) if b > max || b < min => return None,
        _ => (op, bound),
    };
    // Bounds must stay in i64 for GlueSQL to compare them with an integer column.
    bound.to_i64()?;
    Some((op, bound))
}

/// Whether anything in `statement` can mix an integer with a fraction: arithmetic, a literal
/// or parameter with a fraction, or two non-constant operands compared. Most point queries have
/// none, and skip the schema lookups. `narrow_ints`: some column is an integer type narrower
/// than INT, so a whole literal outside 0..=127 may lie outside it.
pub fn needs_rewrite(statement: &Statement, params: &[Value], narrow_ints: bool) -> bool {
    if is_plain_insert(statement) {
        return false;
    }
    let constant = |e: &Expr| {
        matches!(
            e,
            Expr::Value(SqlValue::Number(..) | SqlValue::SingleQuotedString(_) | SqlValue::Null)
        )
    };
    let fractional_param = |p: &str| {
        p.strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| params.get(n.checked_sub(1)?))
            .is_some_and(|v| matches!(v, Value::F32(_) | Value::F64(_) | Value::Decimal(_)))
    };
    // An integer column compared with a literal its type cannot hold: any literal outside
    // i64, and where narrow integer columns exist (INT8, UINT8, …), any outside 0..=127.
    let outside_small_ints = |e: &Expr| match e {
        Expr::Value(SqlValue::Number(n, _)) => {
            n.fractional_digit_count() <= 0
                && match n.to_i64() {
                    Some(v) => narrow_ints && !(0..=127).contains(&v),
                    None => true,
                }
        }
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => {
            narrow_ints
                || !matches!(expr.as_ref(), Expr::Value(SqlValue::Number(n, _)) if n.to_i64().is_some())
        }
        _ => false,
    };
    let mut found = false;
    let _ = super::visit::exprs(statement, |expr| {
        found = match expr {
            Expr::BinaryOp { left, op, right } => match op {
                BinaryOperator::Plus
                | BinaryOperator::Minus
                | BinaryOperator::Multiply
                | BinaryOperator::Divide
                | BinaryOperator::Modulo => true,
                BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq => {
                    (!constant(left) && !constant(right))
                        || outside_small_ints(left)
                        || outside_small_ints(right)
                }
                _ => false,
            },
            Expr::Value(SqlValue::Number(n, _)) => n.fractional_digit_count() > 0,
            Expr::Value(SqlValue::Placeholder(p)) => fractional_param(p),
            _ => false,
        };
        if found {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    });
    found
}

/// `INSERT … VALUES` of constants and parameters only: each value goes to its column's type
/// (parameters were converted already), with no operator to mix numbers in. W1's bulk path.
fn is_plain_insert(statement: &Statement) -> bool {
    let Statement::Insert(insert) = statement else {
        return false;
    };
    let Some(source) = insert.source.as_ref() else {
        return false;
    };
    let SetExpr::Values(values) = source.body.as_ref() else {
        return false;
    };
    let plain = |e: &Expr| match e {
        Expr::Value(_) => true,
        Expr::UnaryOp {
            op: UnaryOperator::Minus | UnaryOperator::Plus,
            expr,
        } => matches!(expr.as_ref(), Expr::Value(_)),
        _ => false,
    };
    source.order_by.is_none() && source.limit.is_none() && values.rows.iter().flatten().all(plain)
}
