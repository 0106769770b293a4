//! The binder's typing: the SQL type of an expression (a column through views, derived tables
//! and WITH queries, a CAST, a function by its signature, CASE / COALESCE by their branches, a
//! subquery by its select list), and the type an untyped value takes from where it stands — a
//! quoted literal or a parameter next to a typed value, as PostgreSQL types an `unknown`.
//! Also the walk a lowering pass rides (`Lowering`, numeric.rs): every query level in order,
//! names resolved in its scopes. Answers and walks only: the caller converts what it is handed.

use {
    super::{
        names::column_position,
        scope::{column_type_named, label_of, Scope, ScopeTable},
        subquery::select_exprs_mut,
        walk::operands_mut,
        Engine,
    },
    gluesql_core::{
        ast::DataType,
        data::Value,
        sqlparser::ast::{
            Assignment, AssignmentTarget, BinaryOperator, DateTimeField, Expr, FromTable, Function,
            FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, Insert, OnConflict,
            OnConflictAction, OnInsert, Query, Select, SelectItem, SetExpr, Statement, TableFactor,
            TableWithJoins, UnaryOperator, Value as SqlValue,
        },
        translate::translate_data_type,
    },
};

/// How an untyped value meets its type: stored in a column, or compared (computed) with a value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Role {
    Store,
    Compare,
}

/// One relation's columns with their types, as a FROM item naming it sees them.
pub(super) type Columns = Vec<(String, Option<DataType>)>;

/// What the walk hands each untyped value to, with its type and role.
type Untyped<'e> = &'e mut dyn FnMut(&mut Expr, &DataType, Role);

/// A lowering pass the binder's walk drives (numeric.rs): handed each expression where it
/// stands, in the scopes that bind it, and each query level's output to rule over. The binder
/// walks and resolves names; the pass rewrites.
pub(super) trait Lowering {
    /// What the pass knows of a value beside its SQL type (numeric.rs: the kind of number
    /// GlueSQL computes on each row).
    type Kind: Clone;
    /// Lowers `expr` in place in `binder`'s scopes (a query inside it through
    /// `binder.lower_query`); answers its value's kind.
    fn expr(&self, expr: &mut Expr, binder: &mut Binder<'_>) -> Self::Kind;
    /// The kind of a FROM item's column of this type (a wildcard selects it).
    fn of_type(&self, data_type: Option<&DataType>) -> Self::Kind;
    /// A SELECT's expressions lowered: `output` holds its items' kinds, `keys` its GROUP BY
    /// keys'.
    fn select(&self, select: &mut Select, output: &mut [Self::Kind], keys: &[Self::Kind]);
    /// A query's output kinds known (its first arm's), before its ORDER BY, LIMIT and OFFSET
    /// are lowered.
    fn query(&self, query: &mut Query, output: &mut [Self::Kind]);
    /// An ORDER BY key lowered, with its kind.
    fn sort_key(&self, key: &mut Expr, kind: &Self::Kind);
    /// How a derived table's column of this kind reads to the query around it.
    fn column(&self, kind: &Self::Kind) -> DerivedColumn;
}

/// A derived table's column as a lowering pass sees it.
pub(super) struct DerivedColumn {
    /// The type its values have on every row, where the pass knows it better than its SQL
    /// type (`None`: the binder's type stands).
    pub data_type: Option<DataType>,
    /// Its values' kind varies by row.
    pub varying: bool,
    /// It is NULL on every row.
    pub null_only: bool,
}

/// The binder's state as a lowering pass sees it: the scopes of the query levels around the
/// expression it is handed.
pub(super) type Binder<'e> = Typing<'e>;

/// What the walk hands each function call (`CEIL` and `FLOOR` included, and a CAST to an
/// integer type: see `is_integer_cast`) to, its arguments handed first, with the types of its
/// plain arguments in order (`None`: not known).
type Calls<'e> = &'e mut dyn FnMut(&mut Expr, &[Option<DataType>]);

pub(super) struct Typing<'e> {
    engine: &'e Engine,
    params: &'e [Value],
    scopes: Vec<Scope>,
    /// The WITH queries in scope, innermost last.
    ctes: Vec<(String, Option<Columns>)>,
    untyped: Option<Untyped<'e>>,
    calls: Option<Calls<'e>>,
    /// Set: only the output columns are wanted (a scalar subquery typed where it stands), so
    /// no WHERE, ON or ORDER BY is walked: each query level is walked once, not once per
    /// level around it.
    reading: bool,
}

/// Hands `untyped` each quoted literal and parameter of `statement` whose type its context
/// gives (the other operand of a comparison or arithmetic, an IN list's or BETWEEN's operand,
/// a CASE's or COALESCE's other branches, the column an UPDATE stores it in), with that type.
/// `untyped` may rewrite the expression it is handed.
pub(super) fn type_untyped(
    engine: &Engine,
    statement: &mut Statement,
    params: &[Value],
    mut untyped: impl FnMut(&mut Expr, &DataType, Role),
) {
    walk(engine, statement, params, Some(&mut untyped), None);
}

