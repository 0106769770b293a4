//! A synced commit that wrote rows alone takes its inverse from the undo log instead of being
//! reverted and replayed (issue 32): the inverse must be exactly the one the replay computes,
//! and applying it must give back the state before the commit.

use {
    gluesql_core::data::Value,
    idbsql::{engine::Engine, protocol::ChangeSet, store::MemoryStore},
};

const SETUP: &[&str] = &[
    "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)",
    "CREATE TABLE b (id INTEGER PRIMARY KEY, n INT)",
    "CREATE INDEX b_n ON b (n)",
    "INSERT INTO a VALUES (1, 'one'), (7, 'seven')",
];

/// Commits of rows only: a row written twice in one transaction, inserted and deleted in one,
/// two tables in one, a multi-row UPDATE through an index, and a later commit over the first.
const COMMITS: &[&[&str]] = &[
    &["INSERT INTO a VALUES (2, 'two'), (3, 'three')"],
    &[
        "BEGIN",
        "UPDATE a SET v = 'uno' WHERE id = 1",
        "INSERT INTO b VALUES (5, 1), (6, 2)",
        "DELETE FROM a WHERE id = 2",
        "UPDATE a SET v = 'UNO' WHERE id = 1",
        "INSERT INTO a VALUES (4, 'four')",
        "DELETE FROM a WHERE id = 4",
        "COMMIT",
    ],
    &["UPDATE b SET n = n + 10 WHERE n >= 1"],
    &["DELETE FROM a WHERE id = 7"],
];

fn engine() -> Engine {
    let mut engine = Engine::new(MemoryStore::new());
    for sql in SETUP {
        engine.query(sql, &[]).expect(sql);
    }
    engine.store_mut().take_change_sets();
    engine.store_mut().confirm_persisted();
    engine
}

fn run_commits(engine: &mut Engine) {
    for commit in COMMITS {
        for sql in *commit {
            engine.query(sql, &[]).expect(sql);
        }
    }
}

fn state(engine: &mut Engine) -> Vec<Vec<Vec<Value>>> {
    ["SELECT * FROM a ORDER BY id", "SELECT * FROM b ORDER BY id"]
        .iter()
        .map(|sql| engine.query(sql, &[]).expect(sql).rows)
        .collect()
}

#[test]
fn a_row_commit_inverse_read_off_the_undo_log_is_the_one_a_replay_computes() {
    let mut direct = engine();
    let before = state(&mut direct);
    run_commits(&mut direct);
    let after = state(&mut direct);
    let taken = direct
        .store_mut()
        .take_row_commits_with_inverses()
        .expect("row commits only");
    assert_eq!(taken.len(), COMMITS.len());
    assert_eq!(state(&mut direct), after, "taking them changes nothing");

    // The path it replaces: every commit reverted, then replayed recording its inverse.
    let mut replayed = engine();
    run_commits(&mut replayed);
    let store = replayed.store_mut();
    let change_sets = store.take_change_sets();
    store.revert_unpersisted();
    let expected: Vec<(ChangeSet, ChangeSet)> = change_sets
        .into_iter()
        .map(|change_set| {
            let inverse = store
                .apply_change_set_with_inverse(change_set.clone())
                .expect("replay");
            (change_set, inverse)
        })
        .collect();
    assert_eq!(taken, expected);
    assert_eq!(state(&mut replayed), after);

    // Applied newest first, the inverses give back the state before the commits.
    for (_, inverse) in taken.into_iter().rev() {
        direct
            .store_mut()
            .apply_change_set(inverse)
            .expect("inverse");
    }
    assert_eq!(state(&mut direct), before);
}

#[test]
fn a_commit_that_changed_a_schema_is_left_to_the_replay() {
    let mut engine = engine();
    engine
        .query("INSERT INTO a VALUES (9, 'nine')", &[])
        .unwrap();
    engine
        .query("ALTER TABLE b ADD COLUMN note TEXT", &[])
        .unwrap();
    assert!(engine
        .store_mut()
        .take_row_commits_with_inverses()
        .is_none());
    assert_eq!(
        engine.store_mut().take_change_sets().len(),
        2,
        "nothing was taken"
    );
}
