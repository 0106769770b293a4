//! Stored definitions written back as SQL text, as `export()` writes them: names and texts
//! quoted so that none can end the statement it stands in, expressions checked to read back as
//! themselves, stored statements (views, indexes) re-read and written from their syntax tree.
//! The server refuses definitions that could not be written so (store/validate.rs).

use gluesql_core::{
    ast::{Expr, ToSql},
    parse_sql::parse_expr,
    sqlparser::{ast::Statement, dialect::PostgreSqlDialect, parser::Parser},
    translate::translate_expr,
};

/// How deeply a stored statement may nest when it is read back (as the engine's parser).
const RECURSION_LIMIT: usize = 100;

/// A quoted identifier: `"…"` with every `"` doubled.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A text literal: `'…'` with every `'` doubled.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `expr` as SQL, when that text reads back as the same expression. GlueSQL writes names inside
/// expressions without doubling quotes, and some operators as others (`||` as `+`), so its text
/// is used only when it round-trips.
pub fn expr(expr: &Expr) -> Result<String, String> {
    let text = expr.to_sql();
    let reads_back = parse_expr(&text)
        .and_then(|parsed| translate_expr(&parsed, &[]))
        .is_ok_and(|read| read == *expr);
    if reads_back {
        Ok(text)
    } else {
        Err(format!("the expression does not write back as SQL: {text}"))
    }
}

fn parse(definition: &str) -> Result<Vec<Statement>, String> {
    Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(definition)
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|e| e.to_string())
}

/// Exactly one stored statement, read back.
pub fn parse_one(definition: &str) -> Result<Statement, String> {
    let mut statements = parse(definition)?;
    match (statements.pop(), statements.is_empty()) {
        (Some(one), true) => Ok(one),
        _ => Err("not one statement".to_owned()),
    }
}

/// The stored statement defining a view or an index, re-read and written from its syntax tree:
/// exactly one statement of its kind, named `name` (a view) or on table `target` (an index).
pub fn object_definition(
    kind: &str,
    name: &str,
    target: Option<&str>,
    definition: &str,
) -> Result<String, String> {
    if kind == "foreign_key" {
        let def = crate::store::ForeignKeyDef::parse(name, target.unwrap_or_default(), definition)?;
        return Ok(def.to_sql());
    }
    if kind == "check" {
        let def = crate::store::CheckDef::parse(name, target.unwrap_or_default(), definition)?;
        return Ok(def.to_sql());
    }
    let statements = parse(definition)
        .map_err(|e| format!("{kind} {name}: its definition does not parse: {e}"))?;
    let last = |object: &gluesql_core::sqlparser::ast::ObjectName| {
        object.0.last().map(|i| i.value.clone()).unwrap_or_default()
    };
    let fits = match (kind, statements.as_slice()) {
        ("view", [Statement::CreateView { name: view, .. }]) => last(view) == name,
        ("index", [Statement::CreateIndex(create)]) => {
            target == Some(last(&create.table_name).as_str())
        }
        _ => false,
    };
    if !fits {
        return Err(format!(
            "{kind} {name}: its definition is not one CREATE {} of it",
            kind.to_uppercase()
        ));
    }
    Ok(statements[0].to_string())
}

#[cfg(test)]
mod tests {
    use {super::*, gluesql_core::translate::translate_expr};

    fn stored(sql: &str) -> Expr {
        translate_expr(&parse_expr(sql).unwrap(), &[]).unwrap()
    }

    #[test]
    fn the_expressions_people_write_read_back() {
        for sql in [
            "0",
            "-1",
            "1.50",
            "'it''s'",
            "NULL",
            "TRUE",
            "NOW()",
            "CURRENT_TIMESTAMP",
            "GENERATE_UUID()",
            "DATE '2020-01-01'",
            "CAST('7' AS INT)",
            "'{}'",
            "x + 1",
            "LPAD(x, 3, '0')",
            "CASE WHEN x > 0 THEN 'p' ELSE 'n' END",
            "NOW() + INTERVAL '1' DAY",
        ] {
            assert!(
                expr(&stored(sql)).is_ok(),
                "{sql}: {:?}",
                expr(&stored(sql))
            );
        }
    }

    #[test]
    fn text_that_would_read_back_as_something_else_is_refused() {
        // GlueSQL writes `||` as `+`.
        assert!(expr(&stored("'a' || 'b'")).is_err());
        // A name GlueSQL quotes without doubling its quotes.
        let hostile = Expr::Identifier("x\" + 1; DROP TABLE t; --".into());
        assert!(expr(&hostile).is_err());
        let typed = Expr::TypedString {
            data_type: gluesql_core::ast::DataType::Date,
            value: "2020-01-01'; DROP TABLE t; --".into(),
        };
        assert!(expr(&typed).is_err());
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
    }

    #[test]
    fn stored_statements_are_one_statement_of_their_kind() {
        let view = object_definition("view", "v", None, "CREATE VIEW v AS SELECT 1").unwrap();
        assert_eq!(view, "CREATE VIEW v AS SELECT 1");
        assert!(
            object_definition("view", "v", None, "CREATE VIEW v AS SELECT 1; DROP TABLE t")
                .is_err()
        );
        assert!(object_definition("view", "w", None, "CREATE VIEW v AS SELECT 1").is_err());
        assert!(object_definition("view", "v", None, "DROP TABLE t").is_err());
        let index = "CREATE UNIQUE INDEX i ON t (a, b)";
        assert!(object_definition("index", "t.i", Some("t"), index).is_ok());
        assert!(object_definition("index", "t.i", Some("u"), index).is_err());
    }
}
