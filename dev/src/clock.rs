//! Wall-clock time and the duration notation of the QStash headers.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as Unix time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Parses `<number><unit>` (e.g. `10s`, `1m`) into milliseconds. `units`
/// lists the accepted unit letters among `s`, `m`, `h` and `d`; a bare
/// number counts as seconds.
pub(crate) fn parse_duration(text: &str, units: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like `10s` or `1m`"))?;
    let factor: u64 = match unit {
        "" | "s" if units.contains('s') => 1_000,
        "m" if units.contains('m') => 60_000,
        "h" if units.contains('h') => 3_600_000,
        "d" if units.contains('d') => 86_400_000,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit; use a number followed by one of `{units}`"
            ));
        }
    };
    amount
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too long a duration"))
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
    }
}
