//! The checkpoint in pages: a fold writes only the pages that changed, reopening gives back
//! exactly the database whatever mix of writes, folds, schema changes and failed writes came
//! before, and a checkpoint written before pages (0.1.0's chunks) opens and is rewritten once.

use {
    futures::executor::block_on,
    gluesql_core::data::Value,
    idbsql::{
        database::CheckpointPolicy,
        persist::memory::{MemoryDisk, MemoryPersistence},
        protocol::encode_change_set,
        store::MemoryStore,
        Database,
    },
    std::{cell::RefCell, rc::Rc},
};

type Db = Database<MemoryPersistence>;

fn policy(rows_per_page: usize, max_fold_rows: usize) -> CheckpointPolicy {
    CheckpointPolicy {
        max_log_entries: usize::MAX,
        max_log_bytes: usize::MAX,
        max_fold_rows,
        rows_per_page,
    }
}

fn open(disk: &Rc<RefCell<MemoryDisk>>, policy: CheckpointPolicy) -> Db {
    block_on(Database::open_with_policy(
        MemoryPersistence::shared(Rc::clone(disk)),
        policy,
    ))
    .expect("open")
}

fn rows(db: &mut Db, sql: &str) -> Vec<Vec<Value>> {
    block_on(db.query(sql, &[])).expect(sql).rows
}

