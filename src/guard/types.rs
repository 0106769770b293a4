//! Which expressions may hold a DATE, TIMESTAMP or INTERVAL, from the column types of the
//! tables a statement names (or a function's argument types). Sound rather than exact: a name
//! it cannot resolve, a subquery or a call it does not know may be one, and is guarded as one.

use {
    super::walk,
    gluesql_core::ast::{
        AggregateFunction, DataType, Expr, Function, Projection, Query, SelectItem, SetExpr,
        Statement, TableFactor,
    },
    std::collections::{HashMap, HashSet},
};

/// The types names may have in one statement.
#[derive(Default)]
pub struct Scope {
    /// Column name → the types columns of that name have in the tables named.
    columns: HashMap<String, Vec<DataType>>,
    /// Table name or alias → its columns.
    tables: HashMap<String, HashMap<String, DataType>>,
    /// Names a query gives to expressions (labels), with those expressions.
    labels: HashMap<String, Vec<Expr>>,
    /// Names whose type cannot be known (derived tables, unknown tables): maybe dates.
    unknown: HashSet<String>,
}

/// How deep label lookups nest before a name counts as maybe a date (labels can name labels).
const MAX_LABEL_DEPTH: usize = 8;

impl Scope {
    /// The scope of `statement`, its tables' columns from `columns_of`.
    pub fn of_statement(statement: &mut Statement, columns_of: super::ColumnsOf) -> Self {
        let mut scope = Scope::default();
        let mut tables = Vec::new();
        match &*statement {
            Statement::Query(query) => collect(query, &mut tables, &mut scope),
            Statement::Insert {
                table_name, source, ..
            } => {
                tables.push((table_name.clone(), None));
                collect(source, &mut tables, &mut scope);
            }
            Statement::Update { table_name, .. } | Statement::Delete { table_name, .. } => {
                tables.push((table_name.clone(), None))
            }
            Statement::CreateTable {
                source: Some(source),
                ..
            } => collect(source, &mut tables, &mut scope),
            _ => {}
        }
        // Subqueries inside expressions name tables too.
        walk::statement_exprs(statement, &mut |expr| {
            if let Expr::Subquery(query)
            | Expr::Exists {
                subquery: query, ..
            }
            | Expr::InSubquery {
                subquery: query, ..
            } = expr
            {
                collect(query, &mut tables, &mut scope);
            }
        });
        for (name, alias) in tables {
            let Some(columns) = columns_of(&name) else {
                // Not a table (a view's name is gone by now): an unknown alias.
                scope.unknown.insert(alias.unwrap_or(name));
                continue;
            };
            for (column, data_type) in &columns {
                scope
                    .columns
                    .entry(column.clone())
                    .or_default()
                    .push(data_type.clone());
            }
            let columns: HashMap<String, DataType> = columns.into_iter().collect();
            scope.tables.insert(name.clone(), columns.clone());
            if let Some(alias) = alias {
                scope.tables.insert(alias, columns);
            }
        }
        scope
    }

    /// The scope of a function body: its arguments.
    pub fn of_arguments(args: &[(String, DataType)]) -> Self {
        let mut scope = Scope::default();
        for (name, data_type) in args {
            scope
                .columns
                .entry(name.clone())
                .or_default()
                .push(data_type.clone());
        }
        scope
    }

    /// Whether `expr` may evaluate to a DATE, TIMESTAMP or INTERVAL.
    pub fn may_be_temporal(&self, expr: &Expr) -> bool {
        self.temporal(expr, 0)
    }

    /// Whether a column or label `expr` names may hold a BOOLEAN (sound as `may_be_temporal`
    /// is: a name it cannot resolve may).
    pub fn may_be_boolean(&self, expr: &Expr) -> bool {
        let is_boolean = |t: &DataType| *t == DataType::Boolean;
        match expr {
            Expr::Identifier(name) => {
                self.unknown.contains(name)
                    || self.labels.contains_key(name)
                    || self
                        .columns
                        .get(name)
                        .is_none_or(|types| types.iter().any(is_boolean))
            }
            Expr::CompoundIdentifier { alias, ident } => {
                self.unknown.contains(alias)
                    || self.labels.contains_key(ident)
                    || self
                        .tables
                        .get(alias)
                        .is_none_or(|columns| columns.get(ident).is_none_or(is_boolean))
            }
            _ => true,
        }
    }

    /// Whether the column `expr` names is a BOOLEAN wherever it may come from.
    pub fn is_boolean(&self, expr: &Expr) -> bool {
        let is_boolean = |t: &DataType| *t == DataType::Boolean;
        match expr {
            Expr::Identifier(name) => {
                !self.unknown.contains(name)
                    && !self.labels.contains_key(name)
                    && self
                        .columns
                        .get(name)
                        .is_some_and(|types| types.iter().all(is_boolean))
            }
            Expr::CompoundIdentifier { alias, ident } => {
                !self.unknown.contains(alias)
                    && !self.labels.contains_key(ident)
                    && self
                        .tables
                        .get(alias)
                        .and_then(|columns| columns.get(ident))
                        .is_some_and(is_boolean)
            }
            _ => false,
        }
    }