/// Hands `calls` each function call of `statement`, innermost first, with its arguments'
/// types; `calls` may rewrite the call it is handed (the calls around it see its new type).
pub(super) fn type_calls(
    engine: &Engine,
    statement: &mut Statement,
    params: &[Value],
    mut calls: impl FnMut(&mut Expr, &[Option<DataType>]),
) {
    walk(engine, statement, params, None, Some(&mut calls));
}

/// The SQL types of `query`'s output columns (`None`: not known), as the binder gives them:
/// a set operation's columns unify their arms', whatever rows each arm yields. Types a copy.
pub(super) fn output_types(
    engine: &Engine,
    query: &Query,
    params: &[Value],
) -> Vec<Option<DataType>> {
    reading_types(engine, params, Vec::new(), Vec::new(), query)
        .into_iter()
        .map(|(_, data_type)| data_type)
        .collect()
}

/// A copy of `query` typed for its output columns only, in `scopes` and `ctes`.
fn reading_types(
    engine: &Engine,
    params: &[Value],
    scopes: Vec<Scope>,
    ctes: Vec<(String, Option<Columns>)>,
    query: &Query,
) -> Columns {
    let mut typing = Typing {
        engine,
        params,
        scopes,
        ctes,
        untyped: None,
        calls: None,
        reading: true,
    };
    typing.query(&mut query.clone())
}

fn walk<'e>(
    engine: &'e Engine,
    statement: &mut Statement,
    params: &'e [Value],
    untyped: Option<Untyped<'e>>,
    calls: Option<Calls<'e>>,
) {
    let mut typing = Typing {
        engine,
        params,
        scopes: Vec::new(),
        ctes: Vec::new(),
        untyped,
        calls,
        reading: false,
    };
    match statement {
        Statement::Query(query) => {
            typing.query(query);
        }
        Statement::Insert(insert) => typing.insert(insert),
        Statement::Update {
            table,
            assignments,
            selection,
            ..
        } => {
            let scope = typing.scope_of([&mut table.relation]);
            typing.scopes.push(scope);
            typing.assignments(assignments);
            if let Some(selection) = selection {
                typing.expr(selection);
            }
        }
        Statement::Delete(delete) => {
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) =
                &mut delete.from;
            let scope = typing.scope_of(relations(from));
            typing.scopes.push(scope);
            if let Some(selection) = delete.selection.as_mut() {
                typing.expr(selection);
            }
        }
        _ => {}
    }
}

/// Whether `name` (upper case) is a function whose arguments are one result, unified as CASE's
/// branches are: an untyped argument takes the others' type.
pub(super) fn unifies_arguments(name: &str) -> bool {
    matches!(
        name,
        "COALESCE" | "NULLIF" | "IFNULL" | "GREATEST" | "LEAST"
    )
}

/// Whether `expr` is a quoted literal (PostgreSQL's `unknown`, typed by where it stands).
pub(super) fn is_quoted(expr: &Expr) -> bool {
    matches!(expr, Expr::Value(SqlValue::SingleQuotedString(_)))
}

/// The types of the columns an INSERT's values go to, in order (`None`: not known), among
/// its table's `columns`.
pub(super) fn insert_targets(insert: &Insert, columns: &Columns) -> Vec<Option<DataType>> {
    if insert.columns.is_empty() {
        return columns.iter().map(|(_, t)| t.clone()).collect();
    }
    let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
    insert
        .columns
        .iter()
        .map(|c| column_position(&names, &c.value).and_then(|at| columns[at].1.clone()))
        .collect()
}

/// Whether `expr` is a value whose type comes from where it stands.
/// A CAST to one of SQL's integer types, which rounds a fraction in PostgreSQL. INT128 is
/// GlueSQL's own (no user of PostgreSQL writes it), and the lowering passes cast to it to take
/// a DECIMAL's whole part: it keeps GlueSQL's truncation.
pub(super) fn is_integer_cast(data_type: &gluesql_core::sqlparser::ast::DataType) -> bool {
    translate_data_type(data_type)
        .is_ok_and(|t| t != DataType::Int128 && crate::kinds::is_integer_type(&t))
}

fn is_untyped(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Value(SqlValue::SingleQuotedString(_) | SqlValue::Placeholder(_))
    )
}

fn is_numeric(data_type: &DataType) -> bool {
    crate::kinds::is_integer_type(data_type)
        || crate::kinds::is_float_type(data_type)
        || *data_type == DataType::Decimal
}

