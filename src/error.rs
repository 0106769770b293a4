//! The one error type users see: a stable machine-readable code plus a message.
//! Classification of GlueSQL's errors into codes lives here and nowhere else.

use {
    gluesql_core::error::{
        DeleteError, Error as GlueError, InsertError, UpdateError, ValidateError, ValueError,
    },
    thiserror::Error,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Parse,
    Plan,
    Execute,
    Constraint,
    Params,
    Storage,
    Closed,
    Locked,
    MultipleStatements,
    Format,
    TooLarge,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Parse => "parse",
            ErrorCode::Plan => "plan",
            ErrorCode::Execute => "execute",
            ErrorCode::Constraint => "constraint",
            ErrorCode::Params => "params",
            ErrorCode::Storage => "storage",
            ErrorCode::Closed => "closed",
            ErrorCode::Locked => "locked",
            ErrorCode::MultipleStatements => "multiple_statements",
            ErrorCode::Format => "format",
            ErrorCode::TooLarge => "too_large",
        }
    }
}

#[derive(Debug, Clone, Error, PartialEq)]
#[error("{message}")]
pub struct DbError {
    pub code: ErrorCode,
    pub message: String,
}

impl DbError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A name in a schema other than `public`, which is the one idbsql has.
pub fn unsupported_schema(name: &str) -> DbError {
    DbError::new(
        ErrorCode::Plan,
        format!("the schema-qualified name {name} is not supported: idbsql has one schema, public"),
    )
}

impl From<GlueError> for DbError {
    fn from(error: GlueError) -> Self {
        if let Some(message) = crate::guard::guard_message(&error) {
            return DbError::new(ErrorCode::Execute, message);
        }
        let code = match &error {
            GlueError::Parser(_) => ErrorCode::Parse,
            // `other.t`: a schema our parse pass did not take away (it takes `public.`).
            GlueError::Translate(
                gluesql_core::translate::TranslateError::CompoundObjectNotSupported(name),
            ) => return unsupported_schema(name),
            GlueError::Translate(_) | GlueError::Planner(_) => ErrorCode::Plan,
            // The store's own refusals (e.g. a nested BEGIN) are statement errors; IndexedDB
            // failures never pass through GlueSQL and get `Storage` where they happen.
            // Text that is not JSON, written to a JSON column (store/mod.rs): said as it is.
            GlueError::StorageMsg(message) if message.starts_with(crate::json::INVALID) => {
                return DbError::new(ErrorCode::Constraint, message.clone());
            }
            GlueError::StorageMsg(_) => ErrorCode::Execute,
            GlueError::Validate(
                ValidateError::DuplicateEntryOnUniqueField(..)
                | ValidateError::DuplicateEntryOnPrimaryKeyField(_),
            )
            | GlueError::Delete(DeleteError::ReferencingColumnExists(_))
            | GlueError::Update(UpdateError::CannotFindReferencedValue { .. }) => {
                ErrorCode::Constraint
            }
            GlueError::Value(value_error)
                if matches!(**value_error, ValueError::NullValueOnNotNullField) =>
            {
                ErrorCode::Constraint
            }
            GlueError::Insert(InsertError::CannotFindReferencedValue { .. }) => {
                ErrorCode::Constraint
            }
            _ => ErrorCode::Execute,
        };
        DbError::new(code, error.to_string())
    }
}

impl From<crate::protocol::CodecError> for DbError {
    fn from(error: crate::protocol::CodecError) -> Self {
        let code = match error {
            // The value, not the stored data, is at fault.
            crate::protocol::CodecError::TooDeep => ErrorCode::Execute,
            _ => ErrorCode::Format,
        };
        DbError::new(code, error.to_string())
    }
}
