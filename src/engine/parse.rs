//! SQL text to statements: the PostgreSQL grammar GlueSQL parses with, a nesting bound, syntax
//! other databases accept rewritten (compat.rs), and SQLite's `CREATE VIEW IF NOT EXISTS`,
//! which sqlparser's PostgreSQL dialect does not take. Pure; no store.

use {
    super::compat,
    crate::error::DbError,
    gluesql_core::sqlparser::{
        ast::Statement,
        dialect::PostgreSqlDialect,
        keywords::Keyword,
        parser::Parser,
        tokenizer::{Token, TokenWithLocation, Tokenizer, Whitespace},
    },
};

/// How deeply expressions may nest. sqlparser's default (50) refuses long AND/OR chains that
/// real queries have; every pass over a statement recurses as deep, so the bound stays well
/// inside the browser's WebAssembly stack (tests/engine_limits.rs pins both sides).
pub const PARSER_RECURSION_LIMIT: usize = 100;

fn parse_error(error: impl std::fmt::Debug) -> DbError {
    DbError::from(gluesql_core::error::Error::Parser(format!("{error:#?}")))
}

fn keyword(token: &TokenWithLocation) -> Option<Keyword> {
    match &token.token {
        Token::Word(word) if word.quote_style.is_none() => Some(word.keyword),
        _ => None,
    }
}

/// Marks a view name whose CREATE VIEW said IF NOT EXISTS (no identifier starts with it).
const IF_NOT_EXISTS_MARK: &str = "\u{1}if-not-exists\u{1}";

/// Takes `IF NOT EXISTS` out of `CREATE [OR REPLACE] VIEW IF NOT EXISTS name`, marking `name`
/// so the parsed statement can get the flag back.
fn take_view_if_not_exists(tokens: &mut Vec<TokenWithLocation>) {
    let mut words: Vec<(usize, Keyword)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match (&tokens[i].token, keyword(&tokens[i])) {
            (Token::SemiColon, _) => words.clear(),
            (Token::Whitespace(_), _) => {}
            // Only a statement's first words can open CREATE [OR REPLACE] VIEW IF NOT EXISTS.
            (_, _) if words.len() >= 7 => {}
            (_, k) => {
                words.push((i, k.unwrap_or(Keyword::NoKeyword)));
                let kinds: Vec<Keyword> = words.iter().map(|w| w.1).collect();
                let create_view = matches!(
                    kinds.as_slice(),
                    [
                        Keyword::CREATE,
                        Keyword::VIEW,
                        Keyword::IF,
                        Keyword::NOT,
                        Keyword::EXISTS
                    ] | [
                        Keyword::CREATE,
                        Keyword::OR,
                        Keyword::REPLACE,
                        Keyword::VIEW,
                        Keyword::IF,
                        Keyword::NOT,
                        Keyword::EXISTS
                    ]
                );
                if create_view {
                    let last = words.len();
                    let (first, end) = (words[last - 3].0, i + 1);
                    tokens.drain(first..end);
                    words.truncate(last - 3);
                    // The next word is the view name.
                    if let Some(name) = tokens[first..]
                        .iter_mut()
                        .find(|t| !matches!(t.token, Token::Whitespace(_)))
                    {
                        if let Token::Word(word) = &mut name.token {
                            word.value = format!("{IF_NOT_EXISTS_MARK}{}", word.value);
                            word.quote_style = Some('"');
                        }
                    }
                    i = first;
                    continue;
                }
            }
        }
        i += 1;
    }
}

/// `DELETE FROM t RETURNING …` without a WHERE: sqlparser 0.52 reads RETURNING as the table's
/// alias (it is reserved in PostgreSQL, so it never is one); `WHERE true` before it keeps it a
/// clause. Only at the top level of a DELETE statement, only when no WHERE comes before.
fn delete_returning_without_where(tokens: &mut Vec<TokenWithLocation>) {
    let mut delete = false;
    let mut first = true;
    let mut depth = 0usize;
    let mut has_where = false;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].token {
            Token::Whitespace(_) => {}
            Token::SemiColon => {
                (delete, first, depth, has_where) = (false, true, 0, false);
            }
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ => {
                let word = keyword(&tokens[i]);
                if first {
                    delete = word == Some(Keyword::DELETE);
                    first = false;
                } else if delete && depth == 0 {
                    match word {
                        Some(Keyword::WHERE) => has_where = true,
                        Some(Keyword::RETURNING) if !has_where => {
                            let at = tokens[i].location;
                            let words = [
                                Token::make_keyword("WHERE"),
                                Token::Whitespace(Whitespace::Space),
                                Token::make_keyword("true"),
                                Token::Whitespace(Whitespace::Space),
                            ];
                            let added = words.len();
                            tokens.splice(
                                i..i,
                                words
                                    .map(|token| TokenWithLocation::new(token, at.line, at.column)),
                            );
                            has_where = true;
                            i += added;
                        }
                        _ => {}
                    }
                }
            }
        }
        i += 1;
    }
}

/// Parses SQL text into statements, with the syntax other databases accept and GlueSQL does
/// not (comma joins, type names, …) already rewritten into what GlueSQL runs.
pub fn parse_sql(sql: &str) -> Result<Vec<Statement>, DbError> {
    let dialect = PostgreSqlDialect {};
    let mut tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(parse_error)?;
    take_view_if_not_exists(&mut tokens);
    delete_returning_without_where(&mut tokens);
    let with = tokens.iter().any(|t| keyword(t) == Some(Keyword::WITH));
    let mut statements = Parser::new(&dialect)
        .with_recursion_limit(PARSER_RECURSION_LIMIT)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(parse_error)?;
    for statement in &mut statements {
        if let Statement::CreateView {
            name,
            if_not_exists,
            ..
        } = statement
        {
            if let Some(ident) = name.0.last_mut() {
                if let Some(plain) = ident.value.strip_prefix(IF_NOT_EXISTS_MARK) {
                    ident.value = plain.to_owned();
                    ident.quote_style = None;
                    *if_not_exists = true;
                }
            }
        }
        if with {
            super::ctes::inline(statement)?;
        }
        compat::rewrite_statement(statement);
        super::unsupported::check(statement)?;
    }
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_view_if_not_exists_parses() {
        let statements = parse_sql(
            "CREATE VIEW IF NOT EXISTS v AS SELECT 1; CREATE OR REPLACE VIEW w AS SELECT 2",
        )
        .unwrap();
        assert!(matches!(
            &statements[0],
            Statement::CreateView { if_not_exists: true, name, .. } if name.to_string() == "v"
        ));
        assert!(matches!(
            &statements[1],
            Statement::CreateView {
                if_not_exists: false,
                or_replace: true,
                ..
            }
        ));
    }
}
