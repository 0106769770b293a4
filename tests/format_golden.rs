//! Golden bytes of every format idbsql writes to disk or the wire (docs/format.md): checkpoint
//! pages, log records, sync state, call answers and sync messages, compared byte for byte with
//! `tests/fixtures/format-v1.txt`, and those stored bytes opened again. A change that alters
//! any of them fails here: bump the version it belongs to, keep reading the old bytes, then
//! regenerate with `IDBSQL_BLESS=1 cargo test --test format_golden -- --test-threads=1`.

use {
    futures::executor::block_on,
    gluesql_core::{
        chrono::{DateTime, NaiveDateTime},
        data::{Key, Value},
    },
    idbsql::{
        database::CheckpointPolicy,
        persist::memory::{MemoryDisk, MemoryPersistence},
        protocol::{
            decode_change_set, decode_results, encode_change_set, encode_results,
            messages::{
                decode_message, encode_message, ClientMessage, ErrorKind, LogEntry, ServerMessage,
                PROTOCOL_VERSION,
            },
            ChangeSet, SchemaChange, StoredResult,
        },
        sync::SyncMeta,
        Database,
    },
    std::{cell::RefCell, collections::BTreeMap, rc::Rc},
};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/format-v1.txt");

/// One table with a column of every type, a UNIQUE column, a DEFAULT and an index.
const SCHEMA: &str = "
    CREATE TABLE every (
        id INTEGER PRIMARY KEY, b BOOLEAN, i8 INT8, i16 INT16, i32 INT32, i128 INT128,
        u8 UINT8, u16 UINT16, u32 UINT32, u64 UINT64, u128 UINT128, f32 FLOAT32, f FLOAT,
        d DECIMAL, s TEXT UNIQUE, by BYTEA, ip INET, day DATE, ts TIMESTAMP, t TIME,
        months INTERVAL, micros INTERVAL, u UUID, m MAP, l LIST, p POINT,
        n INTEGER NULL DEFAULT 7
    );
    CREATE INDEX every_f ON every (f);";

const ROWS: &str = "
    INSERT INTO every VALUES
      (1, TRUE, -8, -16, -32, -128, 8, 16, 32, 64, 128, 1.5, -2.25, 12.345, 'héllo',
       X'00ff', '192.168.0.1', '2024-02-29', '2024-02-29 23:59:58.123456', '12:34:56.789',
       INTERVAL '14' MONTH, INTERVAL '1 02:03:04.5' DAY TO SECOND,
       '936da01f-9abd-4d9d-80c7-02af85c822a8', '{\"k\": [1, \"x\", null]}', '[true, 2.5]',
       POINT(1.5, -2.5), NULL),
      (2, FALSE, 127, 32767, 2147483647, -170141183460469231731687303715884105728, 255,
       65535, 4294967295, 18446744073709551615, 340282366920938463463374607431768211455,
       -0.0, 1e300, -0.0000001, '', X'', '::1', '0001-01-01', '1970-01-01 00:00:00',
       '00:00:00', INTERVAL '-1' MONTH, INTERVAL '0' SECOND,
       '00000000-0000-0000-0000-000000000000', '{}', '[]', POINT(0, 0), 3);
    INSERT INTO every (id) VALUES (3);";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn fixed_time() -> NaiveDateTime {
    DateTime::from_timestamp(1_700_000_000, 0)
        .expect("time")
        .naive_utc()
}

/// Creation times are the clock's; the golden catalog has fixed ones.
fn with_fixed_times(mut change_set: ChangeSet) -> ChangeSet {
    for table in &mut change_set.tables {
        if let SchemaChange::Create { schema, created } = &mut table.schema {
            *created = fixed_time();
            for index in &mut schema.indexes {
                index.created = fixed_time();
            }
        }
    }
    change_set
}

fn policy() -> CheckpointPolicy {
    CheckpointPolicy {
        max_log_entries: usize::MAX,
        max_log_bytes: usize::MAX,
        max_fold_rows: usize::MAX,
        rows_per_page: 2,
    }
}

