//! What a name inside a SELECT can refer to: its FROM items (by name or alias) with their
//! columns and declared types, and its output labels. Read from the store's schemas; changes nothing.

use {
    super::Engine,
    gluesql_core::{
        ast::DataType,
        sqlparser::ast::{Expr, Query, SelectItem, SetExpr, TableFactor, TableWithJoins},
        store::Store,
    },
};

/// One FROM item: the name it is visible by, and its columns with their declared types when
/// known (`None`: the columns themselves are unknown, e.g. a schemaless table).
#[derive(Clone)]
pub struct ScopeTable {
    pub name: String,
    pub columns: Option<Vec<(String, Option<DataType>)>>,
    /// Columns of a derived table whose numeric kind varies by row (a CASE with integer and
    /// fraction branches), set by the numeric pass.
    pub varying: Vec<String>,
    /// Columns of a derived table that are NULL on every row (a subquery computed ahead that
    /// found nothing, a NULL parameter), set by the numeric pass: of every kind.
    pub null_only: Vec<String>,
    /// The stored table a base-table FROM item reads.
    pub source: Option<String>,
}

#[derive(Default, Clone)]
pub struct Scope {
    pub tables: Vec<ScopeTable>,
    pub labels: Vec<String>,
    /// A FROM item's columns are known only once it runs (a recursive WITH's own rows): any
    /// unqualified name may be one of them.
    pub any_column: bool,
}

impl Scope {
    /// Whether an unqualified name is surely one of this scope's columns or labels.
    pub fn names(&self, ident: &str) -> bool {
        self.any_column
            || self.labels.iter().any(|l| l == ident)
            || self.tables.iter().any(|table| {
                table
                    .columns
                    .as_ref()
                    .is_some_and(|c| c.iter().any(|(name, _)| name == ident))
            })
    }

    /// The FROM item that has the column `ident` (unquoted: in any case), when exactly one has.
    pub fn only_table_naming(&self, ident: &gluesql_core::sqlparser::ast::Ident) -> Option<&str> {
        let mut found = self.tables.iter().filter(|table| {
            table.columns.as_ref().is_some_and(|c| {
                c.iter().any(|(name, _)| {
                    *name == ident.value
                        || (ident.quote_style.is_none() && name.eq_ignore_ascii_case(&ident.value))
                })
            })
        });
        match (found.next(), found.next()) {
            (Some(table), None) => Some(&table.name),
            _ => None,
        }
    }

    pub fn has_table(&self, name: &str) -> bool {
        self.tables.iter().any(|table| table.name == name)
    }

    /// `names`, ignoring ASCII case.
    pub fn names_folded(&self, ident: &str) -> bool {
        self.any_column
            || self.labels.iter().any(|l| l.eq_ignore_ascii_case(ident))
            || self.tables.iter().any(|table| {
                table
                    .columns
                    .as_ref()
                    .is_some_and(|c| c.iter().any(|(name, _)| name.eq_ignore_ascii_case(ident)))
            })
    }

    /// `has_table`, ignoring ASCII case.
    pub fn has_table_folded(&self, name: &str) -> bool {
        self.tables
            .iter()
            .any(|table| table.name.eq_ignore_ascii_case(name))
    }

    /// Whether `column` (of `table` when qualified) is a derived column whose numeric kind
    /// varies by row.
    pub fn varies(&self, table: Option<&str>, column: &str) -> bool {
        self.tables
            .iter()
            .filter(|t| table.is_none_or(|name| t.name == name))
            .any(|t| t.varying.iter().any(|c| c == column))
    }

    /// Whether `column` (of `table` when qualified) is NULL on every row (see `null_only`).
    pub fn is_null_only(&self, table: Option<&str>, column: &str) -> bool {
        self.tables
            .iter()
            .filter(|t| table.is_none_or(|name| t.name == name))
            .any(|t| t.null_only.iter().any(|c| c == column))
    }

    /// The stored table `column` (of `table` when qualified) is read from, if a base table of
    /// this scope has it.
    pub fn source_of(&self, table: Option<&str>, column: &str) -> Option<&str> {
        self.tables
            .iter()
            .filter(|t| table.is_none_or(|name| t.name == name))
            .find(|t| {
                t.columns
                    .as_ref()
                    .is_some_and(|c| c.iter().any(|(name, _)| name == column))
            })
            .and_then(|t| t.source.as_deref())
    }

    /// The declared type of `column` (of `table` when qualified), if this scope has it.
    /// `Some(None)`: the name is here but its type is not known.
    pub fn column_type(&self, table: Option<&str>, column: &str) -> Option<Option<DataType>> {
        self.tables
            .iter()
            .filter(|t| table.is_none_or(|name| t.name == name))
            .find_map(|t| {
                t.columns
                    .as_ref()?
                    .iter()
                    .find(|(name, _)| name == column)
                    .map(|(_, data_type)| data_type.clone())
            })
    }
}

