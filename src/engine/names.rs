//! How names match, as in PostgreSQL and SQLite: a table, view or column name written in any
//! case finds the one catalog name equal to it ignoring case; an exact spelling always wins (a
//! database may hold `Users` and `users` both). Owns spelling only: never changes which object
//! an exactly written name means, and leaves a name matching none (or several) as written.

use {
    super::{bind_names::bind_names, visit, Engine},
    gluesql_core::sqlparser::ast::{
        AlterTableOperation, AssignmentTarget, Expr, Ident, ObjectName, ObjectType, SelectItem,
        SetExpr, Statement, TableFactor,
    },
    std::{
        collections::{hash_map::Entry, HashMap, HashSet},
        ops::ControlFlow,
    },
};

/// The one name among `names` equal to `written` ignoring case (none when `written` is one of
/// them as written, or when several match).
fn pick<'a>(written: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut found = None;
    for name in names {
        if name == written {
            return None;
        }
        if name.eq_ignore_ascii_case(written) {
            if found.is_some_and(|f: &str| f != name) {
                return None;
            }
            found = Some(name);
        }
    }
    found
}

/// Whether two written names name the same thing: equal, or equal ignoring case.
pub(super) fn same_name(a: &str, b: &str) -> bool {
    a == b || a.eq_ignore_ascii_case(b)
}

/// The position among `columns` (stored spellings) of the column `written` names, by the rule
/// above: its exact spelling, else the one column equal to it ignoring case.
pub(super) fn column_position(columns: &[String], written: &str) -> Option<usize> {
    if let Some(i) = columns.iter().position(|c| c == written) {
        return Some(i);
    }
    let found = pick(written, columns.iter().map(String::as_str))?;
    columns.iter().position(|c| c == found)
}

fn respell(ident: &mut Ident, names: &[String]) -> bool {
    match pick(&ident.value, names.iter().map(String::as_str)) {
        Some(name) => {
            ident.value = name.to_owned();
            true
        }
        None => false,
    }
}

