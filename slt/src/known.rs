//! The known-failures list: every record idbsql does not pass, keyed `file:line`, each with a
//! category whose reason is written once in the file. The list may only shrink.

use {
    crate::run::FileResult,
    std::{
        collections::{BTreeMap, BTreeSet},
        fmt::Write as _,
        path::Path,
    },
};

/// Categories, their reasons, and how a failure's message shows it belongs. A failure that no
/// rule claims is `uncategorised`, which the check refuses: a wrong answer never hides here.
const CATEGORIES: &[(&str, &str, &[&str])] = &[];

const UNCATEGORISED: &str = "uncategorised";

fn categorize(message: &str) -> &'static str {
    CATEGORIES
        .iter()
        .find(|(_, _, needles)| needles.iter().any(|needle| message.contains(needle)))
        .map_or(UNCATEGORISED, |(name, _, _)| name)
}

pub struct KnownFailures {
    categories: BTreeMap<String, String>,
    records: BTreeMap<String, String>,
}

impl KnownFailures {
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let mut categories = BTreeMap::new();
        let mut records = BTreeMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let (name, reason) = rest
                    .split_once("] ")
                    .ok_or_else(|| format!("line {}: expected `[category] reason`", number + 1))?;
                categories.insert(name.to_owned(), reason.trim().to_owned());
                continue;
            }
            let (record, category) = line
                .rsplit_once(' ')
                .ok_or_else(|| format!("line {}: expected `file:line category`", number + 1))?;
            records.insert(record.to_owned(), category.to_owned());
        }
        Ok(Self {
            categories,
            records,
        })
    }

    /// Everything wrong with a run, judged against this list.
    pub fn judge(&self, results: &[FileResult]) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, reason) in &self.categories {
            if name == UNCATEGORISED || name.contains("wrong") || reason.is_empty() {
                problems.push(format!(
                    "category `{name}` is not a reason a record may fail for"
                ));
            }
        }
        for (record, category) in &self.records {
            if !self.categories.contains_key(category) {
                problems.push(format!("{record}: category `{category}` is not defined"));
            }
        }
        let ran: BTreeSet<&str> = results.iter().map(|r| r.key.as_str()).collect();
        let mut failing = BTreeSet::new();
        for result in results {
            if let Some(error) = &result.error {
                problems.push(format!("{}: cannot run: {error}", result.key));
            }
            for label in &result.inconsistent {
                problems.push(format!(
                    "{}: label {label} gives different answers on different tables",
                    result.key
                ));
            }
            for (line, message) in &result.failures {
                let record = format!("{}:{line}", result.key);
                let fatal = ["panic", "the runner died", "timeout"];
                if fatal.iter().any(|start| message.starts_with(start)) {
                    problems.push(format!("{record}: {message}"));
                } else if !self.records.contains_key(&record) {
                    problems.push(format!("{record}: unlisted failure: {message}"));
                }
                failing.insert(record);
            }
        }
        for record in self.records.keys() {
            let file = record.rsplit_once(':').map_or(record.as_str(), |(f, _)| f);
            if ran.contains(file) && !failing.contains(record) {
                problems.push(format!(
                    "{record}: listed as failing but no longer fails; remove it from the list"
                ));
            }
        }
        problems
    }
}

/// Writes the run's failures as a known-failures file, each under the category its message
/// shows (or `uncategorised`, which a check then refuses).
pub fn write(path: &Path, results: &[FileResult]) -> std::io::Result<()> {
    let mut text = String::from(
        "# Records of the sqllogictest corpus and of tests/slt that idbsql does not pass, one per\n\
         # line as `file:line category`; `[category] reason` lines say why. `npm test` fails on a\n\
         # failure missing here and on a listed record that passes again: this list only shrinks.\n\
         # Regenerate: npm run slt -- --write-known tests/slt/known-failures.txt\n\n",
    );
    let mut lines = Vec::new();
    let mut used = BTreeSet::new();
    for result in results {
        for (line, message) in &result.failures {
            let category = categorize(message);
            used.insert(category);
            lines.push(format!("{}:{line} {category}", result.key));
        }
    }
    for (name, reason, _) in CATEGORIES {
        if used.contains(name) {
            let _ = writeln!(text, "[{name}] {reason}");
        }
    }
    text.push('\n');
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(path, text)
}
