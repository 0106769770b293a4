//! The binder's name resolution: each column name is looked up in the scope it is written in —
//! its SELECT's FROM items, then the enclosing queries', innermost first, as PostgreSQL binds —
//! and respelled (names.rs's rule) as the relation it finds there spells it.
//! Owns scoping only: a name it cannot place surely (a relation whose columns are not known
//! here, several spellings) is left as written for names.rs's statement-wide rule.

use {
    super::{
        names::{output_names, same_name},
        scope::label_of,
        visit::{self, Node},
        Engine,
    },
    gluesql_core::sqlparser::ast::{
        Assignment, AssignmentTarget, ConflictTarget, Expr, FromTable, GroupByExpr, Ident,
        JoinConstraint, JoinOperator, OnConflictAction, OnInsert, Query, Select, SelectItem,
        SetExpr, Statement, TableFactor, TableWithJoins, Values,
    },
    std::ops::ControlFlow,
};

/// One FROM item as its SELECT sees it: the name it is visible by and its columns (`None`:
/// not known here, e.g. a derived column computed by an unnamed expression).
struct Relation {
    name: String,
    columns: Option<Vec<String>>,
}

/// What one query level binds: its FROM items, and (for its ORDER BY) its output labels.
#[derive(Default)]
struct Level {
    relations: Vec<Relation>,
    labels: Vec<String>,
}

/// Where an unqualified name stands in one level.
enum Lookup {
    /// Written as a column (or label) here spells it.
    Here,
    /// The one column here equal to it ignoring case.
    Respell(String),
    /// Not decidable here: a relation's columns are unknown, or several spellings match.
    Stop,
    /// Not in this level: the enclosing one is asked.
    Absent,
}

impl Level {
    fn column(&self, written: &str) -> Lookup {
        let mut unknown = false;
        let mut found: Option<&str> = None;
        let mut several = false;
        let names = self
            .relations
            .iter()
            .filter_map(|relation| {
                unknown |= relation.columns.is_none();
                relation.columns.as_deref()
            })
            .flatten()
            .chain(&self.labels);
        for name in names {
            if name == written {
                return Lookup::Here;
            }
            if name.eq_ignore_ascii_case(written) {
                several |= found.is_some_and(|f| f != name);
                found = Some(name);
            }
        }
        match found {
            _ if unknown || several => Lookup::Stop,
            Some(name) => Lookup::Respell(name.to_owned()),
            None => Lookup::Absent,
        }
    }

    /// The FROM item a qualifier names: written exactly, else the one equal ignoring case.
    fn relation(&self, written: &str) -> Option<&Relation> {
        self.relations
            .iter()
            .find(|r| r.name == written)
            .or_else(|| {
                let mut matching = self
                    .relations
                    .iter()
                    .filter(|r| r.name.eq_ignore_ascii_case(written));
                match (matching.next(), matching.next()) {
                    (Some(relation), None) => Some(relation),
                    _ => None,
                }
            })
    }
}

/// The one column of `columns` equal to `written` ignoring case, when `written` is none of
/// them as written.
fn respelling(columns: &[String], written: &str) -> Option<String> {
    if columns.iter().any(|c| c == written) {
        return None;
    }
    let mut matching = columns.iter().filter(|c| same_name(c, written));
    match (matching.next(), matching.next()) {
        (Some(column), None) => Some(column.clone()),
        _ => None,
    }
}

struct Binder<'e> {
    engine: &'e Engine,
    /// The enclosing query levels, outermost first.
    scopes: Vec<Level>,
    /// The WITH queries in scope, with their columns, innermost last.
    ctes: Vec<(String, Option<Vec<String>>)>,
    changed: bool,
    /// Set: names are not respelled; this is handed each `q.c` whose `q` no FROM item in
    /// scope binds (a column of a relation around the walked query).
    free: Option<&'e mut dyn FnMut(&mut Expr)>,
}

