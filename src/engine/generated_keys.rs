//! Generated keys and defaults in INSERT: SERIAL and IDENTITY columns (a sequence kept as a row
//! of the hidden objects table), SQLite's integer primary key that takes the next value when
//! left out, `DEFAULT` in VALUES and `DEFAULT VALUES`. Fills values in before the INSERT runs;
//! stores nothing but the sequences' last values, and never mints a key in a synced database.

use {
    super::{
        names::column_position,
        objects::{Object, ObjectKind},
        params::is_null_or_null_param,
        Engine,
    },
    crate::error::{DbError, ErrorCode},
    bigdecimal::ToPrimitive,
    gluesql_core::{
        ast::DataType as GlueType,
        data::{Key, Value},
        sqlparser::ast::{
            AlterTableOperation, ColumnDef, ColumnOption, CreateTable, DataType, Expr, GeneratedAs,
            Ident, SequenceOptions, SetExpr, Statement, UnaryOperator, Value as SqlValue,
        },
    },
};

/// One column's sequence: the values it hands out and the last one it handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    pub table: String,
    pub column: String,
    /// `GENERATED ALWAYS`: an INSERT may not give the column a value of its own.
    pub always: bool,
    pub start: i64,
    pub increment: i64,
    pub max: i64,
    pub last: Option<i64>,
}

fn plan_error(message: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Plan, message)
}

impl Sequence {
    /// PostgreSQL's name for a column's sequence.
    pub fn name(&self) -> String {
        format!("{}_{}_seq", self.table, self.column)
    }

    fn definition(&self) -> String {
        format!(
            "mode={} start={} increment={} max={} last={}",
            if self.always { "always" } else { "by-default" },
            self.start,
            self.increment,
            self.max,
            self.last.map(|l| l.to_string()).unwrap_or_default()
        )
    }

    fn object(&self) -> Object {
        Object {
            kind: ObjectKind::Sequence,
            name: self.name(),
            table: Some(self.table.clone()),
            definition: self.definition(),
            columns: vec![self.column.clone()],
            unique: false,
        }
    }

    fn of(object: &Object) -> Option<Sequence> {
        let mut sequence = Sequence {
            table: object.table.clone()?,
            column: object.columns.first()?.clone(),
            always: false,
            start: 1,
            increment: 1,
            max: i64::MAX,
            last: None,
        };
        for field in object.definition.split_whitespace() {
            let (name, value) = field.split_once('=')?;
            match name {
                "mode" => sequence.always = value == "always",
                "start" => sequence.start = value.parse().ok()?,
                "increment" => sequence.increment = value.parse().ok()?,
                "max" => sequence.max = value.parse().ok()?,
                "last" if value.is_empty() => sequence.last = None,
                "last" => sequence.last = Some(value.parse().ok()?),
                _ => {}
            }
        }
        Some(sequence)
    }

    fn next(&mut self) -> Result<i64, DbError> {
        let next = match self.last {
            None => Some(self.start),
            Some(last) => last.checked_add(self.increment),
        };
        match next {
            Some(next) if next <= self.max => {
                self.last = Some(next);
                Ok(next)
            }
            _ => Err(DbError::new(
                ErrorCode::Execute,
                format!(
                    "nextval: reached maximum value of sequence \"{}\" ({})",
                    self.name(),
                    self.max
                ),
            )),
        }
    }

    /// The column option that declares this sequence again where it stands (for dumps).
    pub fn clause(&self) -> String {
        let start = match self.last {
            None => self.start,
            Some(last) => last.saturating_add(self.increment),
        };
        format!(
            "GENERATED {} AS IDENTITY (INCREMENT BY {} MAXVALUE {} START WITH {start})",
            if self.always { "ALWAYS" } else { "BY DEFAULT" },
            self.increment,
            self.max
        )
    }
}

