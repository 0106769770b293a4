//! Connection slots counted across databases: per client IP, per token, and connections that
//! have not said Hello yet. Owns counting only; the per-database limit and the slots reserved
//! for writers stay with the hub (`DatabaseHub::try_connect`).

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
};

/// How many of each key are held, against a limit per key.
pub struct Counter<K: Eq + Hash + Clone> {
    held: Mutex<HashMap<K, usize>>,
    /// 0: no limit.
    limit: usize,
}

/// One slot of a `Counter`, given back when dropped.
pub struct Slot<K: Eq + Hash + Clone> {
    counter: Arc<Counter<K>>,
    key: K,
}

impl<K: Eq + Hash + Clone> Counter<K> {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            held: Mutex::new(HashMap::new()),
            limit,
        })
    }

    /// A slot for `key`, or `None` when `key` holds `limit` already.
    pub fn take(self: &Arc<Self>, key: K) -> Option<Slot<K>> {
        let mut held = self.held.lock().ok()?;
        let count = held.entry(key.clone()).or_default();
        if self.limit != 0 && *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Slot {
            counter: Arc::clone(self),
            key,
        })
    }
}

impl<K: Eq + Hash + Clone> Drop for Slot<K> {
    fn drop(&mut self) {
        if let Ok(mut held) = self.counter.held.lock() {
            if let Some(count) = held.get_mut(&self.key) {
                *count -= 1;
                if *count == 0 {
                    // An address or token with nothing open costs nothing.
                    held.remove(&self.key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Counter;

    #[test]
    fn a_key_holds_at_most_its_limit_and_dropping_gives_back() {
        let counter = Counter::new(2);
        let a = counter.take("a").unwrap();
        let _a2 = counter.take("a").unwrap();
        assert!(counter.take("a").is_none());
        assert!(counter.take("b").is_some());
        drop(a);
        assert!(counter.take("a").is_some());
        let unlimited = Counter::new(0);
        let held: Vec<_> = (0..1000).map(|_| unlimited.take(1).unwrap()).collect();
        assert_eq!(held.len(), 1000);
    }
}
