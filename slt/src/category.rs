//! Why a record fails, when the reason is one idbsql accepts: each category says what SQLite
//! does that idbsql does not, and how a failure is recognised. A failure no rule claims is
//! `uncategorised`, which the check refuses, so a wrong answer never hides in a category.

use crate::driver::DECLARED_TYPE;

pub const UNCATEGORISED: &str = "uncategorised";

pub struct Category {
    pub name: &'static str,
    pub reason: &'static str,
    claims: fn(key: &str, sql: &str, message: &str) -> bool,
}

fn upper(sql: &str) -> String {
    sql.to_uppercase()
}

pub const CATEGORIES: &[Category] = &[
    Category {
        name: "real-in-integer-column",
        reason: "the record declares an integer column (I) for a REAL value (CAST ... AS REAL): \
                 SQLite's harness prints every value through the declared type (1444.0 as 1444), \
                 idbsql prints the float it is; printed through the declared type, the values match",
        claims: |_, _, message| message.starts_with(DECLARED_TYPE),
    },
    Category {
        name: "division-by-zero",
        reason: "x / 0 and x % 0: SQLite answers NULL, idbsql (like PostgreSQL) refuses with an error",
        claims: |_, _, message| message.contains("divisor should not be zero"),
    },
    Category {
        name: "empty-in-list",
        reason: "`x IN ()` with an empty list is SQLite syntax; the PostgreSQL grammar idbsql parses \
                 with refuses it",
        claims: |_, sql, message| message.starts_with("error: parser") && sql.contains("IN ()"),
    },
    Category {
        name: "triggers",
        reason: "CREATE TRIGGER / DROP TRIGGER: idbsql has no triggers",
        claims: |_, sql, _| {
            let sql = upper(sql);
            sql.starts_with("CREATE TRIGGER") || sql.starts_with("DROP TRIGGER")
        },
    },
    Category {
        name: "replace",
        reason: "REPLACE INTO / INSERT OR REPLACE are SQLite statements idbsql does not run; the \
                 file's queries after them read rows those statements would have written",
        claims: |key, sql, message| {
            let sql = upper(sql);
            sql.contains("REPLACE INTO")
                || sql.contains("INSERT OR REPLACE")
                || (key.ends_with("evidence/slt_lang_replace.test") && message.starts_with("mismatch"))
        },
    },
    Category {
        name: "reindex",
        reason: "REINDEX is a SQLite statement; idbsql's indexes are never stale, and it does not parse it",
        claims: |_, sql, _| upper(sql).starts_with("REINDEX"),
    },
    Category {
        name: "duplicate-assignment",
        reason: "UPDATE ... SET x = 3, x = 4: SQLite keeps the last assignment, idbsql (like \
                 PostgreSQL) refuses the statement; the file's next queries see x unchanged",
        claims: |key, _, message| {
            message.contains("assigned more than once")
                || (key.ends_with("evidence/slt_lang_update.test") && message.starts_with("mismatch"))
        },
    },
];

pub fn categorize(key: &str, sql: &str, message: &str) -> &'static str {
    CATEGORIES
        .iter()
        .find(|category| (category.claims)(key, sql, message))
        .map_or(UNCATEGORISED, |category| category.name)
}

pub fn reason(name: &str) -> Option<&'static str> {
    CATEGORIES.iter().find(|c| c.name == name).map(|c| c.reason)
}
