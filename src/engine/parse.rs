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

/// Marks a table name whose INSERT was written `INSERT OR IGNORE` / `INSERT OR REPLACE` /
/// `REPLACE INTO` (SQLite's forms, which the PostgreSQL grammar does not have); `q` after the
/// word when the name was quoted. `sqlite_conflict` reads the mark back after parsing.
const OR_MARK: char = '\u{1}';

/// SQLite's conflict clauses at the start of a statement become a plain `INSERT INTO` whose
/// table name carries the clause (see `OR_MARK`); `OR ABORT` is what every INSERT does and
/// goes. `OR FAIL` / `OR ROLLBACK` are refused: they keep or undo more than a statement.
fn sqlite_insert_or(tokens: &mut Vec<TokenWithLocation>) -> Result<(), DbError> {
    let mut i = 0;
    let mut first = true;
    while i < tokens.len() {
        match &tokens[i].token {
            Token::Whitespace(_) => {
                i += 1;
                continue;
            }
            Token::SemiColon => {
                first = true;
                i += 1;
                continue;
            }
            _ => {}
        }
        if !first {
            i += 1;
            continue;
        }
        first = false;
        let significant: Vec<usize> = (i..tokens.len())
            .filter(|&j| !matches!(tokens[j].token, Token::Whitespace(_)))
            .take(5)
            .collect();
        let word = |n: usize| significant.get(n).and_then(|&j| keyword(&tokens[j]));
        let upper = |n: usize| match significant.get(n).map(|&j| &tokens[j].token) {
            Some(Token::Word(w)) if w.quote_style.is_none() => w.value.to_uppercase(),
            _ => String::new(),
        };
        // (tokens to drop, clause, index in `significant` of INTO)
        let found = match (word(0), word(1)) {
            (Some(Keyword::INSERT), Some(Keyword::OR)) => {
                let clause = upper(2);
                match clause.as_str() {
                    "IGNORE" | "REPLACE" | "ABORT" if word(3) == Some(Keyword::INTO) => {
                        Some((vec![significant[1], significant[2]], clause, 3))
                    }
                    "FAIL" | "ROLLBACK" => {
                        return Err(DbError::from(gluesql_core::error::Error::Parser(format!(
                            "INSERT OR {clause} is not supported (OR IGNORE, OR REPLACE \
                                 and ON CONFLICT are)"
                        ))))
                    }
                    _ => None,
                }
            }
            (Some(Keyword::REPLACE), Some(Keyword::INTO)) => {
                tokens[significant[0]].token = Token::make_keyword("INSERT");
                Some((Vec::new(), "REPLACE".to_owned(), 1))
            }
            _ => None,
        };
        if let Some((drop, clause, into)) = found {
            if clause != "ABORT" {
                if let Some(&name_at) = significant.get(into + 1) {
                    if let Token::Word(w) = &mut tokens[name_at].token {
                        let quoted = if w.quote_style.is_some() { "q" } else { "" };
                        w.value = format!("{OR_MARK}{clause}{quoted}{OR_MARK}{}", w.value);
                        w.quote_style = Some('"');
                    }
                }
            }
            for j in drop.into_iter().rev() {
                tokens.remove(j);
            }
        }
        i += 1;
    }
    Ok(())
}