/// The integer column types GlueSQL stores for SERIAL kinds, and their largest values.
fn serial_type(name: &str) -> Option<(DataType, i64)> {
    match name.to_ascii_uppercase().as_str() {
        "SMALLSERIAL" | "SERIAL2" => Some((DataType::Int16, i16::MAX.into())),
        "SERIAL" | "SERIAL4" => Some((DataType::Integer(None), i32::MAX.into())),
        // GlueSQL's INTEGER is 64 bits wide.
        "BIGSERIAL" | "SERIAL8" => Some((DataType::Integer(None), i64::MAX)),
        _ => None,
    }
}

fn integer_max(data_type: &DataType) -> Option<i64> {
    match data_type {
        DataType::TinyInt(_) => Some(i8::MAX.into()),
        DataType::SmallInt(_) | DataType::Int2(_) | DataType::Int16 => Some(i16::MAX.into()),
        DataType::Int32 => Some(i32::MAX.into()),
        DataType::Int(_) | DataType::Integer(_) | DataType::Int4(_) => Some(i32::MAX.into()),
        DataType::BigInt(_) | DataType::Int8(_) | DataType::Int64 => Some(i64::MAX),
        _ => None,
    }
}

fn is_serial(column: &ColumnDef) -> bool {
    matches!(&column.data_type, DataType::Custom(name, args)
        if args.is_empty() && name.0.len() == 1 && serial_type(&name.0[0].value).is_some())
}

fn is_identity(option: &ColumnOption) -> bool {
    matches!(
        option,
        ColumnOption::Generated {
            generated_as: GeneratedAs::Always | GeneratedAs::ByDefault,
            generation_expr: None,
            ..
        }
    )
}

/// Whether a CREATE TABLE declares a SERIAL or IDENTITY column (which GlueSQL cannot read).
pub fn declares_generated(statement: &Statement) -> bool {
    let Statement::CreateTable(create) = statement else {
        return false;
    };
    create
        .columns
        .iter()
        .any(|c| is_serial(c) || c.options.iter().any(|o| is_identity(&o.option)))
}

fn integer_of(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::Value(SqlValue::Number(n, _)) if n.is_integer() => n.to_i64(),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => integer_of(expr).and_then(i64::checked_neg),
        Expr::Nested(expr) => integer_of(expr),
        _ => None,
    }
}

/// Rewrites a CREATE TABLE's SERIAL and IDENTITY columns as the integer NOT NULL columns GlueSQL
/// stores, and answers the sequences they get.
pub fn lower_create(create: &mut CreateTable) -> Result<Vec<Sequence>, DbError> {
    let table = create
        .name
        .0
        .last()
        .map(|i| i.value.clone())
        .unwrap_or_default();
    let mut sequences = Vec::new();
    for column in &mut create.columns {
        let mut sequence: Option<Sequence> = None;
        let new = |always| Sequence {
            table: table.clone(),
            column: column.name.value.clone(),
            always,
            start: 1,
            increment: 1,
            max: i64::MAX,
            last: None,
        };
        if is_serial(column) {
            let DataType::Custom(name, _) = &column.data_type else {
                continue;
            };
            let Some((data_type, max)) = serial_type(&name.0[0].value) else {
                continue;
            };
            column.data_type = data_type;
            sequence = Some(Sequence { max, ..new(false) });
        }
        let mut options = Vec::new();
        for option in std::mem::take(&mut column.options) {
            let ColumnOption::Generated {
                generated_as,
                sequence_options,
                generation_expr: None,
                ..
            } = &option.option
            else {
                options.push(option);
                continue;
            };
            let always = match generated_as {
                GeneratedAs::Always => true,
                GeneratedAs::ByDefault => false,
                GeneratedAs::ExpStored => {
                    options.push(option);
                    continue;
                }
            };
            if sequence.is_some() {
                return Err(plan_error(format!(
                    "both SERIAL and an identity for column \"{}\" of table \"{table}\"",
                    column.name.value
                )));
            }
            let Some(max) = integer_max(&column.data_type) else {
                return Err(plan_error(format!(
                    "identity column type must be smallint, integer, or bigint: \"{}\" is {}",
                    column.name.value, column.data_type
                )));
            };
            let mut made = Sequence { max, ..new(always) };
            for sequence_option in sequence_options.iter().flatten() {
                apply_option(&mut made, sequence_option)?;
            }
            sequence = Some(made);
        }
        column.options = options;
        let Some(sequence) = sequence else { continue };
        for option in &column.options {
            match option.option {
                ColumnOption::Default(_) => {
                    return Err(plan_error(format!(
                        "multiple default values specified for column \"{}\" of table \"{table}\"",
                        column.name.value
                    )))
                }
                ColumnOption::Null => {
                    return Err(plan_error(format!(
                    "conflicting NULL/NOT NULL declarations for column \"{}\" of table \"{table}\"",
                    column.name.value
                )))
                }
                _ => {}
            }
        }
        if !column
            .options
            .iter()
            .any(|o| matches!(o.option, ColumnOption::NotNull))
        {
            column
                .options
                .push(gluesql_core::sqlparser::ast::ColumnOptionDef {
                    name: None,
                    option: ColumnOption::NotNull,
                });
        }
        sequences.push(sequence);
    }
    Ok(sequences)
}