    /// Whether a label of that name may hold one.
    fn label_temporal(&self, name: &str, depth: usize) -> bool {
        self.labels.get(name).is_some_and(|exprs| {
            depth >= MAX_LABEL_DEPTH || exprs.iter().any(|e| self.temporal(e, depth + 1))
        })
    }

    fn temporal(&self, expr: &Expr, depth: usize) -> bool {
        use Function as F;
        let may_be_temporal = |e: &Expr| self.temporal(e, depth);
        match expr {
            Expr::Identifier(name) => {
                self.unknown.contains(name)
                    || self.label_temporal(name, depth)
                    || match self.columns.get(name) {
                        Some(types) => types.iter().any(is_temporal),
                        None => !self.labels.contains_key(name),
                    }
            }
            Expr::CompoundIdentifier { alias, ident } => {
                self.unknown.contains(alias)
                    || self.label_temporal(ident, depth)
                    || match self.tables.get(alias) {
                        Some(columns) => columns.get(ident).is_none_or(is_temporal),
                        None => true,
                    }
            }
            Expr::Literal(_) => false,
            Expr::Value(value) => matches!(
                value,
                gluesql_core::data::Value::Date(_)
                    | gluesql_core::data::Value::Timestamp(_)
                    | gluesql_core::data::Value::Interval(_)
            ),
            Expr::TypedString { data_type, .. } => is_temporal(data_type),
            Expr::Interval { .. } => true,
            Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } => may_be_temporal(inner),
            Expr::BinaryOp { left, right, .. } => may_be_temporal(left) || may_be_temporal(right),
            Expr::Case {
                when_then,
                else_result,
                ..
            } => {
                when_then.iter().any(|(_, then)| may_be_temporal(then))
                    || else_result.as_deref().is_some_and(&may_be_temporal)
            }
            Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::InList { .. }
            | Expr::InSubquery { .. }
            | Expr::Between { .. }
            | Expr::Like { .. }
            | Expr::ILike { .. }
            | Expr::Regex { .. }
            | Expr::Exists { .. } => false,
            Expr::Function(function) => match function.as_ref() {
                F::Cast { data_type, .. } => is_temporal(data_type),
                F::Now()
                | F::CurrentDate()
                | F::CurrentTimestamp()
                | F::ToDate { .. }
                | F::ToTimestamp { .. }
                | F::LastDay(_)
                | F::AddMonth { .. } => true,
                F::Coalesce(args) | F::Greatest(args) => args.iter().any(&may_be_temporal),
                F::IfNull { expr, then } => may_be_temporal(expr) || may_be_temporal(then),
                F::NullIf { expr1, .. } => may_be_temporal(expr1),
                F::Custom { .. } | F::Unwrap { .. } => true,
                _ => false,
            },
            Expr::Aggregate(aggregate) => match &aggregate.func {
                AggregateFunction::Count(_) => false,
                AggregateFunction::Sum(e)
                | AggregateFunction::Max(e)
                | AggregateFunction::Min(e)
                | AggregateFunction::Avg(e)
                | AggregateFunction::Variance(e)
                | AggregateFunction::Stdev(e) => may_be_temporal(e),
            },
            // A scalar subquery is its one column (its tables are in this scope too).
            Expr::Subquery(query) => match &query.body {
                SetExpr::Select(select) => {
                    let Projection::SelectItems(items) = &select.projection;
                    match items.as_slice() {
                        [SelectItem::Expr { expr, .. }] => may_be_temporal(expr),
                        _ => true,
                    }
                }
                SetExpr::Values(_) => true,
            },
            Expr::ArrayIndex { .. } | Expr::Array { .. } => true,
        }
    }
}

fn is_temporal(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Date | DataType::Timestamp | DataType::Interval
    )
}

/// The tables a query names (with their aliases) and the names it gives expressions.
fn collect(query: &Query, tables: &mut Vec<(String, Option<String>)>, scope: &mut Scope) {
    if let SetExpr::Select(select) = &query.body {
        let Projection::SelectItems(items) = &select.projection;
        for item in items {
            if let SelectItem::Expr { expr, label } = item {
                let passes_through = match expr {
                    Expr::Identifier(name) => name == label,
                    Expr::CompoundIdentifier { ident, .. } => ident == label,
                    _ => false,
                };
                if !passes_through {
                    scope
                        .labels
                        .entry(label.clone())
                        .or_default()
                        .push(expr.clone());
                }
            }
        }
        let factors = std::iter::once(&select.from.relation)
            .chain(select.from.joins.iter().map(|join| &join.relation));
        for factor in factors {
            match factor {
                TableFactor::Table { name, alias } => {
                    tables.push((name.clone(), alias.as_ref().map(|a| a.name.clone())))
                }
                TableFactor::Derived { subquery, alias } => {
                    // Its columns are the subquery's labels, or renamed (then unknown).
                    scope.unknown.insert(alias.name.clone());
                    scope.unknown.extend(alias.columns.iter().cloned());
                    collect(subquery, tables, scope);
                }
                TableFactor::Series { alias, .. } | TableFactor::Dictionary { alias, .. } => {
                    scope.unknown.insert(alias.name.clone());
                }
            }
        }
    }
}
