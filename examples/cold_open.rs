//! Profiling aid: W5's cold open natively — a 100,000-row database folded into checkpoint
//! pages, reopened from the in-memory disk (`cargo run --release --example cold_open`).
use {
    futures::executor::block_on,
    idbsql::{
        persist::memory::{MemoryDisk, MemoryPersistence},
        Database,
    },
    std::{cell::RefCell, rc::Rc, time::Instant},
};

fn main() {
    let disk = Rc::new(RefCell::new(MemoryDisk::default()));
    let mut db =
        block_on(Database::open(MemoryPersistence::shared(Rc::clone(&disk)))).expect("open");
    block_on(db.query(
        "CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT, score FLOAT)",
        &[],
    ))
    .expect("create");
    for from in (0..100_000).step_by(10_000) {
        let rows: Vec<String> = (from..from + 10_000)
            .map(|i| format!("({i}, 'name-{i}', {})", (i % 1000) as f64 / 10.0))
            .collect();
        block_on(db.query(&format!("INSERT INTO kv VALUES {}", rows.join(",")), &[]))
            .expect("insert");
    }
    block_on(db.checkpoint()).expect("checkpoint");
    db.close();
    println!("pages: {}", disk.borrow().checkpoint.len());
    for _ in 0..5 {
        let t0 = Instant::now();
        let mut db =
            block_on(Database::open(MemoryPersistence::shared(Rc::clone(&disk)))).expect("open");
        let opened = t0.elapsed();
        let count = block_on(db.query("SELECT COUNT(*) FROM kv", &[])).expect("count");
        println!(
            "open {:.1} ms, + COUNT {:.1} ms ({:?})",
            opened.as_secs_f64() * 1e3,
            t0.elapsed().as_secs_f64() * 1e3,
            count.rows[0]
        );
        db.close();
    }
}