fn run(db: &mut Db, sql: &str) {
    block_on(db.exec(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Everything a test compares: each table's rows in key order (and the table list).
fn state(db: &mut Db) -> Vec<(String, Vec<Vec<Value>>)> {
    let names: Vec<String> = db.tables().unwrap().into_iter().map(|t| t.name).collect();
    names
        .into_iter()
        .map(|name| {
            let rows = rows(db, &format!("SELECT * FROM {name}"));
            (name, rows)
        })
        .collect()
}

#[test]
fn a_fold_writes_only_the_pages_that_changed() {
    let disk = Rc::new(RefCell::new(MemoryDisk::default()));
    let mut db = open(&disk, policy(100, usize::MAX));
    run(&mut db, "CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT)");
    let values: Vec<String> = (0..10_000).map(|i| format!("({i}, 'v{i}')")).collect();
    run(
        &mut db,
        &format!("INSERT INTO kv VALUES {}", values.join(",")),
    );
    block_on(db.checkpoint()).unwrap();
    let first = disk.borrow().pages_written;
    assert_eq!(first, 1 + 100, "the catalog and 100 pages of 100 rows");

    run(&mut db, "UPDATE kv SET v = 'changed' WHERE id = 5000");
    run(&mut db, "DELETE FROM kv WHERE id = 17");
    block_on(db.checkpoint()).unwrap();
    assert_eq!(
        disk.borrow().pages_written - first,
        2,
        "two pages, no catalog"
    );
    assert!(disk.borrow().log.is_empty());

    // Appending at the end touches the last page; a split keeps pages near their size.
    let more: Vec<String> = (10_000..10_450).map(|i| format!("({i}, 'v{i}')")).collect();
    run(
        &mut db,
        &format!("INSERT INTO kv VALUES {}", more.join(",")),
    );
    let before = disk.borrow().pages_written;
    block_on(db.checkpoint()).unwrap();
    assert_eq!(
        disk.borrow().pages_written - before,
        6,
        "the last page, cut in 6"
    );

    let expected = state(&mut db);
    db.close();
    let mut db = open(&disk, policy(100, usize::MAX));
    assert_eq!(state(&mut db), expected);
}

#[test]
fn commits_fold_by_themselves_when_enough_rows_wait() {
    let disk = Rc::new(RefCell::new(MemoryDisk::default()));
    let mut db = open(&disk, policy(50, 500));
    run(&mut db, "CREATE TABLE kv (id INTEGER PRIMARY KEY, v INT)");
    for i in 0..2_000 {
        block_on(db.query(
            "INSERT INTO kv VALUES ($1, $2)",
            &[Value::I64(i), Value::I64(i)],
        ))
        .unwrap();
    }
    let folds = disk.borrow().checkpoints_written;
    assert!(folds >= 3, "folded {folds} times");
    assert!(disk.borrow().log.len() < 500);
    let expected = state(&mut db);
    db.close();
    let mut db = open(&disk, policy(50, 500));
    assert_eq!(state(&mut db), expected);
}

/// A commit that alone passes the fold bound (a bulk load) is written as checkpoint pages in
/// one write, never as a log entry too; if that write fails, the commit is undone whole.
#[test]
fn a_bulk_commit_past_the_fold_bound_goes_straight_to_pages() {
    let disk = Rc::new(RefCell::new(MemoryDisk::default()));
    let mut db = open(&disk, policy(50, 500));
    run(&mut db, "CREATE TABLE kv (id INTEGER PRIMARY KEY, v INT)");
    let values: Vec<String> = (0..1_000).map(|i| format!("({i}, {i})")).collect();
    let bulk = format!("INSERT INTO kv VALUES {}", values.join(", "));
    let (folds, writes) = (disk.borrow().checkpoints_written, disk.borrow().writes);
    run(&mut db, &bulk);
    assert_eq!(disk.borrow().writes, writes + 1, "one write");
    assert_eq!(
        disk.borrow().checkpoints_written,
        folds + 1,
        "that write is the fold"
    );
    assert!(disk.borrow().log.is_empty());

    let more: Vec<String> = (1_000..2_000).map(|i| format!("({i}, {i})")).collect();
    db.persistence_mut().fail_next_write();
    assert!(block_on(db.exec(&format!("INSERT INTO kv VALUES {}", more.join(", ")))).is_err());
    assert_eq!(
        rows(&mut db, "SELECT COUNT(*) FROM kv"),
        [[Value::I64(1_000)]]
    );
    let expected = state(&mut db);
    db.close();
    let mut db = open(&disk, policy(50, 500));
    assert_eq!(state(&mut db), expected);
}

/// A deterministic random walk of writes, schema changes, folds, failed writes and reopens:
/// after each reopen the database is exactly what it was.
#[test]
fn any_mix_of_writes_and_folds_reopens_to_the_same_database() {
    let disk = Rc::new(RefCell::new(MemoryDisk::default()));
    let small = policy(4, 40);
    let mut db = open(&disk, small);
    run(
        &mut db,
        "CREATE TABLE a (id INTEGER PRIMARY KEY, n INT, s TEXT); CREATE INDEX a_n ON a (n);
         CREATE TABLE b (x INT, y TEXT);
         CREATE TABLE c (k TEXT PRIMARY KEY, v FLOAT);",
    );
    let mut seed: u64 = 7;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for step in 0..3_000 {
        let k = next(400);
        let sql = match next(20) {
            0..=5 => format!("INSERT INTO a VALUES ({k}, {}, 's{k}')", next(10)),
            6..=8 => format!("UPDATE a SET s = 'u{step}' WHERE id = {k}"),
            9..=10 => format!("DELETE FROM a WHERE id = {k}"),
            11 => format!("DELETE FROM a WHERE n = {}", next(10)),
            12..=13 => format!("INSERT INTO b VALUES ({k}, 'y{step}')"),
            14 => format!("DELETE FROM b WHERE x = {k}"),
            15 => format!("INSERT INTO c VALUES ('k{k}', {step}.5)"),
            16 => format!("DELETE FROM c WHERE k = 'k{k}'"),
            17 => match next(4) {
                0 => "DROP TABLE IF EXISTS c; CREATE TABLE c (k TEXT PRIMARY KEY, v FLOAT);".into(),
                1 => "BEGIN; INSERT INTO b VALUES (-1, 'rolled back'); DELETE FROM a; ROLLBACK;".into(),
                2 => format!("ALTER TABLE b ADD COLUMN z{step} INT DEFAULT 1"),
                _ => "CREATE TABLE IF NOT EXISTS d (id INTEGER PRIMARY KEY); INSERT INTO d SELECT id FROM a WHERE id NOT IN (SELECT id FROM d);".into(),
            },
            18 => {
                // A failed write: memory is reverted, the marks stay, nothing is lost.
                db.persistence_mut().fail_next_write();
                let _ = block_on(db.exec(&format!("INSERT INTO b VALUES ({k}, 'lost')")));
                continue;
            }
            _ => {
                if next(2) == 0 {
                    db.persistence_mut().fail_next_write();
                    assert!(block_on(db.checkpoint()).is_err());
                }
                block_on(db.checkpoint()).unwrap();
                continue;
            }
        };
        // Duplicate keys and the like fail and change nothing; that is part of the walk.
        let _ = block_on(db.exec(&sql));
        if step % 500 == 499 {
            let expected = state(&mut db);
            db.close();
            db = open(&disk, small);
            assert_eq!(state(&mut db), expected, "after step {step}");
        }
    }
    assert!(disk.borrow().checkpoints_written > 20);
}

#[test]
fn a_checkpoint_from_before_pages_opens_and_is_rewritten_whole_once() {
    // 0.1.0 wrote the whole database as chunks by index: the catalog, then rows of several
    // tables per chunk. Build one the way it did.
    let source = Rc::new(RefCell::new(MemoryDisk::default()));
    let mut db = open(&source, policy(1000, usize::MAX));
    run(
        &mut db,
        "CREATE TABLE p (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE q (x INT);",
    );
    for i in 0..30 {
        run(
            &mut db,
            &format!("INSERT INTO p VALUES ({i}, 'p{i}'); INSERT INTO q VALUES ({i});"),
        );
    }
    let expected = state(&mut db);
    let store: &MemoryStore = db.engine().store();
    let chunks = store.snapshot(25);
    assert!(
        chunks.iter().any(|c| c.tables.len() > 1),
        "a chunk spans two tables"
    );
    let legacy = Rc::new(RefCell::new(MemoryDisk::default()));
    legacy.borrow_mut().checkpoint = chunks
        .iter()
        .enumerate()
        .map(|(i, c)| (i as u64, encode_change_set(c).unwrap()))
        .collect();
    db.close();

    let mut db = open(&legacy, policy(10, usize::MAX));
    assert_eq!(state(&mut db), expected);
    run(&mut db, "INSERT INTO q VALUES (99)");
    block_on(db.checkpoint()).unwrap();
    let pages = legacy.borrow().checkpoint.len();
    assert_eq!(
        pages,
        1 + 3 + 4,
        "catalog, p in 3 pages of 10, q in 4 (31 rows)"
    );
    let expected = state(&mut db);
    db.close();
    let mut db = open(&legacy, policy(10, usize::MAX));
    assert_eq!(state(&mut db), expected);
    // From now on folds are incremental again.
    run(&mut db, "UPDATE p SET v = 'x' WHERE id = 3");
    let before = legacy.borrow().pages_written;
    block_on(db.checkpoint()).unwrap();
    assert_eq!(legacy.borrow().pages_written - before, 1);
}
