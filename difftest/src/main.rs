//! `npm run difftest -- --seed N --queries K`: random databases and queries, run on SQLite,
//! PostgreSQL (a throwaway cluster) and idbsql. A query is kept where both references answer
//! alike; idbsql must then answer the same. Prints each wrong answer minimized, how many kept
//! queries hold each shape, the causes of idbsql's errors, and a one-line summary.

mod ast;
mod engines;
mod gen;
mod judge;
mod minimize;
// The same throwaway cluster the server's tests start.
#[allow(dead_code)]
#[path = "../../server/tests/common/pg_cluster.rs"]
mod pg_cluster;

use {
    ast::{Dialect, Query, Render},
    clap::Parser,
    engines::{Answer, Idbsql, Postgres, SinkScript, Sqlite, WriteScript},
    gen::{Db, Rng, Sink, SHAPES, SINK_EXTRA},
    judge::{judge, references_agree, Verdict},
    std::{
        collections::BTreeMap,
        process::ExitCode,
        time::{Duration, Instant},
    },
};

#[derive(Parser)]
#[command(
    name = "idbsql-difftest",
    about = "Random queries judged against SQLite and PostgreSQL"
)]
struct Args {
    /// The first seed; database i of the run uses seed + i.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Queries to generate in all (those the references disagree on are not kept).
    #[arg(long, default_value_t = 2000)]
    queries: usize,
    /// Queries per generated database.
    #[arg(long, default_value_t = 40)]
    per_database: usize,
    /// A PostgreSQL URL to use instead of starting a throwaway cluster.
    #[arg(long, env = "IDBSQL_DIFFTEST_POSTGRES", hide_env_values = true)]
    postgres: Option<String>,
    /// Exit non-zero on any wrong answer, not only on panics and timeouts.
    #[arg(long)]
    strict: bool,
    /// Exit non-zero when fewer queries are kept, or a shape is in fewer than 2% of them.
    #[arg(long)]
    min_kept: Option<usize>,
    /// Wrong answers printed in full (all are counted).
    #[arg(long, default_value_t = 10)]
    show: usize,
}

/// idbsql over this is a timeout, where both references took under `FAST`.
const SLOW: Duration = Duration::from_secs(5);
const FAST: Duration = Duration::from_secs(1);
/// Of the statements generated, the share that are writes with RETURNING (see `gen::write`).
const WRITES_PERCENT: usize = 15;

#[derive(Default)]
struct Tally {
    generated: usize,
    kept: usize,
    wrong: usize,
    errors: usize,
    timeouts: usize,
    panics: usize,
    shapes: BTreeMap<&'static str, usize>,
    error_causes: BTreeMap<String, usize>,
    shown: usize,
}

struct Engines<'a> {
    sqlite: Sqlite,
    postgres: &'a mut Postgres,
    idbsql: Idbsql,
}

