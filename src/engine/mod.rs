//! The SQL engine: GlueSQL's Glue over our store, a cache of parsed statements, parameter
//! binding, statement-level atomicity, and results as plain rows. Synchronous; no I/O.

mod aggregate;
mod alter_columns;
mod bind_names;
mod bind_types;
mod booleans;
mod checks;
mod compat;
mod computed_from;
mod constant_case;
mod constraints;
mod correlated_setops;
mod ctes;
mod date_arithmetic;
mod decimal_literals;
mod defaults;
mod derived_once;
mod foreign_keys;
mod functions;
mod generated_keys;
mod indexes;
mod joined_writes;
mod joins;
mod json_calls;
mod json_placement;
mod key_probes;
mod key_updates;
mod labels;
mod lateral;
mod logic;
mod math_functions;
mod names;
mod null_order;
mod numeric;
mod objects;
mod outer_joins;
mod param_types;
mod params;
mod parse;
mod quantified;
mod read_columns;
mod recursive;
mod relation;
mod result;
mod returning;
mod row_exprs;
mod row_values;
mod savepoints;
mod schemas;
mod scope;
mod setops;
mod string_agg;
mod subquery;
mod target_alias;
mod unsupported;
mod upsert;
mod using;
mod value_order;
mod views;
pub(crate) mod visit;
mod walk;
mod window_values;
mod windows;

pub use {
    generated_keys::Sequence,
    objects::{is_reserved, Object, ObjectKind, OBJECTS_TABLE},
    params::{bind_params, inline_text_params},
    parse::{parse_sql, PARSER_RECURSION_LIMIT},
    result::{command_name, output_of, QueryOutput},
};

use {
    crate::{
        error::{DbError, ErrorCode},
        store::{MemoryStore, Savepoint},
    },
    gluesql_core::{
        data::Value,
        prelude::Glue,
        sqlparser::ast::{ObjectType, Statement as SqlStatement},
        store::{Planner, Transaction},
        translate::translate_with_params,
    },
    std::{borrow::Cow, collections::HashMap, rc::Rc},
};

/// GlueSQL's translation of a statement, its calls behind the guards (see `crate::guard`).
fn translate_guarded(
    store: &MemoryStore,
    statement: &SqlStatement,
    params: &[gluesql_core::translate::ParamLiteral],
) -> Result<gluesql_core::ast::Statement, DbError> {
    let mut translated = translate_with_params(statement, params)?;
    let columns_of = |table: &str| {
        store.table(table).map(|table| {
            table
                .schema
                .column_defs
                .iter()
                .flatten()
                .map(|column| (column.name.clone(), column.data_type.clone()))
                .collect()
        })
    };
    crate::guard::guard_statement(&mut translated, &columns_of)?;
    Ok(translated)
}

/// A statement after our layer's passes: ready for GlueSQL, or already answered by a pass.
// One per statement, moved once: boxing the statement would cost an allocation instead.
#[allow(clippy::large_enum_variant)]
enum Lowered<'s> {
    Answered(QueryOutput),
    Ready(
        Cow<'s, SqlStatement>,
        Vec<gluesql_core::translate::ParamLiteral>,
    ),
}

/// Parsed SQL texts kept for reuse; point queries spend most of their time parsing otherwise.
const STATEMENT_CACHE_CAPACITY: usize = 512;
/// Longer SQL text is parsed each time, never cached (see `parse`).
const CACHED_SQL_MAX_BYTES: usize = 16 * 1024;

pub struct Engine {
    glue: Glue<MemoryStore>,
    parsed: HashMap<String, Rc<Vec<SqlStatement>>>,
    /// The error of a set operation read as a derived table, while the statement reading it
    /// is prepared (see subquery.rs).
    relation_failed: Option<DbError>,
    /// The database syncs: no key may be minted here that another replica could mint too.
    synced: bool,
    /// GENERATED ALWAYS columns take the values an INSERT gives (while a dump is imported).
    overriding_system_value: bool,
    /// A write statement runs with its foreign keys checked at its end (see foreign_keys.rs).
    checking_foreign_keys: bool,
    /// The next RETURNING packs its rows into `packed` (see `pack_returning`).
    pack_returning: bool,
    packed: Option<crate::packed_rows::PackedRows>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(MemoryStore::new())
    }
}

impl Engine {
    pub fn new(store: MemoryStore) -> Self {
        Self {
            glue: Glue::new(store),
            parsed: HashMap::new(),
            relation_failed: None,
            synced: false,
            overriding_system_value: false,
            checking_foreign_keys: false,
            pack_returning: false,
            packed: None,
        }
    }

