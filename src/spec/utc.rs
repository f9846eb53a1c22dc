//! UTC calendar arithmetic without a time-zone crate: epoch days to dates (for cron schedules)
//! and epoch times as ISO 8601 text (for results and tables). One copy for every user.

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Milliseconds since the epoch as an ISO 8601 UTC time, e.g. `2024-05-01T12:00:00Z`.
pub fn utc_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_calendar_is_right() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_844), (2024, 5, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn epoch_milliseconds_print_as_utc_dates() {
        assert_eq!(utc_millis(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_millis(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(utc_millis(951_827_696_000), "2000-02-29T12:34:56Z");
        assert_eq!(utc_millis(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc_millis(1_714_564_800_123), "2024-05-01T12:00:00Z");
        assert_eq!(utc_millis(-1000), "1969-12-31T23:59:59Z");
    }
}
