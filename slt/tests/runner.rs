//! The runner as `npm run slt` uses it: the summary line, label consistency, the time budget
//! and the known-failures check, on small files written here.

use std::{path::PathBuf, process::Command};

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idbsql-slt-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(name: &str, text: &str) -> PathBuf {
    let path = dir().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_idbsql-slt"))
        .args(args)
        .output()
        .expect("runner starts");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

const FILE: &str = "statement ok
CREATE TABLE t (a INTEGER, b INTEGER)

statement ok
INSERT INTO t VALUES (1, 2), (3, 4)

query I rowsort x
SELECT a FROM t
----
1
3

query I rowsort x
SELECT b FROM t
----
2
4

query I nosort
SELECT 1
----
2

skipif idbsql
query I nosort
SELECT nonsense
----
1
";

#[test]
fn reports_counts_and_inconsistent_labels_and_always_exits_zero() {
    let path = write("basic.test", FILE);
    let (ok, out) = run(&[path.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(
        out.ends_with(
            "slt: 4 passed, 1 failed, 1 skipped; inconsistent labels: 1; panics: 0; timeouts: 0\n"
        ),
        "{out}"
    );
}

#[test]
fn check_refuses_unlisted_failures_and_listed_records_that_pass() {
    let path = write("check.test", FILE);
    let known = dir().join("known.txt");
    let (ok, _) = run(&[
        path.to_str().unwrap(),
        "--write-known",
        known.to_str().unwrap(),
    ]);
    assert!(ok);
    let listed = std::fs::read_to_string(&known).unwrap();
    // The mismatch is listed, uncategorised: the check refuses that category, and the
    // inconsistent label whatever the list says.
    assert!(listed.contains("uncategorised"), "{listed}");
    let (ok, out) = run(&[path.to_str().unwrap(), "--check", known.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("not a category a record may fail for"),
        "{out}"
    );
    assert!(out.contains("label x gives different answers"), "{out}");

    // An empty list: the failure is unlisted. A list naming a passing record: it must go.
    std::fs::write(&known, "").unwrap();
    let (ok, out) = run(&[path.to_str().unwrap(), "--check", known.to_str().unwrap()]);
    assert!(!ok && out.contains("unlisted failure"), "{out}");
    let key = listed
        .lines()
        .find(|l| !l.starts_with('#') && !l.starts_with('@') && !l.is_empty())
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .0
        .to_owned();
    std::fs::write(&known, format!("{key}:1 triggers\n")).unwrap();
    let (ok, out) = run(&[path.to_str().unwrap(), "--check", known.to_str().unwrap()]);
    assert!(!ok && out.contains("passes now"), "{out}");
}

#[test]
fn a_runaway_query_is_a_timeout_and_the_rest_of_its_file_fails() {
    let rows: Vec<String> = (0..40).map(|i| format!("({i})")).collect();
    let text = format!(
        "statement ok\nCREATE TABLE r (x INTEGER)\n\nstatement ok\nINSERT INTO r VALUES {}\n\n\
         query I nosort\nSELECT COUNT(*) FROM r a, r b, r c, r d, r e\n----\n0\n\n\
         query I nosort\nSELECT 1\n----\n1\n\nquery I nosort\nSELECT 2\n----\n2\n",
        rows.join(", ")
    );
    let path = write("slow.test", &text);
    let (ok, out) = run(&[path.to_str().unwrap(), "--timeout-secs", "1"]);
    assert!(ok, "{out}");
    assert!(
        out.ends_with(
            "slt: 2 passed, 3 failed, 0 skipped; inconsistent labels: 0; panics: 0; timeouts: 1\n"
        ),
        "{out}"
    );
}
