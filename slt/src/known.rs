//! The known-failures list: every record idbsql does not pass, keyed `file:line`, each with the
//! category that explains it (`category.rs` says why each is acceptable). The list only shrinks.

use {
    crate::{
        category::{reason, UNCATEGORISED},
        run::FileResult,
    },
    std::{
        collections::{BTreeMap, BTreeSet},
        fmt::Write as _,
        path::Path,
    },
};

/// The line that pins how many records a whole run has (`@records N`): a file that went
/// missing, or lost records, fails the check instead of passing with fewer.
const RECORDS_LINE: &str = "@records ";

pub struct KnownFailures {
    records: BTreeMap<String, String>,
    total: Option<usize>,
}

/// Every record a run saw: passed, failed and skipped.
fn total(results: &[FileResult]) -> usize {
    results
        .iter()
        .map(|r| r.passed + r.failed + r.skipped)
        .sum()
}

impl KnownFailures {
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let mut records = BTreeMap::new();
        let mut total = None;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(count) = line.strip_prefix(RECORDS_LINE) {
                let count = count
                    .parse()
                    .map_err(|_| format!("line {}: expected `{RECORDS_LINE}N`", number + 1))?;
                total = Some(count);
                continue;
            }
            let (record, category) = line
                .rsplit_once(' ')
                .ok_or_else(|| format!("line {}: expected `file:line category`", number + 1))?;
            records.insert(record.to_owned(), category.to_owned());
        }
        Ok(Self { records, total })
    }

    /// The records listed under `category`, as (file key, line).
    pub fn in_category(&self, category: &str) -> Vec<(String, u32)> {
        self.records
            .iter()
            .filter(|(_, c)| c.as_str() == category)
            .filter_map(|(record, _)| {
                let (file, line) = record.rsplit_once(':')?;
                Some((file.to_owned(), line.parse().ok()?))
            })
            .collect()
    }

    /// Everything wrong with a run, judged against this list.
    pub fn judge(&self, results: &[FileResult]) -> Vec<String> {
        let mut problems = Vec::new();
        for (record, category) in &self.records {
            if reason(category).is_none() {
                problems.push(format!(
                    "{record}: `{category}` is not a category a record may fail for"
                ));
            }
        }
        let ran: BTreeSet<&str> = results.iter().map(|r| r.key.as_str()).collect();
        match self.total {
            None => problems.push(format!(
                "the list does not pin the number of records (`{RECORDS_LINE}N`); regenerate it"
            )),
            Some(pinned) if pinned != total(results) => problems.push(format!(
                "{} records ran, the list pins {pinned}: a file or records went missing, or \
                 records were added without regenerating the list",
                total(results)
            )),
            Some(_) => {}
        }
        let listed_files: BTreeSet<&str> = self
            .records
            .keys()
            .map(|record| record.rsplit_once(':').map_or(record.as_str(), |(f, _)| f))
            .collect();
        for file in listed_files.difference(&ran) {
            problems.push(format!(
                "{file}: listed, but it did not run (is it missing?)"
            ));
        }
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
            for (line, message, category) in &result.failures {
                let record = format!("{}:{line}", result.key);
                let fatal = ["panic", "the runner died", "timeout"];
                if fatal.iter().any(|start| message.starts_with(start)) {
                    problems.push(format!("{record}: {message}"));
                } else if !self.records.contains_key(&record) {
                    problems.push(format!(
                        "{record}: unlisted failure [{category}]: {message}"
                    ));
                } else if self.records.get(&record) != Some(category) {
                    problems.push(format!(
                        "{record}: listed as {}, now fails as [{category}]: {message}",
                        self.records[&record]
                    ));
                }
                failing.insert(record);
            }
        }
        for record in self.records.keys() {
            let file = record.rsplit_once(':').map_or(record.as_str(), |(f, _)| f);
            if ran.contains(file) && !failing.contains(record) {
                problems.push(format!(
                    "{record}: listed as failing but passes now; remove it from the list"
                ));
            }
        }
        problems
    }
}

/// Writes the run's failures as a known-failures file, each under its category (an
/// `uncategorised` one is written too, and a check then refuses it).
pub fn write(path: &Path, results: &[FileResult]) -> std::io::Result<()> {
    let mut text = String::from(
        "# Records of SQLite's sqllogictest corpus (corpus/...) and of tests/slt that idbsql does not\n\
         # pass, one per line as `file:line category`. `npm test` fails on a failure missing here,\n\
         # on a listed record that passes again (the list only shrinks) and on any category that\n\
         # slt/src/category.rs does not define. Regenerate after a fix:\n\
         #   npm run slt -- --write-known tests/slt/known-failures.txt\n\
         # `@records` pins how many records the run has (passed, failed and skipped).\n#\n",
    );
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for result in results {
        for (_, _, category) in &result.failures {
            *counts.entry(category.as_str()).or_default() += 1;
        }
    }
    for (category, count) in &counts {
        let why = reason(category).unwrap_or("NOT A REASON: fix it or explain it in category.rs");
        let _ = writeln!(text, "# {category} ({count}): {why}");
    }
    let _ = writeln!(text, "\n{RECORDS_LINE}{}", total(results));
    for result in results {
        for (line, _, category) in &result.failures {
            let category = if category.is_empty() {
                UNCATEGORISED
            } else {
                category
            };
            let _ = writeln!(text, "{}:{line} {category}", result.key);
        }
    }
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> KnownFailures {
        let path =
            std::env::temp_dir().join(format!("known-{}-{}", std::process::id(), text.len()));
        std::fs::write(&path, text).unwrap();
        KnownFailures::read(&path).unwrap()
    }

    fn file(key: &str, passed: usize, failures: &[(u32, &str)]) -> FileResult {
        FileResult {
            key: key.into(),
            passed,
            failed: failures.len(),
            failures: failures
                .iter()
                .map(|(line, category)| (*line, "mismatch".into(), (*category).into()))
                .collect(),
            ..FileResult::default()
        }
    }

    #[test]
    fn a_listed_file_that_did_not_run_or_a_changed_record_count_fails_the_check() {
        let known = list("@records 11\na.test:3 triggers\nb.test:4 triggers\n");
        let a = file("a.test", 9, &[(3, "triggers")]);
        let b = file("b.test", 0, &[(4, "triggers")]);
        assert!(known.judge(&[a.clone(), b]).is_empty());
        let problems = known.judge(std::slice::from_ref(&a));
        assert!(problems
            .iter()
            .any(|p| p.contains("b.test: listed, but it did not run")));
        assert!(problems
            .iter()
            .any(|p| p.contains("10 records ran, the list pins 11")));
        let unpinned = list("a.test:3 triggers\n");
        assert!(unpinned
            .judge(&[a])
            .iter()
            .any(|p| p.contains("does not pin")));
    }
}
