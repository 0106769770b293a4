//! What text is a DECIMAL exactly: a number as SQL, JSON or a parameter writes it, read into
//! rust_decimal with its scale kept (`0.00` stays `0.00`), or refused where it would be rounded.
//! Decides nothing about where a decimal comes from; the engine, parameters and the codec ask.

use {
    bigdecimal::BigDecimal,
    rust_decimal::Decimal,
    std::{fmt, str::FromStr},
};

/// Digits after the point a DECIMAL keeps (rust_decimal's limit).
pub const MAX_SCALE: i64 = 28;

/// Why a number is not a DECIMAL: it has no decimal reading, or it would lose digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotExact {
    text: String,
    rounded: bool,
}

impl NotExact {
    /// Whether it is a number, only one no DECIMAL holds exactly.
    pub fn would_round(&self) -> bool {
        self.rounded
    }
}

impl fmt::Display for NotExact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.text.chars().take(60).collect();
        let cut = if shown.len() < self.text.len() {
            "…"
        } else {
            ""
        };
        if self.rounded {
            write!(
                f,
                "{shown}{cut} does not fit a DECIMAL exactly (at most 28 digits after the \
                 point and a magnitude below 79228162514264337593543950336); it is refused \
                 rather than rounded"
            )
        } else {
            write!(f, "{shown}{cut} is not a number a DECIMAL can hold")
        }
    }
}

/// `text` as a DECIMAL, digit for digit with its scale (`1e2` is `100`, `-0.00` is `0.00` as
/// PostgreSQL gives it), or why not.
pub fn exact(text: &str) -> Result<Decimal, NotExact> {
    let parsed = BigDecimal::from_str(text.trim()).map_err(|_| NotExact {
        text: text.to_owned(),
        rounded: false,
    })?;
    from_big(&parsed)
}

/// A parsed number (as sqlparser holds a literal) as a DECIMAL, scale kept, or why not.
pub fn from_big(parsed: &BigDecimal) -> Result<Decimal, NotExact> {
    let not = || NotExact {
        text: parsed.to_string(),
        rounded: true,
    };
    let (digits, scale) = parsed.as_bigint_and_exponent();
    if scale > MAX_SCALE {
        return Err(not());
    }
    // A negative scale is a power of ten (1e5); past 29 written digits nothing non-zero fits,
    // and refusing there keeps the plain text small whatever exponent was written.
    if scale < -29 {
        return match digits.sign() {
            bigdecimal::num_bigint::Sign::NoSign => Ok(Decimal::ZERO),
            _ => Err(not()),
        };
    }
    let plain = parsed.with_scale(scale.max(0)).to_plain_string();
    let mut value = Decimal::from_str_exact(&plain).map_err(|_| not())?;
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    Ok(value)
}

/// A float as a DECIMAL: its shortest decimal text (what JavaScript prints), exactly.
pub fn from_f64(value: f64) -> Result<Decimal, NotExact> {
    if !value.is_finite() {
        return Err(NotExact {
            text: value.to_string(),
            rounded: false,
        });
    }
    exact(&value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> String {
        exact(s)
            .map(|d| d.to_string())
            .unwrap_or_else(|e| format!("refused: {e}"))
    }

    #[test]
    fn scale_is_kept_and_negative_zero_is_zero() {
        assert_eq!(text("0.00"), "0.00");
        assert_eq!(text("-0.00"), "0.00");
        assert_eq!(text("12.50"), "12.50");
        assert_eq!(text("5.00"), "5.00");
        assert_eq!(text("1e2"), "100");
        assert_eq!(text("1e28"), "10000000000000000000000000000");
        assert_eq!(text("1.5E-3"), "0.0015");
        assert_eq!(text(" 7 "), "7");
    }

    #[test]
    fn the_extremes_fit_and_one_digit_more_is_refused() {
        assert_eq!(
            text("79228162514264337593543950335"),
            "79228162514264337593543950335"
        );
        assert_eq!(
            text("-79228162514264337593543950335"),
            "-79228162514264337593543950335"
        );
        assert_eq!(
            text("0.0000000000000000000000000001"),
            "0.0000000000000000000000000001"
        );
        assert_eq!(
            text("9999999999999999999999999999"),
            "9999999999999999999999999999"
        );
        for refused in [
            "79228162514264337593543950336",
            "0.00000000000000000000000000001",
            "1.00000000000000000000000000001",
            "1e-30",
            "1e29",
            "8e28",
            "1e999999999999",
            "123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
        ] {
            assert!(text(refused).starts_with("refused"), "{refused}");
            assert!(text(refused).contains("rounded"), "{refused}");
        }
        assert!(text("abc").contains("not a number"));
        assert!(from_f64(f64::NAN).is_err());
        assert!(from_f64(1e-30).is_err());
        assert_eq!(from_f64(0.1).map(|d| d.to_string()), Ok("0.1".to_owned()));
    }
}
