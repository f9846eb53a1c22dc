//! Crontab schedules as the Aurora scheduler accepts them (api-reference §4.5) and their next
//! trigger instant in UTC: checked by `aurora.scheduler.cron_job` before any call, and used by
//! aurora-sim for cron jobs on its virtual clock.
//!
//! Hand-written rather than taken from the `cron`/`croner` crates: Aurora accepts a stricter
//! grammar than either (no `7` for Sunday, no `@hourly` shortcuts, no `L`/`W`/`#`, day-of-month and
//! day-of-week never both restricted, a range's step below its upper bound), and with exactly one
//! day field restricted, evaluation is a plain match of five sets.

use std::fmt;

use super::utc::civil_from_days;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// How far ahead a next trigger is looked for: 8 years always contains a 29 February.
const SEARCH_DAYS: i64 = 8 * 366;

/// One field of a crontab entry: its name in messages and the values it may hold.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Three-letter names standing for numbers (months, weekdays).
    names: &'static [&'static str],
    first_name_value: u32,
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
    first_name_value: 0,
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
    first_name_value: 0,
};
const DAY_OF_MONTH: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
    first_name_value: 0,
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
    first_name_value: 1,
};
// Unlike FreeBSD, 7 does not mean Sunday.
const DAY_OF_WEEK: Field = Field {
    name: "day-of-week",
    min: 0,
    max: 6,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    first_name_value: 0,
};

/// A parsed five-field schedule: minute, hour, day of month, month, day of week (0 = Sunday),
/// each as a bit set of the values it matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crontab {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
}

/// Why a schedule was refused, for the INVALID_REQUEST detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrontabError(pub String);

impl fmt::Display for CrontabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn all_of(field: &Field) -> u64 {
    (field.min..=field.max).fold(0, |bits, v| bits | 1 << v)
}

/// What is wrong inside one field: the offending text and what is wrong with it, put together
/// with the field's name and whole text by `parse_field`.
struct Problem {
    text: String,
    wrong: String,
}

fn problem(text: impl Into<String>, wrong: impl Into<String>) -> Problem {
    Problem {
        text: text.into(),
        wrong: wrong.into(),
    }
}

/// A whole number as the scheduler reads one (digits only, no sign).
fn number(text: &str) -> Result<u32, Problem> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(problem(
            text,
            "is not a number, *, a range a-b, or a step */n or a-b/n",
        ));
    }
    text.parse().map_err(|_| problem(text, "is too large"))
}

fn within(value: u32, field: &Field) -> Result<u32, Problem> {
    if value < field.min || value > field.max {
        return Err(problem(
            value.to_string(),
            format!("is out of range {}-{}", field.min, field.max),
        ));
    }
    Ok(value)
}

/// The values of one comma-separated component: `*`, `n`, `a-b`, `*/n` or `a-b/n`.
fn component(raw: &str, field: &Field) -> Result<u64, Problem> {
    // Names are replaced wherever they occur, as the scheduler does ("mon-fri" → "1-5").
    let mut text = raw.to_ascii_uppercase();
    for (i, name) in field.names.iter().enumerate() {
        text = text.replace(name, &(field.first_name_value + i as u32).to_string());
    }
    let not_a_component = |_| {
        problem(
            raw,
            "is not a number, *, a range a-b, or a step */n or a-b/n",
        )
    };
    let (range, step) = match text.split_once('/') {
        Some((range, step)) => (range, Some(number(step).map_err(not_a_component)?)),
        None => (text.as_str(), None),
    };
    let (low, high, wildcard) = if range == "*" {
        (field.min, field.max, true)
    } else if let Some((low, high)) = range.split_once('-') {
        let (low, high) = (
            within(number(low).map_err(not_a_component)?, field)?,
            within(number(high).map_err(not_a_component)?, field)?,
        );
        if low > high {
            return Err(problem(raw, "is a range that runs backwards"));
        }
        (low, high, false)
    } else {
        let value = within(number(range)?, field)?;
        if step.is_some() {
            return Err(problem(raw, "is a step without * or a range before the /"));
        }
        (value, value, false)
    };
    let step = match step {
        None => 1,
        Some(0) => return Err(problem(raw, "has a step of 0; a step is at least 1")),
        // The scheduler also wants a range's step below the range's upper bound.
        Some(step) if !wildcard && step >= high => {
            return Err(problem(
                raw,
                format!("has a step of {step}, which must be smaller than {high}"),
            ))
        }
        Some(step) => step,
    };
    Ok((low..=high)
        .step_by(step as usize)
        .fold(0, |bits, v| bits | 1 << v))
}