/// Every record, by name, as this build writes it.
fn written() -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let disk = Rc::new(RefCell::new(MemoryDisk::default()));
    let mut db = block_on(Database::open_with_policy(
        MemoryPersistence::shared(Rc::clone(&disk)),
        policy(),
    ))
    .expect("open");
    block_on(db.exec(SCHEMA)).expect("schema");
    block_on(db.exec(ROWS)).expect("rows");
    block_on(db.checkpoint()).expect("checkpoint");
    block_on(db.query("UPDATE every SET s = 'bye', n = NULL WHERE id = 2", &[])).expect("update");
    block_on(db.query("DELETE FROM every WHERE id = 3", &[])).expect("delete");
    db.close();
    let disk = disk.borrow();
    for (id, page) in &disk.checkpoint {
        let page = if *id == 0 {
            let catalog = decode_change_set(page).expect("catalog");
            encode_change_set(&with_fixed_times(catalog)).expect("encode")
        } else {
            page.clone()
        };
        out.insert(format!("checkpoint-page-{id}"), page);
    }
    for (i, record) in disk.log.iter().enumerate() {
        out.insert(format!("log-record-{i}"), record.clone());
    }

    let meta = SyncMeta {
        client_secret: 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        next_client_seq: 42,
        last_seen_seq: 300,
    };
    out.insert("sync-meta".into(), meta.encode());
    let results = [StoredResult {
        command: "SELECT".into(),
        columns: vec!["id".into(), "name".into()],
        row_count: 1,
        rows: vec![vec![Value::I64(1), Value::Str("a".into())]],
    }];
    out.insert(
        "call-results".into(),
        encode_results(&results).expect("results"),
    );

    let change_set = vec![1, 0, 0];
    let client = [
        ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            database: "notes".into(),
            client_secret: 7,
            token: "secret".into(),
            last_seen_seq: 300,
        },
        ClientMessage::Push {
            client_seq: 5,
            change_set: change_set.clone(),
            seen: 299,
        },
        ClientMessage::Pull { after_seq: 9 },
        ClientMessage::Ping { nonce: 11 },
    ];
    for (i, message) in client.iter().enumerate() {
        out.insert(format!("client-message-{i}"), encode_message(message));
    }
    let server = [
        ServerMessage::Welcome {
            server_seq: 300,
            acked_client_seq: 4,
            read_only: false,
            max_frame_bytes: 1 << 20,
            client_id: 0xfeed,
        },
        ServerMessage::Error {
            code: ErrorKind::Unauthorized,
            message: "bad token".into(),
        },
        ServerMessage::Ack {
            client_seq: 5,
            server_seq: 301,
        },
        ServerMessage::Reject {
            client_seq: 6,
            reason: "duplicate".into(),
        },
        ServerMessage::Changes {
            entries: vec![LogEntry {
                seq: 301,
                client_id: 7,
                client_seq: 5,
                change_set,
                seen: 299,
            }],
            more: true,
        },
        ServerMessage::Pong { nonce: 11 },
    ];
    for (i, message) in server.iter().enumerate() {
        out.insert(format!("server-message-{i}"), encode_message(message));
    }
    out
}

fn golden() -> BTreeMap<String, Vec<u8>> {
    let text = std::fs::read_to_string(GOLDEN).expect("tests/fixtures/format-v1.txt");
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, bytes) = line.split_once(' ').expect("name and hex");
            (name.to_owned(), unhex(bytes))
        })
        .collect()
}

#[test]
fn every_format_writes_the_pinned_bytes() {
    let written = written();
    if std::env::var_os("IDBSQL_BLESS").is_some() {
        let mut text = String::from(
            "# Golden bytes of format 1 (docs/format.md); see tests/format_golden.rs.\n",
        );
        for (name, bytes) in &written {
            text.push_str(&format!("{name} {}\n", hex(bytes)));
        }
        std::fs::write(GOLDEN, text).expect("write golden");
    }
    let golden = golden();
    assert_eq!(
        written.keys().collect::<Vec<_>>(),
        golden.keys().collect::<Vec<_>>(),
        "the set of records changed"
    );
    for (name, bytes) in &written {
        assert_eq!(
            hex(bytes),
            hex(&golden[name]),
            "{name}: the bytes written changed; a format change needs a new version"
        );
    }
}

