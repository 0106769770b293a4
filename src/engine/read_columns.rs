//! The columns a plain one-table SELECT mentions, so the store's scan hands GlueSQL only those
//! (store/read_columns.rs). Purely syntactic and conservative: any doubt answers `None`.

use {
    gluesql_core::sqlparser::ast::{
        Expr, ObjectName, Select, SelectItem, SetExpr, Statement, TableFactor,
    },
    std::ops::ControlFlow,
};

/// The one table a SELECT reads, when its FROM is a single named table without joins.
pub(super) fn only_table(select: &Select) -> Option<&ObjectName> {
    let [from] = select.from.as_slice() else {
        return None;
    };
    if !from.joins.is_empty() {
        return None;
    }
    match &from.relation {
        TableFactor::Table {
            name, args: None, ..
        } => Some(name),
        _ => None,
    }
}

/// `(table, names)` for `SELECT … FROM one_table …` with no join, wildcard, subquery or CTE:
/// every identifier anywhere in it (column, alias or other — a superset is safe).
pub fn columns_read(statement: &Statement) -> Option<(String, Vec<String>)> {
    let Statement::Query(query) = statement else {
        return None;
    };
    if query.with.is_some() {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let name = only_table(select)?;
    if select.projection.iter().any(|item| {
        matches!(
            item,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    }) {
        return None;
    }
    let mut names = Vec::new();
    let doubt = super::visit::exprs(statement, |expr| match expr {
        Expr::Identifier(ident) => {
            names.push(ident.value.clone());
            ControlFlow::Continue(())
        }
        Expr::CompoundIdentifier(parts) => {
            names.extend(parts.last().map(|ident| ident.value.clone()));
            ControlFlow::Continue(())
        }
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    if doubt.is_break() {
        return None;
    }
    let table = name.0.last()?.value.clone();
    Some((table, names))
}

#[cfg(test)]
mod tests {
    use {super::columns_read, crate::engine::parse_sql};

    fn read(sql: &str) -> Option<(String, Vec<String>)> {
        columns_read(&parse_sql(sql).unwrap()[0])
    }

    #[test]
    fn names_every_identifier_of_a_plain_select() {
        let (table, mut names) =
            read("SELECT COUNT(*), SUM(score) FROM kv WHERE name <> 'x' ORDER BY k.id").unwrap();
        names.sort();
        assert_eq!(
            (table.as_str(), names),
            ("kv", vec!["id".to_owned(), "name".into(), "score".into()])
        );
    }

    #[test]
    fn doubts_answer_none() {
        for sql in [
            "SELECT * FROM kv",
            "SELECT kv.* FROM kv",
            "SELECT a FROM kv, other",
            "SELECT a FROM kv JOIN other ON kv.id = other.id",
            "SELECT a FROM kv WHERE a IN (SELECT b FROM other)",
            "SELECT (SELECT MAX(b) FROM other) FROM kv",
            "SELECT a FROM kv WHERE EXISTS (SELECT 1 FROM other)",
            "WITH t AS (SELECT 1 AS a) SELECT a FROM t",
            "SELECT a FROM (SELECT a FROM kv) AS sub",
            "SELECT a FROM kv UNION SELECT a FROM other",
            "INSERT INTO kv VALUES (1)",
        ] {
            assert_eq!(read(sql), None, "{sql}");
        }
    }
}
