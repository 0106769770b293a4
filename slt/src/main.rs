//! `idbsql-slt`: runs sqllogictest files (SQLite's corpus, our own `.slt` files) through
//! idbsql's real engine path and reports, or judges the run against the known-failures list.

mod category;
mod child;
mod driver;
mod known;
mod postgres_answers;
mod postgres_check;
mod run;
mod script;

use {
    clap::Parser,
    std::{
        path::{Path, PathBuf},
        process::ExitCode,
        time::Duration,
    },
};

#[derive(Parser, Debug)]
#[command(
    name = "idbsql-slt",
    about = "Run sqllogictest files through idbsql (engine name `idbsql`)"
)]
struct Args {
    /// Files or folders (`.test` / `.slt`, searched recursively). Default: tests/slt and the
    /// shared corpus.
    paths: Vec<PathBuf>,
    /// Judge the run against this known-failures file: exit 1 on an unlisted failure, a listed
    /// record that now passes, an inconsistent label, a panic or a timeout.
    #[arg(long)]
    check: Option<PathBuf>,
    /// Write the run's failures, categorised, to this known-failures file.
    #[arg(long)]
    write_known: Option<PathBuf>,
    /// Print every failure as `file:line: [category] what happened`.
    #[arg(long)]
    failures: bool,
    /// Print only the totals (and, with --check, its verdict), not a line per file.
    #[arg(long)]
    quiet: bool,
    /// Files run at once (each in its own process).
    #[arg(long, default_value_t = default_jobs())]
    jobs: usize,
    /// Seconds one query may run before it is abandoned as a timeout.
    #[arg(long, default_value_t = 10)]
    timeout_secs: u64,
    /// Replay our own files on a throwaway PostgreSQL instead: each given file, or with none
    /// every tests/slt file marked `# answers: PostgreSQL`, must get there the answers it
    /// expects (`skipif postgresql` marks a record PostgreSQL answers otherwise). Exit 1 if not.
    #[arg(long)]
    postgres: bool,
    /// Internal: run one file and stream its events (used by the runner itself).
    #[arg(long, hide = true)]
    child: Option<PathBuf>,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The project root: the runner's own crate sits one folder below it.
fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// SQLite's corpus: `IDBSQL_SLT_CORPUS`, else `../shared/sqllogictest` beside the project.
fn corpus_root() -> PathBuf {
    std::env::var_os("IDBSQL_SLT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/sqllogictest"))
}

/// The file a record key names (the inverse of `key_of`).
fn corpus_file(key: &str) -> PathBuf {
    match key.strip_prefix("corpus/") {
        Some(rest) => corpus_root().join(rest),
        None => repo_root().join(key),
    }
}