fn apply_option(sequence: &mut Sequence, option: &SequenceOptions) -> Result<(), DbError> {
    let number = |expr: &Expr| {
        integer_of(expr)
            .ok_or_else(|| plan_error(format!("a sequence option wants an integer: {expr}")))
    };
    match option {
        SequenceOptions::StartWith(expr, _) => sequence.start = number(expr)?,
        SequenceOptions::IncrementBy(expr, _) => {
            sequence.increment = number(expr)?;
            if sequence.increment <= 0 {
                return Err(plan_error(
                    "only a positive INCREMENT BY is supported for identity columns",
                ));
            }
        }
        SequenceOptions::MaxValue(Some(expr)) => sequence.max = sequence.max.min(number(expr)?),
        SequenceOptions::MaxValue(None) | SequenceOptions::MinValue(None) => {}
        // A sequence only goes up from START, so a MINVALUE at or below it changes nothing.
        SequenceOptions::MinValue(Some(expr)) => {
            if number(expr)? > sequence.start {
                return Err(plan_error("MINVALUE above START WITH is not supported"));
            }
        }
        // How many values a session reserves: no visible effect in a single-writer database.
        SequenceOptions::Cache(_) => {}
        SequenceOptions::Cycle(true) => {}
        SequenceOptions::Cycle(false) => {
            return Err(plan_error("CYCLE is not supported for identity columns"))
        }
    }
    Ok(())
}

/// What fills a column left to the database.
#[derive(Clone, Copy)]
enum Filler {
    /// The sequence at this index of the table's sequences.
    Sequence(usize),
    /// SQLite's integer primary key: the next after the largest key stored.
    NextKey,
}

fn is_default(expr: &Expr) -> bool {
    matches!(expr, Expr::Identifier(Ident { value, quote_style: None, .. })
        if value.eq_ignore_ascii_case("DEFAULT"))
}

fn key_integer(key: &Key) -> Option<i64> {
    match key {
        Key::I8(n) => Some((*n).into()),
        Key::I16(n) => Some((*n).into()),
        Key::I32(n) => Some((*n).into()),
        Key::I64(n) => Some(*n),
        Key::U8(n) => Some((*n).into()),
        Key::U16(n) => Some((*n).into()),
        Key::U32(n) => Some((*n).into()),
        Key::U64(n) => i64::try_from(*n).ok(),
        _ => None,
    }
}

fn number(n: i64) -> Expr {
    Expr::Value(SqlValue::Number(bigdecimal::BigDecimal::from(n), false))
}

impl Engine {
    /// The sequences of `table`'s columns.
    pub(super) fn sequences_of(&self, table: &str) -> Vec<Sequence> {
        if !self.has_objects() {
            return Vec::new();
        }
        self.objects(ObjectKind::Sequence)
            .iter()
            .filter(|o| o.table.as_deref() == Some(table))
            .filter_map(Sequence::of)
            .collect()
    }

