//! Delivers a database's committed log entries to each live session through its own queue,
//! bounded in bytes: a reader that falls that far behind is cut off. It decides and stores nothing.

use {
    idbsql::protocol::messages::LogEntry,
    std::sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    tokio::sync::mpsc,
};

/// What an entry costs a queue besides its change set (its header, the Arc, the channel slot).
const ENTRY_OVERHEAD: usize = 64;

fn cost(entry: &LogEntry) -> usize {
    entry.change_set.len() + ENTRY_OVERHEAD
}

/// What the writer and a session share of one queue.
struct Shared {
    /// Bytes of entries in the queue, not yet taken by the session.
    queued: AtomicUsize,
    /// The session was cut off for falling `max_bytes` behind.
    overflowed: AtomicBool,
}

struct Subscriber {
    sender: mpsc::UnboundedSender<Arc<LogEntry>>,
    shared: Arc<Shared>,
}

/// Every live session's queue of one database. Entries are shared (`Arc`), so however many
/// sessions lag, the memory held is that of the longest queue, at most `max_bytes`.
pub struct Fanout {
    subscribers: Mutex<Vec<Subscriber>>,
    max_bytes: usize,
}

/// Why a session's queue ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The session fell more than the bound behind: it must reconnect and catch up from the log.
    TooSlow,
    /// The database's writer stopped (the server is stopping).
    Closed,
}

/// One session's end of its queue.
pub struct Subscription {
    entries: mpsc::UnboundedReceiver<Arc<LogEntry>>,
    shared: Arc<Shared>,
}

impl Subscription {
    /// The next entry in log order, or why there will be none.
    pub async fn recv(&mut self) -> Result<Arc<LogEntry>, Ended> {
        match self.entries.recv().await {
            Some(entry) => {
                self.shared.queued.fetch_sub(cost(&entry), Ordering::SeqCst);
                Ok(entry)
            }
            None if self.shared.overflowed.load(Ordering::SeqCst) => Err(Ended::TooSlow),
            None => Err(Ended::Closed),
        }
    }
}

impl Fanout {
    /// `max_bytes` per session queue; an entry larger than that still passes an empty queue.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            subscribers: Mutex::new(Vec::new()),
            max_bytes,
        }
    }

    /// A queue that receives every entry published from now on.
    pub fn subscribe(&self) -> Subscription {
        let (sender, entries) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queued: AtomicUsize::new(0),
            overflowed: AtomicBool::new(false),
        });
        if let Ok(mut subscribers) = self.subscribers.lock() {
            subscribers.push(Subscriber {
                sender,
                shared: Arc::clone(&shared),
            });
        }
        Subscription { entries, shared }
    }

    /// Queues `entry` for every session; one whose queue would pass the bound is cut off (it
    /// still takes what was queued before, then learns it was too slow). Gone sessions leave.
    pub fn publish(&self, entry: Arc<LogEntry>) {
        let size = cost(&entry);
        let Ok(mut subscribers) = self.subscribers.lock() else {
            return;
        };
        subscribers.retain(|subscriber| {
            if subscriber.sender.is_closed() {
                return false;
            }
            let before = subscriber.shared.queued.fetch_add(size, Ordering::SeqCst);
            if before > 0 && before + size > self.max_bytes {
                subscriber.shared.overflowed.store(true, Ordering::SeqCst);
                return false;
            }
            subscriber.sender.send(Arc::clone(&entry)).is_ok()
        });
    }

    /// Sessions subscribed now.
    #[cfg(test)]
    fn subscribed(&self) -> usize {
        self.subscribers.lock().map_or(0, |s| s.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, bytes: usize) -> Arc<LogEntry> {
        Arc::new(LogEntry {
            seq,
            client_id: 1,
            client_seq: seq,
            change_set: vec![0; bytes],
            seen: 0,
        })
    }

    #[tokio::test]
    async fn a_reader_past_the_bound_is_cut_off_after_what_was_queued_and_others_go_on() {
        let fanout = Fanout::new(3 * (1000 + ENTRY_OVERHEAD));
        let mut slow = fanout.subscribe();
        let mut quick = fanout.subscribe();
        for seq in 1..=5 {
            fanout.publish(entry(seq, 1000));
            assert_eq!(quick.recv().await.map(|e| e.seq), Ok(seq));
        }
        for seq in 1..=3 {
            assert_eq!(slow.recv().await.map(|e| e.seq), Ok(seq));
        }
        assert_eq!(slow.recv().await.err(), Some(Ended::TooSlow));
        assert_eq!(fanout.subscribed(), 1);
    }

    #[tokio::test]
    async fn an_entry_larger_than_the_bound_passes_an_empty_queue() {
        let fanout = Fanout::new(10);
        let mut reader = fanout.subscribe();
        fanout.publish(entry(1, 1000));
        assert_eq!(reader.recv().await.map(|e| e.seq), Ok(1));
        fanout.publish(entry(2, 1000));
        assert_eq!(reader.recv().await.map(|e| e.seq), Ok(2));
    }

    #[tokio::test]
    async fn a_gone_session_leaves_and_a_stopped_writer_closes_the_queue() {
        let fanout = Fanout::new(1 << 20);
        let reader = fanout.subscribe();
        let mut kept = fanout.subscribe();
        drop(reader);
        fanout.publish(entry(1, 10));
        assert_eq!(fanout.subscribed(), 1);
        drop(fanout);
        assert_eq!(kept.recv().await.map(|e| e.seq), Ok(1));
        assert_eq!(kept.recv().await.err(), Some(Ended::Closed));
    }
}