impl Engines<'_> {
    /// Runs the query on the three engines — with a sink, writes its rows there and reads them
    /// back — and returns the three answers, idbsql's SQL and its parameters.
    fn run(
        &mut self,
        query: &Query,
        params: bool,
        sink: Option<&Sink>,
    ) -> (Answer, Answer, Answer, String, ast::Params) {
        let (lite_sql, _) = Render::new(Dialect::Sqlite, false).query_text(query);
        let (pg_sql, _) = Render::new(Dialect::Postgres, false).query_text(query);
        let (our_sql, our_params) = Render::new(Dialect::Idbsql, params).query_text(query);
        let Some(sink) = sink.map(|sink| sink_for(sink, &query.columns())) else {
            let lite = self.sqlite.run(&lite_sql);
            let pg = self.postgres.run(&pg_sql);
            let ours = self.run_ours(&lite, &pg, |idbsql| idbsql.run(&our_sql, &our_params));
            return (lite, pg, ours, our_sql, our_params);
        };
        let columns = query.columns();
        let lite = self.sqlite.write_then_read(&SinkScript::new(
            &sink,
            &columns,
            Dialect::Sqlite,
            &lite_sql,
        ));
        let pg = self.postgres.write_then_read(&SinkScript::new(
            &sink,
            &columns,
            Dialect::Postgres,
            &pg_sql,
        ));
        let script = SinkScript::new(&sink, &columns, Dialect::Idbsql, &our_sql);
        let ours = self.run_ours(&lite, &pg, |idbsql| {
            idbsql.write_then_read(&script, &our_params)
        });
        // The sink's DDL leads: a DEFAULT of its may be what failed.
        let statements = format!("{}; {}", script.create, script.insert);
        (lite, pg, ours, statements, our_params)
    }

    /// Runs a write on the three engines (each on its own copy `w` of the table), `None`
    /// when it cannot be written without a WITH.
    fn run_write(
        &mut self,
        write: &ast::Write,
        params: bool,
    ) -> Option<(Answer, Answer, Answer, String, ast::Params)> {
        let (lite_sql, _) = Render::new(Dialect::Sqlite, false).write_text(write)?;
        let (pg_sql, _) = Render::new(Dialect::Postgres, false).write_text(write)?;
        let (our_sql, our_params) = Render::new(Dialect::Idbsql, params).write_text(write)?;
        let lite = self
            .sqlite
            .write_and_read(&WriteScript::new(write, Dialect::Sqlite, &lite_sql));
        let pg = self
            .postgres
            .write_and_read(&WriteScript::new(write, Dialect::Postgres, &pg_sql));
        let script = WriteScript::new(write, Dialect::Idbsql, &our_sql);
        let ours = self.run_ours(&lite, &pg, |idbsql| {
            idbsql.write_and_read(&script, &our_params)
        });
        Some((lite, pg, ours, our_sql, our_params))
    }

    /// After a panic idbsql's state is unknown: a fresh engine on the same data (false if it
    /// cannot be loaded).
    fn restart(&mut self, db: &Db) -> bool {
        match Idbsql::load(db) {
            Ok(fresh) => {
                self.idbsql = fresh;
                true
            }
            Err(_) => false,
        }
    }

    /// idbsql's answer, where both references answered.
    fn run_ours(
        &mut self,
        lite: &Answer,
        pg: &Answer,
        run: impl FnOnce(&mut Idbsql) -> Answer,
    ) -> Answer {
        if lite.rows.is_ok() && pg.rows.is_ok() {
            run(&mut self.idbsql)
        } else {
            Answer {
                rows: Err("not run".into()),
                took: Duration::ZERO,
                columns: Vec::new(),
            }
        }
    }
}

/// The sink of a query that minimizing may have left with fewer columns: those it still has,
/// in the order declared.
fn sink_for(sink: &Sink, columns: &[String]) -> Sink {
    Sink {
        declared: sink
            .declared
            .iter()
            .filter(|(name, _)| name == SINK_EXTRA || columns.contains(name))
            .cloned()
            .collect(),
        listed: sink.listed,
        default: sink.default.clone(),
    }
}

/// The columns a query's answer has: with a listed sink, the column the INSERT left out too.
fn answer_columns(query: &Query, sink: Option<&Sink>) -> Vec<String> {
    let mut columns = query.columns();
    if sink.is_some_and(|sink| sink.listed) {
        columns.push(SINK_EXTRA.to_owned());
    }
    columns
}

/// An error message with its numbers and quoted parts blanked, to group errors by cause.
fn cause(message: &str) -> String {
    let mut out = String::new();
    let mut quoted = None;
    for c in message.chars() {
        match (quoted, c) {
            (Some(q), c) if c == q => quoted = None,
            (Some(_), _) => {}
            // An apostrophe inside a word ("doesn't") opens nothing.
            (None, '\'') if out.ends_with(|c: char| c.is_alphanumeric()) => out.push(c),
            (None, '"' | '\'' | '`') => {
                quoted = Some(c);
                out.push('…');
            }
            (None, c) if c.is_ascii_digit() => {
                if !out.ends_with('#') {
                    out.push('#');
                }
            }
            (None, c) => out.push(c),
        }
    }
    out.chars().take(110).collect()
}

