//! Mints the keys of rows in tables without a primary key: time-ordered random 128-bit values,
//! so insertion order is kept and two replicas never mint the same key.

use gluesql_core::{chrono::Utc, data::Key};

#[derive(Debug, Default)]
pub struct RowKeyMinter {
    last_high: u64,
}

impl RowKeyMinter {
    /// High 64 bits: milliseconds since the epoch shifted left 16, bumped to stay increasing;
    /// low 64 bits: random. Ordered within a replica, unique across replicas.
    pub fn mint(&mut self) -> Key {
        let millis = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
        let high = (millis << 16).max(self.last_high + 1);
        self.last_high = high;
        let low = uuid::Uuid::new_v4().as_u128() as u64;
        Key::Uuid((u128::from(high) << 64) | u128::from(low))
    }
}
