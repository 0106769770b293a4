//! The database described for tools and UIs: each table with its columns, keys, references,
//! indexes and row count, read from the store's schemas (never from parsing SQL).

use {
    crate::store::{MemoryStore, Table},
    gluesql_core::ast::ToSql,
    serde::Serialize,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableInfo {
    pub name: String,
    /// Empty for a schemaless table (`CREATE TABLE docs;`), whose rows are maps.
    pub columns: Vec<ColumnInfo>,
    pub indexes: Vec<IndexInfo>,
    pub foreign_keys: Vec<ForeignKeyInfo>,
    pub row_count: usize,
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
    /// The indexed expression as SQL (usually a column name).
    pub expr: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForeignKeyInfo {
    pub column: String,
    pub references_table: String,
    pub references_column: String,
}

/// Every table, in name order.
pub fn describe_tables(store: &MemoryStore) -> Vec<TableInfo> {
    store.tables().map(describe_table).collect()
}

fn describe_table(table: &Table) -> TableInfo {
    let schema = &table.schema;
    let columns = schema
        .column_defs
        .iter()
        .flatten()
        .map(|def| ColumnInfo {
            name: def.name.clone(),
            data_type: def.data_type.to_string(),
            nullable: def.nullable,
            primary_key: def.unique.is_some_and(|unique| unique.is_primary),
            unique: def.unique.is_some(),
            default: def.default.as_ref().map(ToSql::to_sql),
        })
        .collect();
    TableInfo {
        name: schema.table_name.clone(),
        columns,
        indexes: schema
            .indexes
            .iter()
            .map(|index| IndexInfo {
                name: index.name.clone(),
                expr: index.expr.to_sql(),
            })
            .collect(),
        foreign_keys: schema
            .foreign_keys
            .iter()
            .map(|fk| ForeignKeyInfo {
                column: fk.referencing_column_name.clone(),
                references_table: fk.referenced_table_name.clone(),
                references_column: fk.referenced_column_name.clone(),
            })
            .collect(),
        row_count: table.rows.len(),
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
        ] {
            engine.query(sql, &[]).expect(sql);
        }
        let tables = describe_tables(engine.store());
        let names: Vec<_> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["author", "book", "notes"]);
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
        let book = &tables[1];
        assert_eq!(
            book.indexes,
            [IndexInfo {
                name: "book_author".into(),
                expr: "\"author_id\"".into()
            }]
        );
        assert_eq!(book.foreign_keys[0].references_table, "author");
        assert!(tables[2].columns.is_empty());
    }
}
