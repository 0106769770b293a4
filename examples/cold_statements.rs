//! Speed aid: 1,000 distinct statement texts, each run once (nothing cached), the shapes an
//! application sends — point reads, filters with arithmetic and fractions, an aggregate, a
//! view, an UPDATE — over a 1,000-row `kv` (`cargo run --profile slt --example cold_statements`).
//! Prints the median of 7 rounds and their spread; each round starts from a fresh engine.
use idbsql::engine::Engine;
use std::time::Instant;

#[path = "common/kv.rs"]
#[allow(dead_code)] // `CREATE_KV` serves the other examples
mod kv;

fn statements() -> Vec<String> {
    (0..1000)
        .map(|i| match i % 5 {
            0 => format!("SELECT name, score FROM kv WHERE id = {i}"),
            1 => format!(
                "SELECT id FROM kv WHERE score > {}.5 AND id < {i} LIMIT 5",
                i % 90
            ),
            2 => format!("SELECT COUNT(*), SUM(score * {i}) FROM kv WHERE name LIKE 'name-{i}%'"),
            3 => format!("SELECT v.id + {i} FROM v WHERE v.score = {}.0", i % 100),
            _ => format!("UPDATE kv SET score = score + {i}.25 WHERE id = {i}"),
        })
        .collect()
}

fn main() {
    let statements = statements();
    let mut rounds = Vec::new();
    for _ in 0..7 {
        let mut engine: Engine = kv::loaded(1000);
        engine
            .query(
                "CREATE VIEW v AS SELECT id, score FROM kv WHERE id < 500",
                &[],
            )
            .expect("view");
        let started = Instant::now();
        for sql in &statements {
            engine.query(sql, &[]).expect(sql);
        }
        rounds.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    rounds.sort_by(f64::total_cmp);
    println!(
        "1,000 distinct statements, cold: median {:.1} ms (min {:.1}, max {:.1}, 7 rounds)",
        rounds[3], rounds[0], rounds[6]
    );
}
