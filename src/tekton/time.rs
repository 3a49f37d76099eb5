//! RFC 3339 timestamps as Kubernetes writes them, rendered the way Go renders a UTC
//! `time.Time` (RFC 3339 with nanoseconds, trailing zeros trimmed, `Z`).

use std::fmt;

/// A point in time, kept as seconds since the Unix epoch plus nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

impl Timestamp {
    /// Parses an RFC 3339 timestamp (`2021-03-29T09:50:00Z`, `...00.123+02:00`).
    ///
    /// Returns `None` when the text is not RFC 3339.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 20 {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let t = s.get(r)?;
            if !t.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            t.parse().ok()
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        // Go's time.Parse (behind metav1.Time) rejects a leap second (`:60`) too.
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || min > 59
            || sec > 59
        {
            return None;
        }
        let mut rest = &s[19..];
        let mut nanos: u32 = 0;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            for (i, c) in frac.bytes().take(digits).enumerate() {
                if i < 9 {
                    nanos = nanos * 10 + u32::from(c - b'0');
                }
            }
            for _ in digits..9 {
                nanos *= 10;
            }
            rest = &frac[digits..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return None,
                };
                if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                    return None;
                }
                let oh: i64 = rest[1..3].parse().ok()?;
                let om: i64 = rest[4..6].parse().ok()?;
                sign * (oh * 3600 + om * 60)
            }
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset;
        Some(Self { secs, nanos })
    }

    /// The same instant without its fraction of a second (as `metav1.Time` marshals).
    #[must_use]
    pub fn whole_seconds(self) -> Self {
        Self {
            secs: self.secs,
            nanos: 0,
        }
    }

    /// The `google.protobuf.Timestamp` JSON form: UTC, `Z`, and 0, 3, 6 or 9 fraction
    /// digits.
    #[must_use]
    pub fn to_protojson(self) -> String {
        let mut out = self.date_time();
        if self.nanos != 0 {
            out.push('.');
            let n = i64::from(self.nanos);
            if self.nanos.is_multiple_of(1_000_000) {
                push_padded(&mut out, n / 1_000_000, 3);
            } else if self.nanos.is_multiple_of(1_000) {
                push_padded(&mut out, n / 1_000, 6);
            } else {
                push_padded(&mut out, n, 9);
            }
        }
        out.push('Z');
        out
    }

    /// `YYYY-MM-DDThh:mm:ss` in UTC.
    fn date_time(self) -> String {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            return format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60
            );
        }
        // The common case without the formatting machinery (same text).
        let mut out = String::with_capacity(32);
        push_padded(&mut out, y, 4);
        out.push('-');
        push_padded(&mut out, m, 2);
        out.push('-');
        push_padded(&mut out, d, 2);
        out.push('T');
        push_padded(&mut out, rem / 3600, 2);
        out.push(':');
        push_padded(&mut out, rem % 3600 / 60, 2);
        out.push(':');
        push_padded(&mut out, rem % 60, 2);
        out
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Appends `v` (`0 <= v < 10^width`) as exactly `width` decimal digits, zero-padded
/// (what `{v:0width$}` writes for such a value).
fn push_padded(out: &mut String, v: i64, width: u32) {
    if v < 0 || v >= 10i64.pow(width) {
        out.push_str(&format!("{v:0w$}", w = width as usize));
        return;
    }
    let mut div = 10i64.pow(width.saturating_sub(1));
    let mut v = v;
    while div > 0 {
        let digit = v / div;
        out.push(char::from(
            b'0' + u8::try_from(digit.rem_euclid(10)).unwrap_or(0),
        ));
        v -= digit * div;
        div /= 10;
    }
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Timestamp {
    /// Go's `time.Time.UTC().MarshalJSON()` text (without the quotes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.date_time();
        if self.nanos != 0 {
            out.push('.');
            push_padded(&mut out, i64::from(self.nanos), 9);
            let trimmed = out.trim_end_matches('0').len();
            out.truncate(trimmed);
        }
        out.push('Z');
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn renders_like_go_utc() {
        let t = Timestamp::parse("2021-03-29T09:50:00Z").map(|t| t.to_string());
        assert_eq!(t.as_deref(), Some("2021-03-29T09:50:00Z"));
        let t = Timestamp::parse("2021-03-29T09:50:00.120+02:00").map(|t| t.to_string());
        assert_eq!(t.as_deref(), Some("2021-03-29T07:50:00.12Z"));
        let t = Timestamp::parse("2000-02-29T23:59:59-01:30").map(|t| t.to_string());
        assert_eq!(t.as_deref(), Some("2000-03-01T01:29:59Z"));
        assert!(Timestamp::parse("yesterday").is_none());
        assert!(Timestamp::parse("2021-13-29T09:50:00Z").is_none());
        assert!(Timestamp::parse("2021-03-29T09:50:60Z").is_none());
    }

    #[test]
    fn renders_like_protojson() {
        let t = |s: &str| Timestamp::parse(s).map(Timestamp::to_protojson);
        assert_eq!(
            t("2021-03-29T09:50:00Z").as_deref(),
            Some("2021-03-29T09:50:00Z")
        );
        assert_eq!(
            t("2021-03-29T11:50:00.5+02:00").as_deref(),
            Some("2021-03-29T09:50:00.500Z")
        );
        assert_eq!(
            t("2021-03-29T09:50:00.0000012Z").as_deref(),
            Some("2021-03-29T09:50:00.000001200Z")
        );
        let whole = Timestamp::parse("2021-03-29T09:50:00.5Z").map(Timestamp::whole_seconds);
        assert_eq!(
            whole.map(Timestamp::to_protojson).as_deref(),
            Some("2021-03-29T09:50:00Z")
        );
    }
}