/// Respells the column names `statement` writes, each as the relation in its own scope spells
/// it. Whether it changed any.
pub(super) fn bind_names(engine: &Engine, statement: &mut Statement) -> bool {
    let mut binder = Binder {
        engine,
        scopes: Vec::new(),
        ctes: Vec::new(),
        changed: false,
        free: None,
    };
    match statement {
        Statement::Query(query) => {
            binder.query(query);
        }
        Statement::Insert(insert) => {
            if let Some(source) = insert.source.as_mut() {
                binder.query(source);
            }
            let table = insert.table_name.0.last().map(|i| i.value.clone());
            let columns = table.as_deref().and_then(|t| binder.columns_of(t));
            for column in &mut insert.columns {
                binder.respell_in(column, columns.as_deref());
            }
            let target = Relation {
                name: insert
                    .table_alias
                    .as_ref()
                    .map(|a| a.value.clone())
                    .or(table)
                    .unwrap_or_default(),
                columns: columns.clone(),
            };
            if let Some(OnInsert::OnConflict(conflict)) = insert.on.as_mut() {
                if let Some(ConflictTarget::Columns(keys)) = conflict.conflict_target.as_mut() {
                    for key in keys {
                        binder.respell_in(key, columns.as_deref());
                    }
                }
                if let OnConflictAction::DoUpdate(update) = &mut conflict.action {
                    // The row proposed is `excluded`, with the target's columns.
                    let excluded = Relation {
                        name: "excluded".to_owned(),
                        columns: columns.clone(),
                    };
                    binder.scopes.push(Level {
                        relations: vec![
                            Relation {
                                name: target.name.clone(),
                                columns: columns.clone(),
                            },
                            excluded,
                        ],
                        labels: Vec::new(),
                    });
                    binder.assignments(&mut update.assignments, columns.as_deref());
                    if let Some(selection) = update.selection.as_mut() {
                        binder.expr(selection);
                    }
                    binder.scopes.pop();
                }
            }
            binder.scopes.push(Level {
                relations: vec![target],
                labels: Vec::new(),
            });
            binder.returning(insert.returning.as_mut());
        }
        Statement::Update {
            table,
            assignments,
            from,
            selection,
            returning,
        } => {
            let mut level = Level::default();
            binder.from(std::slice::from_mut(table), &mut level);
            binder.from(from.as_mut_slice(), &mut level);
            binder.scopes.push(level);
            binder.constraints(std::slice::from_mut(table));
            binder.constraints(from.as_mut_slice());
            let columns = match &table.relation {
                TableFactor::Table { name, .. } => {
                    name.0.last().and_then(|t| binder.columns_of(&t.value))
                }
                _ => None,
            };
            binder.assignments(assignments, columns.as_deref());
            if let Some(selection) = selection {
                binder.expr(selection);
            }
            binder.returning(returning.as_mut());
        }
        Statement::Delete(delete) => {
            let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) =
                &mut delete.from;
            let mut level = Level::default();
            binder.from(tables, &mut level);
            let using = delete.using.get_or_insert_with(Vec::new);
            binder.from(using, &mut level);
            binder.scopes.push(level);
            binder.constraints(tables);
            binder.constraints(using);
            if using.is_empty() {
                delete.using = None;
            }
            if let Some(selection) = delete.selection.as_mut() {
                binder.expr(selection);
            }
            binder.returning(delete.returning.as_mut());
        }
        _ => {}
    }
    binder.changed
}

/// Hands `outer` every qualified column `query` writes whose qualifier no FROM item in its
/// scope binds, inner scopes first: the columns it reads of relations around it. A name the
/// query gives one of its own relations hides an outer one only where SQL says it does.
pub(super) fn free_columns(engine: &Engine, query: &mut Query, outer: &mut dyn FnMut(&mut Expr)) {
    let mut binder = Binder {
        engine,
        scopes: Vec::new(),
        ctes: Vec::new(),
        changed: false,
        free: Some(outer),
    };
    binder.query(query);
}

/// What an expression walk leaves in place of a query it binds on its own.
fn placeholder() -> Query {
    super::setops::plain_query(SetExpr::Values(Values {
        explicit_row: false,
        rows: Vec::new(),
    }))
}

