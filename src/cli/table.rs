//! Plain-text tables and timestamps for the CLI's human-readable output.

/// Left-aligned columns separated by two spaces, headers first.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let header_row: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header_row).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
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

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let text = render(
            &["JOB", "ACTIVE"],
            &[
                vec!["www/prod/hello".into(), "2".into()],
                vec!["a/b/c".into(), "10".into()],
            ],
        );
        assert_eq!(
            text,
            "JOB             ACTIVE\nwww/prod/hello  2\na/b/c           10\n"
        );
    }

    #[test]
    fn epoch_milliseconds_print_as_utc_dates() {
        assert_eq!(utc_millis(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_millis(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(utc_millis(1_714_564_800_123), "2024-05-01T12:00:00Z");
        assert_eq!(utc_millis(-1000), "1969-12-31T23:59:59Z");
    }
}
