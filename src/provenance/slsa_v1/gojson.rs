//! Byte-level helpers that reproduce how Go (Tekton Chains) writes values:
//! `encoding/json` string escaping, arrays and objects, Go `time.Duration` text,
//! Kubernetes quantities, and Tekton's `ParamValue` decoding/encoding rules.
//!
//! These matter where Chains embeds Go-encoded bytes in the statement (byproduct
//! `content`, base64 of `json.Marshal(value)`), so equal input must give equal bytes.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Appends `s` as a JSON string the way Go's `encoding/json` does by default
/// (HTML-safe escaping of `<`, `>`, `&`, and escaping of U+2028/U+2029).
pub(crate) fn write_go_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes `[item,item,...]`, each item with `write`.
pub(crate) fn write_go_array<T>(
    out: &mut String,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut String, T),
) {
    out.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(out, item);
    }
    out.push(']');
}

/// Writes `{"key":value,...}` in the order given, each value with `write`.
pub(crate) fn write_go_object<'a, T>(
    out: &mut String,
    entries: impl IntoIterator<Item = (&'a str, T)>,
    mut write: impl FnMut(&mut String, T),
) {
    out.push('{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_go_string(out, key);
        out.push(':');
        write(out, value);
    }
    out.push('}');
}

/// Go's `encoding/json` rendering of an untyped JSON value (maps with sorted keys,
/// as Go sorts `map[string]T` keys).
pub(crate) fn write_go_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_go_string(out, s),
        Value::Array(items) => write_go_array(out, items, write_go_value),
        Value::Object(map) => {
            // serde_json's default map is ordered by key, like Go's map encoding.
            let sorted: BTreeMap<&str, &Value> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
            write_go_object(out, sorted, write_go_value);
        }
    }
}

/// A Tekton `ParamValue` (also `ResultValue`) as Go decodes it from JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParamValue {
    /// `Type: string`.
    Str(String),
    /// `Type: array`.
    Array(Vec<String>),
    /// `Type: object`.
    Object(BTreeMap<String, String>),
}

impl ParamValue {
    /// Decodes like Tekton's `ParamValue.UnmarshalJSON`: arrays of strings and objects
    /// of strings keep their shape (`null` members become `""`), anything else becomes
    /// a string; a JSON string keeps its text, other scalars keep their JSON text.
    pub(crate) fn from_json(v: &Value) -> Self {
        match v {
            Value::String(s) => Self::Str(s.clone()),
            Value::Null => Self::Str(String::new()),
            Value::Array(items) => {
                let strings: Option<Vec<String>> = items.iter().map(string_or_null).collect();
                match strings {
                    Some(a) => Self::Array(a),
                    // Chains: Go keeps the raw input bytes here; we keep the compact text.
                    None => Self::Str(v.to_string()),
                }
            }
            Value::Object(map) => {
                let strings: Option<BTreeMap<String, String>> = map
                    .iter()
                    .map(|(k, val)| string_or_null(val).map(|s| (k.clone(), s)))
                    .collect();
                match strings {
                    Some(m) => Self::Object(m),
                    None => Self::Str(v.to_string()),
                }
            }
            Value::Bool(_) | Value::Number(_) => Self::Str(v.to_string()),
        }
    }

    /// `json.Marshal(value)` bytes, as Go writes them.
    #[cfg(test)]
    pub(crate) fn go_json(&self) -> String {
        let mut out = String::new();
        match self {
            Self::Str(s) => write_go_string(&mut out, s),
            Self::Array(items) => write_go_array(&mut out, items, |out, s| write_go_string(out, s)),
            Self::Object(map) => write_go_object(
                &mut out,
                map.iter().map(|(k, s)| (k.as_str(), s)),
                |out, s| write_go_string(out, s),
            ),
        }
        out
    }

    /// The value as JSON (what Go's `MarshalJSON` yields, as a tree).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Self::Str(s) => Value::String(s.clone()),
            Self::Array(a) => Value::Array(a.iter().cloned().map(Value::String).collect()),
            Self::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ),
        }
    }
}

