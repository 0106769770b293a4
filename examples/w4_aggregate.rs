//! Profiling aid: W4's aggregate over 100,000 rows natively
//! (`cargo run --profile slt --example w4_aggregate`).
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
    for chunk in 0..10 {
        let rows: Vec<String> = (chunk * 10_000..(chunk + 1) * 10_000)
            .map(|i| format!("({i}, 'name-{i}', {})", (i % 1000) as f64 / 10.0))
            .collect();
        engine
            .query(&format!("INSERT INTO kv VALUES {}", rows.join(",")), &[])
            .expect("insert");
    }
    let n = 50;
    let t0 = Instant::now();
    for _ in 0..n {
        engine
            .query("SELECT COUNT(*), SUM(score) FROM kv", &[])
            .expect("aggregate");
    }
    println!(
        "{:.2} ms per aggregate",
        t0.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
}
