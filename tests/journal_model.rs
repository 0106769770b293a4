//! The journal against a reference model, as redb fuzzes its tables against a `BTreeMap`:
//! seeded runs of statements, transactions, checkpoints, failed writes and crashes (the process
//! gone between two writes, then the database reopened from its disk), synced or not, with
//! checkpoint policies small enough that folds happen inside commits and after them. After
//! every step the database answers exactly what was acknowledged, no more and no less.

use {
    futures::executor::block_on,
    gluesql_core::data::Value,
    idbsql::{
        database::CheckpointPolicy,
        persist::memory::{MemoryDisk, MemoryPersistence},
        Database, ErrorCode,
    },
    std::{cell::RefCell, collections::BTreeMap, rc::Rc},
};

type Db = Database<MemoryPersistence>;
type Model = BTreeMap<i64, String>;

/// A small deterministic generator (xorshift64*): the same seed gives the same run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

struct Run {
    disk: Rc<RefCell<MemoryDisk>>,
    policy: CheckpointPolicy,
    synced: bool,
    db: Db,
    model: Model,
    /// Call ids acknowledged (their answer must be kept) and refused (it must not be).
    acknowledged: Vec<String>,
    refused: Vec<String>,
    seed: u64,
    step: usize,
}

impl Run {
    fn open(disk: &Rc<RefCell<MemoryDisk>>, policy: CheckpointPolicy, synced: bool) -> Db {
        let persistence = MemoryPersistence::shared(Rc::clone(disk));
        block_on(Database::open_with_options(persistence, policy, synced)).expect("open")
    }

    fn context(&self) -> String {
        format!("seed {} step {}", self.seed, self.step)
    }

    /// The table as the database answers it.
    fn answered(&mut self) -> Model {
        let rows = block_on(self.db.query("SELECT k, v FROM t ORDER BY k", &[]))
            .unwrap_or_else(|e| panic!("{}: select: {e}", self.context()))
            .rows;
        rows.into_iter()
            .map(|row| match row.as_slice() {
                [Value::I64(k), Value::Str(v)] => (*k, v.clone()),
                other => panic!("{}: unexpected row {other:?}", self.context()),
            })
            .collect()
    }

    fn check(&mut self, what: &str) {
        let answered = self.answered();
        assert_eq!(answered, self.model, "{}: after {what}", self.context());
    }

    /// One write statement and its effect on the model.
    fn statement(&mut self, rng: &mut Rng, model: &mut Model) -> String {
        let k = rng.below(40) as i64;
        let v = format!("v{}", rng.below(1000));
        match rng.below(3) {
            0 if !model.contains_key(&k) => {
                model.insert(k, v.clone());
                format!("INSERT INTO t VALUES ({k}, '{v}')")
            }
            0 | 1 => {
                if let Some(old) = model.get_mut(&k) {
                    old.clone_from(&v);
                }
                format!("UPDATE t SET v = '{v}' WHERE k = {k}")
            }
            _ => {
                model.remove(&k);
                format!("DELETE FROM t WHERE k = {k}")
            }
        }
    }

    fn step(&mut self, rng: &mut Rng) {
        let fail = rng.chance(12);
        if fail {
            self.db.persistence_mut().fail_next_write();
        }
        match rng.below(10) {
            // A statement on its own, its answer kept under a call id.
            0..=4 => {
                let mut model = self.model.clone();
                let sql = self.statement(rng, &mut model);
                let call = format!("c{}-{}", self.seed, self.step);
                match block_on(self.db.query_call(&sql, &[], Some(&call))) {
                    Ok(output) => {
                        self.model = model;
                        // Only a call that committed something has an answer kept.
                        if output.row_count > 0 {
                            self.acknowledged.push(call);
                        }
                    }
                    Err(error) => {
                        assert!(fail, "{}: {sql} failed: {error}", self.context());
                        assert_eq!(error.code, ErrorCode::Storage, "{}", self.context());
                        self.refused.push(call);
                    }
                }
                // The write was never asked of the disk when nothing changed (an UPDATE of
                // no row): the failure waits for the next write.
                self.check(&sql);
            }
            // A script: a transaction committed or rolled back, or statements one by one.
            5..=7 => {
                let mut model = self.model.clone();
                let count = 1 + rng.below(4);
                let statements: Vec<String> = (0..count)
                    .map(|_| self.statement(rng, &mut model))
                    .collect();
                let (script, kept) = match rng.below(3) {
                    0 => (format!("BEGIN; {}; COMMIT", statements.join("; ")), true),
                    1 => (format!("BEGIN; {}; ROLLBACK", statements.join("; ")), false),
                    _ => (statements.join("; "), true),
                };
                match block_on(self.db.exec(&script)) {
                    Ok(_) if kept => self.model = model,
                    Ok(_) => {}
                    // The script's commits are written together: all of them are undone.
                    Err(error) => {
                        assert!(fail, "{}: {script} failed: {error}", self.context());
                        assert_eq!(error.code, ErrorCode::Storage, "{}", self.context());
                    }
                }
                self.check(&script);
            }
            8 => {
                let result = block_on(self.db.checkpoint());
                assert!(fail || result.is_ok(), "{}: checkpoint", self.context());
                self.check("a checkpoint");
            }
            // The process is gone between two writes: what the disk holds is reopened.
            _ => {
                self.db = Self::open(&self.disk, self.policy, self.synced);
                self.check("a crash and reopen");
                for call in &self.acknowledged {
                    let kept = block_on(self.db.call_result(call)).expect("call_result");
                    assert!(kept.is_some(), "seed {}: answer of {call} lost", self.seed);
                }
                for call in &self.refused {
                    let kept = block_on(self.db.call_result(call)).expect("call_result");
                    assert!(kept.is_none(), "seed {}: answer of {call} kept", self.seed);
                }
            }
        }
        if fail {
            // A failure asked for but not met (nothing was written) is not carried on.
            self.db.persistence_mut().fail_next_write();
            let _ = block_on(self.db.checkpoint());
            self.check("a failed fold");
        }
    }
}

/// Steps run in all: at least 10,000 cases, as issue 32 asks.
const SEEDS: u64 = 160;
const STEPS: usize = 64;

#[test]
fn every_acknowledged_commit_survives_crashes_failed_writes_and_folds() {
    let mut folds = 0;
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let policy = CheckpointPolicy {
            max_log_entries: 2 + rng.below(12) as usize,
            max_log_bytes: usize::MAX,
            max_fold_rows: 2 + rng.below(30) as usize,
            rows_per_page: 1 + rng.below(8) as usize,
        };
        let synced = seed % 3 == 0;
        let disk = Rc::new(RefCell::new(MemoryDisk::default()));
        let mut db = Run::open(&disk, policy, synced);
        block_on(db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")).expect("create");
        let mut run = Run {
            disk,
            policy,
            synced,
            db,
            model: Model::new(),
            acknowledged: Vec::new(),
            refused: Vec::new(),
            seed,
            step: 0,
        };
        for step in 0..STEPS {
            run.step = step;
            run.step(&mut rng);
        }
        folds += run.disk.borrow().checkpoints_written;
    }
    // The policies are small: the runs fold, inside commits and after them.
    assert!(folds > SEEDS as usize, "only {folds} folds");
}
