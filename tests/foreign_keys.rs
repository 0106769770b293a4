//! Foreign keys across replicas: cascades travel as rows of the writer's change set, and the
//! server checks every foreign key after applying a push at its place in the order, refusing
//! one that leaves a dangling reference (the offline race "A deletes a parent, B inserts its
//! child", both orders).

use idbsql::{
    engine::Engine,
    protocol::ChangeSet,
    store::{MemoryStore, Refusal},
};

/// Runs `sql` on a replica and takes the one change set it made; the replica keeps its write
/// (as a synced client does until the server answers).
fn write(replica: &mut Engine, sql: &str) -> ChangeSet {
    replica
        .query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut change_sets = replica.store_mut().take_change_sets();
    replica.store_mut().confirm_persisted();
    assert_eq!(change_sets.len(), 1, "{sql}");
    change_sets.remove(0)
}

fn count(replica: &mut Engine, sql: &str) -> i64 {
    match replica.query(sql, &[]).unwrap().rows[0][0] {
        gluesql_core::data::Value::I64(n) => n,
        ref other => panic!("{sql}: {other:?}"),
    }
}

/// A server and two replicas that both hold `parent (1)` and no child.
fn setup(on_delete: &str) -> (MemoryStore, Engine, Engine) {
    let mut server = MemoryStore::new();
    let mut a = Engine::default();
    let mut b = Engine::default();
    for replica in [&mut a, &mut b] {
        replica.set_synced(true);
    }
    for sql in [
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT)".to_owned(),
        format!("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) ON DELETE {on_delete})"),
        "INSERT INTO parent VALUES (1, 'p1'), (2, 'p2')".to_owned(),
    ] {
        let change_set = write(&mut a, &sql);
        let (accepted, _) = server.accept_remote(change_set).expect("setup is accepted");
        b.store_mut().apply_change_set(accepted).unwrap();
    }
    (server, a, b)
}

fn refused(answer: Result<(ChangeSet, ChangeSet), Refusal>) -> String {
    match answer {
        Err(Refusal::Invalid(reason)) => reason,
        Err(Refusal::Failed(reason)) => panic!("failed instead of refused: {reason}"),
        Ok(_) => panic!("a push leaving a dangling reference was accepted"),
    }
}

#[test]
fn a_cascade_travels_as_rows_of_the_writers_change_set() {
    let (mut server, mut a, mut b) = setup("CASCADE");
    let child = write(&mut a, "INSERT INTO child VALUES (10, 1), (11, 1), (12, 2)");
    let (accepted, _) = server.accept_remote(child).unwrap();
    b.store_mut().apply_change_set(accepted).unwrap();
    let delete = write(&mut a, "DELETE FROM parent WHERE id = 1");
    let child_rows = delete
        .tables
        .iter()
        .find(|t| t.name == "child")
        .map(|t| t.rows.len());
    assert_eq!(
        child_rows,
        Some(2),
        "the cascade's deletes are in the change set"
    );
    let (accepted, _) = server.accept_remote(delete).unwrap();
    b.store_mut().apply_change_set(accepted).unwrap();
    assert_eq!(count(&mut b, "SELECT COUNT(*) FROM child"), 1);
}

#[test]
fn a_child_pushed_after_its_parent_was_deleted_is_refused() {
    for action in ["NO ACTION", "CASCADE", "SET NULL"] {
        let (mut server, mut a, mut b) = setup(action);
        // Both offline: A deletes parent 1, B inserts a child of it.
        let delete = write(&mut a, "DELETE FROM parent WHERE id = 1");
        let insert = write(&mut b, "INSERT INTO child VALUES (10, 1)");
        server.accept_remote(delete).expect("A's delete is first");
        let before = server.table("child").map(|t| t.rows.len());
        let reason = refused(server.accept_remote(insert));
        assert!(
            reason.contains("violates foreign key constraint"),
            "{action}: {reason}"
        );
        assert_eq!(
            server.table("child").map(|t| t.rows.len()),
            before,
            "{action}: nothing applied"
        );
        // A child of a parent still there goes in.
        let other = write(&mut b, "INSERT INTO child VALUES (11, 2)");
        server
            .accept_remote(other)
            .expect("a child of a parent that exists");
    }
}

#[test]
fn a_parent_deleted_offline_under_a_pushed_child_is_refused() {
    for action in ["NO ACTION", "CASCADE", "SET NULL"] {
        let (mut server, mut a, mut b) = setup(action);
        let insert = write(&mut b, "INSERT INTO child VALUES (10, 1)");
        // A never saw B's child: its delete (and its cascade) knows nothing of it.
        let delete = write(&mut a, "DELETE FROM parent WHERE id = 1");
        server.accept_remote(insert).expect("B's child is first");
        let reason = refused(server.accept_remote(delete));
        assert!(reason.contains("is still referenced"), "{action}: {reason}");
        assert_eq!(
            server.table("parent").map(|t| t.rows.len()),
            Some(2),
            "{action}"
        );
    }
}

#[test]
fn a_cascade_pushed_without_its_childrens_rows_is_refused() {
    let (mut server, mut a, _) = setup("CASCADE");
    let child = write(&mut a, "INSERT INTO child VALUES (10, 1)");
    server.accept_remote(child).unwrap();
    let mut delete = write(&mut a, "DELETE FROM parent WHERE id = 1");
    let names: Vec<&str> = delete.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["parent", "child"]);
    delete.tables[1].rows.clear();
    let reason = refused(server.accept_remote(delete));
    assert!(reason.contains("is still referenced"), "{reason}");
}

/// An UPDATE of a parent's primary key travels as its delete and insert plus the children
/// ON UPDATE CASCADE moved; the server's check finds no dangling reference and accepts it.
#[test]
fn a_primary_key_update_cascades_through_the_server() {
    let mut server = MemoryStore::new();
    let mut a = Engine::default();
    let mut b = Engine::default();
    for replica in [&mut a, &mut b] {
        replica.set_synced(true);
    }
    for sql in [
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT)",
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) ON UPDATE CASCADE)",
        "INSERT INTO parent VALUES (1, 'p1'), (2, 'p2')",
        "INSERT INTO child VALUES (10, 1), (11, 1), (12, 2)",
        "UPDATE parent SET id = 7 WHERE id = 1",
    ] {
        let change_set = write(&mut a, sql);
        let (accepted, _) = server.accept_remote(change_set).expect(sql);
        b.store_mut().apply_change_set(accepted).unwrap();
    }
    assert_eq!(
        count(&mut b, "SELECT COUNT(*) FROM child WHERE parent_id = 7"),
        2
    );
    assert_eq!(count(&mut b, "SELECT COUNT(*) FROM parent WHERE id = 1"), 0);
}