/// The declared type of the column `expr` names (`c`, `t.c`, `(c)`), the innermost scope
/// first; `None` for anything else, an unknown column or one without a declared type.
pub fn column_type_of(expr: &Expr, scopes: &[Scope]) -> Option<DataType> {
    let (table, column) = match expr {
        Expr::Identifier(ident) => (None, &ident.value),
        Expr::CompoundIdentifier(idents) if idents.len() == 2 => {
            (Some(idents[0].value.as_str()), &idents[1].value)
        }
        Expr::Nested(inner) => return column_type_of(inner, scopes),
        _ => return None,
    };
    column_type_named(table, column, scopes)
}

/// The declared type of `table.column` (or `column` in any FROM item), innermost scope first.
pub fn column_type_named(table: Option<&str>, column: &str, scopes: &[Scope]) -> Option<DataType> {
    scopes
        .iter()
        .rev()
        .find_map(|scope| scope.column_type(table, column))
        .flatten()
}

/// The name an output column gets: its alias, or the column it names.
pub fn label_of(item: &SelectItem) -> Option<String> {
    match item {
        SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
        SelectItem::UnnamedExpr(Expr::Identifier(ident)) => Some(ident.value.clone()),
        SelectItem::UnnamedExpr(Expr::CompoundIdentifier(idents)) => {
            idents.last().map(|i| i.value.clone())
        }
        _ => None,
    }
}

impl Engine {
    pub(super) fn columns_of_table(&self, name: &str) -> Option<Vec<(String, Option<DataType>)>> {
        let schema = self.glue.storage.fetch_schema(name).ok()??;
        schema.column_defs.map(|defs| {
            defs.into_iter()
                .map(|d| (d.name, Some(d.data_type)))
                .collect()
        })
    }

    /// The output columns of a derived table's query, when they can be known (types are not).
    fn columns_of_query(&self, query: &Query) -> Option<Vec<(String, Option<DataType>)>> {
        self.columns_of_body(&query.body)
    }

    /// A set operation's columns are its first arm's.
    fn columns_of_body(&self, body: &SetExpr) -> Option<Vec<(String, Option<DataType>)>> {
        let select = match body {
            SetExpr::Select(select) => select,
            SetExpr::SetOperation { left, .. } => return self.columns_of_body(left),
            SetExpr::Query(query) => return self.columns_of_query(query),
            _ => return None,
        };
        let mut columns = Vec::new();
        for item in &select.projection {
            match item {
                SelectItem::Wildcard(_) => {
                    let scope = self.scope_of_from(&select.from);
                    for table in scope.tables {
                        columns.extend(table.columns?.into_iter().map(|(n, _)| (n, None)));
                    }
                }
                SelectItem::QualifiedWildcard(name, _) => {
                    let qualifier = name.0.last()?;
                    let scope = self.scope_of_from(&select.from);
                    let table = scope
                        .tables
                        .into_iter()
                        .find(|t| t.name.eq_ignore_ascii_case(&qualifier.value))?;
                    columns.extend(table.columns?.into_iter().map(|(n, _)| (n, None)));
                }
                other => columns.push((label_of(other)?, None)),
            }
        }
        Some(columns)
    }

    pub(super) fn scope_of_factor(&self, factor: &TableFactor, scope: &mut Scope) {
        match factor {
            TableFactor::Table { name, alias, .. } => {
                let table = name.0.last().map(|i| i.value.clone()).unwrap_or_default();
                let visible = alias
                    .as_ref()
                    .map_or_else(|| table.clone(), |a| a.name.value.clone());
                scope.tables.push(ScopeTable {
                    name: visible,
                    columns: self.columns_of_table(&table),
                    varying: Vec::new(),
                    null_only: Vec::new(),
                    source: Some(table),
                });
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let columns = match alias {
                    Some(alias) if !alias.columns.is_empty() => Some(
                        alias
                            .columns
                            .iter()
                            .map(|c| (c.value.clone(), None))
                            .collect(),
                    ),
                    _ => self.columns_of_query(subquery),
                };
                scope.tables.push(ScopeTable {
                    name: alias
                        .as_ref()
                        .map_or_else(String::new, |a| a.name.value.clone()),
                    columns,
                    varying: Vec::new(),
                    null_only: Vec::new(),
                    source: None,
                });
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => {
                self.scope_of_factor(&table_with_joins.relation, scope);
                for join in &table_with_joins.joins {
                    self.scope_of_factor(&join.relation, scope);
                }
            }
            _ => scope.tables.push(ScopeTable {
                name: String::new(),
                columns: None,
                varying: Vec::new(),
                null_only: Vec::new(),
                source: None,
            }),
        }
    }

    /// The scope of one SELECT's FROM list.
    pub(super) fn scope_of_from(&self, from: &[TableWithJoins]) -> Scope {
        let mut scope = Scope::default();
        for table in from {
            self.scope_of_factor(&table.relation, &mut scope);
            for join in &table.joins {
                self.scope_of_factor(&join.relation, &mut scope);
            }
        }
        scope
    }
}