/// The type of a number computed from two: DECIMAL beside an integer, FLOAT beside anything
/// that is not an integer of the same kind.
fn wider(left: DataType, right: DataType) -> DataType {
    use crate::kinds::is_integer_type;
    match (&left, &right) {
        _ if left == right => left,
        (l, r) if is_integer_type(l) && is_integer_type(r) => DataType::Int,
        (DataType::Decimal, r) | (r, DataType::Decimal) if is_integer_type(r) => DataType::Decimal,
        _ => DataType::Float,
    }
}

/// The type values of `types` share: numbers widen to the widest (`CASE … THEN 1 ELSE d`
/// is a DECIMAL); otherwise the first known.
fn unified(types: impl Iterator<Item = Option<DataType>>) -> Option<DataType> {
    let mut known = types.flatten();
    let first = known.next()?;
    if !is_numeric(&first) {
        return Some(first);
    }
    Some(known.filter(is_numeric).fold(first, wider))
}

fn args_mut(function: &mut Function) -> Vec<&mut Expr> {
    let FunctionArguments::List(list) = &mut function.args else {
        return Vec::new();
    };
    list.args
        .iter_mut()
        .filter_map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
            | FunctionArg::Named {
                arg: FunctionArgExpr::Expr(e),
                ..
            } => Some(e),
            _ => None,
        })
        .collect()
}

