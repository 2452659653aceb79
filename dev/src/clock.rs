//! Wall-clock time and the duration notation of the QStash headers.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as Unix time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Parses a duration into milliseconds: `<number><unit>` (e.g. `10s`,
/// `1m`), several in a row (`1h30m3s`), or a bare number of seconds.
/// `units` lists the accepted unit letters among `s`, `m`, `h` and `d`.
/// Sums that do not fit a `u64` are refused.
pub(crate) fn parse_duration(text: &str, units: &str) -> Result<u64, String> {
    let text = text.trim();
    let not_a_duration = || format!("`{text}` is not a duration like `10s`, `1m` or `1h30m`");
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = text.parse().map_err(|_| not_a_duration())?;
        return secs
            .checked_mul(1000)
            .ok_or_else(|| format!("`{text}` is too long a duration"));
    }
    let mut total: u64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return Err(not_a_duration());
    }
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, after) = rest.split_at(split);
        let unit = after.chars().next().ok_or_else(not_a_duration)?;
        let amount: u64 = digits.parse().map_err(|_| not_a_duration())?;
        let factor: u64 = match unit {
            's' if units.contains('s') => 1_000,
            'm' if units.contains('m') => 60_000,
            'h' if units.contains('h') => 3_600_000,
            'd' if units.contains('d') => 86_400_000,
            _ => {
                return Err(format!(
                    "`{text}` has an unknown unit; use numbers followed by one of `{units}`"
                ));
            }
        };
        total = amount
            .checked_mul(factor)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| format!("`{text}` is too long a duration"))?;
        rest = &after[unit.len_utf8()..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s", "smhd"), Ok(10_000));
        assert_eq!(parse_duration("1m", "smhd"), Ok(60_000));
        assert_eq!(parse_duration("2", "smh"), Ok(2_000));
        assert_eq!(parse_duration("1d", "smhd"), Ok(86_400_000));
        assert!(parse_duration("1d", "smh").is_err());
        assert!(parse_duration("abc", "smh").is_err());
        assert!(parse_duration("", "smh").is_err());
        assert_eq!(parse_duration("1h30m3s", "smhd"), Ok(5_403_000));
        assert_eq!(parse_duration("1d1s", "smhd"), Ok(86_401_000));
        assert!(parse_duration("1h30", "smhd").is_err());
        assert!(parse_duration("1h1d", "smh").is_err());
        assert!(parse_duration("s", "smh").is_err());
        assert!(parse_duration("10000000000000000d", "smhd").is_err());
        assert!(parse_duration("9999999999999999d9999999999999999d", "smhd").is_err());
    }

    #[test]
    fn only_the_given_units_are_accepted() {
        for (text, units) in [("1s", "mhd"), ("1m", "shd"), ("1h", "smd"), ("1d", "smh")] {
            let e = parse_duration(text, units).expect_err(text);
            assert!(e.contains("unknown unit") && e.contains(units), "{e}");
            let all = parse_duration(text, "smhd");
            assert!(all.is_ok(), "{text}: {all:?}");
        }
    }
}
