//! The bench's `kv` table for the profiling examples: created empty, or loaded with rows as the
//! bench loads them (10,000-row INSERT statements).
use idbsql::engine::Engine;

pub const CREATE_KV: &str = "CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT, score FLOAT)";

/// An engine holding `kv` with ids `0..rows`.
pub fn loaded(rows: i64) -> Engine {
    let mut engine = Engine::default();
    engine.query(CREATE_KV, &[]).expect("create");
    for from in (0..rows).step_by(10_000) {
        let values: Vec<String> = (from..(from + 10_000).min(rows))
            .map(|i| format!("({i}, 'name-{i}', {})", (i % 1000) as f64 / 10.0))
            .collect();
        engine
            .query(&format!("INSERT INTO kv VALUES {}", values.join(",")), &[])
            .expect("insert");
    }
    engine
}
