//! The database described for tools and UIs: each table with its columns, keys, references,
//! indexes and row count, read from the store's schemas, and each view with its columns.

use {
    crate::{
        engine::{Engine, Object, ObjectKind, OBJECTS_TABLE},
        store::{CheckDef, ForeignKeyDef, Table},
    },
    gluesql_core::ast::ToSql,
    serde::Serialize,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableInfo {
    pub name: String,
    /// "table" or "view".
    pub kind: &'static str,
    /// A view's `CREATE VIEW` statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// Empty for a schemaless table (`CREATE TABLE docs;`), whose rows are maps.
    pub columns: Vec<ColumnInfo>,
    pub indexes: Vec<IndexInfo>,
    pub foreign_keys: Vec<ForeignKeyInfo>,
    pub checks: Vec<CheckInfo>,
    pub row_count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckInfo {
    pub name: String,
    /// The CHECK's expression as SQL.
    pub expr: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub nullable: bool,
    pub primary_key: bool,
    pub unique: bool,
    /// The DEFAULT expression as SQL.
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexInfo {
    pub name: String,
    /// The indexed expression as SQL (usually a column name; columns separated by commas for
    /// an index on several).
    pub expr: String,
    pub unique: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForeignKeyInfo {
    pub name: String,
    /// The first referencing column and the column it references (`columns` lists them all).
    pub column: String,
    pub references_table: String,
    pub references_column: String,
    pub columns: Vec<String>,
    pub references_columns: Vec<String>,
    /// "NO ACTION", "RESTRICT", "CASCADE", "SET NULL" or "SET DEFAULT".
    pub on_delete: &'static str,
    pub on_update: &'static str,
}

impl ForeignKeyInfo {
    fn of(def: &ForeignKeyDef) -> Self {
        ForeignKeyInfo {
            name: def.name.clone(),
            column: def.columns.first().cloned().unwrap_or_default(),
            references_table: def.parent.clone(),
            references_column: def.parent_columns.first().cloned().unwrap_or_default(),
            columns: def.columns.clone(),
            references_columns: def.parent_columns.clone(),
            on_delete: def.on_delete.as_sql(),
            on_update: def.on_update.as_sql(),
        }
    }
}

/// Every table and view, in name order. A view's columns are its query's; their types are
/// not known before rows exist, so they are reported empty.
pub fn describe_tables(engine: &mut Engine) -> Vec<TableInfo> {
    let indexes = engine.objects(ObjectKind::Index);
    let foreign_keys = engine.store().foreign_keys();
    let checks = engine.store().checks();
    let mut tables: Vec<TableInfo> = engine
        .store()
        .tables()
        .filter(|table| table.schema.table_name != OBJECTS_TABLE)
        .map(|table| describe_table(table, &indexes, &foreign_keys, &checks))
        .collect();
    for view in engine.objects(ObjectKind::View) {
        let columns = engine
            .query(&format!("SELECT * FROM \"{}\" LIMIT 0", view.name), &[])
            .map(|output| output.columns)
            .unwrap_or_default();
        tables.push(describe_view(view, columns));
    }
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    tables
}

fn describe_view(view: Object, columns: Vec<String>) -> TableInfo {
    TableInfo {
        name: view.name,
        kind: "view",
        definition: Some(view.definition),
        columns: columns
            .into_iter()
            .map(|name| ColumnInfo {
                name,
                data_type: String::new(),
                nullable: true,
                primary_key: false,
                unique: false,
                default: None,
            })
            .collect(),
        indexes: Vec::new(),
        foreign_keys: Vec::new(),
        checks: Vec::new(),
        row_count: 0,
    }
}

fn describe_table(
    table: &Table,
    objects: &[Object],
    foreign_keys: &[ForeignKeyDef],
    checks: &[CheckDef],
) -> TableInfo {
    let schema = &table.schema;
    let columns = schema
        .column_defs
        .iter()
        .flatten()
        .map(|def| ColumnInfo {
            name: def.name.clone(),
            data_type: crate::json::JsonKind::of_marker(def.comment.as_deref())
                .map_or_else(|| def.data_type.to_string(), |k| k.name().to_owned()),
            nullable: def.nullable,
            primary_key: def.unique.is_some_and(|unique| unique.is_primary),
            unique: def.unique.is_some(),
            default: def.default.as_ref().map(ToSql::to_sql),
        })
        .collect();
    TableInfo {
        name: schema.table_name.clone(),
        kind: "table",
        definition: None,
        columns,
        indexes: schema
            .indexes
            .iter()
            .map(|index| {
                let object = objects
                    .iter()
                    .find(|o| o.name == format!("{}.{}", schema.table_name, index.name));
                IndexInfo {
                    name: index.name.clone(),
                    expr: match object {
                        Some(object) if !object.columns.is_empty() => object
                            .columns
                            .iter()
                            .map(|c| format!("\"{c}\""))
                            .collect::<Vec<_>>()
                            .join(", "),
                        // An index on an expression: as written in its definition.
                        Some(object) => written_expression(&object.definition)
                            .unwrap_or_else(|| index.expr.to_sql()),
                        None => index.expr.to_sql(),
                    },
                    unique: object.is_some_and(|o| o.unique),
                }
            })
            .collect(),
        // GlueSQL's own (made by 0.1 releases: one column, NO ACTION), then ours.
        foreign_keys: schema
            .foreign_keys
            .iter()
            .map(|fk| ForeignKeyInfo {
                name: fk.name.clone(),
                column: fk.referencing_column_name.clone(),
                references_table: fk.referenced_table_name.clone(),
                references_column: fk.referenced_column_name.clone(),
                columns: vec![fk.referencing_column_name.clone()],
                references_columns: vec![fk.referenced_column_name.clone()],
                on_delete: "NO ACTION",
                on_update: "NO ACTION",
            })
            .chain(
                foreign_keys
                    .iter()
                    .filter(|def| def.table == schema.table_name)
                    .map(ForeignKeyInfo::of),
            )
            .collect(),
        checks: checks
            .iter()
            .filter(|def| def.table == schema.table_name)
            .map(|def| CheckInfo {
                name: def.name.clone(),
                expr: def.expr.to_string(),
            })
            .collect(),
        row_count: table.rows.len(),
    }
}

/// The indexed expression of a stored `CREATE INDEX … ON t (expr)`.
fn written_expression(definition: &str) -> Option<String> {
    match crate::sql_text::parse_one(definition) {
        Ok(gluesql_core::sqlparser::ast::Statement::CreateIndex(create)) => {
            create.columns.first().map(|column| column.expr.to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use {super::*, crate::engine::Engine};

    #[test]
    fn describes_columns_keys_references_indexes_and_counts() {
        let mut engine = Engine::default();
        for sql in [
            "CREATE TABLE author (id INT PRIMARY KEY, email TEXT UNIQUE, name TEXT NOT NULL DEFAULT 'anon')",
            "CREATE TABLE book (id INT PRIMARY KEY, author_id INT, FOREIGN KEY (author_id) REFERENCES author (id))",
            "CREATE INDEX book_author ON book (author_id)",
            "CREATE TABLE notes",
            "INSERT INTO author VALUES (1, 'a@x', 'A'), (2, 'b@x', 'B')",
            "CREATE UNIQUE INDEX author_name ON author (name, email)",
            "CREATE VIEW named AS SELECT name AS who FROM author",
            "ALTER TABLE author ADD CONSTRAINT named CHECK (name <> '')",
        ] {
            engine.query(sql, &[]).expect(sql);
        }
        let tables = describe_tables(&mut engine);
        let names: Vec<_> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["author", "book", "named", "notes"]);
        assert_eq!(
            tables[0].indexes,
            [IndexInfo {
                name: "author_name".into(),
                expr: "\"name\", \"email\"".into(),
                unique: true,
            }]
        );
        let view = &tables[2];
        assert_eq!(view.kind, "view");
        assert_eq!(view.columns[0].name, "who");
        assert!(view
            .definition
            .as_deref()
            .unwrap()
            .starts_with("CREATE VIEW \"named\""));
        let author = &tables[0];
        assert_eq!(author.row_count, 2);
        assert_eq!(
            author.columns[0],
            ColumnInfo {
                name: "id".into(),
                data_type: "INT".into(),
                nullable: false,
                primary_key: true,
                unique: true,
                default: None,
            }
        );
        assert!(author.columns[1].unique && !author.columns[1].primary_key);
        assert_eq!(author.columns[2].default.as_deref(), Some("'anon'"));
        assert!(!author.columns[2].nullable);
        assert_eq!(
            author.checks,
            [CheckInfo {
                name: "named".into(),
                expr: "name <> ''".into(),
            }]
        );
        let book = &tables[1];
        assert_eq!(
            book.indexes,
            [IndexInfo {
                name: "book_author".into(),
                expr: "\"author_id\"".into(),
                unique: false,
            }]
        );
        assert_eq!(book.foreign_keys[0].references_table, "author");
        assert_eq!(book.foreign_keys[0].name, "book_author_id_fkey");
        assert_eq!(book.foreign_keys[0].on_delete, "NO ACTION");
        assert!(tables[3].columns.is_empty());
    }
}
