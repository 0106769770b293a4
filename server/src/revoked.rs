//! The revocation list: token ids read from `--revoked-file` and read again every second;
//! sessions watch it and end when their token's id appears. Owns the list only; never checks
//! a token's signature or expiry (auth.rs does).

use {
    std::{collections::HashSet, path::PathBuf, sync::Arc, time::Duration},
    tokio::{sync::watch, task::JoinHandle},
};

pub type RevokedIds = Arc<HashSet<String>>;

/// How often the file is read again.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

fn parse(text: &str) -> HashSet<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The list as sessions see it, and the task keeping it fresh (none without a file).
pub struct Revocations {
    sender: Arc<watch::Sender<RevokedIds>>,
    pub task: Option<JoinHandle<()>>,
}

impl Revocations {
    /// Reads `path` now (a file that cannot be read is an error at start) and every second
    /// after; a later read that fails keeps the last list, so a file being rewritten cannot
    /// briefly un-revoke a token.
    pub fn start(path: Option<PathBuf>) -> Result<Self, std::io::Error> {
        let first = match &path {
            Some(path) => parse(&std::fs::read_to_string(path)?),
            None => HashSet::new(),
        };
        let sender = Arc::new(watch::Sender::new(Arc::new(first)));
        let task = path.map(|path| {
            let sender = Arc::clone(&sender);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(RELOAD_EVERY).await;
                    match tokio::fs::read_to_string(&path).await {
                        Ok(text) => {
                            let ids = parse(&text);
                            sender.send_if_modified(|current| {
                                let changed = **current != ids;
                                if changed {
                                    tracing::info!(revoked = ids.len(), "revocation list changed");
                                    *current = Arc::new(ids);
                                }
                                changed
                            });
                        }
                        Err(error) => {
                            tracing::warn!(%error, path = %path.display(), "cannot read the revocation list; keeping the last one");
                        }
                    }
                }
            })
        });
        Ok(Self { sender, task })
    }

    pub fn subscribe(&self) -> watch::Receiver<RevokedIds> {
        self.sender.subscribe()
    }

    /// Keeps the list's sender alive for as long as sessions may watch it.
    pub fn keep(&self) -> Arc<watch::Sender<RevokedIds>> {
        Arc::clone(&self.sender)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_one_per_line_comments_and_blanks_ignored() {
        let ids = super::parse("# revoked\nabc\n\n  def  # laptop stolen\n");
        assert_eq!(ids.len(), 2);
        assert!(ids.contains("abc") && ids.contains("def"));
    }
}