impl Binder<'_> {
    /// Binds `query` inside the current scopes; its output column names when known.
    fn query(&mut self, query: &mut Query) -> Option<Vec<String>> {
        let ctes = self.ctes.len();
        if let Some(with) = query.with.as_mut() {
            for cte in &mut with.cte_tables {
                let named: Option<Vec<String>> = (!cte.alias.columns.is_empty())
                    .then(|| cte.alias.columns.iter().map(|c| c.value.clone()).collect());
                let name = cte.alias.name.value.clone();
                // A recursive query reads itself: its first arm's names, as written, meanwhile.
                if with.recursive {
                    let first = named.clone().or_else(|| output_names(&cte.query.body));
                    self.ctes.push((name.clone(), first));
                }
                let outputs = self.query(&mut cte.query);
                if with.recursive {
                    self.ctes.pop();
                }
                self.ctes.push((name, named.or(outputs)));
            }
        }
        let outputs = match query.body.as_mut() {
            SetExpr::Select(select) => {
                let (outputs, mut level) = self.select(select);
                level.labels = outputs.clone().unwrap_or_default();
                self.scopes.push(level);
                self.tail(query);
                self.scopes.pop();
                outputs
            }
            body => {
                let outputs = self.set_expr(body);
                self.scopes.push(Level {
                    relations: Vec::new(),
                    labels: outputs.clone().unwrap_or_default(),
                });
                self.tail(query);
                self.scopes.pop();
                outputs
            }
        };
        self.ctes.truncate(ctes);
        outputs
    }

    /// A write's SET list: each target among the written table's `columns`, each value in
    /// the level pushed.
    fn assignments(&mut self, assignments: &mut [Assignment], columns: Option<&[String]>) {
        for assignment in assignments {
            if let AssignmentTarget::ColumnName(name) = &mut assignment.target {
                if let Some(column) = name.0.last_mut() {
                    self.respell_in(column, columns);
                }
            }
            self.expr(&mut assignment.value);
        }
    }

    /// A write's RETURNING list, in the level pushed.
    fn returning(&mut self, returning: Option<&mut Vec<SelectItem>>) {
        for item in returning.into_iter().flatten() {
            if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } = item {
                self.expr(expr);
            }
        }
    }

    /// Respells a column the written table has (`columns`, when known).
    fn respell_in(&mut self, column: &mut Ident, columns: Option<&[String]>) {
        if self.free.is_some() {
            return;
        }
        if let Some(name) = columns.and_then(|columns| respelling(columns, &column.value)) {
            column.value = name;
            self.changed = true;
        }
    }

    /// ORDER BY, LIMIT and OFFSET, inside the level the caller pushed.
    fn tail(&mut self, query: &mut Query) {
        if let Some(order_by) = query.order_by.as_mut() {
            for item in &mut order_by.exprs {
                self.expr(&mut item.expr);
            }
        }
        if let Some(limit) = query.limit.as_mut() {
            self.expr(limit);
        }
        if let Some(offset) = query.offset.as_mut() {
            self.expr(&mut offset.value);
        }
    }

    fn set_expr(&mut self, body: &mut SetExpr) -> Option<Vec<String>> {
        match body {
            SetExpr::Select(select) => self.select(select).0,
            SetExpr::Query(query) => self.query(query),
            SetExpr::SetOperation { left, right, .. } => {
                let outputs = self.set_expr(left);
                self.set_expr(right);
                outputs
            }
            SetExpr::Values(values) => {
                for expr in values.rows.iter_mut().flatten() {
                    self.expr(expr);
                }
                None
            }
            _ => None,
        }
    }

    /// Binds one SELECT: its FROM items, then its own expressions inside them. Its output
    /// names (when known) and its level, for the ORDER BY of the query it is the body of.
    fn select(&mut self, select: &mut Select) -> (Option<Vec<String>>, Level) {
        let mut level = Level::default();
        self.from(&mut select.from, &mut level);
        self.scopes.push(level);
        self.constraints(&mut select.from);
        for item in &mut select.projection {
            if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } = item {
                self.expr(expr);
            }
        }
        if let Some(selection) = select.selection.as_mut() {
            self.expr(selection);
        }
        if let GroupByExpr::Expressions(exprs, _) = &mut select.group_by {
            for expr in exprs {
                self.expr(expr);
            }
        }
        if let Some(having) = select.having.as_mut() {
            self.expr(having);
        }
        let level = self.scopes.pop().unwrap_or_default();
        (outputs(select, &level), level)
    }

    /// Adds the FROM items of `from` to `level`, binding derived tables on the way (a LATERAL
    /// one sees the items before it).
    fn from(&mut self, from: &mut [TableWithJoins], level: &mut Level) {
        for table in from {
            self.factor(&mut table.relation, level);
            for join in &mut table.joins {
                self.factor(&mut join.relation, level);
            }
        }
    }

    fn factor(&mut self, factor: &mut TableFactor, level: &mut Level) {
        match factor {
            TableFactor::Table { name, alias, .. } => {
                let table = name.0.last().map(|i| i.value.clone()).unwrap_or_default();
                let columns = match alias.as_ref().filter(|a| !a.columns.is_empty()) {
                    Some(alias) => Some(idents(&alias.columns)),
                    None => self.columns_of(&table),
                };
                level.relations.push(Relation {
                    name: alias.as_ref().map_or(table, |a| a.name.value.clone()),
                    columns,
                });
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
            } => {
                let outputs = if *lateral {
                    self.scopes.push(std::mem::take(level));
                    let outputs = self.query(subquery);
                    *level = self.scopes.pop().unwrap_or_default();
                    outputs
                } else {
                    self.query(subquery)
                };
                let columns = match alias.as_ref().filter(|a| !a.columns.is_empty()) {
                    Some(alias) => Some(idents(&alias.columns)),
                    None => outputs,
                };
                level.relations.push(Relation {
                    name: alias
                        .as_ref()
                        .map_or_else(String::new, |a| a.name.value.clone()),
                    columns,
                });
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.from(std::slice::from_mut(table_with_joins.as_mut()), level),
            _ => level.relations.push(Relation {
                name: String::new(),
                columns: None,
            }),
        }
    }

    /// The ON conditions of `from`'s joins (nested ones too), inside the level pushed.
    fn constraints(&mut self, from: &mut [TableWithJoins]) {
        for table in from {
            if let TableFactor::NestedJoin {
                table_with_joins, ..
            } = &mut table.relation
            {
                self.constraints(std::slice::from_mut(table_with_joins.as_mut()));
            }
            for join in &mut table.joins {
                if let TableFactor::NestedJoin {
                    table_with_joins, ..
                } = &mut join.relation
                {
                    self.constraints(std::slice::from_mut(table_with_joins.as_mut()));
                }
                if let Some(on) = on_condition(&mut join.join_operator) {
                    self.expr(on);
                }
            }
        }
    }

    /// A table's columns: a WITH query in scope by that name (the innermost), else the store's.
    fn columns_of(&self, table: &str) -> Option<Vec<String>> {
        let cte = self
            .ctes
            .iter()
            .rev()
            .find(|(name, _)| name == table)
            .or_else(|| {
                self.ctes
                    .iter()
                    .rev()
                    .find(|(name, _)| name.eq_ignore_ascii_case(table))
            });
        if let Some((_, columns)) = cte {
            return columns.clone();
        }
        let stored = self.engine.glue.storage.table(table)?;
        let defs = stored.schema.column_defs.as_ref()?;
        Some(defs.iter().map(|d| d.name.clone()).collect())
    }

    /// Binds the names of one expression in the current scopes; a query inside it is taken
    /// out and bound as a level of its own (it sees these scopes as enclosing ones).
    fn expr(&mut self, expr: &mut Expr) {
        let mut taken: Vec<Query> = Vec::new();
        let _ = visit::nodes_mut(expr, |node| {
            match node {
                Node::QueryEnter(query) => taken.push(std::mem::replace(query, placeholder())),
                Node::QueryLeave(query) => {
                    if let Some(mut inner) = taken.pop() {
                        self.query(&mut inner);
                        *query = inner;
                    }
                }
                Node::Expr(expr) => self.name(expr),
            }
            ControlFlow::Continue(())
        });
    }

    fn name(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Identifier(_) if self.free.is_some() => {}
            Expr::Identifier(ident) => {
                for level in self.scopes.iter().rev() {
                    match level.column(&ident.value) {
                        Lookup::Absent => continue,
                        Lookup::Respell(name) => {
                            ident.value = name;
                            self.changed = true;
                        }
                        Lookup::Here | Lookup::Stop => {}
                    }
                    return;
                }
            }
            Expr::CompoundIdentifier(idents) => {
                let [qualifier, column] = idents.as_mut_slice() else {
                    return;
                };
                let relation = self
                    .scopes
                    .iter()
                    .rev()
                    .find_map(|level| level.relation(&qualifier.value));
                if let Some(free) = self.free.as_mut() {
                    if relation.is_none() {
                        free(expr);
                    }
                    return;
                }
                let Some(relation) = relation else {
                    return;
                };
                if relation.name != qualifier.value {
                    qualifier.value = relation.name.clone();
                    self.changed = true;
                }
                if let Some(name) = relation
                    .columns
                    .as_deref()
                    .and_then(|columns| respelling(columns, &column.value))
                {
                    column.value = name;
                    self.changed = true;
                }
            }
            _ => {}
        }
    }
}

fn on_condition(operator: &mut JoinOperator) -> Option<&mut Expr> {
    match operator {
        JoinOperator::Inner(JoinConstraint::On(on))
        | JoinOperator::LeftOuter(JoinConstraint::On(on))
        | JoinOperator::RightOuter(JoinConstraint::On(on))
        | JoinOperator::FullOuter(JoinConstraint::On(on)) => Some(on),
        _ => None,
    }
}

fn idents(idents: &[Ident]) -> Vec<String> {
    idents.iter().map(|i| i.value.clone()).collect()
}

/// A bound SELECT's output names, when every one is known: an alias, a column's own name, or
/// the columns a wildcard stands for.
fn outputs(select: &Select, level: &Level) -> Option<Vec<String>> {
    let mut names = Vec::new();
    for item in &select.projection {
        match item {
            SelectItem::Wildcard(_) => {
                for relation in &level.relations {
                    names.extend(relation.columns.iter().flatten().cloned());
                    relation.columns.as_ref()?;
                }
            }
            SelectItem::QualifiedWildcard(name, _) => {
                let relation = level.relation(&name.0.last()?.value)?;
                names.extend(relation.columns.clone()?);
            }
            other => names.push(label_of(other)?),
        }
    }
    Some(names)
}