    /// The next statement's RETURNING rows, where they are computed row by row, are packed for
    /// the JS edge (see packed_rows.rs) and kept for `take_packed`, its output's `rows` left
    /// empty: handed over with no vector per row (issue 26's cost target).
    pub fn pack_returning(&mut self) {
        self.pack_returning = true;
    }

    /// The rows the last statement packed, if it did; forgets a request no statement took.
    pub fn take_packed(&mut self) -> Option<crate::packed_rows::PackedRows> {
        self.pack_returning = false;
        self.packed.take()
    }

    /// Tells the engine its database syncs (see `generated_keys`).
    pub fn set_synced(&mut self, synced: bool) {
        self.synced = synced;
    }

    /// Lets INSERTs give GENERATED ALWAYS columns values of their own, as PostgreSQL's
    /// `OVERRIDING SYSTEM VALUE` does (for importing a dump).
    pub fn set_overriding_system_value(&mut self, overriding: bool) {
        self.overriding_system_value = overriding;
    }

    pub fn store(&self) -> &MemoryStore {
        &self.glue.storage
    }

    pub fn store_mut(&mut self) -> &mut MemoryStore {
        &mut self.glue.storage
    }

    /// Splits and parses SQL text into statements, reusing an earlier parse of the same text.
    pub fn parse(&mut self, sql: &str) -> Result<Rc<Vec<SqlStatement>>, DbError> {
        if let Some(statements) = self.parsed.get(sql) {
            return Ok(Rc::clone(statements));
        }
        let statements = Rc::new(parse_sql(sql)?);
        if sql.len() > CACHED_SQL_MAX_BYTES {
            // A bulk INSERT is run once; kept, 512 of them held gigabytes of syntax trees.
            return Ok(statements);
        }
        if self.parsed.len() >= STATEMENT_CACHE_CAPACITY {
            self.parsed.clear();
        }
        self.parsed.insert(sql.to_owned(), Rc::clone(&statements));
        Ok(statements)
    }

    /// Runs one parsed statement. If it fails, it changes nothing: autocommit statements are
    /// rolled back by GlueSQL, and inside an explicit transaction we roll back to before it.
    pub fn execute(
        &mut self,
        statement: &SqlStatement,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let respelled = self.resolve_relations(statement);
        let statement = respelled.as_ref().unwrap_or(statement);
        // A DEFAULT computed by idbsql's rules, once, before any path stores the schema.
        let computed;
        let statement = if defaults::has_computed_default(statement) {
            computed = self.compute_defaults(statement)?;
            &computed
        } else {
            statement
        };
        if !self.checking_foreign_keys
            && foreign_keys::writes_rows(statement)
            && (self.glue.storage.has_foreign_keys() || self.glue.storage.has_checks())
        {
            return self.execute_checked(statement, params);
        }
        if returning::has_returning(statement) {
            if let Some(output) = self.run_returning(statement, params)? {
                return Ok(output);
            }
        }
        self.check_statement(statement)?;
        match statement {
            _ if savepoints::is_savepoint_statement(statement) => {
                self.run_savepoint_statement(statement)
            }
            _ if upsert::is_upsert(statement) => self.run_upsert(statement, params),
            SqlStatement::Update { .. } if self.assigns_primary_key(statement) => {
                self.update_primary_key(statement, params)
            }
            _ if joined_writes::is_joined_write(statement)
                || self.write_compares_json(statement)
                || self.write_reads_correlated_set_operation(statement) =>
            {
                self.run_joined_write(statement, params)
            }
            _ if constraints::adds_constrained_column(statement) => {
                self.add_constrained_column(statement, params)
            }
            _ if checks::declares_checks(statement) => {
                self.create_table_with_checks(statement, params)
            }
            _ if checks::adds_check(statement) => self.alter_add_check(statement),
            _ if foreign_keys::declares_foreign_keys(statement) => {
                self.create_table_with_foreign_keys(statement, params)
            }
            _ if foreign_keys::adds_foreign_key(statement) => self.alter_add_foreign_key(statement),
            _ if constraints::declares_constraints(statement) => {
                self.create_table_with_constraints(statement, params)
            }
            _ if constraints::alters_constraints(statement) => {
                self.alter_constraint(statement, params)
            }
            _ if generated_keys::declares_generated(statement) => {
                self.create_table_with_sequences(statement, params)
            }
            SqlStatement::CreateView { .. } => self.create_view(statement),
            SqlStatement::Drop {
                object_type: ObjectType::View,
                names,
                if_exists,
                ..
            } => self.drop_views(names, *if_exists),
            SqlStatement::CreateIndex(create) => self.create_index(create, params),
            SqlStatement::Drop {
                object_type: ObjectType::Index,
                names,
                if_exists,
                ..
            } => self.drop_index(names, *if_exists, params),
            SqlStatement::Drop {
                object_type: ObjectType::Table,
                ..
            } => self.drop_tables(statement, params),
            SqlStatement::Update { .. } if self.has_objects() => {
                self.refuse_update_of_always(statement)?;
                self.run(statement, params)
            }
            SqlStatement::AlterTable { .. } if alter_columns::alters_columns(statement) => {
                self.refuse_alter_with_objects(statement)?;
                self.refuse_alter_of_foreign_keys(statement)?;
                self.refuse_alter_of_checks(statement)?;
                self.refuse_alter_of_sequences(statement)?;
                self.alter_columns(statement)
            }
            SqlStatement::AlterTable { .. } => {
                self.refuse_alter_with_objects(statement)?;
                self.refuse_alter_of_foreign_keys(statement)?;
                self.refuse_alter_of_checks(statement)?;
                self.refuse_alter_of_sequences(statement)?;
                self.run(statement, params)
            }
            _ => self.run(statement, params),
        }
    }

