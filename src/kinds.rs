//! Which GlueSQL values and column types are integers or floats: the lists the engine's
//! numeric rewrites, its parameter typing and the store's scan hint all ask about.
//! Predicates only; what to do with the answer stays with the caller.

use gluesql_core::{ast::DataType, data::Value};

pub fn is_integer_value(value: &Value) -> bool {
    matches!(
        value,
        Value::I8(_)
            | Value::I16(_)
            | Value::I32(_)
            | Value::I64(_)
            | Value::I128(_)
            | Value::U8(_)
            | Value::U16(_)
            | Value::U32(_)
            | Value::U64(_)
            | Value::U128(_)
    )
}

pub fn is_float_value(value: &Value) -> bool {
    matches!(value, Value::F32(_) | Value::F64(_))
}

pub fn is_integer_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int
            | DataType::Int128
            | DataType::Uint8
            | DataType::Uint16
            | DataType::Uint32
            | DataType::Uint64
            | DataType::Uint128
    )
}

pub fn is_float_type(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Float32 | DataType::Float)
}