/// `json.Marshal` of a Tekton `ParamValue` already in the model: the bytes
/// `ParamValue::from_json(&v.to_json()).go_json()` gives, without the JSON tree.
pub(crate) fn param_value_go_json(v: &crate::tekton::ParamValue) -> String {
    use crate::tekton::ParamValue as P;
    let mut out = String::new();
    match v {
        P::String(s) => write_go_string(&mut out, s),
        P::Array(items) => write_go_array(&mut out, items, |out, s| write_go_string(out, s)),
        P::Object(map) => write_go_object(
            &mut out,
            map.iter().map(|(k, s)| (k.as_str(), s)),
            |out, s| write_go_string(out, s),
        ),
    }
    out
}

fn string_or_null(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

const NS_PER_US: u64 = 1_000;
const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;

/// Parses Go's `time.ParseDuration` syntax into nanoseconds.
pub(crate) fn parse_go_duration(text: &str) -> Option<i64> {
    let (neg, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(after) = rest.strip_prefix('.') {
            let frac_len = after.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &after[..frac_len];
            rest = &after[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let unit: u128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => u128::from(NS_PER_US),
            "ms" => u128::from(NS_PER_MS),
            "s" => u128::from(NS_PER_S),
            "m" => 60 * u128::from(NS_PER_S),
            "h" => 3600 * u128::from(NS_PER_S),
            _ => return None,
        };
        rest = &rest[unit_len..];
        let int_val: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        total = total.checked_add(int_val.checked_mul(unit)?)?;
        // Fraction: Go scales digit by digit and truncates.
        let mut scale = unit;
        let mut frac_ns: u128 = 0;
        for d in frac_part.bytes() {
            scale /= 10;
            if scale == 0 {
                break;
            }
            frac_ns += u128::from(d - b'0') * scale;
        }
        total = total.checked_add(frac_ns)?;
        if total > u128::from(i64::MAX.unsigned_abs()) + u128::from(neg) {
            return None;
        }
    }
    let total = i128::try_from(total).ok()?;
    i64::try_from(if neg { -total } else { total }).ok()
}

/// Go's `time.Duration.String()`.
pub(crate) fn format_go_duration(nanos: i64) -> String {
    let neg = nanos < 0;
    let mut u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < NS_PER_S {
        let (prec, unit) = match u {
            0 => return "0s".to_owned(),
            u if u < NS_PER_US => (0, "ns"),
            u if u < NS_PER_MS => (3, "\u{b5}s"),
            _ => (6, "ms"),
        };
        let (frac, int) = go_frac(u, prec);
        out.push_str(&int.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let (frac, secs) = go_frac(u, 9);
        u = secs;
        let s = u % 60;
        u /= 60;
        if u > 0 {
            let m = u % 60;
            u /= 60;
            if u > 0 {
                let _ = write!(out, "{u}h");
            }
            let _ = write!(out, "{m}m");
        }
        let _ = write!(out, "{s}{frac}s");
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// Splits `v` into the fraction text (".5", or "" when zero) of `prec` digits with
/// trailing zeros dropped, and the integer part, like Go's `fmtFrac`.
fn go_frac(v: u64, prec: u32) -> (String, u64) {
    let div = 10u64.pow(prec);
    let int = v / div;
    let frac = v % div;
    if frac == 0 {
        return (String::new(), int);
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    (format!(".{}", digits.trim_end_matches('0')), int)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuantityFormat {
    DecimalSi,
    BinarySi,
    DecimalExponent,
}

/// The text Kubernetes' `resource.Quantity` marshals to after parsing `text` (its
/// canonical form, or the input itself when already canonical). `None` when Kubernetes
/// would reject the quantity.
pub(crate) fn canonical_quantity(text: &str) -> Option<String> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some("0".to_owned());
    }
    let b = s.as_bytes();
    let mut pos = 0;
    let negative = b[0] == b'-';
    if matches!(b[0], b'-' | b'+') {
        pos = 1;
    }
    while pos < b.len() && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= b.len() {
        return Some("0".to_owned());
    }
    let start = pos;
    while pos < b.len() && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let num = if pos == start { "0" } else { &s[start..pos] };
    let mut denom = "";
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let ds = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &s[ds..pos];
    }
    let suffix = &s[pos..];
    let (base, exponent, format) = quantity_suffix(suffix)?;
    let shifted = format!("{num}{denom}");
    let denom_len = i32::try_from(denom.len()).ok()?;
    let digits = i32::try_from(num.len() + denom.len()).ok()?;
    // Kubernetes' int64 fast path, which keeps an already-canonical input as written.
    if base == 10 {
        let scale = exponent - denom_len;
        if 18 - digits >= 0 && scale >= -9 {
            let value: i128 = shifted.parse().ok()?;
            if scale % 3 == 0 && !shifted.ends_with("000") && !shifted.starts_with('0') {
                return Some(s.to_owned());
            }
            return Some(canonical_from(
                if negative { -value } else { value },
                scale,
                format,
            ));
        }
    } else if denom.is_empty() && exponent >= 0 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let approx = (exponent as f32 * 3.0 / 10.0) as i32;
        let num_len = i32::try_from(num.len()).ok()?;
        if 15 - num_len - approx > 0 {
            let value: i64 = num.parse().ok()?;
            if let Some(result) = value.checked_mul(1i64 << exponent) {
                if exponent % 10 == 0 && value & 0x07 != 0 {
                    return Some(s.to_owned());
                }
                let result = i128::from(result);
                return Some(canonical_from(
                    if negative { -result } else { result },
                    0,
                    format,
                ));
            }
        }
    }
    // General path: the exact value, rounded up to nano units.
    let digits_val: i128 = shifted.parse().ok()?;
    let mut nanos: i128; // magnitude, in units of 1e-9
    if base == 10 {
        let shift = exponent - denom_len + 9;
        nanos = if shift >= 0 {
            digits_val.checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?)?
        } else {
            let div = 10i128.checked_pow(u32::try_from(-shift).ok()?)?;
            (digits_val + div - 1) / div
        };
    } else {
        let scaled = digits_val.checked_mul(1i128.checked_shl(u32::try_from(exponent).ok()?)?)?;
        let div = 10i128.pow(u32::try_from(denom_len).ok()?);
        nanos = (scaled.checked_mul(1_000_000_000)? + div - 1) / div;
    }
    let mut format = format;
    if format == QuantityFormat::BinarySi {
        let max = i128::from(i64::MAX) * 1_000_000_000;
        nanos = nanos.min(max);
        if nanos > 0 && nanos < 1_000_000_000 {
            format = QuantityFormat::DecimalSi;
        }
    }
    Some(canonical_from(
        if negative { -nanos } else { nanos },
        -9,
        format,
    ))
}

fn quantity_suffix(suffix: &str) -> Option<(u32, i32, QuantityFormat)> {
    let dec = match suffix {
        "n" => Some(-9),
        "u" => Some(-6),
        "m" => Some(-3),
        "" => Some(0),
        "k" => Some(3),
        "M" => Some(6),
        "G" => Some(9),
        "T" => Some(12),
        "P" => Some(15),
        "E" => Some(18),
        _ => None,
    };
    if let Some(e) = dec {
        return Some((10, e, QuantityFormat::DecimalSi));
    }
    let bin = match suffix {
        "Ki" => Some(10),
        "Mi" => Some(20),
        "Gi" => Some(30),
        "Ti" => Some(40),
        "Pi" => Some(50),
        "Ei" => Some(60),
        _ => None,
    };
    if let Some(e) = bin {
        return Some((2, e, QuantityFormat::BinarySi));
    }
    let rest = suffix.strip_prefix(['e', 'E']).filter(|r| !r.is_empty())?;
    let unsigned = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    if unsigned.is_empty() || !unsigned.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let e: i64 = rest.parse().ok()?;
    // Go truncates the parsed int64 exponent to int32.
    #[allow(clippy::cast_possible_truncation)]
    Some((10, e as i32, QuantityFormat::DecimalExponent))
}

/// `Quantity.CanonicalizeBytes` for `value × 10^scale`.
fn canonical_from(value: i128, scale: i32, format: QuantityFormat) -> String {
    if value == 0 {
        return "0".to_owned();
    }
    let mut format = format;
    if format == QuantityFormat::BinarySi {
        let pow = |n: i32| 10i128.checked_pow(n.unsigned_abs()).unwrap_or(i128::MAX);
        let integer = if scale >= 0 {
            value.checked_mul(pow(scale))
        } else if value % pow(scale) == 0 {
            Some(value / pow(scale))
        } else {
            None
        };
        match integer {
            Some(i) if !(-1024 < i && i < 1024) => {
                let (mut amount, mut times) = (i.abs(), 0);
                while amount >= 1024 && amount % 1024 == 0 && times < 6 {
                    amount /= 1024;
                    times += 1;
                }
                let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][times];
                let sign = if i < 0 { "-" } else { "" };
                return format!("{sign}{amount}{suffix}");
            }
            _ => format = QuantityFormat::DecimalSi,
        }
    }
    let (mut amount, mut exponent) = (value, scale);
    while amount % 10 == 0 {
        amount /= 10;
        exponent += 1;
    }
    let r = exponent.rem_euclid(3);
    amount *= 10i128.pow(r.unsigned_abs());
    exponent -= r;
    let suffix = match format {
        QuantityFormat::DecimalExponent if exponent == 0 => String::new(),
        QuantityFormat::DecimalExponent => format!("e{exponent}"),
        _ => match exponent {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            18 => "E",
            _ => "",
        }
        .to_owned(),
    };
    format!("{amount}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_string_escapes_like_encoding_json() {
        let mut s = String::new();
        write_go_string(&mut s, "a<b>&\"\\\n\u{1}\u{2028}é");
        assert_eq!(s, r#""a\u003cb\u003e\u0026\"\\\n\u0001\u2028é""#);
    }

    #[test]
    fn param_value_rules() {
        assert_eq!(ParamValue::from_json(&json!("x")).go_json(), r#""x""#);
        // The formatter's direct path gives the same bytes as the round trip.
        for v in [
            crate::tekton::ParamValue::String("a\"<b>\u{2028}".into()),
            crate::tekton::ParamValue::Array(vec!["x".into(), String::new()]),
            crate::tekton::ParamValue::Object(
                [("k".to_owned(), "&v".to_owned())].into_iter().collect(),
            ),
        ] {
            assert_eq!(
                param_value_go_json(&v),
                ParamValue::from_json(&v.to_json()).go_json()
            );
        }
        assert_eq!(
            ParamValue::from_json(&json!(["a", null])).go_json(),
            r#"["a",""]"#
        );
        assert_eq!(
            ParamValue::from_json(&json!({"uri": "u", "digest": "d"})).go_json(),
            r#"{"digest":"d","uri":"u"}"#
        );
        assert_eq!(
            ParamValue::from_json(&json!([1, 2])),
            ParamValue::Str("[1,2]".into())
        );
        assert_eq!(
            ParamValue::from_json(&json!(null)),
            ParamValue::Str(String::new())
        );
    }

    #[test]
    fn durations_round_trip_like_go() {
        let cases = [
            ("1h", "1h0m0s"),
            ("90s", "1m30s"),
            ("1.5s", "1.5s"),
            ("500ms", "500ms"),
            ("0", "0s"),
            ("1h30m", "1h30m0s"),
            ("2us", "2\u{b5}s"),
            ("-5m", "-5m0s"),
            ("1.0001ms", "1.0001ms"),
        ];
        for (input, want) in cases {
            let ns = parse_go_duration(input).unwrap_or(i64::MIN);
            assert_eq!(format_go_duration(ns), want, "{input}");
        }
        assert_eq!(parse_go_duration("abc"), None);
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(parse_go_duration("1"), None);
    }

    #[test]
    fn quantities_like_kubernetes() {
        let cases = [
            ("100m", "100m"),
            ("0.5", "500m"),
            ("1.5", "1500m"),
            ("1000m", "1"),
            ("2000", "2k"),
            ("1024", "1024"),
            ("1e3", "1e3"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("2048Ki", "2Mi"),
            ("1025Ki", "1025Ki"),
            ("1.5Gi", "1536Mi"),
            ("512Mi", "512Mi"),
            ("0m", "0"),
            ("00", "0"),
            ("1", "1"),
            (" 2 ", "2"),
            ("0.1", "100m"),
            ("1000000", "1M"),
            ("0.5Ki", "512"),
        ];
        for (input, want) in cases {
            assert_eq!(canonical_quantity(input).as_deref(), Some(want), "{input}");
        }
        assert_eq!(canonical_quantity("1x"), None);
        assert_eq!(canonical_quantity(""), None);
    }
}
