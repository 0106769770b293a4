//! Persistence kept in memory: `volatile` for `storage: "memory"` databases (keeps nothing),
//! `shared` for native tests, which reopen the same "disk" and can make a write fail.

use {
    super::{Loaded, Persistence},
    crate::{
        error::{DbError, ErrorCode},
        sync::SyncMeta,
    },
    std::{cell::RefCell, collections::BTreeMap, rc::Rc},
};

#[derive(Debug, Default)]
pub struct MemoryDisk {
    pub checkpoint: Vec<Vec<u8>>,
    pub log: Vec<Vec<u8>>,
    pub outbox: BTreeMap<u64, Vec<u8>>,
    pub sync: Option<SyncMeta>,
    /// The next write fails as IndexedDB would on quota or abort.
    pub fail_next_write: bool,
    pub checkpoints_written: usize,
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

    fn fail_if_asked(disk: &mut MemoryDisk) -> Result<(), DbError> {
        if std::mem::take(&mut disk.fail_next_write) {
            return Err(DbError::new(ErrorCode::Storage, "simulated write failure"));
        }
        Ok(())
    }
}

impl Persistence for MemoryPersistence {
    async fn load(&mut self) -> Result<Loaded, DbError> {
        Ok(match &self.disk {
            Some(disk) => {
                let disk = disk.borrow();
                Loaded {
                    checkpoint: disk.checkpoint.clone(),
                    log: disk.log.clone(),
                    outbox: disk.outbox.iter().map(|(k, v)| (*k, v.clone())).collect(),
                    sync: disk.sync,
                }
            }
            None => Loaded::default(),
        })
    }

    async fn append(&mut self, entries: &[Vec<u8>]) -> Result<(), DbError> {
        if let Some(disk) = &self.disk {
            let mut disk = disk.borrow_mut();
            Self::fail_if_asked(&mut disk)?;
            disk.log.extend(entries.iter().cloned());
        }
        Ok(())
    }

    async fn write_checkpoint(&mut self, chunks: &[Vec<u8>]) -> Result<(), DbError> {
        if let Some(disk) = &self.disk {
            let mut disk = disk.borrow_mut();
            Self::fail_if_asked(&mut disk)?;
            disk.checkpoint = chunks.to_vec();
            disk.log.clear();
            disk.checkpoints_written += 1;
        }
        Ok(())
    }

    async fn write_outbox(
        &mut self,
        added: &[(u64, Vec<u8>)],
        meta: &SyncMeta,
    ) -> Result<(), DbError> {
        if let Some(disk) = &self.disk {
            let mut disk = disk.borrow_mut();
            Self::fail_if_asked(&mut disk)?;
            disk.outbox.extend(added.iter().cloned());
            disk.sync = Some(*meta);
        }
        Ok(())
    }

    async fn write_confirmed(
        &mut self,
        confirmed: &[Vec<u8>],
        removed: &[u64],
        meta: &SyncMeta,
    ) -> Result<(), DbError> {
        if let Some(disk) = &self.disk {
            let mut disk = disk.borrow_mut();
            Self::fail_if_asked(&mut disk)?;
            disk.log.extend(confirmed.iter().cloned());
            for client_seq in removed {
                disk.outbox.remove(client_seq);
            }
            disk.sync = Some(*meta);
        }
        Ok(())
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
