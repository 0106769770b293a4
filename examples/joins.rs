//! Joins of 10,000-row tables natively, as `npm run bench` runs them in the browser (J3, J6):
//! `cargo run --profile slt --example joins -- [3|6] [on|comma]` prints the median and range of
//! 5 runs of one query (the comma form lists the tables so that neighbours share no predicate).
use {gluesql_core::data::Value, idbsql::engine::Engine, std::time::Instant};

const ROWS: u64 = 10_000;

fn sql(n: usize, form: &str) -> String {
    let edges: Vec<String> = (1..n).map(|k| format!("j{k}.p = j{}.id", k - 1)).collect();
    if form == "on" {
        let mut from = "j0".to_owned();
        for k in 1..n {
            from.push_str(&format!(" JOIN j{k} ON {}", edges[k - 1]));
        }
        return format!("SELECT COUNT(*) FROM {from} WHERE j0.v = 3");
    }
    let order: &[usize] = if n == 3 {
        &[2, 0, 1]
    } else {
        &[5, 0, 3, 1, 4, 2]
    };
    let from: Vec<String> = order.iter().map(|k| format!("j{k}")).collect();
    format!(
        "SELECT COUNT(*) FROM {} WHERE {} AND j0.v = 3",
        from.join(", "),
        edges.join(" AND ")
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let form = args.get(2).map_or("on", String::as_str);
    let mut engine = Engine::default();
    let mut seed: u64 = 7;
    for k in 0..6 {
        engine
            .query(
                &format!("CREATE TABLE j{k} (id INTEGER PRIMARY KEY, p INTEGER, v INTEGER)"),
                &[],
            )
            .expect("create");
        let values: Vec<String> = (0..ROWS)
            .map(|i| {
                seed = (seed * 1_103_515_245 + 12_345) % (1 << 31);
                format!("({i}, {}, {})", seed % ROWS, i % 10)
            })
            .collect();
        engine
            .query(
                &format!("INSERT INTO j{k} VALUES {}", values.join(",")),
                &[],
            )
            .expect("insert");
    }
    let sql = sql(n, form);
    let mut samples = Vec::new();
    let mut count = Value::Null;
    for _ in 0..5 {
        let t0 = Instant::now();
        let out = engine.query(&sql, &[]).expect("join");
        samples.push(t0.elapsed().as_secs_f64() * 1000.0);
        count = out.rows[0][0].clone();
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "{n} tables, {form}: {:.1} ms median [{:.1}–{:.1}], COUNT(*) = {count:?}",
        samples[2], samples[0], samples[4]
    );
}
