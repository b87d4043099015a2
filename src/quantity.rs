//! Kubernetes resource quantities (`500m`, `1.5`, `8Gi`, `2e3`).
//!
//! This module owns the quantity format: parsing with the grammar the apiserver and every
//! CRD use, exact arithmetic, conversion to the units other tools want (millicores, MiB,
//! MB) and the canonical text mlk writes for computed values. Values are exact integers
//! of nano-units, so comparisons and sums never lose precision.

use std::cmp::Ordering;
use std::fmt;

const NANO: i128 = 1_000_000_000;
const SUFFIXES: &str = "suffixes are Ki Mi Gi Ti Pi Ei (powers of 1024) \
                        or n u m k M G T P E (powers of 1000)";
const EXAMPLES: &str = "write a number with an optional suffix, e.g. 500m, 2, 1.5G or 8Gi";
/// Binary suffixes; index `k` is 1024^(k+1).
const BINARY: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
/// Decimal suffixes with their power of ten.
const DECIMAL: [(i64, &str); 9] = [
    (-9, "n"),
    (-6, "u"),
    (-3, "m"),
    (3, "k"),
    (6, "M"),
    (9, "G"),
    (12, "T"),
    (15, "P"),
    (18, "E"),
];

/// A Kubernetes resource quantity, kept exactly as written plus its exact value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    text: String,
    nano: i128,
    binary: bool,
}

/// Why a string is not a Kubernetes quantity. [`QuantityError::help`] says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The text is empty or only whitespace.
    #[error("a quantity cannot be empty")]
    Empty,
    /// The text contains whitespace, e.g. `2 Gi`.
    #[error("{text:?} is not a Kubernetes quantity: it contains a space")]
    Space {
        /// The text as written.
        text: String,
    },
    /// The text does not start with a number, e.g. `Gi` or `two`.
    #[error("{text:?} is not a Kubernetes quantity: it does not start with a number")]
    NotANumber {
        /// The text as written.
        text: String,
    },
    /// The number is followed by something that is not a suffix, e.g. `4GB`.
    #[error("{text:?} is not a Kubernetes quantity")]
    UnknownSuffix {
        /// The text as written.
        text: String,
        /// The leading number, e.g. `4`.
        number: String,
        /// Everything after the number, e.g. `GB`.
        suffix: String,
    },
    /// The exponent has a fraction, e.g. `1e1.5`; the apiserver accepts only whole ones.
    #[error("{text:?} is not a Kubernetes quantity: the exponent must be a whole number")]
    Exponent {
        /// The text as written.
        text: String,
    },
    /// The value is too large to represent (beyond about 1.7 × 10^29).
    #[error("{text:?} is too large for a quantity")]
    Overflow {
        /// The text as written.
        text: String,
    },
}

impl QuantityError {
    /// A one-line hint saying how to write the quantity correctly.
    pub fn help(&self) -> String {
        match self {
            Self::Empty | Self::NotANumber { .. } => format!("{EXAMPLES}; {SUFFIXES}"),
            Self::Space { text } => {
                let fixed: String = text.split_whitespace().collect();
                format!("remove the space: write {fixed}")
            }
            Self::UnknownSuffix { number, suffix, .. } => suffix_help(number, suffix),
            Self::Exponent { .. } => "write a whole exponent, e.g. 15e2 instead of 1.5e3".into(),
            Self::Overflow { .. } => {
                "quantities must be below about 1.7e29; check the number and its suffix".into()
            }
        }
    }
}

