//! The per-file subprocess: runs one file's steps in order and reports each on stdout as one
//! line, so the parent can abandon a runaway query. Panics are caught and reported, not fatal.

use {
    crate::{
        category::Categorizer,
        driver::{Driver, LabelAnswer, Outcome},
        script,
    },
    std::{
        io::{self, Write},
        panic::{self, AssertUnwindSafe},
        path::Path,
    },
};

/// One reported step, as a tab-separated line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub line: u32,
    pub status: Status,
    pub label: Option<(String, LabelAnswer)>,
    /// For a failure: the category that claims it (see `category`).
    pub category: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Skip,
    Panic,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Panic => "panic",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pass" => Status::Pass,
            "fail" => Status::Fail,
            "skip" => Status::Skip,
            "panic" => Status::Panic,
            _ => return None,
        })
    }
}

/// Tabs and newlines would break the line format; messages are for people, so they go.
fn flat(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

impl Event {
    pub fn encode(&self) -> String {
        let (label, answer) = match &self.label {
            None => (String::new(), String::new()),
            Some((label, LabelAnswer::Values(digest))) => (flat(label), format!("v:{digest}")),
            Some((label, LabelAnswer::Error)) => (flat(label), "error".to_owned()),
        };
        format!(
            "{}\t{}\t{label}\t{answer}\t{}\t{}",
            self.line,
            self.status.as_str(),
            self.category,
            flat(&self.message)
        )
    }

    pub fn decode(text: &str) -> Option<Self> {
        let mut fields = text.splitn(6, '\t');
        let line = fields.next()?.parse().ok()?;
        let status = Status::parse(fields.next()?)?;
        let label = fields.next()?;
        let answer = fields.next()?;
        let category = fields.next()?.to_owned();
        let message = fields.next()?.to_owned();
        let label = match (label, answer) {
            ("", _) => None,
            (label, "error") => Some((label.to_owned(), LabelAnswer::Error)),
            (label, answer) => Some((
                label.to_owned(),
                LabelAnswer::Values(answer.strip_prefix("v:")?.to_owned()),
            )),
        };
        Some(Event {
            line,
            status,
            label,
            category,
            message,
        })
    }
}

/// Runs `path` and writes `plan <runnable> <skipped>`, then an event per step, then `done`.
pub fn run_file(path: &Path) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let steps = match script::load(path) {
        Ok(steps) => steps,
        Err(message) => {
            writeln!(out, "error\t{}", flat(&message))?;
            return Ok(());
        }
    };
    let skipped = steps.iter().filter(|step| step.skipped).count();
    writeln!(out, "plan\t{}\t{skipped}", steps.len() - skipped)?;
    out.flush()?;

    // A panic's default report would interleave with the events; the event carries it instead.
    panic::set_hook(Box::new(|_| {}));
    let mut driver = match Driver::new() {
        Ok(driver) => driver,
        Err(message) => {
            writeln!(out, "error\t{}", flat(&message))?;
            return Ok(());
        }
    };
    let mut categorizer = Categorizer::default();
    for step in &steps {
        let event = match panic::catch_unwind(AssertUnwindSafe(|| driver.run(step))) {
            Ok(judged) => {
                let (status, message) = match judged.outcome {
                    Outcome::Pass => (Status::Pass, String::new()),
                    Outcome::Skip => (Status::Skip, String::new()),
                    Outcome::Fail { message } => (Status::Fail, message),
                };
                let category = match status {
                    Status::Fail => categorizer.categorize(&step.sql, &message),
                    _ => "",
                };
                Event {
                    line: step.line,
                    status,
                    label: judged.label,
                    category: category.to_owned(),
                    message,
                }
            }
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".to_owned());
                // The engine may be left half-way through a statement: start over on a fresh
                // database would hide later results, so carry on with this one as SQLite's
                // runner would after an error.
                Event {
                    line: step.line,
                    status: Status::Panic,
                    label: None,
                    category: String::new(),
                    message: format!("panic: {message}"),
                }
            }
        };
        writeln!(out, "{}", event.encode())?;
        out.flush()?;
    }
    writeln!(out, "done")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip() {
        let event = Event {
            line: 12,
            status: Status::Fail,
            label: Some(("label-3".into(), LabelAnswer::Values("abc".into()))),
            category: "triggers".into(),
            message: "mismatch:\texpected".into(),
        };
        let decoded = Event::decode(&event.encode()).unwrap();
        assert_eq!(decoded.line, 12);
        assert_eq!(decoded.status, Status::Fail);
        assert_eq!(decoded.label, event.label);
        assert_eq!(decoded.message, "mismatch: expected");
        assert_eq!(decoded.category, "triggers");
    }
}
