//! Persistence kept in memory: `volatile` for `storage: "memory"` databases (keeps nothing),
//! `shared` for native tests, which reopen the same "disk" and can make a write fail.

use {
    super::{Batch, Loaded, PageSink, Persistence},
    crate::error::{DbError, ErrorCode},
    std::{cell::RefCell, collections::BTreeMap, rc::Rc},
};

#[derive(Debug, Default)]
pub struct MemoryDisk {
    /// Checkpoint pages by id.
    pub checkpoint: BTreeMap<u64, Vec<u8>>,
    pub log: Vec<Vec<u8>>,
    pub outbox: BTreeMap<u64, Vec<u8>>,
    /// The sync state, as `sync` encoded it.
    pub sync: Option<Vec<u8>>,
    /// Answers of committed calls, by call id.
    pub calls: BTreeMap<String, Vec<u8>>,
    /// The next write fails as IndexedDB would on quota or abort.
    pub fail_next_write: bool,
    pub checkpoints_written: usize,
    /// Checkpoint pages written, over all checkpoints (tests show a fold's size with it).
    pub pages_written: usize,
    /// Atomic writes made (tests count a commit's writes with it).
    pub writes: usize,
}

#[derive(Debug, Clone, Default)]
pub struct MemoryPersistence {
    disk: Option<Rc<RefCell<MemoryDisk>>>,
}

impl MemoryPersistence {
    pub fn volatile() -> Self {
        Self { disk: None }
    }

    pub fn shared(disk: Rc<RefCell<MemoryDisk>>) -> Self {
        Self { disk: Some(disk) }
    }

    /// Test hook: the next write fails.
    pub fn fail_next_write(&mut self) {
        if let Some(disk) = &self.disk {
            disk.borrow_mut().fail_next_write = true;
        }
    }

    fn fail_if_asked(disk: &mut MemoryDisk) -> Result<(), DbError> {
        if std::mem::take(&mut disk.fail_next_write) {
            return Err(DbError::new(ErrorCode::Storage, "simulated write failure"));
        }
        Ok(())
    }
}

impl Persistence for MemoryPersistence {
    async fn load(&mut self, page: &mut PageSink<'_>) -> Result<Loaded, DbError> {
        Ok(match &self.disk {
            Some(disk) => {
                let disk = disk.borrow();
                for (id, bytes) in &disk.checkpoint {
                    page(*id, bytes.clone())?;
                }
                Loaded {
                    log: disk.log.clone(),
                    outbox: disk.outbox.iter().map(|(k, v)| (*k, v.clone())).collect(),
                    sync: disk.sync.clone(),
                }
            }
            None => Loaded::default(),
        })
    }

    async fn commit(&mut self, batch: Batch) -> Result<(), DbError> {
        let Some(disk) = &self.disk else {
            return Ok(());
        };
        let mut disk = disk.borrow_mut();
        Self::fail_if_asked(&mut disk)?;
        disk.writes += 1;
        if let Some(write) = batch.checkpoint {
            if write.replace {
                disk.checkpoint.clear();
            }
            for id in write.delete {
                disk.checkpoint.remove(&id);
            }
            disk.pages_written += write.put.len();
            disk.checkpoint.extend(write.put);
            disk.log.clear();
            disk.checkpoints_written += 1;
        }
        disk.log.extend(batch.log);
        disk.outbox.extend(batch.outbox_add);
        for client_seq in &batch.outbox_remove {
            disk.outbox.remove(client_seq);
        }
        if let Some(sync) = batch.sync {
            disk.sync = Some(sync);
        }
        if let Some((id, result)) = batch.call {
            disk.calls.insert(id, result);
        }
        Ok(())
    }

    async fn call_result(&mut self, id: &str) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self
            .disk
            .as_ref()
            .and_then(|disk| disk.borrow().calls.get(id).cloned()))
    }

    fn keeps_data(&self) -> bool {
        self.disk.is_some()
    }

    fn log_size(&self) -> (usize, usize) {
        match &self.disk {
            Some(disk) => {
                let disk = disk.borrow();
                (disk.log.len(), disk.log.iter().map(Vec::len).sum())
            }
            None => (0, 0),
        }
    }
}