/// One field's values; errors read `minute field '61' is out of range 0-59`, or name the part
/// of a list: `minute field '0,61': '61' is out of range 0-59`.
fn parse_field(raw: &str, field: &Field) -> Result<u64, CrontabError> {
    let mut bits = 0;
    for part in raw.split(',').filter(|p| !p.is_empty()) {
        bits |= component(part, field).map_err(|p| {
            let name = field.name;
            // Month and weekday names were upper-cased: the field is named as it was written.
            CrontabError(if p.text.eq_ignore_ascii_case(raw) {
                format!("{name} field '{raw}' {}", p.wrong)
            } else {
                format!("{name} field '{raw}': '{}' {}", p.text, p.wrong)
            })
        })?;
    }
    if bits == 0 {
        return Err(CrontabError(format!(
            "{} field '{raw}' is empty",
            field.name
        )));
    }
    Ok(bits)
}

impl Crontab {
    /// Parses a schedule of exactly five whitespace-separated fields.
    pub fn parse(schedule: &str) -> Result<Crontab, CrontabError> {
        let fields: Vec<&str> = schedule.split_ascii_whitespace().collect();
        let padded = schedule.starts_with(|c: char| c.is_ascii_whitespace())
            || schedule.ends_with(|c: char| c.is_ascii_whitespace());
        let [minute, hour, day_of_month, month, day_of_week] = fields[..] else {
            return Err(CrontabError(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), got {}",
                fields.len()
            )));
        };
        if padded {
            return Err(CrontabError(
                "leading or trailing whitespace is not accepted".into(),
            ));
        }
        let crontab = Crontab {
            minutes: parse_field(minute, &MINUTE)?,
            hours: parse_field(hour, &HOUR)?,
            days_of_month: parse_field(day_of_month, &DAY_OF_MONTH)?,
            months: parse_field(month, &MONTH)?,
            days_of_week: parse_field(day_of_week, &DAY_OF_WEEK)?,
        };
        if crontab.days_of_month != all_of(&DAY_OF_MONTH)
            && crontab.days_of_week != all_of(&DAY_OF_WEEK)
        {
            return Err(CrontabError(
                "Specifying both dayOfWeek and dayOfMonth is not supported: leave one of them *"
                    .into(),
            ));
        }
        Ok(crontab)
    }

    /// The first trigger strictly after `after_ms` (epoch ms, UTC), on a whole minute; `None`
    /// when the schedule never fires (e.g. 30 February).
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let first_minute = after_ms.div_euclid(MINUTE_MS) + 1;
        let first_day = (first_minute * MINUTE_MS).div_euclid(DAY_MS);
        for day in first_day..first_day + SEARCH_DAYS {
            let (_, month, day_of_month) = civil_from_days(day);
            let weekday = (day + 4).rem_euclid(7); // 1970-01-01 was a Thursday.
            if !has(self.months, month) || !has(self.days_of_month, day_of_month) {
                continue;
            }
            if !has(self.days_of_week, weekday) {
                continue;
            }
            let day_start_minute = day * (DAY_MS / MINUTE_MS);
            for hour in (0..24).filter(|h| has(self.hours, *h)) {
                for minute in (0..60).filter(|m| has(self.minutes, *m)) {
                    let at = day_start_minute + hour * 60 + minute;
                    if at >= first_minute {
                        return Some(at * MINUTE_MS);
                    }
                }
            }
        }
        None
    }
}

