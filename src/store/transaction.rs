//! `Transaction`: BEGIN / COMMIT / ROLLBACK over the undo log. Every autocommit statement is
//! atomic; a commit hands its change set to `take_change_sets` and stays revertible until persisted.

use {
    super::{MemoryStore, OpenTransaction, UnpersistedCommit},
    gluesql_core::{
        error::{Error, Result},
        store::Transaction,
    },
};

impl Transaction for MemoryStore {
    fn begin(&mut self, autocommit: bool) -> Result<bool> {
        match (&self.tx, autocommit) {
            // A statement inside an explicit transaction joins it.
            (Some(_), true) => Ok(false),
            (Some(_), false) => Err(Error::StorageMsg(
                "nested transactions are not supported".to_owned(),
            )),
            (None, _) => {
                self.tx = Some(OpenTransaction {
                    autocommit,
                    undo: Vec::new(),
                    savepoints: Vec::new(),
                });
                Ok(autocommit)
            }
        }
    }

    fn rollback(&mut self) -> Result<()> {
        if let Some(tx) = self.tx.take() {
            self.apply_undo(tx.undo);
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        if let Some(tx) = self.tx.take() {
            if !tx.undo.is_empty() {
                let change_set = self.change_set_of(&tx.undo);
                if !change_set.is_empty() {
                    self.produced.push(change_set);
                }
                self.unpersisted.push(UnpersistedCommit { undo: tx.undo });
            }
        }
        Ok(())
    }
}
