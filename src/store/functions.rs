//! The functions made with CREATE FUNCTION, each kept twice: as written (exported, synced,
//! listed) and as evaluated, its body behind the guards. Knows nothing of transactions.

use {crate::guard, gluesql_core::data::CustomFunction, std::collections::BTreeMap};

#[derive(Debug, Default)]
pub struct Functions {
    written: BTreeMap<String, CustomFunction>,
    evaluated: BTreeMap<String, CustomFunction>,
}

impl Functions {
    pub fn get(&self, name: &str) -> Option<&CustomFunction> {
        self.written.get(name)
    }

    /// What GlueSQL runs when `name` is called.
    pub fn evaluated(&self, name: &str) -> Option<&CustomFunction> {
        self.evaluated.get(name)
    }

    pub fn insert(&mut self, name: String, function: CustomFunction) -> Option<CustomFunction> {
        let evaluated = guard::guarded_function(&function).unwrap_or_else(|too_complex| {
            // Calling it fails with the reason; it is still kept, listed and exported.
            let mut refused = function.clone();
            refused.body = guard::raise(&too_complex.to_string());
            refused
        });
        self.evaluated.insert(name.clone(), evaluated);
        self.written.insert(name, function)
    }

    pub fn remove(&mut self, name: &str) -> Option<CustomFunction> {
        self.evaluated.remove(name);
        self.written.remove(name)
    }

    pub fn clear(&mut self) {
        self.written.clear();
        self.evaluated.clear();
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &CustomFunction)> {
        self.written.iter()
    }

    pub fn values(&self) -> impl Iterator<Item = &CustomFunction> {
        self.written.values()
    }
}
