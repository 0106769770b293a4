//! Runs files in subprocesses, a few at a time, with a time budget per query: gathers each
//! file's counts, failures and label answers. Judges nothing against the known-failures list.

use {
    crate::{
        child::{Event, Status},
        driver::LabelAnswer,
    },
    std::{
        collections::BTreeMap,
        io::{BufRead, BufReader},
        path::{Path, PathBuf},
        process::{Command, Stdio},
        sync::{mpsc, Arc, Mutex},
        thread,
        time::Duration,
    },
};

/// One file to run and the key its records are known by (`<key>:<line>`).
#[derive(Debug, Clone)]
pub struct FileJob {
    pub path: PathBuf,
    pub key: String,
}

#[derive(Debug, Default, Clone)]
pub struct FileResult {
    pub key: String,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub panics: usize,
    pub timeouts: usize,
    /// Every record that did not pass: line, what happened (panics and timeouts included), and
    /// the category that claims it.
    pub failures: Vec<(u32, String, String)>,
    /// Labels whose answers differ between the queries that share them.
    pub inconsistent: Vec<String>,
    /// The file could not be read or parsed.
    pub error: Option<String>,
}

impl FileResult {
    fn add(&mut self, event: &Event, labels: &mut BTreeMap<String, Vec<(u32, LabelAnswer)>>) {
        match event.status {
            Status::Pass => self.passed += 1,
            Status::Skip => self.skipped += 1,
            Status::Fail => {
                self.failed += 1;
                self.failures
                    .push((event.line, event.message.clone(), event.category.clone()));
            }
            Status::Panic => {
                self.failed += 1;
                self.panics += 1;
                self.failures
                    .push((event.line, event.message.clone(), String::new()));
            }
        }
        if let Some((label, answer)) = &event.label {
            labels
                .entry(label.clone())
                .or_default()
                .push((event.line, answer.clone()));
        }
    }
}

pub struct Options {
    pub jobs: usize,
    pub timeout: Duration,
}

/// Runs every job; `on_done` sees each result in job order as soon as it and those before it end.
pub fn run_all(
    jobs: Vec<FileJob>,
    options: &Options,
    mut on_done: impl FnMut(&FileResult),
) -> Vec<FileResult> {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("idbsql-slt"));
    let queue = Arc::new(Mutex::new(
        jobs.iter().cloned().enumerate().collect::<Vec<_>>(),
    ));
    queue.lock().map(|mut q| q.reverse()).ok();
    let (sender, receiver) = mpsc::channel::<(usize, FileResult)>();
    let workers = options.jobs.max(1).min(jobs.len().max(1));
    let mut handles = Vec::new();
    for _ in 0..workers {
        let queue = Arc::clone(&queue);
        let sender = sender.clone();
        let exe = exe.clone();
        let timeout = options.timeout;
        handles.push(thread::spawn(move || loop {
            let next = queue.lock().ok().and_then(|mut q| q.pop());
            let Some((index, job)) = next else { break };
            let result = run_file(&exe, &job, timeout);
            if sender.send((index, result)).is_err() {
                break;
            }
        }));
    }
    drop(sender);
    let mut finished = BTreeMap::new();
    let mut results = Vec::with_capacity(jobs.len());
    for (index, result) in receiver {
        finished.insert(index, result);
        while let Some(result) = finished.remove(&results.len()) {
            on_done(&result);
            results.push(result);
        }
    }
    for handle in handles {
        let _ = handle.join();
    }
    results
}

/// Runs one file in a child process. A step that reports nothing within `timeout` is a
/// timeout: the child is killed and the steps it did not reach count as failed.
fn run_file(exe: &Path, job: &FileJob, timeout: Duration) -> FileResult {
    let mut result = FileResult {
        key: job.key.clone(),
        ..FileResult::default()
    };
    let child = Command::new(exe)
        .arg("--child")
        .arg(&job.path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            result.error = Some(format!("cannot start the runner: {error}"));
            return result;
        }
    };
    let Some(stdout) = child.stdout.take() else {
        result.error = Some("no output from the runner".to_owned());
        return result;
    };
    let (lines_tx, lines) = mpsc::channel::<String>();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut labels: BTreeMap<String, Vec<(u32, LabelAnswer)>> = BTreeMap::new();
    let mut runnable = None;
    let mut ran = 0usize;
    let mut last_line = 0u32;
    let mut finished = false;
    loop {
        match lines.recv_timeout(timeout) {
            Ok(line) if line == "done" => {
                finished = true;
                break;
            }
            Ok(line) => {
                if let Some(rest) = line.strip_prefix("plan\t") {
                    let mut counts = rest.split('\t').map(|n| n.parse::<usize>().unwrap_or(0));
                    runnable = counts.next();
                } else if let Some(message) = line.strip_prefix("error\t") {
                    result.error = Some(message.to_owned());
                } else if let Some(event) = Event::decode(&line) {
                    if event.status != Status::Skip {
                        ran += 1;
                    }
                    last_line = event.line;
                    result.add(&event, &mut labels);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                result.timeouts += 1;
                result.failed += 1;
                result.failures.push((
                    last_line,
                    format!(
                        "timeout: the step after line {last_line} ran past {} s",
                        timeout.as_secs()
                    ),
                    String::new(),
                ));
                // The rest of the file counts as failed.
                let rest = runnable.unwrap_or(0).saturating_sub(ran + 1);
                result.failed += rest;
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = child.wait();
    let _ = reader.join();
    if !finished && result.timeouts == 0 && result.error.is_none() {
        // The child died without finishing (e.g. an abort): what it did not reach failed.
        let rest = runnable.unwrap_or(0).saturating_sub(ran);
        result.failed += rest;
        result.panics += 1;
        result.failures.push((
            last_line,
            format!("the runner died after line {last_line}: {status:?}"),
            String::new(),
        ));
    }
    for (label, answers) in labels {
        if answers.windows(2).any(|pair| pair[0].1 != pair[1].1) {
            result.inconsistent.push(label);
        }
    }
    result
}