/// The pinned bytes themselves open: a database of exactly those pages and log records reads
/// back the rows they hold, and every other record decodes to what it was made from.
#[test]
fn the_pinned_bytes_open() {
    let golden = golden();
    let mut disk = MemoryDisk::default();
    for (name, bytes) in &golden {
        if let Some(id) = name.strip_prefix("checkpoint-page-") {
            disk.checkpoint
                .insert(id.parse().expect("page id"), bytes.clone());
        } else if name.starts_with("log-record-") {
            disk.log.push(bytes.clone());
        }
    }
    assert_eq!(disk.checkpoint.len(), 3, "catalog and two row pages");
    let disk = Rc::new(RefCell::new(disk));
    let mut db = block_on(Database::open_with_policy(
        MemoryPersistence::shared(Rc::clone(&disk)),
        policy(),
    ))
    .expect("open");
    let rows = block_on(db.query(
        "SELECT id, b, i128, u128, f, d, s, day, ts, t, months, micros, m, l, p, n FROM every",
        &[],
    ))
    .expect("select")
    .rows;
    let texts: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|v| format!("{v:?}")).collect())
        .collect();
    assert_eq!(texts.len(), 2, "row 3 was deleted by the log");
    assert_eq!(texts[0][0], "I64(1)");
    assert_eq!(texts[0][6], "Str(\"héllo\")");
    assert_eq!(texts[0][7], "Date(2024-02-29)");
    assert_eq!(texts[0][8], "Timestamp(2024-02-29T23:59:58.123456)");
    assert_eq!(texts[0][10], "Interval(Month(14))");
    assert_eq!(texts[0][15], "Null");
    assert_eq!(texts[1][3], format!("U128({})", u128::MAX));
    assert_eq!(texts[1][6], "Str(\"bye\")", "the log's UPDATE is applied");
    assert_eq!(texts[1][15], "Null");
    let indexed = block_on(db.query("SELECT id FROM every WHERE f > 0", &[]))
        .expect("indexed")
        .rows;
    assert_eq!(indexed, vec![vec![Value::I64(2)]]);
    let unique = block_on(db.query("INSERT INTO every (id, s) VALUES (4, 'bye')", &[]));
    assert!(unique.is_err(), "UNIQUE survives the catalog page");
    db.close();

    let (meta, rekeyed) = SyncMeta::decode(&golden["sync-meta"]).expect("sync meta");
    assert_eq!(meta.next_client_seq, 42);
    assert!(!rekeyed);
    let results = decode_results(&golden["call-results"]).expect("results");
    assert_eq!(results[0].rows[0][1], Value::Str("a".into()));
    let hello: ClientMessage = decode_message(&golden["client-message-0"]).expect("hello");
    assert!(matches!(
        hello,
        ClientMessage::Hello {
            last_seen_seq: 300,
            ..
        }
    ));
    let changes: ServerMessage = decode_message(&golden["server-message-4"]).expect("changes");
    assert!(matches!(changes, ServerMessage::Changes { more: true, .. }));
    let row_page = decode_change_set(&golden["checkpoint-page-1"]).expect("row page");
    assert_eq!(row_page.tables[0].rows[0].0, Key::I64(1));
}

/// Sync state written by 0.1.0 (protocol 2) held a client id every broadcast showed: it opens
/// with its positions and a fresh secret, so that id proves nothing any more.
#[test]
fn sync_state_of_0_1_0_opens_with_a_fresh_secret() {
    let legacy = unhex("90e4d0b287d3aeeefedfb7de9af1d9a2a3022aac02");
    let (meta, rekeyed) = SyncMeta::decode(&legacy).expect("0.1.0 sync state");
    assert!(rekeyed);
    assert_eq!((meta.next_client_seq, meta.last_seen_seq), (42, 300));
    assert_ne!(
        meta.client_secret,
        0x0123_4567_89ab_cdef_fedc_ba98_7654_3210
    );
    let (again, rekeyed) = SyncMeta::decode(&meta.encode()).expect("re-encoded");
    assert!(!rekeyed);
    assert_eq!(again, meta);
}