fn has(bits: u64, value: i64) -> bool {
    (0..64).contains(&value) && bits & (1 << value) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-05-01T12:00:00Z, a Wednesday.
    const WED_NOON: i64 = 1_714_564_800_000;
    const HOUR_MS: i64 = 3_600_000;

    fn next(schedule: &str, after: i64) -> Option<i64> {
        Crontab::parse(schedule).unwrap().next_after(after)
    }

    #[test]
    fn accepts_values_ranges_steps_lists_and_names() {
        for ok in [
            "* * * * *",
            "*/5 * * * *",
            "0 2 * * *",
            "0-30/10 1,2,3 * * *",
            "15 4 1 jan-jun *",
            "0 0 * * MON-FRI",
            "0 0 * * sun,sat",
            "0 0 1-31 * 0-6",
            "59 23 31 12 *",
            "0,,5 * * * *",
            "0\t0  * * *",
        ] {
            assert!(Crontab::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_what_the_scheduler_refuses() {
        // §4.5: five fields, day-of-week 0-6 (no 7), no shortcuts, not both day fields.
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "@hourly",
            "0 0 * * 7",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "0 0 15 * MON",
            "5-1 * * * *",
            "*/0 * * * *",
            "0-59/60 * * * *",
            "1-2/2 * * * *",
            "5/2 * * * *",
            "? * * * *",
            "L * * * *",
            "0 0 * * 1#2",
            "-1 * * * *",
            ", * * * *",
            " * * * * *",
            "* * * * * ",
            "99999999999 * * * *",
        ] {
            assert!(Crontab::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let e = Crontab::parse("0 0 * * 7").unwrap_err().0;
        assert_eq!(e, "day-of-week field '7' is out of range 0-6");
        let e = Crontab::parse("61 * * * *").unwrap_err().0;
        assert_eq!(e, "minute field '61' is out of range 0-59");
        let e = Crontab::parse("0,61 * * * *").unwrap_err().0;
        assert_eq!(e, "minute field '0,61': '61' is out of range 0-59");
        let e = Crontab::parse("0 5-1 * * *").unwrap_err().0;
        assert_eq!(e, "hour field '5-1' is a range that runs backwards");
        let e = Crontab::parse("0 0 * foo *").unwrap_err().0;
        assert!(e.starts_with("month field 'foo' is not a number"), "{e}");
        let e = Crontab::parse("0 0 15 * MON").unwrap_err().0;
        assert!(e.contains("both dayOfWeek and dayOfMonth"), "{e}");
    }

    #[test]
    fn next_run_is_the_next_matching_whole_minute_strictly_after() {
        assert_eq!(next("* * * * *", WED_NOON), Some(WED_NOON + MINUTE_MS));
        assert_eq!(next("* * * * *", WED_NOON - 1), Some(WED_NOON));
        assert_eq!(
            next("*/5 * * * *", WED_NOON + 1),
            Some(WED_NOON + 5 * MINUTE_MS)
        );
        assert_eq!(next("0 2 * * *", WED_NOON), Some(WED_NOON + 14 * HOUR_MS));
        assert_eq!(
            next("30 11 * * *", WED_NOON),
            Some(WED_NOON + 23 * HOUR_MS + 30 * MINUTE_MS)
        );
    }

    #[test]
    fn weekdays_count_from_sunday_and_months_and_days_follow_the_calendar() {
        // Next Monday 00:00 after Wednesday 2024-05-01 noon is 2024-05-06.
        assert_eq!(next("0 0 * * MON", WED_NOON), Some(1_714_953_600_000));
        assert_eq!(next("0 0 * * 1", WED_NOON), Some(1_714_953_600_000));
        // 2024-02-29 00:00 (leap day), looked for from May 2024: 2028-02-29.
        assert_eq!(next("0 0 29 2 *", WED_NOON), Some(1_835_395_200_000));
        // 1 January 2025.
        assert_eq!(next("0 0 1 JAN *", WED_NOON), Some(1_735_689_600_000));
    }

    #[test]
    fn a_schedule_that_never_fires_has_no_next_run() {
        assert_eq!(next("0 0 30 2 *", WED_NOON), None);
        assert_eq!(next("0 0 31 4 *", WED_NOON), None);
    }
}
