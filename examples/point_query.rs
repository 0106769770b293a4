//! Profiling aid: W3's point query natively (`cargo run --profile slt --example point_query`).
use gluesql_core::data::Value;
use idbsql::engine::Engine;
use std::time::Instant;

fn main() {
    let mut engine = Engine::default();
    engine
        .query(
            "CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT, score FLOAT)",
            &[],
        )
        .expect("create");
    let rows: Vec<String> = (0..10_000)
        .map(|i| format!("({i}, 'name-{i}', {})", i as f64 / 10.0))
        .collect();
    engine
        .query(&format!("INSERT INTO kv VALUES {}", rows.join(",")), &[])
        .expect("insert");
    let n = 200_000;
    let t0 = Instant::now();
    for i in 0..n {
        engine
            .query(
                "SELECT name FROM kv WHERE id = $1",
                &[Value::I64(i % 10_000)],
            )
            .expect("select");
    }
    println!(
        "point query: {:.2} µs",
        t0.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t0 = Instant::now();
    for _ in 0..n {
        engine.query("SELECT 1", &[]).expect("select");
    }
    println!(
        "SELECT 1: {:.2} µs",
        t0.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