    /// Every sequence, for dumps.
    pub fn sequences(&self) -> Vec<Sequence> {
        self.objects(ObjectKind::Sequence)
            .iter()
            .filter_map(Sequence::of)
            .collect()
    }

    fn refuse_minting_when_synced(&self, table: &str, column: &str) -> Result<(), DbError> {
        if !self.synced {
            return Ok(());
        }
        Err(plan_error(format!(
            "{table}.{column} would be given a generated key, but this database syncs: two \
             replicas working offline would make the same key for different rows. Give the \
             keys yourself, e.g. UUIDs: {column} UUID PRIMARY KEY DEFAULT GENERATE_UUID()"
        )))
    }

    /// CREATE TABLE with SERIAL or IDENTITY columns: the table as GlueSQL stores it, and a
    /// sequence for each such column, in one transaction.
    pub(super) fn create_table_with_sequences(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<super::QueryOutput, DbError> {
        let Statement::CreateTable(create) = statement else {
            return Err(plan_error("internal: not a CREATE TABLE"));
        };
        let mut create = create.clone();
        let sequences = lower_create(&mut create)?;
        if let Some(sequence) = sequences.first() {
            self.refuse_minting_when_synced(&sequence.table, &sequence.column)?;
        }
        let existed = sequences
            .first()
            .is_some_and(|s| self.store().table(&s.table).is_some());
        let lowered = Statement::CreateTable(create);
        self.atomically(|engine| {
            let output = engine.run(&lowered, params)?;
            if !existed {
                for sequence in &sequences {
                    engine.put_object(&sequence.object())?;
                }
            }
            Ok(output)
        })
    }

    /// Whether an INSERT leaves anything to `fill_generated`; most give every key and say no
    /// DEFAULT, and this finds that out before anything is copied.
    pub(super) fn needs_filling(&self, statement: &Statement, params: &[Value]) -> bool {
        let Statement::Insert(insert) = statement else {
            return false;
        };
        let table = insert
            .table_name
            .0
            .last()
            .map(|i| i.value.as_str())
            .unwrap_or_default();
        let Some(defs) = self
            .store()
            .table(table)
            .and_then(|t| t.schema.column_defs.as_ref())
        else {
            return false;
        };
        let values = match insert.source.as_deref().map(|q| q.body.as_ref()) {
            None => return true,
            Some(SetExpr::Values(values)) => values,
            Some(_) => return false,
        };
        if values.rows.iter().flatten().any(is_default) {
            return true;
        }
        if self.has_objects() && !self.sequences_of(table).is_empty() {
            return true;
        }
        let Some(at) = integer_key(defs) else {
            return false;
        };
        if insert.columns.is_empty() {
            values.rows.iter().any(|row| {
                row.get(at)
                    .is_some_and(|e| is_null_or_null_param(e, params))
            })
        } else {
            let key = [defs[at].name.clone()];
            !insert
                .columns
                .iter()
                .any(|c| column_position(&key, &c.value).is_some())
                || values
                    .rows
                    .iter()
                    .flatten()
                    .any(|e| is_null_or_null_param(e, params))
        }
    }

    /// Fills in what an INSERT leaves to the database: a generated key for each row that does
    /// not give one, a column's default where a row says `DEFAULT`, every column's for
    /// `DEFAULT VALUES`. Runs after an INSERT … SELECT became VALUES.
    pub(super) fn fill_generated(
        &mut self,
        statement: &mut Statement,
        params: &[Value],
    ) -> Result<(), DbError> {
        let Statement::Insert(insert) = statement else {
            return Ok(());
        };
        let table = insert
            .table_name
            .0
            .last()
            .map(|i| i.value.clone())
            .unwrap_or_default();
        let Some(defs) = self
            .store()
            .table(&table)
            .and_then(|t| t.schema.column_defs.as_ref())
        else {
            return Ok(());
        };
        let integer_key = integer_key(defs);
        let defs = defs.clone();
        let columns: Vec<String> = defs.iter().map(|d| d.name.clone()).collect();
        let mut sequences = self.sequences_of(&table);
        let mut fillers: Vec<(usize, Filler)> = sequences
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((column_position(&columns, &s.column)?, Filler::Sequence(i))))
            .collect();
        let mut next_key = None;
        if let (true, Some(at)) = (fillers.is_empty(), integer_key) {
            fillers.push((at, Filler::NextKey));
            let largest = self
                .store()
                .table(&table)
                .and_then(|t| t.rows.keys().next_back())
                .and_then(key_integer);
            next_key = Some(largest.map_or(Ok(1), |n| {
                n.checked_add(1)
                    .ok_or_else(|| DbError::new(ErrorCode::Execute, "no integer key is left"))
            }));
        }
        if insert.source.is_none() {
            // DEFAULT VALUES: one row, each column its default.
            insert.columns = Vec::new();
            insert.source = Some(Box::new(super::setops::plain_query(SetExpr::Values(
                gluesql_core::sqlparser::ast::Values {
                    explicit_row: false,
                    rows: vec![vec![Expr::Identifier(Ident::new("DEFAULT")); columns.len()]],
                },
            ))));
        }
        let Some(SetExpr::Values(values)) = insert.source.as_deref_mut().map(|q| q.body.as_mut())
        else {
            return Ok(());
        };
        // Where each listed value goes.
        let listed: Vec<Option<usize>> = if insert.columns.is_empty() {
            (0..columns.len()).map(Some).collect()
        } else {
            insert
                .columns
                .iter()
                .map(|c| column_position(&columns, &c.value))
                .collect()
        };
        let mut minted = false;
        let mut next_key = next_key.transpose()?;
        for &(at, filler) in &fillers {
            let column = &columns[at];
            let place = listed.iter().position(|p| *p == Some(at));
            if place.is_none() {
                insert.columns.push(Ident::with_quote('"', column));
            }
            for row in &mut values.rows {
                let value = match place {
                    Some(place) => match row.get(place) {
                        Some(expr) => Some(expr),
                        None => continue,
                    },
                    None => None,
                };
                let fill = match (value, filler) {
                    (None, _) => true,
                    (Some(expr), _) if is_default(expr) => true,
                    (Some(expr), Filler::NextKey) if is_null_or_null_param(expr, params) => true,
                    (Some(_), Filler::Sequence(i))
                        if sequences[i].always && !self.overriding_system_value =>
                    {
                        return Err(DbError::new(
                            ErrorCode::Constraint,
                            format!(
                                "cannot insert a non-DEFAULT value into column \"{column}\": it \
                                 is GENERATED ALWAYS AS IDENTITY"
                            ),
                        ));
                    }
                    (Some(expr), Filler::NextKey) => {
                        // SQLite counts on from a key given earlier in the same statement.
                        if let (Some(given), Some(next)) = (integer_of(expr), next_key.as_mut()) {
                            if given >= *next {
                                *next = given.saturating_add(1);
                            }
                        }
                        false
                    }
                    (Some(_), Filler::Sequence(_)) => false,
                };
                if !fill {
                    continue;
                }
                self.refuse_minting_when_synced(&table, column)?;
                minted = true;
                let value = match filler {
                    Filler::Sequence(i) => sequences[i].next()?,
                    Filler::NextKey => {
                        let next = next_key.unwrap_or(1);
                        next_key = Some(next.checked_add(1).ok_or_else(|| {
                            DbError::new(ErrorCode::Execute, "no integer key is left")
                        })?);
                        next
                    }
                };
                match place {
                    Some(place) => row[place] = number(value),
                    None => row.push(number(value)),
                }
            }
        }
        if values.rows.iter().flatten().any(is_default) {
            for (place, column) in listed.iter().enumerate() {
                let Some(at) = *column else { continue };
                let default = match &defs[at].default {
                    Some(default) => Some(default_expr(default)?),
                    None => None,
                };
                for row in &mut values.rows {
                    if let Some(expr) = row.get_mut(place) {
                        if is_default(expr) {
                            *expr = default.clone().unwrap_or(Expr::Value(SqlValue::Null));
                        }
                    }
                }
            }
        }
        if minted {
            for sequence in &sequences {
                self.update_object_definition(
                    ObjectKind::Sequence,
                    &sequence.name(),
                    &sequence.definition(),
                )?;
            }
        }
        Ok(())
    }
}

