//! `CustomFunction` and `CustomFunctionMut`: user functions made with CREATE FUNCTION,
//! stored beside the tables and versioned by the same transactions. Names are case-insensitive,
//! as calls reach us upper-cased.

use {
    super::{MemoryStore, Undo},
    gluesql_core::{
        data::CustomFunction as StructCustomFunction,
        error::Result,
        store::{CustomFunction, CustomFunctionMut},
    },
};

impl CustomFunction for MemoryStore {
    fn fetch_function<'a>(&'a self, func_name: &str) -> Result<Option<&'a StructCustomFunction>> {
        // The guarded copy: a call never reaches GlueSQL with arguments it panics on.
        Ok(self.functions.evaluated(&func_name.to_uppercase()))
    }

    fn fetch_all_functions(&self) -> Result<Vec<&StructCustomFunction>> {
        Ok(self.functions.values().collect())
    }
}

impl CustomFunctionMut for MemoryStore {
    fn insert_function(&mut self, func: StructCustomFunction) -> Result<()> {
        let name = func.func_name.to_uppercase();
        let previous = self.functions.insert(name.clone(), func);
        self.record(Undo::Function { name, previous });
        Ok(())
    }

    fn delete_function(&mut self, func_name: &str) -> Result<()> {
        let name = func_name.to_uppercase();
        if let Some(previous) = self.functions.remove(&name) {
            self.record(Undo::Function {
                name,
                previous: Some(previous),
            });
        }
        Ok(())
    }
}