impl Engine {
    /// Every table and view name, as stored.
    fn relation_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .glue
            .storage
            .tables()
            .map(|t| t.schema.table_name.clone())
            .collect();
        if self.has_objects() {
            names.extend(
                self.objects(super::ObjectKind::View)
                    .into_iter()
                    .map(|o| o.name),
            );
        }
        names
    }

    fn relation_exists(&self, name: &str) -> bool {
        self.table_exists(name) || self.is_view(name)
    }

    /// Respells the tables and views `statement` names (reads, writes, DDL targets) as stored.
    /// `None` when every name is already written as stored (the usual case: nothing is copied).
    pub(super) fn resolve_relations(&self, statement: &Statement) -> Option<Statement> {
        let missing = |name: &ObjectName| {
            name.0
                .last()
                .is_some_and(|last| !self.relation_exists(&last.value))
        };
        let mut unknown = ddl_targets(statement).into_iter().any(missing);
        if !unknown {
            let _ = visit::relations(statement, |name| {
                unknown = missing(name);
                if unknown {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
        }
        if !unknown {
            return None;
        }
        let names = self.relation_names();
        let mut statement = statement.clone();
        let mut changed = false;
        let _ = visit::relations_mut(&mut statement, |name| {
            if let Some(last) = name.0.last_mut() {
                changed |= respell(last, &names);
            }
            ControlFlow::Continue(())
        });
        for name in ddl_targets_mut(&mut statement) {
            if let Some(last) = name.0.last_mut() {
                changed |= respell(last, &names);
            }
        }
        changed.then_some(statement)
    }

    /// Respells the column and alias names `statement` writes (views already expanded) as the
    /// tables it reads and its own aliases spell them; an output column keeps its written label.
    /// Each name is first looked up in its own scope (bind_names.rs); what that cannot place
    /// is matched against every name the statement may mean.
    pub(super) fn resolve_columns(&self, statement: &Statement) -> Option<Statement> {
        let tables = self.read_tables(statement);
        if every_name_a_column(statement, &tables) {
            return None;
        }
        let mut respelled = statement.clone();
        keep_labels(&mut respelled);
        let bound = bind_names(self, &mut respelled);
        match self.unknown_columns(&respelled, &tables) {
            Some((names, relations)) => respell_columns(&mut respelled, &names, &relations),
            None if !bound => return None,
            None => {}
        }
        Some(respelled)
    }

    /// The stored tables a statement reads or inserts into.
    fn read_tables(&self, statement: &Statement) -> Vec<&crate::store::Table> {
        let mut tables = Vec::new();
        let _ = visit::relations(statement, |name| {
            tables.extend(
                name.0
                    .last()
                    .and_then(|t| self.glue.storage.table(&t.value)),
            );
            ControlFlow::Continue(())
        });
        if let Statement::Insert(insert) = statement {
            tables.extend(
                insert
                    .table_name
                    .0
                    .last()
                    .and_then(|t| self.glue.storage.table(&t.value)),
            );
        }
        tables
    }

    /// The names a statement may mean, when it writes one of them in another case, and the
    /// columns of each relation it names (see `Relations`).
    fn unknown_columns(
        &self,
        statement: &Statement,
        tables: &[&crate::store::Table],
    ) -> Option<(Vec<String>, Relations)> {
        let mut known: HashSet<String> = HashSet::new();
        for table in tables {
            known.insert(table.schema.table_name.clone());
            for column in table.schema.column_defs.iter().flatten() {
                known.insert(column.name.clone());
            }
        }
        aliases(statement, &mut known);
        let relations = self.relation_columns(statement);
        if every_name(statement, |name| known.contains(name))
            && every_qualified_column_as_defined(statement, &relations)
        {
            return None;
        }
        let mut names: Vec<String> = known.into_iter().collect();
        names.sort();
        Some((names, relations))
    }

    /// The columns of every relation `statement` names, by the name they are qualified with.
    fn relation_columns(&self, statement: &Statement) -> Relations {
        use gluesql_core::sqlparser::ast::Visit;
        struct Collect<'a> {
            engine: &'a Engine,
            relations: Relations,
            /// The columns of each WITH query met so far, by name.
            ctes: HashMap<String, Option<Vec<String>>>,
        }
        impl gluesql_core::sqlparser::ast::Visitor for Collect<'_> {
            type Break = ();
            fn pre_visit_query(
                &mut self,
                query: &gluesql_core::sqlparser::ast::Query,
            ) -> ControlFlow<()> {
                for cte in query.with.iter().flat_map(|with| &with.cte_tables) {
                    let columns = if cte.alias.columns.is_empty() {
                        output_names(&cte.query.body)
                    } else {
                        Some(cte.alias.columns.iter().map(|c| c.value.clone()).collect())
                    };
                    self.ctes.insert(cte.alias.name.value.clone(), columns);
                }
                ControlFlow::Continue(())
            }
            fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
                let (name, columns) = match factor {
                    TableFactor::Table { name, alias, .. } => {
                        let table = name.0.last().map(|t| t.value.as_str()).unwrap_or_default();
                        let columns = match alias {
                            Some(alias) if !alias.columns.is_empty() => {
                                Some(alias.columns.iter().map(|c| c.value.clone()).collect())
                            }
                            _ => match self.engine.glue.storage.table(table) {
                                Some(table) => Some(table.column_names()),
                                None => self.ctes.get(table).cloned().flatten(),
                            },
                        };
                        let name = alias.as_ref().map_or(table, |a| a.name.value.as_str());
                        (name.to_owned(), columns)
                    }
                    TableFactor::Derived {
                        subquery,
                        alias: Some(alias),
                        ..
                    } => {
                        let columns = if alias.columns.is_empty() {
                            output_names(&subquery.body)
                        } else {
                            Some(alias.columns.iter().map(|c| c.value.clone()).collect())
                        };
                        (alias.name.value.clone(), columns)
                    }
                    _ => return ControlFlow::Continue(()),
                };
                // A name given to relations in two scopes stands for the columns of both (its
                // scope is the binder's to know): a column matching one of them only ignoring
                // case is still found, and one written as either is left as written.
                match self.relations.entry(name) {
                    Entry::Vacant(entry) => {
                        entry.insert(columns);
                    }
                    Entry::Occupied(mut entry) => match (entry.get_mut(), columns) {
                        (Some(known), Some(more)) => known.extend(more),
                        (known, _) => *known = None,
                    },
                }
                ControlFlow::Continue(())
            }
        }
        let mut collect = Collect {
            engine: self,
            relations: HashMap::new(),
            ctes: HashMap::new(),
        };
        let _ = statement.visit(&mut collect);
        collect.relations
    }
}

/// Whether every name written is a column (or the name) of a table the statement reads,
/// found without allocating names. Most statements are; only those that use aliases or
/// another spelling go on to be bound.
fn every_name_a_column(statement: &Statement, tables: &[&crate::store::Table]) -> bool {
    let names = || {
        tables.iter().flat_map(|table| {
            let columns = table.schema.column_defs.iter().flatten();
            std::iter::once(&table.schema.table_name).chain(columns.map(|c| &c.name))
        })
    };
    // Written as one table spells it, and as every table spelling it in some case does:
    // `w.c0` beside a `t1.c0` still means `w.C0`, which only scopes can tell.
    let is_column = |name: &str| {
        let mut exact = false;
        for stored in names() {
            if stored == name {
                exact = true;
            } else if stored.eq_ignore_ascii_case(name) {
                return false;
            }
        }
        exact
    };
    every_name(statement, is_column)
}