/// Reads `sqlite_insert_or`'s mark back into the INSERT's `or`.
fn sqlite_conflict(statement: &mut Statement) {
    use gluesql_core::sqlparser::ast::SqliteOnConflict;
    let Statement::Insert(insert) = statement else {
        return;
    };
    let Some(ident) = insert.table_name.0.first_mut() else {
        return;
    };
    let Some(rest) = ident.value.strip_prefix(OR_MARK) else {
        return;
    };
    let Some((clause, name)) = rest.split_once(OR_MARK) else {
        return;
    };
    let (clause, quoted) = match clause.strip_suffix('q') {
        Some(clause) => (clause, true),
        None => (clause, false),
    };
    insert.or = Some(match clause {
        "IGNORE" => SqliteOnConflict::Ignore,
        _ => SqliteOnConflict::Replace,
    });
    ident.value = name.to_owned();
    if !quoted {
        ident.quote_style = None;
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

/// The order sqlparser 0.52 reads an identity's sequence options in (PostgreSQL takes any).
const SEQUENCE_OPTION_ORDER: [&str; 6] = [
    "INCREMENT",
    "MINVALUE",
    "MAXVALUE",
    "START",
    "CACHE",
    "CYCLE",
];

/// Puts the options of `… AS IDENTITY ( … )` in the order sqlparser reads them, and drops
/// PostgreSQL's `SEQUENCE NAME n` (the sequence is always `table_column_seq` here), so the
/// options Drizzle and pg_dump write (`START WITH 1 INCREMENT BY 1 …`) parse.
fn identity_options_in_order(tokens: &mut Vec<TokenWithLocation>) {
    let mut i = 0;
    while i < tokens.len() {
        if keyword(&tokens[i]) != Some(Keyword::IDENTITY) {
            i += 1;
            continue;
        }
        let Some(open) =
            (i + 1..tokens.len()).find(|&j| !matches!(tokens[j].token, Token::Whitespace(_)))
        else {
            return;
        };
        if tokens[open].token != Token::LParen {
            i += 1;
            continue;
        }
        let Some(close) = (open + 1..tokens.len()).find(|&j| {
            matches!(
                tokens[j].token,
                Token::RParen | Token::LParen | Token::SemiColon
            )
        }) else {
            return;
        };
        if tokens[close].token != Token::RParen {
            i = close;
            continue;
        }
        // Each option: the words from one option keyword to the next.
        let words: Vec<TokenWithLocation> = tokens[open + 1..close]
            .iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .cloned()
            .collect();
        let upper = |t: &TokenWithLocation| match &t.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_uppercase(),
            _ => String::new(),
        };
        let mut options: Vec<(usize, Vec<TokenWithLocation>)> = Vec::new();
        let mut k = 0;
        while k < words.len() {
            let word = upper(&words[k]);
            let (rank, length) = match word.as_str() {
                "SEQUENCE" => (None, 3),
                "NO" => {
                    let next = words.get(k + 1).map(upper).unwrap_or_default();
                    (SEQUENCE_OPTION_ORDER.iter().position(|o| *o == next), 2)
                }
                "INCREMENT" | "START" => {
                    let by = words.get(k + 1).map(upper).unwrap_or_default();
                    let length = if by == "BY" || by == "WITH" { 3 } else { 2 };
                    (
                        SEQUENCE_OPTION_ORDER.iter().position(|o| *o == word),
                        length,
                    )
                }
                "CYCLE" => (Some(5), 1),
                other => match SEQUENCE_OPTION_ORDER.iter().position(|o| *o == other) {
                    Some(rank) => (Some(rank), 2),
                    // Not an option this knows: left for the parser to report.
                    None => {
                        options.clear();
                        break;
                    }
                },
            };
            let mut end = (k + length).min(words.len());
            // A negative number is two tokens, a qualified sequence name several.
            if end < words.len() && matches!(words[end - 1].token, Token::Minus) {
                end += 1;
            }
            while word == "SEQUENCE" && end + 1 < words.len() && words[end].token == Token::Period {
                end += 2;
            }
            if let Some(rank) = rank {
                options.push((rank, words[k..end].to_vec()));
            }
            k = end;
        }
        if options.is_empty() && !words.is_empty() {
            i = close + 1;
            continue;
        }
        options.sort_by_key(|(rank, _)| *rank);
        let space = TokenWithLocation::wrap(Token::Whitespace(Whitespace::Space));
        let mut replaced = Vec::new();
        for (_, option) in options {
            for token in option {
                replaced.push(space.clone());
                replaced.push(token);
            }
        }
        let added = replaced.len();
        tokens.splice(open + 1..close, replaced);
        i = open + added + 2;
    }
}

/// A number written with an exponent whose value has no fraction digits (`2.5e1`, `1e3`) is
/// still a fraction literal, a NUMERIC to PostgreSQL; once parsed it cannot be told from the
/// integer `25` (scale 0), or prints as one (`1e3` prints `1000`, so a view's text reads back
/// an integer). Such a token is written with one fraction digit (`25.0`), the literal idbsql
/// reads as a fraction everywhere. Stored into a DECIMAL it keeps that digit (PostgreSQL: 25).
/// Only up to 15 zeros are written out (`1e999999999` would be a gigabyte of digits): a number
/// with more keeps its exponent when printed, and its negative scale reads as a fraction.
fn exponent_literals_as_fractions(tokens: &mut [TokenWithLocation]) {
    for token in tokens {
        let Token::Number(text, _) = &mut token.token else {
            continue;
        };
        if !text.contains(['e', 'E']) {
            continue;
        }
        let Ok(value) = text.parse::<bigdecimal::BigDecimal>() else {
            continue;
        };
        if (-15..=0).contains(&value.fractional_digit_count()) {
            *text = format!("{}.0", value.with_scale(0).to_plain_string());
        }
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
    sqlite_insert_or(&mut tokens)?;
    identity_options_in_order(&mut tokens);
    exponent_literals_as_fractions(&mut tokens);
    let with = tokens.iter().any(|t| keyword(t) == Some(Keyword::WITH));
    let public = super::schemas::writes_public(&tokens);
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
        sqlite_conflict(statement);
        if public {
            super::schemas::unqualify_statement(statement)?;
        }
        if with {
            super::ctes::inline(statement)?;
        }
        compat::regroup_distinct_from(statement);
        super::json_calls::rewrite(statement)?;
        super::labels::unquote_labels(statement);
        super::booleans::rewrite(statement);
        super::row_values::rewrite(statement)?;
        super::quantified::rewrite(statement)?;
        compat::rewrite_statement(statement);
        super::functions::rewrite(statement);
        super::null_order::rewrite(statement);
        super::string_agg::rewrite(statement)?;
        super::unsupported::check(statement)?;
    }
    Ok(statements)
}

/// `sql`'s first statement as the parse passes leave it (for the passes' own tests).
#[cfg(test)]
pub(super) fn rewritten(sql: &str) -> String {
    parse_sql(sql)
        .ok()
        .and_then(|mut statements| statements.pop())
        .map_or_else(|| format!("did not parse: {sql}"), |s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_options_parse_in_any_order_and_drop_the_sequence_name() {
        let written = "CREATE TABLE t (id INTEGER GENERATED ALWAYS AS IDENTITY (sequence name \"public\".\"t_id_seq\" START WITH 5 INCREMENT BY -1 MINVALUE -10 MAXVALUE 2147483647 CACHE 1 NO CYCLE) PRIMARY KEY)";
        let statements = parse_sql(written).unwrap();
        let text = statements[0].to_string();
        assert!(
            text.contains(
                "INCREMENT BY -1 MINVALUE -10 MAXVALUE 2147483647 START WITH 5 CACHE 1 NO CYCLE"
            ),
            "{text}"
        );
        assert!(!text.to_lowercase().contains("t_id_seq"), "{text}");
        // An option it does not know is left for the parser to refuse.
        assert!(
            parse_sql("CREATE TABLE t (id INT GENERATED ALWAYS AS IDENTITY (OWNED BY x))").is_err()
        );
    }

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