    /// Runs idbsql's own SQL (the hidden objects table), which user statements may not touch.
    fn execute_internal(&mut self, sql: &str, params: &[Value]) -> Result<QueryOutput, DbError> {
        let statements = self.parse(sql)?;
        match statements.as_slice() {
            [statement] => self.run(statement, params),
            _ => Err(DbError::new(
                ErrorCode::Execute,
                "internal statement expected",
            )),
        }
    }

    /// The statement with views expanded and parameters converted to the columns they meet
    /// (the rest are inlined as literals). Each pass copies only when it has something to change.
    fn prepare<'s>(
        &mut self,
        statement: &'s SqlStatement,
        params: &'s [Value],
        kinds: crate::store::ColumnKinds,
    ) -> Result<(Cow<'s, SqlStatement>, Cow<'s, [Value]>), DbError> {
        let mut statement = Cow::Borrowed(statement);
        if self.has_objects() {
            self.expand_views(statement.to_mut())?;
        }
        if target_alias::has_target_alias(&statement) {
            target_alias::lower(statement.to_mut())?;
        }
        if using::has_using(&statement) {
            self.lower_using(statement.to_mut())?;
        }
        if let Some(respelled) = self.resolve_columns(&statement) {
            statement = Cow::Owned(respelled);
        }
        let mut params = Cow::Borrowed(params);
        let mut typed = Vec::new();
        if param_types::needs_conversion(&params) {
            typed = self.type_parameters(&statement, &mut params)?;
        }
        if let Some(inlined) = inline_text_params(&statement, &params, &typed) {
            statement = Cow::Owned(inlined);
        }
        if param_types::may_type_literals(self, &statement) {
            let bound = self.type_literals(statement.to_mut(), &params)?;
            if !bound.is_empty() {
                params.to_mut().extend(bound);
            }
        }
        // After the literals are typed: a rounding call reads its argument's type.
        if math_functions::may_apply(&statement) {
            self.lower_math(statement.to_mut(), &params)?;
        }
        if decimal_literals::may_apply(&statement, kinds.decimals) {
            self.exact_decimals(&mut statement)?;
        }
        // JSON calls to place, or (with JSON columns) SELECTs whose comparisons may meet one.
        if json_calls::has_call(&statement) || (kinds.json && json_calls::has_select(&statement)) {
            self.lower_json(statement.to_mut(), &params)?;
        }
        Ok((statement, params))
    }

    fn run(&mut self, statement: &SqlStatement, params: &[Value]) -> Result<QueryOutput, DbError> {
        let (statement, params) = match self.lower(statement, params)? {
            Lowered::Answered(output) => return Ok(output),
            Lowered::Ready(statement, params) => (statement, params),
        };
        if let Some((table, names)) = read_columns::columns_read(&statement) {
            self.glue.storage.set_read_columns(table, names);
        }
        let savepoint = self.glue.storage.savepoint();
        let result = self.execute_lowered(&statement, &params);
        self.glue.storage.clear_read_columns();
        match result {
            Ok(payload) => Ok(output_of(payload)),
            Err(error) => {
                if let Some(savepoint) = savepoint {
                    self.glue.storage.rollback_to(savepoint);
                }
                Err(error)
            }
        }
    }

    /// GlueSQL translates, plans and runs a lowered statement with its bound parameters.
    fn execute_lowered(
        &mut self,
        statement: &SqlStatement,
        params: &[gluesql_core::translate::ParamLiteral],
    ) -> Result<gluesql_core::executor::Payload, DbError> {
        let result = translate_guarded(&self.glue.storage, statement, params)
            .and_then(|translated| Ok(self.glue.storage.plan(translated.into())?))
            .and_then(|plan| Ok(self.glue.execute_stmt(&plan)?));
        self.glue.storage.clear_scan_hint();
        result
    }

    /// GlueSQL's plan of a statement, lowered as `run` lowers it, without running it; `None`
    /// when our layer answers the statement itself (windows, set operations, …). RETURNING
    /// evaluates a plan's projection over the rows a write returned.
    fn lowered_plan(
        &mut self,
        statement: &SqlStatement,
        params: &[Value],
    ) -> Result<Option<gluesql_core::plan::StatementPlan>, DbError> {
        let (statement, params) = match self.lower(statement, params)? {
            Lowered::Answered(_) => return Ok(None),
            Lowered::Ready(statement, params) => (statement, params),
        };
        let planned = translate_guarded(&self.glue.storage, &statement, &params)
            .and_then(|translated| Ok(self.glue.storage.plan(translated.into())?));
        self.glue.storage.clear_scan_hint();
        planned.map(Some)
    }

    /// Every pass of our layer over a statement, up to what GlueSQL translates; or the answer,
    /// where a pass computes it.
    fn lower<'s>(
        &mut self,
        statement: &'s SqlStatement,
        params: &'s [Value],
    ) -> Result<Lowered<'s>, DbError> {
        // One pass over the columns per statement, for the JSON and numeric passes.
        let kinds = self.glue.storage.column_kinds();
        let (mut statement, mut params) = self.prepare(statement, params, kinds)?;
        if subquery::has_false_having(&statement, &params) {
            subquery::settle_false_having(statement.to_mut(), &params);
        }
        if let SqlStatement::Query(query) = statement.as_ref() {
            if setops::is_set_operation(query) {
                return self.run_set_query(query, &params).map(Lowered::Answered);
            }
        }
        if self.insert_needs_values(&statement) {
            if let Some(nothing) =
                self.insert_source_as_values(statement.to_mut(), params.to_mut())?
            {
                return Ok(Lowered::Answered(nothing));
            }
        }
        if self.needs_filling(&statement, &params) {
            self.fill_generated(statement.to_mut(), &params)?;
        }
        // One walk per run: a SELECT with windows is answered from its rows, or computed below.
        let windowed = windows::has_window(&statement);
        if windowed {
            if let Some(output) = self.windows_answered_directly(&statement, &params)? {
                return Ok(Lowered::Answered(output));
            }
        }
        // Before subqueries are computed: a key compared with a computed constant becomes one.
        if key_probes::may_apply(&statement) {
            let _ = self.wrap_key_probes(statement.to_mut());
        }
        let written = labels::written(&statement);
        let has_subquery = subquery::has_subquery(&statement);
        if has_subquery
            || subquery::has_derived_set_operation(&statement)
            || computed_from::has_computed_join(&statement)
            || windowed
            || subquery::derived_under_false_where(&statement, &params)
        {
            // A branch no row can take is gone before subqueries are computed ahead of the rows.
            if constant_case::may_apply(statement.as_ref()) {
                constant_case::settle(statement.to_mut());
            }
            self.materialize_subqueries(statement.to_mut(), params.to_mut())?;
            // A key compared with what a computed subquery left (`id = SIGN($7)`, $7 the MIN
            // it gave, maybe NULL) is a computed constant too: wrapped and computed the same way.
            if has_subquery
                && key_probes::may_apply(&statement)
                && self.wrap_key_probes(statement.to_mut())
            {
                self.materialize_subqueries(statement.to_mut(), params.to_mut())?;
            }
            // What is left holding a set operation reads the outer row: lifted, then run per
            // row by a second walk (the first computed what it could once for all rows).
            if has_subquery
                && correlated_setops::may_apply(&statement)
                && self.lift_correlated_set_operations(statement.to_mut())?
            {
                // Joins planned first, so the rows a lifted subquery runs beside are those
                // the join gives, not the product of its tables.
                if joins::may_join(&statement) {
                    self.plan_joins(statement.to_mut());
                }
                self.materialize_subqueries(statement.to_mut(), params.to_mut())?;
            }
        }
        // Joins are planned on the conjuncts as written: the three-valued logic rewrite turns
        // an AND chain holding a division into one nested CASE, which no join could take apart.
        let joins = joins::may_join(&statement);
        if joins {
            self.plan_joins(statement.to_mut());
        }
        if logic::needs_rewrite(&statement) {
            logic::rewrite_statement(statement.to_mut(), &params);
        }
        if numeric::needs_rewrite(&statement, &params, kinds) {
            let mut owned = statement.into_owned();
            numeric::rewrite_statement(self, &mut owned, &params);
            statement = Cow::Owned(owned);
        }
        if let Some(written) = written {
            if labels::changed(&statement, &written) {
                labels::restore(statement.to_mut(), written);
            }
        }
        // Last, on the SQL GlueSQL runs: a derived table it would run per row on its left.
        if joins && derived_once::may_apply(&statement) {
            self.compute_joined_derived(statement.to_mut(), params.to_mut());
        }
        if let Some(payload) = self.whole_table_aggregate(&statement) {
            return Ok(Lowered::Answered(output_of(payload)));
        }
        Ok(Lowered::Ready(statement, bind_params(&params)?))
    }

    /// Translates and plans a statement without running it: its tables and columns exist.
    fn plan_only(&mut self, statement: &SqlStatement) -> Result<(), DbError> {
        let kinds = self.glue.storage.column_kinds();
        let (statement, params) = self.prepare(statement, &[], kinds)?;
        if let SqlStatement::Query(query) = statement.as_ref() {
            if setops::is_set_operation(query) {
                return Ok(());
            }
        }
        // A set operation read as a derived table, a FULL JOIN, a LATERAL subquery and window
        // functions are computed when the statement runs.
        if subquery::has_derived_set_operation(&statement)
            || computed_from::has_computed_join(&statement)
            || windows::has_window(&statement)
            || correlated_setops::may_apply(&statement)
        {
            return Ok(());
        }
        let params = bind_params(&params)?;
        let planned = translate_guarded(&self.glue.storage, &statement, &params)
            .and_then(|translated| Ok(self.glue.storage.plan(translated.into())?))
            .map(|_| ());
        self.glue.storage.clear_scan_hint();
        planned
    }

    /// Parses and runs exactly one statement.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<QueryOutput, DbError> {
        let statements = self.parse(sql)?;
        match statements.as_slice() {
            [statement] => self.execute(statement, params),
            [] => Err(DbError::new(ErrorCode::Parse, "no SQL statement given")),
            _ => Err(DbError::new(
                ErrorCode::MultipleStatements,
                format!(
                    "query() takes one statement, got {}; use exec() for several",
                    statements.len()
                ),
            )),
        }
    }

    pub fn in_transaction(&self) -> bool {
        self.glue.storage.in_explicit_transaction()
    }

    /// Abandons an open explicit transaction (e.g. when the connection closes).
    pub fn rollback_open_transaction(&mut self) {
        let _ = self.glue.storage.rollback();
    }

    /// The tables one statement reads, views replaced by what they read: what a live query
    /// of it depends on.
    pub fn tables_read(&mut self, sql: &str) -> Result<Vec<String>, DbError> {
        let statements = self.parse(sql)?;
        let mut tables = Vec::new();
        for statement in statements.iter() {
            let mut statement = self
                .resolve_relations(statement)
                .unwrap_or_else(|| statement.clone());
            if self.has_objects() {
                self.expand_views(&mut statement)?;
            }
            let _ = visit::relations(&statement, |name| {
                // A recursive WITH query's reference to its own rows reads no table.
                match name.0.last() {
                    Some(ident) if !recursive::is_self_reference(&ident.value) => {
                        tables.push(ident.value.clone())
                    }
                    _ => {}
                }
                std::ops::ControlFlow::<()>::Continue(())
            });
        }
        tables.sort();
        tables.dedup();
        Ok(tables)
    }

    /// A point inside the open transaction to roll back to (`None` outside one).
    pub fn savepoint(&self) -> Option<Savepoint> {
        self.glue.storage.savepoint()
    }

    /// Undoes what the open transaction did after `savepoint`; the transaction stays open.
    pub fn rollback_to(&mut self, savepoint: Savepoint) {
        self.glue.storage.rollback_to(savepoint);
    }
}

#[cfg(test)]
mod tests;
