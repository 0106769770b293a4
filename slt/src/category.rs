//! Why a record fails, when the reason is one idbsql accepts: each category says what SQLite
//! does that idbsql does not, and how that one record is recognised. A failure no rule claims is
//! `uncategorised`, which the check refuses, so a wrong answer never hides in a category.

use {crate::driver::DECLARED_TYPE, std::collections::BTreeMap};

pub const UNCATEGORISED: &str = "uncategorised";

pub struct Category {
    pub name: &'static str,
    pub reason: &'static str,
    claims: fn(sql: &str, message: &str) -> bool,
    /// A statement this category claims changed, in SQLite, the table it writes; a later query
    /// of that table whose answer differs is the same cause, and claimed as such — never a
    /// query of another table, and never a file wholesale.
    carries_over: bool,
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
        claims: |_, message| message.starts_with(DECLARED_TYPE),
        carries_over: false,
    },
    Category {
        name: "division-by-zero",
        reason: "x / 0 and x % 0: SQLite answers NULL, idbsql (like PostgreSQL) refuses with an \
                 error; the check replays each such record on PostgreSQL, which must refuse it too",
        claims: |_, message| message.contains("divisor should not be zero"),
        carries_over: false,
    },
    Category {
        name: "empty-in-list",
        reason: "`x IN ()` with an empty list is SQLite syntax; the PostgreSQL grammar idbsql parses \
                 with refuses it",
        claims: |sql, message| message.starts_with("error: parser") && sql.contains("IN ()"),
        carries_over: false,
    },
    Category {
        name: "triggers",
        reason: "CREATE TRIGGER / DROP TRIGGER: idbsql has no triggers",
        claims: |sql, _| {
            let sql = upper(sql);
            sql.starts_with("CREATE TRIGGER") || sql.starts_with("DROP TRIGGER")
        },
        carries_over: false,
    },
    Category {
        name: "reindex",
        reason: "REINDEX is a SQLite statement; idbsql's indexes are never stale, and it does not parse it",
        claims: |sql, _| upper(sql).starts_with("REINDEX"),
        carries_over: false,
    },
    Category {
        name: "duplicate-assignment",
        reason: "UPDATE ... SET x = 3, x = 4: SQLite keeps the last assignment, idbsql (like \
                 PostgreSQL) refuses the statement; a later query of that table sees x unchanged",
        claims: |_, message| message.contains("assigned more than once"),
        carries_over: true,
    },
];

/// The table a refused write names (`UPDATE t`, `INSERT INTO t`).
fn written_table(sql: &str) -> Option<String> {
    let words: Vec<String> = words(sql).collect();
    let at = match words.first().map(String::as_str) {
        Some("update") => 1,
        Some("insert") => words.iter().position(|w| w == "into")? + 1,
        _ => return None,
    };
    words.get(at).cloned()
}

/// The identifiers of a statement, lower case.
fn words(sql: &str) -> impl Iterator<Item = String> + '_ {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Categorises one file's failures in order, remembering the tables a carried-over statement
/// wrote in SQLite but not here.
#[derive(Default)]
pub struct Categorizer {
    diverged: BTreeMap<String, &'static str>,
}

impl Categorizer {
    pub fn categorize(&mut self, sql: &str, message: &str) -> &'static str {
        if let Some(category) = CATEGORIES.iter().find(|c| (c.claims)(sql, message)) {
            if category.carries_over {
                if let Some(table) = written_table(sql) {
                    self.diverged.insert(table, category.name);
                }
            }
            return category.name;
        }
        if message.starts_with("mismatch") {
            if let Some(name) = words(sql).find_map(|w| self.diverged.get(&w).copied()) {
                return name;
            }
        }
        UNCATEGORISED
    }
}

pub fn reason(name: &str) -> Option<&'static str> {
    CATEGORIES.iter().find(|c| c.name == name).map(|c| c.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mismatch_is_claimed_only_after_a_claimed_write_of_the_table_it_reads() {
        let mut c = Categorizer::default();
        assert_eq!(
            c.categorize("SELECT x FROM t1", "mismatch: 1 vs 2"),
            UNCATEGORISED
        );
        assert_eq!(
            c.categorize("UPDATE t1 SET x=3, x=4", "error: x assigned more than once"),
            "duplicate-assignment"
        );
        assert_eq!(
            c.categorize("SELECT x FROM t2", "mismatch: 1 vs 2"),
            UNCATEGORISED
        );
        assert_eq!(
            c.categorize("SELECT count(*) FROM t1 WHERE x=2", "mismatch: 1"),
            "duplicate-assignment"
        );
        assert_eq!(
            c.categorize("SELECT x FROM t1", "error: execute"),
            UNCATEGORISED
        );
    }
}
