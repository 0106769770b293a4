//! What one database may hold on this server: bytes of log, rows, tables (`serve --help`).
//! Owns the limits and the check; the database's writer counts and asks before it accepts.

use idbsql::store::MemoryStore;

/// A push refused for a quota has a reason starting so; clients report it with code `quota`.
pub use idbsql::protocol::messages::QUOTA_REJECT_PREFIX as PREFIX;

/// 0 for any of them: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    pub log_bytes: u64,
    pub rows: u64,
    pub tables: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            log_bytes: 1 << 30,
            rows: 10_000_000,
            tables: 1_000,
        }
    }
}

/// What a database holds now: its rows and tables (idbsql's hidden objects table not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub rows: u64,
    pub tables: u64,
}

pub fn usage(store: &MemoryStore) -> Usage {
    let mut usage = Usage { rows: 0, tables: 0 };
    for table in store
        .tables()
        .filter(|t| t.schema.table_name != idbsql::engine::OBJECTS_TABLE)
    {
        usage.tables += 1;
        usage.rows += table.rows.len() as u64;
    }
    usage
}

impl Quotas {
    /// Whether a log of `logged` bytes may take `adding` more.
    pub fn admits_log(&self, logged: u64, adding: u64) -> Result<(), String> {
        if self.log_bytes != 0 && logged.saturating_add(adding) > self.log_bytes {
            return Err(format!(
                "{PREFIX}the database's log would pass {} bytes (--max-log-bytes-per-database)",
                self.log_bytes
            ));
        }
        Ok(())
    }

    /// Whether a push that took the database from `before` to `after` stays within the
    /// limits. A push that does not grow what is over a limit (one that deletes) is allowed,
    /// so a database over a lowered limit can shrink back under it.
    pub fn admits_growth(&self, before: Usage, after: Usage) -> Result<(), String> {
        if self.tables != 0 && after.tables > self.tables && after.tables > before.tables {
            return Err(format!(
                "{PREFIX}the database would hold {} tables, more than {} (--max-tables-per-database)",
                after.tables, self.tables
            ));
        }
        if self.rows != 0 && after.rows > self.rows && after.rows > before.rows {
            return Err(format!(
                "{PREFIX}the database would hold {} rows, more than {} (--max-rows-per-database)",
                after.rows, self.rows
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_past_a_limit_is_refused_shrinking_is_not() {
        let quotas = Quotas {
            log_bytes: 100,
            rows: 10,
            tables: 2,
        };
        let at = |rows, tables| Usage { rows, tables };
        assert!(quotas.admits_growth(at(10, 2), at(10, 2)).is_ok());
        assert!(quotas.admits_growth(at(10, 2), at(11, 2)).is_err());
        assert!(quotas.admits_growth(at(1, 2), at(1, 3)).is_err());
        assert!(quotas.admits_growth(at(20, 2), at(15, 2)).is_ok());
        assert!(quotas.admits_log(60, 40).is_ok());
        assert!(quotas.admits_log(60, 41).unwrap_err().starts_with(PREFIX));
        let none = Quotas {
            log_bytes: 0,
            rows: 0,
            tables: 0,
        };
        assert!(none.admits_growth(at(0, 0), at(u64::MAX, u64::MAX)).is_ok());
    }
}
