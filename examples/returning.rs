//! Profiling aid: a 10,000-row UPDATE natively, without RETURNING, returning columns and
//! returning expressions, interleaved (`cargo run --profile slt --example returning`; `REPS=N`
//! rounds, 21 by default).
use std::time::Instant;

#[path = "common/kv.rs"]
mod kv;

fn main() {
    let mut engine = kv::loaded(10_000);
    let kinds = [
        ("none", ""),
        ("columns", " RETURNING id, score"),
        (
            "expressions",
            " RETURNING id, score * 2 AS double, upper(name) AS loud",
        ),
    ];
    // `returning columns` runs only that kind (for a profiler).
    let only = std::env::args().nth(1);
    let mut samples = vec![Vec::new(); kinds.len()];
    let rounds: usize = std::env::var("REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(21);
    for _ in 0..rounds {
        for (i, (name, tail)) in kinds.iter().enumerate() {
            if only.as_deref().is_some_and(|only| only != *name) {
                continue;
            }
            let t0 = Instant::now();
            let out = engine
                .query(&format!("UPDATE kv SET score = score + 1{tail}"), &[])
                .expect("update");
            samples[i].push(t0.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(out.row_count, 10_000);
            drop(out);
            // As the database layer does after each commit: the change set goes to storage and
            // its undo log is let go (left to pile up, later rounds paid for fresh pages).
            engine.store_mut().take_change_sets();
            engine.store_mut().confirm_persisted();
        }
    }
    for ((name, _), mut s) in kinds.iter().zip(samples) {
        if s.is_empty() {
            continue;
        }
        s.sort_by(f64::total_cmp);
        println!(
            "{name}: median {:.2} ms [{:.2}–{:.2}]",
            s[s.len() / 2],
            s[0],
            s[s.len() - 1]
        );
    }
}