fn rows_text(answer: &Answer) -> String {
    match &answer.rows {
        Ok(rows) => rows
            .iter()
            .map(|row| {
                let cells: Vec<String> = row.iter().map(|c| c.to_string()).collect();
                format!("({})", cells.join(", "))
            })
            .collect::<Vec<_>>()
            .join(" "),
        Err(error) => format!("error: {error}"),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    std::panic::set_hook(Box::new(|_| {}));
    let cluster = args.postgres.is_none().then(pg_cluster::PgCluster::start);
    let url = args
        .postgres
        .clone()
        .unwrap_or_else(|| cluster.as_ref().map(|c| c.url()).unwrap_or_default());
    let mut postgres = match Postgres::connect(&url) {
        Ok(postgres) => postgres,
        Err(error) => {
            eprintln!("difftest: cannot reach PostgreSQL: {error}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut database = 0u64;
    while tally.generated < args.queries {
        let seed = args.seed.wrapping_add(database);
        database += 1;
        let mut rng = Rng::new(seed);
        let db = gen::database(&mut rng);
        let mut engines = match load(&db, &mut postgres) {
            Ok(engines) => engines,
            Err(error) => {
                eprintln!("difftest: seed {seed}: cannot load the database: {error}");
                continue;
            }
        };
        if let Err(why) = stored_decimals_agree(&db, &mut engines) {
            tally.wrong += 1;
            println!("--- wrong answer (seed {seed}, the database as loaded): {why}");
        }
        for index in 0..args.per_database {
            if tally.generated >= args.queries {
                break;
            }
            tally.generated += 1;
            if rng.percent(WRITES_PERCENT) {
                let generated = gen::write(&mut rng, &db);
                let params = rng.percent(50);
                let Some((lite, pg, ours, our_sql, our_params)) =
                    engines.run_write(&generated.write, params)
                else {
                    continue;
                };
                let columns = generated.write.returned_columns();
                let answers = [&lite, &pg, &ours];
                let at = (seed, index, our_sql.as_str(), &db);
                match settle(
                    &mut tally,
                    &args,
                    &generated.shapes,
                    answers,
                    false,
                    &columns,
                    at,
                    &our_params,
                ) {
                    Settled::Panicked if !engines.restart(&db) => break,
                    Settled::Wrong(why) if tally.shown < args.show => {
                        tally.shown += 1;
                        println!("--- wrong answer (seed {seed}, write {index}): {why}");
                        print_answers(&db, &our_sql, &our_params, [&lite, &pg, &ours]);
                        let script = WriteScript::new(&generated.write, Dialect::Idbsql, "");
                        println!(
                            "    {}; {}; -- then the write above\n",
                            script.create, script.copy
                        );
                    }
                    _ => {}
                }
                continue;
            }
            let generated = gen::query(&mut rng, &db);
            let params = rng.percent(50);
            let sink = generated.sink.as_ref();
            let (lite, pg, ours, our_sql, our_params) = engines.run(&generated.query, params, sink);
            // A table read back has no order.
            let ordered = !generated.query.order_by.is_empty() && sink.is_none();
            let columns = answer_columns(&generated.query, sink);
            let answers = [&lite, &pg, &ours];
            let at = (seed, index, our_sql.as_str(), &db);
            match settle(
                &mut tally,
                &args,
                &generated.shapes,
                answers,
                ordered,
                &columns,
                at,
                &our_params,
            ) {
                Settled::Panicked if !engines.restart(&db) => break,
                Settled::Wrong(why) if tally.shown < args.show => {
                    tally.shown += 1;
                    report_wrong(&mut engines, &db, seed, index, &generated, params, &why);
                }
                _ => {}
            }
        }
    }
    report(&tally, started.elapsed());
    let mut failed = tally.panics > 0 || tally.timeouts > 0 || (args.strict && tally.wrong > 0);
    if let Some(min_kept) = args.min_kept {
        let thin: Vec<&&str> = SHAPES
            .iter()
            .filter(|shape| tally.shapes.get(*shape).copied().unwrap_or(0) * 50 < tally.kept)
            .collect();
        if tally.kept < min_kept || !thin.is_empty() {
            println!("difftest: the judge itself falls short: {} kept (at least {min_kept} wanted); shapes under 2%: {thin:?}", tally.kept);
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// How one generated statement came out.
enum Settled {
    /// Not kept (a reference failed, or they disagree), or idbsql agreed or erred.
    Done,
    Panicked,
    Wrong(String),
}

/// Counts one statement's answers — `[SQLite, PostgreSQL, idbsql]` — in the tally: kept or
/// not, and idbsql's verdict; prints a panic, a timeout and the first error of each cause.
#[allow(clippy::too_many_arguments)]
fn settle(
    tally: &mut Tally,
    args: &Args,
    shapes: &std::collections::BTreeSet<&'static str>,
    [lite, pg, ours]: [&Answer; 3],
    ordered: bool,
    columns: &[String],
    (seed, index, our_sql, db): (u64, usize, &str, &Db),
    our_params: &ast::Params,
) -> Settled {
    let (Ok(lite_rows), Ok(pg_rows)) = (&lite.rows, &pg.rows) else {
        return Settled::Done;
    };
    if !references_agree(lite_rows, pg_rows, ordered) {
        return Settled::Done;
    }
    tally.kept += 1;
    for shape in shapes {
        if *shape != "parameters" || !our_params.is_empty() {
            *tally.shapes.entry(shape).or_default() += 1;
        }
    }
    let slow = ours.took > SLOW && lite.took < FAST && pg.took < FAST;
    match &ours.rows {
        Err(error) if error.starts_with("panic: ") => {
            tally.panics += 1;
            println!("--- panic (seed {seed}, query {index}): {our_sql}\n{error}\n");
            Settled::Panicked
        }
        _ if slow => {
            tally.timeouts += 1;
            println!(
                "--- timeout (seed {seed}, query {index}): {our_sql} took {:?}",
                ours.took
            );
            print_database(db, our_params);
            Settled::Done
        }
        Err(error) => {
            tally.errors += 1;
            let count = tally.error_causes.entry(cause(error)).or_default();
            *count += 1;
            // One example of each cause, so an error can be looked into.
            if *count == 1 && args.show > 0 {
                println!("--- error (seed {seed}, query {index}): {error}\n  {our_sql}");
                print_database(db, our_params);
            }
            Settled::Done
        }
        Ok(our_rows) => {
            let verdict = if ours.columns != columns {
                Verdict::Differs(format!(
                    "the output columns are named {:?}, the query named {columns:?}",
                    ours.columns,
                ))
            } else {
                judge(our_rows, lite_rows, pg_rows, ordered)
            };
            match verdict {
                Verdict::Differs(why) => {
                    tally.wrong += 1;
                    Settled::Wrong(why)
                }
                Verdict::Same => Settled::Done,
            }
        }
    }
}

/// The parameters and the database a printed statement ran with, so it can be run again.
fn print_database(db: &Db, our_params: &ast::Params) {
    if !our_params.is_empty() {
        println!("  parameters: {our_params:?}");
    }
    println!("  with:");
    for statement in engines::load_script(db, Dialect::Idbsql) {
        println!("    {statement};");
    }
    println!();
}

/// Every stored DECIMAL read back as PostgreSQL prints its NUMERIC: the same digits and scale
/// (the queries' cells compare values only), whether idbsql was given `CAST('…' AS DECIMAL)`
/// or a plain literal.
fn stored_decimals_agree(db: &Db, engines: &mut Engines) -> Result<(), String> {
    for table in &db.tables {
        let decimals: Vec<&str> = table
            .columns
            .iter()
            .filter(|(_, ty)| *ty == ast::Ty::Dec)
            .map(|(name, _)| name.as_str())
            .collect();
        if decimals.is_empty() {
            continue;
        }
        let sql = format!(
            "SELECT {} FROM {} ORDER BY id",
            decimals.join(", "),
            table.name
        );
        let ours = engines.idbsql.texts(&sql)?;
        let theirs = engines.postgres.texts(&sql)?;
        if ours != theirs {
            return Err(format!("{sql}: idbsql {ours:?}, PostgreSQL {theirs:?}"));
        }
    }
    Ok(())
}

fn load<'a>(db: &Db, postgres: &'a mut Postgres) -> Result<Engines<'a>, String> {
    let sqlite = Sqlite::load(db)?;
    postgres.load(db)?;
    let idbsql = Idbsql::load(db).map_err(|error| format!("idbsql: {error}"))?;
    Ok(Engines {
        sqlite,
        postgres,
        idbsql,
    })
}

fn report_wrong(
    engines: &mut Engines,
    db: &Db,
    seed: u64,
    index: usize,
    generated: &gen::Generated,
    params: bool,
    why: &str,
) {
    let (query, sink) = (&generated.query, generated.sink.as_ref());
    let mut still_fails = |candidate: &Query| {
        let (lite, pg, ours, _, _) = engines.run(candidate, params, sink);
        let ordered = !candidate.order_by.is_empty() && sink.is_none();
        match (&lite.rows, &pg.rows, &ours.rows) {
            (Ok(l), Ok(p), Ok(o)) => {
                references_agree(l, p, ordered) && judge(o, l, p, ordered) != Verdict::Same
            }
            _ => false,
        }
    };
    let small = minimize::minimize(query, &mut still_fails);
    let (lite, pg, ours, our_sql, our_params) = engines.run(&small, params, sink);
    let ordered = !small.order_by.is_empty() && sink.is_none();
    let why = match (&lite.rows, &pg.rows, &ours.rows) {
        (Ok(l), Ok(p), Ok(o)) => match judge(o, l, p, ordered) {
            Verdict::Differs(why) => why,
            Verdict::Same => why.to_owned(),
        },
        _ => why.to_owned(),
    };
    println!("--- wrong answer (seed {seed}, query {index}), minimized: {why}");
    print_answers(db, &our_sql, &our_params, [&lite, &pg, &ours]);
    if let Some(sink) = sink {
        let script = SinkScript::new(
            &sink_for(sink, &small.columns()),
            &small.columns(),
            Dialect::Idbsql,
            "",
        );
        println!(
            "    -- the sink read back after the CREATE and INSERT above: {}",
            script.read
        );
    }
    println!();
}

/// A wrong answer's statement, parameters, the three answers and the data they came from.
fn print_answers(db: &Db, our_sql: &str, our_params: &ast::Params, [lite, pg, ours]: [&Answer; 3]) {
    println!("  idbsql:     {our_sql}");
    if !our_params.is_empty() {
        println!("  parameters: {our_params:?}");
    }
    println!("  idbsql answers     {}", rows_text(ours));
    println!("  SQLite answers     {}", rows_text(lite));
    println!("  PostgreSQL answers {}", rows_text(pg));
    println!("  with:");
    for statement in engines::load_script(db, Dialect::Idbsql) {
        println!("    {statement};");
    }
}

fn report(tally: &Tally, took: Duration) {
    println!("kept queries holding each shape (of {}):", tally.kept);
    for shape in SHAPES {
        let count = tally.shapes.get(shape).copied().unwrap_or(0);
        let share = if tally.kept == 0 {
            0.0
        } else {
            count as f64 * 100.0 / tally.kept as f64
        };
        println!("  {shape:32} {count:6}  {share:5.1}%");
    }
    if !tally.error_causes.is_empty() {
        println!("idbsql's errors on kept queries, by cause:");
        let mut causes: Vec<(&String, &usize)> = tally.error_causes.iter().collect();
        causes.sort_by(|a, b| b.1.cmp(a.1));
        for (cause, count) in causes.iter().take(25) {
            println!("  {count:6}  {cause}");
        }
    }
    println!(
        "difftest: {} kept, {} wrong, {} errors, {} timeouts, {} panics ({} generated, {:.1} s)",
        tally.kept,
        tally.wrong,
        tally.errors,
        tally.timeouts,
        tally.panics,
        tally.generated,
        took.as_secs_f64()
    );
}