/// The columns of each relation a statement names (a table, a WITH query, a table or derived
/// table under its alias), by the name its columns are qualified with; `None` where they are
/// not known here. A qualified column is spelled as its own relation spells it, not as any name in the
/// statement: `(…) AS up (ID)` read as `up.id` while a table has `id` means `up.ID`.
type Relations = HashMap<String, Option<Vec<String>>>;

/// The output names of a query body's columns (its first arm's), when every one is an alias.
pub(super) fn output_names(body: &SetExpr) -> Option<Vec<String>> {
    match body {
        SetExpr::Select(select) => select
            .projection
            .iter()
            .map(|item| match item {
                // (An unnamed column is labelled by its name as respelled: not known yet.)
                SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
                _ => None,
            })
            .collect(),
        SetExpr::SetOperation { left, .. } => output_names(left),
        SetExpr::Query(query) => output_names(&query.body),
        _ => None,
    }
}

/// The columns of the relation a qualifier names: written exactly, or the one name equal to
/// it ignoring case.
fn columns_of<'a>(relations: &'a Relations, qualifier: &str) -> Option<&'a [String]> {
    let name = match relations.contains_key(qualifier) {
        true => qualifier,
        false => pick(qualifier, relations.keys().map(String::as_str))?,
    };
    relations.get(name)?.as_deref()
}