/// Guesses what was meant by a suffix Kubernetes does not know, such as `GB` or `gi`.
fn suffix_help(number: &str, suffix: &str) -> String {
    if suffix.starts_with(',') {
        return format!(
            "write the number without ',' (use '.' for a decimal point, e.g. 1.5); {SUFFIXES}"
        );
    }
    if matches!(suffix, "B" | "b" | "bytes") {
        return format!("write {number} (a plain number counts bytes); {SUFFIXES}");
    }
    let core = match suffix.strip_suffix(['B', 'b']) {
        Some(core) if !core.is_empty() => core,
        _ => suffix,
    };
    let mut chars = core.chars();
    let (Some(first), rest) = (chars.next(), chars.as_str()) else {
        return format!("{EXAMPLES}; {SUFFIXES}");
    };
    // A lowercase `e` starts an exponent, so `1e` is an unfinished exponent, not exa.
    let Some(power) = "kmgtpe"
        .find(first.to_ascii_lowercase())
        .filter(|_| first != 'e')
    else {
        return format!("{EXAMPLES}; {SUFFIXES}");
    };
    let binary = format!("{number}{}i", first.to_ascii_uppercase());
    let binary_hint = format!("{binary} (2^{} bytes)", 10 * (power + 1));
    match rest {
        "i" | "I" => format!("write {binary_hint}; {SUFFIXES}"),
        "" => {
            let decimal = if power == 0 {
                'k'
            } else {
                first.to_ascii_uppercase()
            };
            let note = if first == 'K' {
                "; the decimal suffix is a lowercase k"
            } else {
                ""
            };
            let exp = 3 * (power + 1);
            format!("write {number}{decimal} (10^{exp} bytes{note}) or {binary_hint}; {SUFFIXES}")
        }
        _ => format!("{EXAMPLES}; {SUFFIXES}"),
    }
}

impl Quantity {
    /// Parses a quantity written as the apiserver accepts it, e.g. `500m`, `8Gi`, `1.5e3`.
    ///
    /// A value finer than one nano-unit is rounded up (away from zero), as Kubernetes does.
    pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
        let text = || s.to_owned();
        if s.trim().is_empty() {
            return Err(QuantityError::Empty);
        }
        if s.contains(char::is_whitespace) {
            return Err(QuantityError::Space { text: text() });
        }
        let negative = s.starts_with('-');
        let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
        let int_len = digit_run(unsigned);
        let (int_digits, after_int) = unsigned.split_at(int_len);
        let (frac_digits, suffix) = match after_int.strip_prefix('.') {
            Some(after_dot) => after_dot.split_at(digit_run(after_dot)),
            None => ("", after_int),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(QuantityError::NotANumber { text: text() });
        }
        let (exp10, pow1024) = parse_suffix(suffix).map_err(|fractional| {
            if fractional {
                QuantityError::Exponent { text: text() }
            } else {
                QuantityError::UnknownSuffix {
                    text: text(),
                    number: s[..s.len() - suffix.len()].to_owned(),
                    suffix: suffix.to_owned(),
                }
            }
        })?;
        let digits: Vec<u8> = int_digits
            .bytes()
            .chain(frac_digits.bytes())
            .map(|b| b - b'0')
            .collect();
        let first = digits.iter().position(|&d| d != 0).unwrap_or(digits.len());
        // value = digits × 10^power × 1024^pow1024, in nano-units
        let power = exp10
            .saturating_add(9)
            .saturating_sub(frac_digits.len() as i64);
        let magnitude = if first == digits.len() {
            Some(0)
        } else {
            nano_ceil(&digits[first..], power, 1u128 << (10 * pow1024))
        };
        let nano = magnitude
            .and_then(|m| match (negative, i128::try_from(m)) {
                (false, Ok(v)) => Some(v),
                (true, Ok(v)) => Some(-v),
                (true, Err(_)) if m == i128::MIN.unsigned_abs() => Some(i128::MIN),
                (_, Err(_)) => None,
            })
            .ok_or_else(|| QuantityError::Overflow { text: text() })?;
        Ok(Quantity {
            text: text(),
            nano,
            binary: pow1024 > 0,
        })
    }

    /// The text as written (or the canonical text of a computed quantity).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The exact value × 10^9.
    pub fn nano(&self) -> i128 {
        self.nano
    }

    /// The value in thousandths, rounded up: CPU `1.5` is 1500 millicores, `1u` is 1.
    pub fn millis_ceil(&self) -> i128 {
        div_ceil(self.nano, NANO / 1000)
    }

    /// The value rounded up to a whole number: bytes of `1Ki` are 1024, `0.5` is 1.
    pub fn whole_ceil(&self) -> i128 {
        div_ceil(self.nano, NANO)
    }

    /// The value in units of 2^20, rounded up: `20Gi` is 20480, `1G` is 954.
    pub fn mebibytes_ceil(&self) -> i128 {
        div_ceil(self.nano, NANO << 20)
    }

    /// The value in units of 10^6, rounded up (KAI queue memory): `1Gi` is 1074.
    pub fn megabytes_ceil(&self) -> i128 {
        div_ceil(self.nano, NANO * 1_000_000)
    }

    /// Whether the value is exactly zero.
    pub fn is_zero(&self) -> bool {
        self.nano == 0
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.nano < 0
    }

    /// The value × `factor`, with canonical text; saturates at the largest representable value.
    pub fn scaled(&self, factor: u64) -> Quantity {
        Quantity::from_nano(self.nano.saturating_mul(i128::from(factor)), self.binary)
    }

    /// The total of `items` with canonical text, using binary suffixes if any item did.
    /// `None` for an empty slice, or if the total is too large to represent.
    pub fn sum(items: &[Quantity]) -> Option<Quantity> {
        let (first, rest) = items.split_first()?;
        let nano = rest
            .iter()
            .try_fold(first.nano, |acc, q| acc.checked_add(q.nano))?;
        Some(Quantity::from_nano(nano, items.iter().any(|q| q.binary)))
    }

    /// A quantity of `nano` × 10^-9 with canonical text.
    ///
    /// With `binary`, a whole multiple of 1024 uses the largest of Ki..Ei that divides it.
    /// Otherwise whole numbers below 1000 are plain digits, larger ones use the largest of
    /// k, M, G, T, P, E that divides them, and fractions use the largest exact of m, u, n.
    pub fn from_nano(nano: i128, binary: bool) -> Quantity {
        let (body, binary) = canonical(nano.unsigned_abs(), binary);
        let sign = if nano < 0 { "-" } else { "" };
        Quantity {
            text: format!("{sign}{body}"),
            nano,
            binary,
        }
    }
}

