//! `Planner`: GlueSQL's planning passes plus the index pass, so WHERE and ORDER BY on an
//! indexed expression read the index instead of scanning the table (a partial index where
//! partial_indexes.rs finds the WHERE implies its predicate); UPDATE and DELETE get a
//! scan hint (scan_hint.rs) for the same reason, and INSERT/UPDATE their UNIQUE check by
//! lookup (unique_check.rs).

use {
    super::MemoryStore,
    gluesql_core::{
        error::Result,
        plan::StatementPlan,
        planner::{
            fetch_schema_map, plan_aggregate, plan_hash_join, plan_index, plan_primary_key,
            plan_schemaless, validate,
        },
        store::Planner,
    },
};

impl Planner for MemoryStore {
    fn plan(&self, statement: StatementPlan) -> Result<StatementPlan> {
        let schema_map = fetch_schema_map(self, &statement)?;
        validate(&schema_map, &statement)?;

        let statement = plan_schemaless(&schema_map, statement)?;
        let statement = plan_primary_key(&schema_map, statement);
        // A partial index holds some rows only: the index pass sees it where that is enough.
        let statement = if super::partial_indexes::any(&schema_map) {
            plan_index(
                &super::partial_indexes::usable(&schema_map, &statement),
                statement,
            )
        } else {
            plan_index(&schema_map, statement)
        };
        let statement = plan_hash_join(&schema_map, statement);
        // GlueSQL plans key and index reads for SELECT only; its UPDATE and DELETE scan.
        self.clear_scan_hint();
        self.hint_scan(&statement);
        self.arm_unique_check(&statement);
        Ok(plan_aggregate(statement))
    }
}