fn args(function: &Function) -> Vec<&Expr> {
    let FunctionArguments::List(list) = &function.args else {
        return Vec::new();
    };
    list.args
        .iter()
        .filter_map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

impl Typing<'_> {
    /// An INSERT's values (VALUES rows, a SELECT's outputs) are stored in its columns; an
    /// upsert's DO UPDATE assigns the target's.
    fn insert(&mut self, insert: &mut Insert) {
        let table = insert.table_name.0.last().map(|i| i.value.clone());
        let columns = table
            .as_deref()
            .and_then(|t| self.engine.columns_of_table(t))
            .unwrap_or_default();
        let targets = insert_targets(insert, &columns);
        if let Some(source) = insert.source.as_mut() {
            match source.body.as_mut() {
                SetExpr::Values(values) => {
                    for row in &mut values.rows {
                        for (value, target) in row.iter_mut().zip(&targets) {
                            if let Some(data_type) = target {
                                self.report(value, data_type, Role::Store);
                            }
                            self.expr(value);
                        }
                    }
                }
                _ => {
                    self.query(source);
                    if let SetExpr::Select(select) = source.body.as_mut() {
                        for (item, target) in select.projection.iter_mut().zip(&targets) {
                            if let (
                                SelectItem::UnnamedExpr(value)
                                | SelectItem::ExprWithAlias { expr: value, .. },
                                Some(data_type),
                            ) = (item, target)
                            {
                                self.report(value, data_type, Role::Store);
                            }
                        }
                    }
                }
            }
        }
        if let Some(OnInsert::OnConflict(OnConflict {
            action: OnConflictAction::DoUpdate(update),
            ..
        })) = insert.on.as_mut()
        {
            // The target's row and the one proposed (`excluded`), with the target's columns.
            let visible = insert
                .table_alias
                .as_ref()
                .map(|a| a.value.clone())
                .or(table)
                .unwrap_or_default();
            let mut scope = Scope::default();
            for name in [visible, "excluded".to_owned()] {
                scope.tables.push(ScopeTable {
                    name,
                    columns: Some(columns.clone()),
                    varying: Vec::new(),
                    null_only: Vec::new(),
                    source: None,
                });
            }
            self.scopes.push(scope);
            self.assignments(&mut update.assignments);
            if let Some(selection) = update.selection.as_mut() {
                self.expr(selection);
            }
            self.scopes.pop();
        }
    }

    /// `SET column = value`: the value is stored in the column of the innermost scope.
    fn assignments(&mut self, assignments: &mut [Assignment]) {
        for assignment in assignments {
            if let Some(data_type) = self.assigned_type(assignment) {
                self.report(&mut assignment.value, &data_type, Role::Store);
            }
            self.expr(&mut assignment.value);
        }
    }

    /// The type of the column `SET column = …` stores in: the innermost scope's.
    pub(super) fn assigned_type(&self, assignment: &Assignment) -> Option<DataType> {
        let AssignmentTarget::ColumnName(name) = &assignment.target else {
            return None;
        };
        let column = name.0.last()?;
        self.scopes
            .last()?
            .column_type(None, &column.value)
            .flatten()
    }

    fn report(&mut self, expr: &mut Expr, data_type: &DataType, role: Role) {
        let expr = match expr {
            Expr::Nested(inner) => inner.as_mut(),
            other => other,
        };
        if let (true, Some(untyped)) = (
            is_untyped(expr) && *data_type != DataType::Text,
            self.untyped.as_mut(),
        ) {
            untyped(expr, data_type, role);
        }
    }

    /// Two values that meet (compared, or computed together): an untyped one takes the type of
    /// the other.
    fn meet(&mut self, a: &mut Expr, b: &mut Expr) {
        match (self.type_of(a), self.type_of(b)) {
            (None, Some(t)) => self.report(a, &t, Role::Compare),
            (Some(t), None) => self.report(b, &t, Role::Compare),
            _ => {}
        }
    }

    /// Values that are one result (CASE's branches, COALESCE's arguments): the untyped take
    /// the type the typed ones share.
    fn unify(&mut self, values: Vec<&mut Expr>) {
        let Some(data_type) = unified(values.iter().map(|v| self.type_of(v))) else {
            return;
        };
        for value in values {
            self.report(value, &data_type, Role::Compare);
        }
    }

    fn expr(&mut self, expr: &mut Expr) {
        let call_types = self.call_types(expr);
        match expr {
            Expr::BinaryOp { left, op, right } => match op {
                BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq => self.meet(left, right),
                BinaryOperator::Plus
                | BinaryOperator::Minus
                | BinaryOperator::Multiply
                | BinaryOperator::Divide
                | BinaryOperator::Modulo => {
                    // Only beside a number: `date - '3'` is a date minus days, not a date.
                    let numeric = |t: Option<DataType>| t.filter(is_numeric);
                    match (numeric(self.type_of(left)), numeric(self.type_of(right))) {
                        (Some(t), None) => self.report(right, &t, Role::Compare),
                        (None, Some(t)) => self.report(left, &t, Role::Compare),
                        _ => {}
                    }
                }
                _ => {}
            },
            Expr::IsDistinctFrom(left, right) | Expr::IsNotDistinctFrom(left, right) => {
                self.meet(left, right)
            }
            Expr::InList { expr, list, .. } => {
                let mut values: Vec<&mut Expr> = vec![expr.as_mut()];
                values.extend(list.iter_mut());
                self.unify(values);
            }
            Expr::Between {
                expr, low, high, ..
            } => self.unify(vec![expr.as_mut(), low.as_mut(), high.as_mut()]),
            Expr::Case {
                operand,
                conditions,
                results,
                else_result,
            } => {
                if let Some(operand) = operand {
                    let mut values: Vec<&mut Expr> = vec![operand.as_mut()];
                    values.extend(conditions.iter_mut());
                    self.unify(values);
                }
                let mut values: Vec<&mut Expr> = results.iter_mut().collect();
                values.extend(else_result.iter_mut().map(|e| e.as_mut()));
                self.unify(values);
            }
            Expr::Function(function)
                if unifies_arguments(&function.name.to_string().to_uppercase()) =>
            {
                self.unify(args_mut(function));
            }
            Expr::Subquery(query)
            | Expr::Exists {
                subquery: query, ..
            } => {
                self.query(query);
                return;
            }
            Expr::InSubquery { expr, subquery, .. } => {
                let output = self.query(subquery);
                if let Some((_, Some(data_type))) = output.first() {
                    if self.type_of(expr).is_none() {
                        self.report(expr, data_type, Role::Compare);
                    }
                }
            }
            _ => {}
        }
        for operand in operands_mut(expr) {
            self.expr(operand);
        }
        if let (Some(types), Some(calls)) = (call_types, self.calls.as_mut()) {
            calls(expr, &types);
        }
    }

    /// The types of a call's arguments as written, before the calls inside them are handed
    /// over and rewritten (`ROUND(LOG(2, d), 3)` rounds a NUMERIC, whatever LOG becomes).
    fn call_types(&self, expr: &Expr) -> Option<Vec<Option<DataType>>> {
        self.calls.as_ref()?;
        match expr {
            Expr::Function(function) => {
                Some(args(function).iter().map(|a| self.type_of(a)).collect())
            }
            // `CEIL(x)` and `FLOOR(x)` are syntax of their own to the parser.
            Expr::Ceil { expr: x, .. } | Expr::Floor { expr: x, .. } => Some(vec![self.type_of(x)]),
            // A cast to an integer type rounds as a call does (math_functions.rs).
            Expr::Cast {
                expr: x, data_type, ..
            } if is_integer_cast(data_type) => Some(vec![self.type_of(x)]),
            _ => None,
        }
    }

    /// The SQL type of `expr` where it is known.
    pub(super) fn type_of(&self, expr: &Expr) -> Option<DataType> {
        match expr {
            Expr::Identifier(ident) => column_type_named(None, &ident.value, &self.scopes),
            Expr::CompoundIdentifier(idents) if idents.len() >= 2 => {
                let table = &idents[idents.len() - 2].value;
                let column = &idents[idents.len() - 1].value;
                column_type_named(Some(table), column, &self.scopes)
            }
            Expr::Nested(inner) => self.type_of(inner),
            Expr::Cast { data_type, .. } | Expr::TypedString { data_type, .. } => {
                translate_data_type(data_type).ok()
            }
            // PostgreSQL's rule: a literal with a fraction or an exponent is a NUMERIC (a
            // DECIMAL), not a FLOAT, so `i * 2.5` is exact and `ROUND` of it rounds half away
            // from zero.
            // `1e3` too: its scale is negative (its text is `1000`).
            Expr::Value(SqlValue::Number(text, _)) => Some(if text.fractional_digit_count() != 0 {
                DataType::Decimal
            } else {
                DataType::Int
            }),
            Expr::Value(SqlValue::Boolean(_)) => Some(DataType::Boolean),
            Expr::Value(SqlValue::Placeholder(p)) => {
                let index = p.strip_prefix('$')?.parse::<usize>().ok()?.checked_sub(1)?;
                match self.params.get(index)? {
                    Value::Str(_) | Value::Null => None,
                    value => value.get_type(),
                }
            }
            Expr::UnaryOp {
                op: UnaryOperator::Minus | UnaryOperator::Plus,
                expr,
            } => self.type_of(expr),
            Expr::UnaryOp {
                op: UnaryOperator::Not,
                ..
            }
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::InList { .. }
            | Expr::InSubquery { .. }
            | Expr::Between { .. }
            | Expr::Like { .. }
            | Expr::ILike { .. }
            | Expr::Exists { .. }
            | Expr::IsDistinctFrom(..)
            | Expr::IsNotDistinctFrom(..) => Some(DataType::Boolean),
            Expr::BinaryOp { left, op, right } => self.binary_type(left, op, right),
            Expr::Case {
                results,
                else_result,
                ..
            } => unified(
                results
                    .iter()
                    .chain(else_result.as_deref())
                    .map(|e| self.type_of(e)),
            ),
            Expr::Function(function) => self.function_type(function),
            // What idbsql computes: SECOND (with its fraction) and EPOCH as DECIMALs, the other
            // fields as integers (PostgreSQL: every field a NUMERIC).
            Expr::Extract { field, .. } => Some(match field {
                DateTimeField::Second | DateTimeField::Epoch => DataType::Decimal,
                _ => DataType::Int,
            }),
            Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => match self.type_of(expr)? {
                DataType::Decimal => Some(DataType::Decimal),
                _ => Some(DataType::Float),
            },
            Expr::Subquery(query) => self.output_types(query).into_iter().next()?.1,
            _ => None,
        }
    }

    fn binary_type(&self, left: &Expr, op: &BinaryOperator, right: &Expr) -> Option<DataType> {
        match op {
            BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Multiply
            | BinaryOperator::Divide
            | BinaryOperator::Modulo => {
                let (l, r) = (self.type_of(left), self.type_of(right));
                match (l, r) {
                    (Some(DataType::Date), Some(DataType::Date)) => Some(DataType::Int),
                    (Some(t @ (DataType::Date | DataType::Timestamp)), _) => Some(t),
                    (Some(l), Some(r)) if is_numeric(&l) && is_numeric(&r) => Some(wider(l, r)),
                    // An untyped operand takes the other's type.
                    (Some(t), None) | (None, Some(t)) if is_numeric(&t) => Some(t),
                    _ => None,
                }
            }
            BinaryOperator::StringConcat => Some(DataType::Text),
            _ => Some(DataType::Boolean),
        }
    }

    fn function_type(&self, function: &Function) -> Option<DataType> {
        let name = function.name.to_string().to_uppercase();
        let args = args(function);
        let first = || args.iter().find_map(|a| self.type_of(a));
        match name.as_str() {
            "COALESCE" | "IFNULL" | "GREATEST" | "LEAST" => {
                unified(args.iter().map(|a| self.type_of(a)))
            }
            "NULLIF" | "ABS" | "SIGN" | "MIN" | "MAX" | "SUM" | "LAG" | "LEAD" | "FIRST_VALUE"
            | "LAST_VALUE" | "NTH_VALUE" => first(),
            // PostgreSQL's AVG of integers is a NUMERIC (GlueSQL computes a FLOAT): its
            // ROUND goes half away from zero.
            "AVG" => Some(match first()? {
                t if t == DataType::Decimal || crate::kinds::is_integer_type(&t) => {
                    DataType::Decimal
                }
                _ => DataType::Float,
            }),
            "COUNT" | "LENGTH" | "POSITION" | "ASCII" | "ROW_NUMBER" | "RANK" | "DENSE_RANK"
            | "NTILE" => Some(DataType::Int),
            "CUME_DIST" | "PERCENT_RANK" => Some(DataType::Float),
            // PostgreSQL's signatures: NUMERIC in, NUMERIC out (and with a scale argument,
            // whatever the first); anything else is computed as a DOUBLE PRECISION.
            "ROUND" | "CEIL" | "CEILING" | "FLOOR" | "TRUNC" => Some(match first() {
                Some(DataType::Decimal) => DataType::Decimal,
                _ if args.len() == 2 => DataType::Decimal,
                _ => DataType::Float,
            }),
            // PostgreSQL's: of a NUMERIC a NUMERIC (LOG(b, x) takes only NUMERICs), else a
            // DOUBLE PRECISION. idbsql computes them as FLOATs either way (math_functions.rs).
            "SQRT" | "POWER" | "EXP" | "LN" | "LOG" | "LOG10" => Some(match first() {
                Some(DataType::Decimal) => DataType::Decimal,
                _ if name == "LOG" && args.len() == 2 => DataType::Decimal,
                _ => DataType::Float,
            }),
            "LOG2" | "SIN" | "COS" | "TAN" | "ASIN" | "ACOS" | "ATAN" | "RADIANS" | "DEGREES"
            | "PI" => Some(DataType::Float),
            "UPPER" | "LOWER" | "TRIM" | "LTRIM" | "RTRIM" | "SUBSTR" | "SUBSTRING" | "CONCAT"
            | "REPLACE" | "LPAD" | "RPAD" | "REVERSE" | "LEFT" | "RIGHT" => Some(DataType::Text),
            _ => None,
        }
    }

    /// Types (and hands over the untyped values of) every query level of `query`; answers its
    /// output columns (a name is empty where none is known).
    fn query(&mut self, query: &mut Query) -> Columns {
        let ctes = self.ctes.len();
        if let Some(with) = query.with.as_mut() {
            for cte in &mut with.cte_tables {
                let output = self.query(&mut cte.query);
                let columns = renamed(output, &cte.alias.columns);
                self.ctes
                    .push((cte.alias.name.value.clone(), Some(columns)));
            }
        }
        let output = match query.body.as_mut() {
            // ORDER BY after one SELECT reads its FROM's columns.
            SetExpr::Select(select) => {
                let (output, scope) = self.select(select);
                if let (Some(order_by), false) = (query.order_by.as_mut(), self.reading) {
                    self.scopes.push(scope);
                    for order in &mut order_by.exprs {
                        self.expr(&mut order.expr);
                    }
                    self.scopes.pop();
                }
                output
            }
            body => self.body(body),
        };
        self.ctes.truncate(ctes);
        output
    }

    fn body(&mut self, body: &mut SetExpr) -> Columns {
        match body {
            SetExpr::Select(select) => self.select(select).0,
            SetExpr::Query(query) => self.query(query),
            SetExpr::SetOperation { left, right, .. } => {
                let mut output = self.body(left);
                let right = self.body(right);
                // The arms' columns unify as CASE's branches do: an integer arm beside a
                // DECIMAL arm makes a DECIMAL column.
                for ((_, l), (_, r)) in output.iter_mut().zip(right) {
                    *l = unified([l.take(), r].into_iter());
                }
                output
            }
            _ => Vec::new(),
        }
    }

    /// Types one SELECT; answers its output columns and the scope its FROM made.
    fn select(&mut self, select: &mut Select) -> (Columns, Scope) {
        // Derived tables first: their columns' types are what the FROM list sees.
        let scope = self.scope_of(relations(&mut select.from));
        self.scopes.push(scope);
        // Typed as written, before the walk hands its calls over to be rewritten (a view's
        // `LOG(d)` is a NUMERIC whatever it is computed as).
        let output = self.projection(&select.projection);
        if !self.reading {
            for expr in select_exprs_mut(select) {
                self.expr(expr);
            }
        }
        (output, self.scopes.pop().unwrap_or_default())
    }

    fn scope_of<'f>(&mut self, factors: impl IntoIterator<Item = &'f mut TableFactor>) -> Scope {
        let mut scope = Scope::default();
        for factor in factors {
            self.factor(factor, &mut scope);
        }
        scope
    }

    fn factor(&mut self, factor: &mut TableFactor, scope: &mut Scope) {
        let (name, columns, source) = match factor {
            TableFactor::Table { name, alias, .. } => {
                let table = name.0.last().map(|i| i.value.clone()).unwrap_or_default();
                let visible = alias
                    .as_ref()
                    .map_or_else(|| table.clone(), |a| a.name.value.clone());
                let cte = (name.0.len() == 1)
                    .then(|| self.ctes.iter().rev().find(|(n, _)| *n == table))
                    .flatten();
                match cte {
                    Some((_, columns)) => (visible, columns.clone(), None),
                    None => (visible, self.engine.columns_of_table(&table), Some(table)),
                }
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let output = self.query(subquery);
                match alias {
                    Some(alias) => (
                        alias.name.value.clone(),
                        Some(renamed(output, &alias.columns)),
                        None,
                    ),
                    None => (String::new(), Some(output), None),
                }
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => {
                self.factor(&mut table_with_joins.relation, scope);
                for join in &mut table_with_joins.joins {
                    self.factor(&mut join.relation, scope);
                }
                return;
            }
            _ => (String::new(), None, None),
        };
        scope.tables.push(ScopeTable {
            name,
            columns,
            varying: Vec::new(),
            null_only: Vec::new(),
            source,
        });
    }

    /// A SELECT's output columns, in the scope its FROM made (the last pushed).
    fn projection(&self, projection: &[SelectItem]) -> Columns {
        let tables = self
            .scopes
            .last()
            .map(|s| s.tables.as_slice())
            .unwrap_or(&[]);
        let columns_of = |t: &ScopeTable| t.columns.clone().unwrap_or_default();
        let mut output = Vec::new();
        for item in projection {
            match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    output.push((label_of(item).unwrap_or_default(), self.type_of(e)))
                }
                SelectItem::Wildcard(_) => output.extend(tables.iter().flat_map(columns_of)),
                SelectItem::QualifiedWildcard(name, _) => {
                    let name = name.0.last().map(|i| i.value.as_str()).unwrap_or_default();
                    output.extend(
                        tables
                            .iter()
                            .filter(|t| t.name == name)
                            .flat_map(columns_of),
                    );
                }
            }
        }
        output
    }

    /// The output types of a query typed in an expression (a scalar subquery), without
    /// handing anything over: `type_of` reads, it does not walk.
    fn output_types(&self, query: &Query) -> Columns {
        // The enclosing scopes are read again (a correlated subquery's columns).
        reading_types(
            self.engine,
            self.params,
            self.scopes.clone(),
            self.ctes.clone(),
            query,
        )
    }
}