/// Whether every `q.c` whose relation's columns are known writes `c` as that relation does.
fn every_qualified_column_as_defined(statement: &Statement, relations: &Relations) -> bool {
    let mut all = true;
    let _ = visit::exprs(statement, |expr| {
        if let Expr::CompoundIdentifier(idents) = expr {
            if let [qualifier, column] = idents.as_slice() {
                all &= columns_of(relations, &qualifier.value)
                    .is_none_or(|columns| columns.contains(&column.value));
            }
        }
        if all {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    });
    all
}

/// Whether `known` holds for every column or alias name the statement writes: in its
/// expressions, an INSERT's column list, an UPDATE's targets.
fn every_name(statement: &Statement, known: impl Fn(&str) -> bool) -> bool {
    let mut all = true;
    let _ = visit::exprs(statement, |expr| {
        all &= match expr {
            Expr::Identifier(ident) => known(&ident.value),
            Expr::CompoundIdentifier(idents) => idents.iter().all(|i| known(&i.value)),
            _ => true,
        };
        if all {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    });
    all && match statement {
        Statement::Insert(insert) => insert.columns.iter().all(|c| known(&c.value)),
        Statement::Update { assignments, .. } => assignments.iter().all(|a| match &a.target {
            AssignmentTarget::ColumnName(name) => name.0.iter().all(|i| known(&i.value)),
            _ => true,
        }),
        _ => true,
    }
}

fn respell_columns(statement: &mut Statement, names: &[String], relations: &Relations) {
    keep_labels(statement);
    let _ = visit::exprs_mut(statement, |expr| {
        match expr {
            Expr::Identifier(ident) => {
                respell(ident, names);
            }
            Expr::CompoundIdentifier(idents) => match idents.as_mut_slice() {
                [qualifier, column] => {
                    // A qualifier names a relation: respelled among them first, so a column
                    // or output alias spelled as written (`c AS S0` beside `FROM w AS s0`)
                    // does not keep `S0.a1` from meaning `s0.a1`.
                    if !relations.contains_key(&qualifier.value) {
                        match pick(&qualifier.value, relations.keys().map(String::as_str)) {
                            Some(relation) => qualifier.value = relation.to_owned(),
                            None => {
                                respell(qualifier, names);
                            }
                        }
                    }
                    match columns_of(relations, &qualifier.value) {
                        Some(columns) => {
                            respell(column, columns);
                        }
                        None => {
                            respell(column, names);
                        }
                    }
                }
                idents => {
                    for ident in idents {
                        respell(ident, names);
                    }
                }
            },
            _ => {}
        }
        ControlFlow::Continue(())
    });
    match statement {
        Statement::Insert(insert) => {
            for column in &mut insert.columns {
                respell(column, names);
            }
        }
        Statement::Update { assignments, .. } => {
            for assignment in assignments {
                if let AssignmentTarget::ColumnName(name) = &mut assignment.target {
                    for ident in &mut name.0 {
                        respell(ident, names);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Names a statement gives (table aliases, derived-table column names, output aliases): a
/// later reference may write them in another case.
fn aliases(statement: &Statement, known: &mut HashSet<String>) {
    use gluesql_core::sqlparser::ast::Visit;
    struct Names<'a>(&'a mut HashSet<String>);
    impl gluesql_core::sqlparser::ast::Visitor for Names<'_> {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            let alias = match factor {
                TableFactor::Table { alias, .. } | TableFactor::Derived { alias, .. } => alias,
                _ => &None,
            };
            if let Some(alias) = alias {
                self.0.insert(alias.name.value.clone());
                self.0.extend(alias.columns.iter().map(|c| c.value.clone()));
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_query(
            &mut self,
            query: &gluesql_core::sqlparser::ast::Query,
        ) -> ControlFlow<()> {
            output_aliases(&query.body, self.0);
            ControlFlow::Continue(())
        }
    }
    // Every arm of a set operation names its columns (the first arm's names are the result's).
    fn output_aliases(body: &SetExpr, known: &mut HashSet<String>) {
        match body {
            SetExpr::Select(select) => {
                for item in &select.projection {
                    if let SelectItem::ExprWithAlias { alias, .. } = item {
                        known.insert(alias.value.clone());
                    }
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                output_aliases(left, known);
                output_aliases(right, known);
            }
            _ => {}
        }
    }
    let _ = statement.visit(&mut Names(known));
}

/// Gives each unnamed output column of the outer SELECT the label it has as written, so a
/// respelled `SELECT Name` is still called `Name` (GlueSQL labels a column by its last name).
fn keep_labels(statement: &mut Statement) {
    let Statement::Query(query) = statement else {
        return;
    };
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    for item in &mut select.projection {
        if let SelectItem::UnnamedExpr(expr) = item {
            let label = match &*expr {
                Expr::Identifier(ident) => ident.value.clone(),
                Expr::CompoundIdentifier(idents) => {
                    idents.last().map(|i| i.value.clone()).unwrap_or_default()
                }
                other => other.to_string(),
            };
            let expr =
                std::mem::replace(expr, Expr::Value(gluesql_core::sqlparser::ast::Value::Null));
            *item = SelectItem::ExprWithAlias {
                expr,
                alias: Ident::new(label),
            };
        }
    }
}

/// Table names a statement writes or defines that sqlparser does not visit as relations.
fn ddl_targets(statement: &Statement) -> Vec<&ObjectName> {
    match statement {
        Statement::Drop {
            object_type: ObjectType::Table | ObjectType::View,
            names,
            ..
        } => names.iter().collect(),
        Statement::CreateIndex(create) => vec![&create.table_name],
        Statement::AlterTable { name, .. } => vec![name],
        _ => Vec::new(),
    }
}

/// The table a CREATE TABLE makes (its last part, as written).
pub(super) fn created_table(create: &gluesql_core::sqlparser::ast::CreateTable) -> String {
    create
        .name
        .0
        .last()
        .map(|i| i.value.clone())
        .unwrap_or_default()
}

/// Whether ALTER TABLE `operations` touch what an object depends on: a column `names` holds
/// dropped, renamed or retyped; the table renamed when `renaming` counts; any other operation
/// when `others` counts (a default or NULL rule never does).
pub(super) fn alter_touches(
    operations: &[AlterTableOperation],
    names: impl Fn(&Ident) -> bool,
    renaming: bool,
    others: bool,
) -> bool {
    use gluesql_core::sqlparser::ast::AlterColumnOperation;
    operations.iter().any(|operation| match operation {
        AlterTableOperation::AddColumn { .. } => false,
        AlterTableOperation::RenameTable { .. } => renaming,
        AlterTableOperation::DropColumn { column_name, .. }
        | AlterTableOperation::RenameColumn {
            old_column_name: column_name,
            ..
        } => names(column_name),
        AlterTableOperation::AlterColumn { column_name, op } => {
            matches!(op, AlterColumnOperation::SetDataType { .. }) && names(column_name)
        }
        _ => others,
    })
}

/// The table an ALTER TABLE names (its last part, as written) and its operations.
pub(super) fn altered_table(statement: &Statement) -> Option<(&str, &[AlterTableOperation])> {
    let Statement::AlterTable {
        name, operations, ..
    } = statement
    else {
        return None;
    };
    let table = name.0.last().map(|i| i.value.as_str()).unwrap_or_default();
    Some((table, operations))
}

fn ddl_targets_mut(statement: &mut Statement) -> Vec<&mut ObjectName> {
    match statement {
        Statement::Drop {
            object_type: ObjectType::Table | ObjectType::View,
            names,
            ..
        } => names.iter_mut().collect(),
        Statement::CreateIndex(create) => vec![&mut create.table_name],
        Statement::AlterTable { name, .. } => vec![name],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::pick;

    #[test]
    fn an_exact_name_wins_and_two_names_equal_ignoring_case_match_neither() {
        let names = ["Users", "users", "Orders"];
        assert_eq!(pick("users", names.into_iter()), None);
        assert_eq!(pick("USERS", names.into_iter()), None);
        assert_eq!(pick("ORDERS", names.into_iter()), Some("Orders"));
        assert_eq!(pick("items", names.into_iter()), None);
    }
}