/// The position of a table's integer primary key column, SQLite's rowid-like key.
fn integer_key(defs: &[gluesql_core::ast::ColumnDef]) -> Option<usize> {
    defs.iter().position(|d| {
        d.unique.is_some_and(|u| u.is_primary)
            && matches!(
                d.data_type,
                GlueType::Int8 | GlueType::Int16 | GlueType::Int32 | GlueType::Int
            )
    })
}

/// A column's stored default as the parser's expression, to stand where a row says DEFAULT.
fn default_expr(default: &gluesql_core::ast::Expr) -> Result<Expr, DbError> {
    let text = crate::sql_text::expr(default)
        .map_err(|e| DbError::new(ErrorCode::Execute, format!("a column's DEFAULT: {e}")))?;
    gluesql_core::parse_sql::parse_expr(&text)
        .map_err(|e| DbError::new(ErrorCode::Execute, format!("a column's DEFAULT: {e}")))
}

impl Engine {
    /// ALTER TABLE would leave a sequence naming a table or column that moved: renaming the
    /// table, or renaming or dropping the column, is refused while the sequence exists.
    pub(super) fn refuse_alter_of_sequences(&self, statement: &Statement) -> Result<(), DbError> {
        let Some((table, operations)) = super::names::altered_table(statement) else {
            return Ok(());
        };
        let sequences = self.sequences_of(table);
        if sequences.is_empty() {
            return Ok(());
        }
        let generated = |column: &Ident| {
            sequences
                .iter()
                .any(|s| super::names::same_name(&s.column, &column.value))
        };
        for operation in operations {
            let refused = match operation {
                AlterTableOperation::RenameTable { .. } => true,
                AlterTableOperation::RenameColumn {
                    old_column_name, ..
                } => generated(old_column_name),
                AlterTableOperation::DropColumn { column_name, .. } => generated(column_name),
                // Its sequence gives the key its values.
                AlterTableOperation::AlterColumn { column_name, .. } => generated(column_name),
                _ => false,
            };
            if refused {
                return Err(DbError::new(
                    ErrorCode::Execute,
                    format!(
                        "ALTER TABLE {table}: {operation} is not supported on a table's generated \
                         key (sequence {})",
                        sequences[0].name()
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Engine {
    /// An UPDATE may not set a GENERATED ALWAYS column, as in PostgreSQL.
    pub(super) fn refuse_update_of_always(&self, statement: &Statement) -> Result<(), DbError> {
        let Statement::Update {
            table, assignments, ..
        } = statement
        else {
            return Ok(());
        };
        let gluesql_core::sqlparser::ast::TableFactor::Table { name, .. } = &table.relation else {
            return Ok(());
        };
        let table = name.0.last().map(|i| i.value.as_str()).unwrap_or_default();
        for sequence in self.sequences_of(table) {
            if !sequence.always || self.overriding_system_value {
                continue;
            }
            let assigned = assignments.iter().any(|a| match &a.target {
                gluesql_core::sqlparser::ast::AssignmentTarget::ColumnName(name) => name
                    .0
                    .last()
                    .is_some_and(|c| super::names::same_name(&c.value, &sequence.column)),
                _ => false,
            });
            if assigned {
                return Err(DbError::new(
                    ErrorCode::Constraint,
                    format!(
                        "column \"{}\" can only be updated to DEFAULT: it is GENERATED ALWAYS AS \
                         IDENTITY",
                        sequence.column
                    ),
                ));
            }
        }
        Ok(())
    }
}