/// The binder's walk for a lowering pass: every query level in order, each SELECT's FROM bound
/// (its derived tables lowered first) before its expressions are handed over.
impl<'e> Typing<'e> {
    /// A binder with no scope yet, for a lowering pass over a statement run with `params`.
    pub(super) fn lowering(engine: &'e Engine, params: &'e [Value]) -> Self {
        Typing {
            engine,
            params,
            scopes: Vec::new(),
            ctes: Vec::new(),
            untyped: None,
            calls: None,
            reading: true,
        }
    }

    /// The scopes of the query levels around the expression being lowered, innermost last.
    pub(super) fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    /// The scope of `factors` (derived tables lowered) enters, for the rest of the walk.
    pub(super) fn enter<'f, L: Lowering>(
        &mut self,
        factors: impl IntoIterator<Item = &'f mut TableFactor>,
        lower: &L,
    ) {
        let mut scope = Scope::default();
        for factor in factors {
            self.lower_factor(factor, &mut scope, lower);
        }
        self.scopes.push(scope);
    }

    /// Lowers every query level of `query` (a WITH's queries are inlined before lowering);
    /// answers its output kinds, its first arm's for a set operation.
    pub(super) fn lower_query<L: Lowering>(
        &mut self,
        query: &mut Query,
        lower: &L,
    ) -> Vec<L::Kind> {
        self.lower_query_columns(query, lower, false).0
    }

    /// `lower_query`, and with `named` the output columns' names and SQL types as well.
    fn lower_query_columns<L: Lowering>(
        &mut self,
        query: &mut Query,
        lower: &L,
        named: bool,
    ) -> (Vec<L::Kind>, Columns) {
        let (mut output, columns, last) = match query.body.as_mut() {
            SetExpr::Select(select) => {
                let (output, columns, scope) = self.lower_select(select, lower, named);
                (output, columns, Some(scope))
            }
            body => {
                let (output, columns) = self.lower_body(body, lower, named);
                (output, columns, None)
            }
        };
        lower.query(query, &mut output);
        // ORDER BY after one SELECT reads its FROM's columns (`ORDER BY d - 1`).
        let scoped = last.map(|scope| self.scopes.push(scope)).is_some();
        let sorted = query.order_by.as_ref().map_or(0, |o| o.exprs.len());
        for (at, expr) in super::subquery::query_tail_exprs_mut(query)
            .into_iter()
            .enumerate()
        {
            let kind = lower.expr(expr, self);
            if at < sorted {
                lower.sort_key(expr, &kind);
            }
        }
        if scoped {
            self.scopes.pop();
        }
        (output, columns)
    }

    fn lower_body<L: Lowering>(
        &mut self,
        body: &mut SetExpr,
        lower: &L,
        named: bool,
    ) -> (Vec<L::Kind>, Columns) {
        match body {
            SetExpr::Select(select) => {
                let (output, columns, _) = self.lower_select(select, lower, named);
                (output, columns)
            }
            SetExpr::Query(query) => self.lower_query_columns(query, lower, named),
            SetExpr::SetOperation { left, right, .. } => {
                let (output, mut columns) = self.lower_body(left, lower, named);
                let (_, right) = self.lower_body(right, lower, named);
                for ((_, l), (_, r)) in columns.iter_mut().zip(right) {
                    *l = unified([l.take(), r].into_iter());
                }
                (output, columns)
            }
            // An INSERT's VALUES rows are the pass's own to walk, with their target columns.
            _ => (Vec::new(), Vec::new()),
        }
    }

    /// Lowers one SELECT; answers its items' kinds, with `named` its output columns, and the
    /// scope its FROM made.
    fn lower_select<L: Lowering>(
        &mut self,
        select: &mut Select,
        lower: &L,
        named: bool,
    ) -> (Vec<L::Kind>, Columns, Scope) {
        self.enter(relations(&mut select.from), lower);
        let mut output = Vec::new();
        let mut projected = 0;
        for item in &mut select.projection {
            match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    projected += 1;
                    output.push(lower.expr(e, self));
                }
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    let qualifier = match item {
                        SelectItem::QualifiedWildcard(name, _) => {
                            Some(name.0.last().map(|i| i.value.clone()).unwrap_or_default())
                        }
                        _ => None,
                    };
                    let tables = self
                        .scopes
                        .last()
                        .map(|s| s.tables.as_slice())
                        .unwrap_or(&[]);
                    for table in tables
                        .iter()
                        .filter(|t| qualifier.as_ref().is_none_or(|q| t.name == *q))
                    {
                        for (_, data_type) in table.columns.iter().flatten() {
                            output.push(lower.of_type(data_type.as_ref()));
                        }
                    }
                }
            }
        }
        // select_exprs_mut lists GROUP BY just before HAVING, after the projection and ON /
        // WHERE.
        let grouped = match &select.group_by {
            GroupByExpr::Expressions(exprs, _) => exprs.len(),
            _ => 0,
        };
        let after = usize::from(select.having.is_some());
        let kinds: Vec<L::Kind> = select_exprs_mut(select)
            .into_iter()
            .skip(projected)
            .map(|expr| lower.expr(expr, self))
            .collect();
        let keys = kinds
            .len()
            .checked_sub(after + grouped)
            .and_then(|start| kinds.get(start..start + grouped))
            .unwrap_or_default();
        lower.select(select, &mut output, keys);
        // The columns as lowered: a derived table's read by the query around it.
        let columns = if named {
            self.projection(&select.projection)
        } else {
            Vec::new()
        };
        (output, columns, self.scopes.pop().unwrap_or_default())
    }

    /// One FROM item in `scope`: a derived table lowered, its columns typed by the binder and
    /// marked by the pass.
    fn lower_factor<L: Lowering>(
        &mut self,
        factor: &mut TableFactor,
        scope: &mut Scope,
        lower: &L,
    ) {
        match factor {
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let (kinds, columns) = self.lower_query_columns(subquery, lower, true);
                let columns = match alias {
                    Some(alias) => renamed(columns, &alias.columns),
                    None => columns,
                };
                let mut table = ScopeTable {
                    name: alias
                        .as_ref()
                        .map_or_else(String::new, |a| a.name.value.clone()),
                    columns: None,
                    varying: Vec::new(),
                    null_only: Vec::new(),
                    source: None,
                };
                let mut typed = Vec::new();
                for (at, (name, data_type)) in columns.into_iter().enumerate() {
                    let Some(column) = kinds.get(at).map(|k| lower.column(k)) else {
                        typed.push((name, data_type));
                        continue;
                    };
                    if column.varying {
                        table.varying.push(name.clone());
                    }
                    if column.null_only {
                        table.null_only.push(name.clone());
                    }
                    typed.push((name, column.data_type.or(data_type)));
                }
                table.columns = Some(typed);
                scope.tables.push(table);
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => {
                self.lower_factor(&mut table_with_joins.relation, scope, lower);
                for join in &mut table_with_joins.joins {
                    self.lower_factor(&mut join.relation, scope, lower);
                }
            }
            other => self.factor(other, scope),
        }
    }
}

/// Every FROM item of a FROM list, joined ones included, in order.
pub(super) fn relations(from: &mut [TableWithJoins]) -> Vec<&mut TableFactor> {
    let mut factors = Vec::new();
    for table in from {
        factors.push(&mut table.relation);
        factors.extend(table.joins.iter_mut().map(|j| &mut j.relation));
    }
    factors
}

/// A query's output columns under the names an alias list gives them (the first ones).
fn renamed(mut output: Columns, names: &[gluesql_core::sqlparser::ast::Ident]) -> Columns {
    for ((name, _), given) in output.iter_mut().zip(names) {
        name.clone_from(&given.value);
    }
    output
}
