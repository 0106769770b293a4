//! SQL's order and sum of two values whose kinds may differ: numbers meet in the wider kind
//! (FLOAT over DECIMAL over integers), as PostgreSQL compares and adds them. Owns only that;
//! NULL placement is the caller's (ORDER BY's NULLS FIRST / LAST).

use {
    gluesql_core::{ast::DataType, data::Value},
    std::cmp::Ordering,
};

/// SQL's order of two values; numbers of different kinds compare in the wider kind (GlueSQL
/// compares an integer with a FLOAT after truncating the FLOAT: 4 and 4.25 were peers).
pub(super) fn compare_values(a: &Value, b: &Value) -> Ordering {
    // -0.0 and 0.0 are one value to SQL (GlueSQL's order put -0.0 first, so rows sorted on a
    // FLOAT that was -0.0 in some of them came apart).
    // Only a zero FLOAT is looked at again: a window's sort compares every pair through here.
    if is_negative_zero(a) || is_negative_zero(b) {
        return compare_values(&without_negative_zero(a), &without_negative_zero(b));
    }
    let widened = wider_kind(a, b).and_then(|to| Some((a.cast(&to).ok()?, b.cast(&to).ok()?)));
    match &widened {
        Some((a, b)) => a.evaluate_cmp(b),
        None => a.evaluate_cmp(b),
    }
    .unwrap_or(Ordering::Equal)
}

fn is_negative_zero(value: &Value) -> bool {
    match value {
        Value::F64(x) => *x == 0.0 && x.is_sign_negative(),
        Value::F32(x) => *x == 0.0 && x.is_sign_negative(),
        _ => false,
    }
}

/// `value` with a -0.0 made 0.0 (any other value as it is).
fn without_negative_zero(value: &Value) -> Value {
    match value {
        Value::F64(x) if *x == 0.0 => Value::F64(0.0),
        Value::F32(x) if *x == 0.0 => Value::F32(0.0),
        other => other.clone(),
    }
}

/// The kind two numbers of different kinds meet in (FLOAT over DECIMAL over integers); `None`
/// when they are of one kind, or not both numbers.
pub(super) fn wider_kind(a: &Value, b: &Value) -> Option<DataType> {
    let integer = crate::kinds::is_integer_value;
    let float = crate::kinds::is_float_value;
    let decimal = |v: &Value| matches!(v, Value::Decimal(_));
    let number = |v: &Value| integer(v) || float(v) || decimal(v);
    if !number(a) || !number(b) {
        return None;
    }
    if float(a) != float(b) {
        Some(DataType::Float)
    } else if (decimal(a) && integer(b)) || (integer(a) && decimal(b)) {
        Some(DataType::Decimal)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use {super::compare_values, gluesql_core::data::Value};

    #[test]
    fn numbers_of_different_kinds_compare_by_value() {
        use std::cmp::Ordering;
        let decimal = |text: &str| Value::Decimal(text.parse().expect("a decimal"));
        assert_eq!(
            compare_values(&Value::I64(4), &Value::F64(4.25)),
            Ordering::Less
        );
        assert_eq!(
            compare_values(&Value::F64(4.25), &Value::I64(4)),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(&Value::I64(4), &decimal("4.01")),
            Ordering::Less
        );
        assert_eq!(
            compare_values(&decimal("4.5"), &Value::F64(4.25)),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(&Value::I64(4), &Value::F64(4.0)),
            Ordering::Equal
        );
        assert_eq!(
            compare_values(&Value::F64(-0.0), &Value::F64(0.0)),
            Ordering::Equal
        );
        assert_eq!(
            compare_values(&Value::F64(0.0), &Value::F64(-0.0)),
            Ordering::Equal
        );
    }
}