/// Canonical text of a magnitude in nano-units, and whether it uses a binary suffix.
fn canonical(magnitude: u128, binary: bool) -> (String, bool) {
    let nano = NANO.unsigned_abs();
    if !magnitude.is_multiple_of(nano) {
        let (unit, suffix) = [(1_000_000, "m"), (1000, "u")]
            .into_iter()
            .find(|(unit, _)| magnitude.is_multiple_of(*unit))
            .unwrap_or((1, "n"));
        return (format!("{}{suffix}", magnitude / unit), false);
    }
    let whole = magnitude / nano;
    if binary && whole != 0 {
        for (k, suffix) in BINARY.iter().enumerate().rev() {
            let unit = 1u128 << (10 * (k + 1));
            if whole.is_multiple_of(unit) {
                return (format!("{}{suffix}", whole / unit), true);
            }
        }
    }
    if whole >= 1000 {
        for &(exp, suffix) in DECIMAL.iter().rev().filter(|(exp, _)| *exp > 0) {
            let unit = 10u128.pow(exp.unsigned_abs() as u32);
            if whole.is_multiple_of(unit) {
                return (format!("{}{suffix}", whole / unit), false);
            }
        }
    }
    (whole.to_string(), false)
}

/// Length of the leading run of ASCII digits.
fn digit_run(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// Reads a suffix as (power of ten, power of 1024). `Err(true)` is a fractional exponent.
fn parse_suffix(suffix: &str) -> Result<(i64, u32), bool> {
    if suffix.is_empty() {
        return Ok((0, 0));
    }
    if let Some(k) = BINARY.iter().position(|b| *b == suffix) {
        return Ok((0, k as u32 + 1));
    }
    if let Some((exp, _)) = DECIMAL.iter().find(|(_, d)| *d == suffix) {
        return Ok((*exp, 0));
    }
    let exponent = suffix.strip_prefix(['e', 'E']).ok_or(false)?;
    let negative = exponent.starts_with('-');
    let digits = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
    let run = digit_run(digits);
    if run == digits.len() && run > 0 {
        // Saturating is exact enough: any exponent this large overflows or rounds to 1n.
        let value = digits.bytes().fold(0i64, |acc, b| {
            acc.saturating_mul(10)
                .saturating_add(i64::from(b - b'0'))
                .min(1 << 40)
        });
        return Ok((if negative { -value } else { value }, 0));
    }
    let after = &digits[run..];
    let fraction = after
        .strip_prefix('.')
        .is_some_and(|f| digit_run(f) == f.len());
    Err(fraction && (run > 0 || after.len() > 1))
}

/// `ceil(digits × 10^power × multiplier)` for decimal `digits` without leading zeros;
/// `None` when it does not fit in a `u128`.
fn nano_ceil(digits: &[u8], power: i64, multiplier: u128) -> Option<u128> {
    let n = digits.len() as i64;
    let int_len = n.saturating_add(power);
    if int_len > 39 {
        return None;
    }
    let (int_part, frac_part) = digits.split_at(int_len.clamp(0, n) as usize);
    let mut whole: u128 = 0;
    for &d in int_part {
        whole = whole.checked_mul(10)?.checked_add(u128::from(d))?;
    }
    for _ in n..int_len {
        whole = whole.checked_mul(10)?;
    }
    // The fraction is 0.[zeros][frac_part]; multiply it by `multiplier` digit by digit from
    // the right, as on paper, so any length of digits stays exact.
    let mut carry: u128 = 0;
    let mut inexact = false;
    for &d in frac_part.iter().rev() {
        let v = u128::from(d) * multiplier + carry;
        inexact |= !v.is_multiple_of(10);
        carry = v / 10;
    }
    let mut zeros = (-int_len).max(0);
    while carry != 0 && zeros > 0 {
        inexact |= !carry.is_multiple_of(10);
        carry /= 10;
        zeros -= 1;
    }
    whole
        .checked_mul(multiplier)?
        .checked_add(carry)?
        .checked_add(u128::from(inexact))
}

/// `ceil(a / b)` for a positive `b`.
fn div_ceil(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b > 0 { q + 1 } else { q }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// By value; equal values written differently (`1Ki`, `1024`) are ordered by text, so that
/// `Ord` agrees with `Eq`.
impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nano
            .cmp(&other.nano)
            .then_with(|| self.text.cmp(&other.text))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    fn err(s: &str) -> QuantityError {
        Quantity::parse(s).unwrap_err()
    }

    #[test]
    fn parses_every_form_of_the_grammar() {
        let cases: &[(&str, i128)] = &[
            ("0", 0),
            ("-0", 0),
            ("1", NANO),
            ("+1", NANO),
            ("-1", -NANO),
            ("1.", NANO),
            (".5", NANO / 2),
            ("007", 7 * NANO),
            ("100m", 100_000_000),
            ("1.5", 1_500_000_000),
            ("250u", 250_000),
            ("3n", 3),
            ("2k", 2000 * NANO),
            ("1M", 1_000_000 * NANO),
            ("1G", 1_000_000_000 * NANO),
            ("1T", 10i128.pow(12) * NANO),
            ("1P", 10i128.pow(15) * NANO),
            ("1E", 10i128.pow(18) * NANO),
            ("1Ki", 1024 * NANO),
            ("1.5Gi", 1536 * 1024 * 1024 * NANO),
            ("0.5Ki", 512 * NANO),
            ("1Ei", (1i128 << 60) * NANO),
            ("1e3", 1000 * NANO),
            ("1E3", 1000 * NANO),
            ("1.5e+3", 1500 * NANO),
            ("15e-1", 1_500_000_000),
            ("-2e-3", -2_000_000),
            ("0e99999999999999999999", 0),
            ("100000000000E", 10i128.pow(38)),
            ("1.000000000000000000000000000000000000000000000000", NANO),
        ];
        for &(text, nano) in cases {
            let parsed = q(text);
            assert_eq!(parsed.nano(), nano, "{text}");
            assert_eq!(parsed.as_str(), text);
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn rounds_values_finer_than_a_nano_up() {
        assert_eq!(q("1.0000000001").nano(), NANO + 1);
        assert_eq!(q("-1.0000000001").nano(), -NANO - 1);
        assert_eq!(q("1e-12").nano(), 1);
        assert_eq!(q("0.5n").nano(), 1);
        assert_eq!(q("1e-99999999999999999999").nano(), 1);
        assert_eq!(q("0.0000000001Ki").nano(), 103);
        // 5 × 1024 / 10 is whole, so nothing to round
        assert_eq!(q("0.0000000005Ki").nano(), 512);
        assert_eq!(q("0.00000000000000000000000000000000000000001").nano(), 1);
    }

    #[test]
    fn rejects_values_beyond_i128() {
        for text in [
            "1e40",
            "1000000000000E",
            "200000000000000000000000000000",
            "1e99999999999",
        ] {
            assert!(
                matches!(err(text), QuantityError::Overflow { .. }),
                "{text}"
            );
        }
        assert_eq!(
            err("1e40").to_string(),
            r#""1e40" is too large for a quantity"#
        );
        assert!(err("1e40").help().contains("1.7e29"));
    }

    #[test]
    fn explains_gb_with_both_suffixes() {
        let e = err("4GB");
        assert_eq!(e.to_string(), r#""4GB" is not a Kubernetes quantity"#);
        assert_eq!(
            e.help(),
            "write 4G (10^9 bytes) or 4Gi (2^30 bytes); suffixes are Ki Mi Gi Ti Pi Ei \
             (powers of 1024) or n u m k M G T P E (powers of 1000)"
        );
    }

    #[test]
    fn recognises_common_suffix_mistakes() {
        let cases = [
            ("4gb", "write 4G (10^9 bytes) or 4Gi (2^30 bytes); "),
            ("4g", "write 4G (10^9 bytes) or 4Gi (2^30 bytes); "),
            ("512MB", "write 512M (10^6 bytes) or 512Mi (2^20 bytes); "),
            ("512mb", "write 512M (10^6 bytes) or 512Mi (2^20 bytes); "),
            ("512Mb", "write 512M (10^6 bytes) or 512Mi (2^20 bytes); "),
            ("1TB", "write 1T (10^12 bytes) or 1Ti (2^40 bytes); "),
            ("1PB", "write 1P (10^15 bytes) or 1Pi (2^50 bytes); "),
            ("1EB", "write 1E (10^18 bytes) or 1Ei (2^60 bytes); "),
            (
                "8KB",
                "write 8k (10^3 bytes; the decimal suffix is a lowercase k) or 8Ki (2^10 bytes); ",
            ),
            (
                "8K",
                "write 8k (10^3 bytes; the decimal suffix is a lowercase k) or 8Ki (2^10 bytes); ",
            ),
            ("8kb", "write 8k (10^3 bytes) or 8Ki (2^10 bytes); "),
            ("2gi", "write 2Gi (2^30 bytes); "),
            ("2GiB", "write 2Gi (2^30 bytes); "),
            ("2mi", "write 2Mi (2^20 bytes); "),
            ("2KiB", "write 2Ki (2^10 bytes); "),
            ("1.5GB", "write 1.5G (10^9 bytes) or 1.5Gi (2^30 bytes); "),
            ("-1GB", "write -1G (10^9 bytes) or -1Gi (2^30 bytes); "),
            ("100B", "write 100 (a plain number counts bytes); "),
            (
                "1,5",
                "write the number without ',' (use '.' for a decimal point, e.g. 1.5); ",
            ),
            (
                "2cores",
                "write a number with an optional suffix, e.g. 500m, 2, 1.5G or 8Gi; ",
            ),
            (
                "1e",
                "write a number with an optional suffix, e.g. 500m, 2, 1.5G or 8Gi; ",
            ),
            (
                "1e+",
                "write a number with an optional suffix, e.g. 500m, 2, 1.5G or 8Gi; ",
            ),
            (
                "1ee3",
                "write a number with an optional suffix, e.g. 500m, 2, 1.5G or 8Gi; ",
            ),
            (
                "1%",
                "write a number with an optional suffix, e.g. 500m, 2, 1.5G or 8Gi; ",
            ),
        ];
        for (text, help) in cases {
            let e = err(text);
            assert!(
                matches!(e, QuantityError::UnknownSuffix { .. }),
                "{text}: {e:?}"
            );
            assert_eq!(
                e.to_string(),
                format!("{text:?} is not a Kubernetes quantity")
            );
            assert_eq!(e.help(), format!("{help}{SUFFIXES}"), "{text}");
        }
    }

    #[test]
    fn explains_spaces_empty_text_and_missing_numbers() {
        let e = err("2 Gi");
        assert_eq!(
            e.to_string(),
            r#""2 Gi" is not a Kubernetes quantity: it contains a space"#
        );
        assert_eq!(e.help(), "remove the space: write 2Gi");
        assert_eq!(err(" 2Gi").help(), "remove the space: write 2Gi");
        for text in ["", "   "] {
            assert_eq!(err(text), QuantityError::Empty);
        }
        assert_eq!(err("").to_string(), "a quantity cannot be empty");
        assert_eq!(err("").help(), format!("{EXAMPLES}; {SUFFIXES}"));
        for text in ["Gi", "two", "-", "+", ".", "-.Gi", "e3", "++1"] {
            let e = err(text);
            assert!(
                matches!(e, QuantityError::NotANumber { .. }),
                "{text}: {e:?}"
            );
            assert_eq!(e.help(), format!("{EXAMPLES}; {SUFFIXES}"));
        }
        assert_eq!(
            err("Gi").to_string(),
            r#""Gi" is not a Kubernetes quantity: it does not start with a number"#
        );
    }

    #[test]
    fn rejects_fractional_exponents_like_the_apiserver() {
        for text in ["1e1.5", "1e.5", "1E-0.5", "2e3."] {
            assert!(
                matches!(err(text), QuantityError::Exponent { .. }),
                "{text}"
            );
        }
        assert_eq!(
            err("1e1.5").to_string(),
            r#""1e1.5" is not a Kubernetes quantity: the exponent must be a whole number"#
        );
        assert_eq!(
            err("1e1.5").help(),
            "write a whole exponent, e.g. 15e2 instead of 1.5e3"
        );
    }

    #[test]
    fn converts_to_units_rounding_up() {
        assert_eq!(q("1.5").millis_ceil(), 1500);
        assert_eq!(q("100m").millis_ceil(), 100);
        assert_eq!(q("1u").millis_ceil(), 1);
        assert_eq!(q("-1u").millis_ceil(), 0);
        assert_eq!(q("1Ki").whole_ceil(), 1024);
        assert_eq!(q("0.5").whole_ceil(), 1);
        assert_eq!(q("2").whole_ceil(), 2);
        assert_eq!(q("20Gi").mebibytes_ceil(), 20480);
        assert_eq!(q("1G").mebibytes_ceil(), 954);
        assert_eq!(q("1Mi").mebibytes_ceil(), 1);
        assert_eq!(q("1Gi").megabytes_ceil(), 1074);
        assert_eq!(q("1G").megabytes_ceil(), 1000);
        assert!(q("0").is_zero() && q("0Gi").is_zero() && !q("1n").is_zero());
        assert!(q("-1m").is_negative() && !q("-0").is_negative() && !q("1").is_negative());
    }

    #[test]
    fn writes_canonical_text() {
        let cases: &[(i128, bool, &str)] = &[
            (0, false, "0"),
            (0, true, "0"),
            (999 * NANO, false, "999"),
            (1000 * NANO, false, "1k"),
            (1500 * NANO, false, "1500"),
            (2_000_000 * NANO, false, "2M"),
            (3 * 10i128.pow(18) * NANO, false, "3E"),
            (1_500_000_000, false, "1500m"),
            (1_500_000_000, true, "1500m"),
            (1_000_000, false, "1m"),
            (1_000, false, "1u"),
            (1_001, false, "1001n"),
            (-2 * NANO, false, "-2"),
            (1024 * NANO, false, "1024"),
            (1024 * NANO, true, "1Ki"),
            (1536 * (1 << 20) * NANO, true, "1536Mi"),
            ((1 << 30) * NANO, true, "1Gi"),
            (-(1 << 30) * NANO, true, "-1Gi"),
            (512 * NANO, true, "512"),
            (2000 * NANO, true, "2k"),
        ];
        for &(nano, binary, text) in cases {
            let built = Quantity::from_nano(nano, binary);
            assert_eq!(built.as_str(), text, "{nano} {binary}");
            assert_eq!(built.nano(), nano);
            assert_eq!(built, q(text), "{text}");
        }
    }

    #[test]
    fn scales_and_sums() {
        assert_eq!(q("500m").scaled(3).as_str(), "1500m");
        assert_eq!(q("512Mi").scaled(4).as_str(), "2Gi");
        assert_eq!(q("1G").scaled(0).as_str(), "0");
        assert_eq!(q("1E").scaled(u64::MAX).nano(), i128::MAX);
        assert_eq!(Quantity::sum(&[]), None);
        assert_eq!(Quantity::sum(&[q("100m")]).unwrap().as_str(), "100m");
        assert_eq!(
            Quantity::sum(&[q("1Gi"), q("512Mi")]).unwrap().as_str(),
            "1536Mi"
        );
        assert_eq!(
            Quantity::sum(&[q("500m"), q("1.5"), q("1")])
                .unwrap()
                .as_str(),
            "3"
        );
        assert_eq!(
            Quantity::sum(&[q("1"), q("1Ki"), q("1023")])
                .unwrap()
                .as_str(),
            "2Ki"
        );
        assert_eq!(Quantity::sum(&[q("1"), q("-1")]).unwrap().as_str(), "0");
        let huge = q("100000000000E");
        assert_eq!(Quantity::sum(&[huge.clone(), huge]), None);
    }

    #[test]
    fn orders_by_value_then_text() {
        assert!(q("100m") < q("1"));
        assert!(q("1G") < q("1Gi"));
        assert!(q("-1") < q("0"));
        assert_ne!(q("1Ki"), q("1024"));
        assert_ne!(q("1Ki").cmp(&q("1024")), Ordering::Equal);
        assert_eq!(q("1Ki").cmp(&q("1Ki")), Ordering::Equal);
        let mut sorted = [q("2"), q("1Ki"), q("500m"), q("1024"), q("1k")];
        sorted.sort();
        let texts: Vec<&str> = sorted.iter().map(Quantity::as_str).collect();
        assert_eq!(texts, ["500m", "2", "1k", "1024", "1Ki"]);
    }

    #[test]
    fn extremes_parse_back() {
        for nano in [i128::MIN, i128::MIN + 1, i128::MAX, 1, -1] {
            let built = Quantity::from_nano(nano, true);
            assert_eq!(q(built.as_str()), built);
        }
    }

    proptest! {
        #[test]
        fn canonical_text_parses_back_to_itself(nano in any::<i128>(), binary in any::<bool>()) {
            let built = Quantity::from_nano(nano, binary);
            let parsed = Quantity::parse(built.as_str()).unwrap();
            prop_assert_eq!(parsed.nano(), nano);
            prop_assert_eq!(&parsed, &built);
        }

        #[test]
        fn whole_binary_values_use_binary_suffixes(value in 1i64..1 << 40, k in 1u32..4) {
            let nano = i128::from(value) * (1i128 << (10 * k)) * NANO;
            let text = Quantity::from_nano(nano, true).to_string();
            prop_assert!(text.ends_with('i'), "{}", text);
        }

        #[test]
        fn decimal_text_matches_float_value(int in 0u32..1_000_000, frac in 0u32..1000, sfx in 0usize..9) {
            let (exp, suffix) = DECIMAL[sfx];
            let text = format!("{int}.{frac:03}{suffix}");
            let expected = (i128::from(int) * 1000 + i128::from(frac)) * 10i128.pow(6);
            let parsed = q(&text);
            if exp >= 0 {
                prop_assert_eq!(parsed.nano(), expected * 10i128.pow(exp as u32));
            } else {
                let unit = 10i128.pow(exp.unsigned_abs() as u32);
                prop_assert_eq!(parsed.nano(), div_ceil(expected, unit));
            }
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,24}") {
            let _ = Quantity::parse(&text);
        }

        #[test]
        fn parse_never_panics_on_number_like_text(text in "[-+]?[0-9.]{0,45}([eE][-+]?[0-9.]{0,25}|[KMGTPEikmnu]{0,2})") {
            if let Ok(parsed) = Quantity::parse(&text) {
                prop_assert_eq!(parsed.as_str(), text.as_str());
            }
        }
    }
}
