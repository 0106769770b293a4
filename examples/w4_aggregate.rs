//! Profiling aid: W4's aggregate over 100,000 rows natively
//! (`cargo run --profile slt --example w4_aggregate`).
use std::time::Instant;

#[path = "common/kv.rs"]
mod kv;

fn main() {
    let mut engine = kv::loaded(100_000);
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
