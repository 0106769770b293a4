//! Profiling aid: W1's batched parameterised INSERTs natively, 20 × 500 rows per round
//! (`cargo run --profile slt --example w1_batched`).
use gluesql_core::data::Value;
use idbsql::engine::Engine;
use std::time::Instant;

#[path = "common/kv.rs"]
#[allow(dead_code)] // `loaded` serves the other examples
mod kv;

fn main() {
    let placeholders: Vec<String> = (0..500)
        .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
        .collect();
    let sql = format!("INSERT INTO kv VALUES {}", placeholders.join(", "));
    let rounds = 20;
    // The parameters are made before the clock starts, as the bench makes them in JS.
    let batches: Vec<Vec<Value>> = (0..20)
        .map(|batch| {
            (batch * 500..(batch + 1) * 500)
                .flat_map(|i| {
                    [
                        Value::I64(i),
                        Value::Str(format!("name-{i}")),
                        Value::F64((i % 1000) as f64 / 10.0),
                    ]
                })
                .collect()
        })
        .collect();
    let t0 = Instant::now();
    for _ in 0..rounds {
        let mut engine = Engine::default();
        engine.query(kv::CREATE_KV, &[]).expect("create");
        // One transaction, as W1 runs in `db.transaction(fn)`.
        engine.query("BEGIN", &[]).expect("begin");
        for params in &batches {
            engine.query(&sql, params).expect("insert");
        }
        engine.query("COMMIT", &[]).expect("commit");
    }
    println!(
        "{:.2} ms per 10,000 rows",
        t0.elapsed().as_secs_f64() * 1000.0 / rounds as f64
    );
}