/// `corpus/<path in the corpus>` for corpus files, the project-relative path for ours.
fn key_of(path: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let corpus = corpus_root().canonicalize().ok();
    let root = repo_root().canonicalize().ok();
    if let Some(rest) = corpus.and_then(|c| canonical.strip_prefix(c).ok().map(Path::to_path_buf)) {
        return format!("corpus/{}", rest.display());
    }
    if let Some(rest) = root.and_then(|r| canonical.strip_prefix(r).ok().map(Path::to_path_buf)) {
        return rest.display().to_string();
    }
    path.display().to_string()
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for entry in entries {
            collect(&entry, out);
        }
    } else if path
        .extension()
        .is_some_and(|ext| ext == "test" || ext == "slt")
    {
        out.push(path.to_path_buf());
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = &args.child {
        return match child::run_file(path) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    }

    if args.postgres {
        return check_on_postgres(&args.paths);
    }
    let mut roots = args.paths.clone();
    if roots.is_empty() {
        roots.push(repo_root().join("tests/slt"));
        let corpus = corpus_root();
        if corpus.is_dir() {
            roots.push(corpus);
        } else if args.check.is_some() {
            // A judge that quietly ran fewer records would pass what it never saw.
            eprintln!(
                "slt: the shared corpus is not at {} (set IDBSQL_SLT_CORPUS); --check needs it",
                corpus.display()
            );
            return ExitCode::FAILURE;
        } else {
            println!(
                "slt: the shared corpus is not at {} (set IDBSQL_SLT_CORPUS); running our own files only",
                corpus.display()
            );
        }
    }
    let mut files = Vec::new();
    for root in &roots {
        if !root.exists() {
            eprintln!("slt: {} does not exist", root.display());
            return ExitCode::FAILURE;
        }
        collect(root, &mut files);
    }
    let jobs: Vec<run::FileJob> = files
        .iter()
        .map(|path| run::FileJob {
            key: key_of(path),
            path: path.clone(),
        })
        .collect();

    let options = run::Options {
        jobs: args.jobs,
        timeout: Duration::from_secs(args.timeout_secs.max(1)),
    };
    let print_failures = args.failures;
    let quiet = args.quiet;
    let results = run::run_all(jobs, &options, |result| {
        if quiet {
            return;
        }
        println!("{}", file_line(result));
        if print_failures {
            for (line, message, category) in &result.failures {
                println!("  {}:{line}: [{category}] {message}", result.key);
            }
            for label in &result.inconsistent {
                println!("  {}: inconsistent label {label}", result.key);
            }
        }
    });

    let total = |f: fn(&run::FileResult) -> usize| results.iter().map(f).sum::<usize>();
    println!(
        "slt: {} passed, {} failed, {} skipped; inconsistent labels: {}; panics: {}; timeouts: {}",
        total(|r| r.passed),
        total(|r| r.failed),
        total(|r| r.skipped),
        total(|r| r.inconsistent.len()),
        total(|r| r.panics),
        total(|r| r.timeouts),
    );

    if let Some(path) = &args.write_known {
        if let Err(error) = known::write(path, &results) {
            eprintln!("slt: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if let Some(path) = &args.check {
        let list = match known::KnownFailures::read(path) {
            Ok(list) => list,
            Err(error) => {
                eprintln!("slt: {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        };
        let mut problems = list.judge(&results);
        let claimed = list.in_category(postgres_check::CATEGORY);
        match postgres_check::verify(&claimed, corpus_file) {
            Ok(found) => problems.extend(found),
            Err(error) => problems.push(format!("cannot replay on PostgreSQL: {error}")),
        }
        if !problems.is_empty() {
            for problem in problems.iter().take(200) {
                println!("slt check: {problem}");
            }
            if problems.len() > 200 {
                println!("slt check: … and {} more", problems.len() - 200);
            }
            println!("slt check: FAILED ({} problems)", problems.len());
            return ExitCode::FAILURE;
        }
        println!("slt check: ok");
    }
    ExitCode::SUCCESS
}

/// `--postgres`: see the flag.
fn check_on_postgres(paths: &[PathBuf]) -> ExitCode {
    let mut files = Vec::new();
    if paths.is_empty() {
        collect(&repo_root().join("tests/slt"), &mut files);
        files.retain(|path| postgres_answers::is_marked(path));
    } else {
        for path in paths {
            collect(path, &mut files);
        }
    }
    let keyed: Vec<(String, PathBuf)> = files.iter().map(|p| (key_of(p), p.clone())).collect();
    match postgres_answers::verify(&keyed) {
        Ok(problems) if problems.is_empty() => {
            println!(
                "slt --postgres: PostgreSQL gives every answer of {} files: {}",
                keyed.len(),
                keyed
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            ExitCode::SUCCESS
        }
        Ok(problems) => {
            for problem in &problems {
                println!("slt --postgres: {problem}");
            }
            println!("slt --postgres: FAILED ({} records differ)", problems.len());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("slt --postgres: cannot replay on PostgreSQL: {error}");
            ExitCode::FAILURE
        }
    }
}

fn file_line(result: &run::FileResult) -> String {
    let mut line = format!(
        "{}: {} passed, {} failed, {} skipped",
        result.key, result.passed, result.failed, result.skipped
    );
    if !result.inconsistent.is_empty() {
        line.push_str(&format!(
            ", {} inconsistent labels",
            result.inconsistent.len()
        ));
    }
    if result.panics > 0 {
        line.push_str(&format!(", {} panics", result.panics));
    }
    if result.timeouts > 0 {
        line.push_str(&format!(", {} timeouts", result.timeouts));
    }
    if let Some(error) = &result.error {
        line.push_str(&format!(" (cannot run: {error})"));
    }
    line
}
