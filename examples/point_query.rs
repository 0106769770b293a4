//! Profiling aid: W3's point query natively (`cargo run --profile slt --example point_query`).
use gluesql_core::data::Value;
use std::time::Instant;

#[path = "common/kv.rs"]
mod kv;

fn main() {
    let mut engine = kv::loaded(10_000);
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
