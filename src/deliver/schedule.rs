//! When a destination gets its digest: a local time of day or a cron expression, in an IANA
//! timezone, exactly once per local day.
//!
//! Times are computed per local calendar day, never by adding 24 hours: a day's fire instant is
//! its local time mapped to UTC, moved to the end of the gap when the clocks spring forward over
//! it and taken once (the earlier instant) when they fall back through it. A cron expression is
//! evaluated on naive local time for the same reason: the cron crate alone skips a 02:30 job on
//! the spring-forward day and fires it twice on the fall-back day.

use std::str::FromStr;

pub use crate::model::Schedule;
use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScheduleError {
    #[error("{0:?} is not a time of day: use HH:MM, e.g. 08:00 or 18:30")]
    BadTime(String),
    #[error("{0:?} is not a known timezone: use an IANA name such as Europe/Berlin or America/New_York")]
    BadTimezone(String),
    #[error(
        "{expr:?} is not a cron expression ({reason}): use 6 fields with seconds first, e.g. \"0 0 8 * * Mon-Fri\""
    )]
    BadCron { expr: String, reason: String },
}

impl Schedule {
    /// A daily schedule, validated.
    pub fn daily(time: &str, timezone: &str) -> Result<Schedule, ScheduleError> {
        // Checked here, for new schedules only: one stored before still loads and fires. Kept as
        // HH:MM whatever was typed ("7:30"), as readers and scripts see it.
        let time = crate::config::time_of_day(time)
            .ok_or_else(|| ScheduleError::BadTime(time.to_string()))?
            .format("%H:%M")
            .to_string();
        let s = Schedule::Daily { time, timezone: timezone.trim().to_string() };
        s.validate()?;
        Ok(s)
    }

    /// A cron schedule, validated.
    pub fn cron(expr: &str, timezone: &str) -> Result<Schedule, ScheduleError> {
        // The cron crate counts weekdays from 1 = Sunday, crontab from 0 = Sunday, 1 = Monday:
        // "1-5" meant as Monday to Friday would run Sunday to Thursday. Checked for new
        // schedules only (one stored before still fires as it did), and names say it plainly.
        let weekdays = expr.split_whitespace().nth(5).unwrap_or("");
        if weekdays.chars().any(|c| c.is_ascii_digit()) {
            return Err(ScheduleError::BadCron {
                expr: expr.to_string(),
                reason: format!(
                    "weekday {weekdays:?} is a number, which crontab and this schedule read differently (here 1 is Sunday); name the days"
                ),
            });
        }
        let bad = |reason: String| ScheduleError::BadCron { expr: expr.to_string(), reason };
        let fields = expr.split_whitespace().count();
        // "@daily", "@weekly": the library's shorthands, one word.
        let shorthand = expr.trim().starts_with('@');
        if fields == 5 {
            return Err(bad(
                "5 fields, as crontab writes them; this schedule counts seconds first: put 0 in front".into()
            ));
        }
        if !(6..=7).contains(&fields) && !shorthand {
            return Err(bad(format!("{fields} field(s)")));
        }
        // A year ends: the digests would stop for good after it, with nothing to say so.
        if let Some(year) = expr.split_whitespace().nth(6).filter(|y| *y != "*") {
            return Err(bad(format!(
                "a 7th field, the year {year:?}, would stop the digests for good after it; leave it out (6 fields)"
            )));
        }
        let s = Schedule::Cron { expr: expr.trim().to_string(), timezone: timezone.trim().to_string() };
        s.validate()?;
        // A valid cron can still name no day at all (31 February, a year gone by).
        if parse_cron(expr)?.upcoming(chrono::Utc).next().is_none() {
            return Err(bad("it names no time that will come, such as 31 February".into()));
        }
        // One digest a day: a cron firing twice a day ("0 0 8,20 * * *", "0 */5 * * * *") would
        // bring only its first firing's, which is not what its writer meant. A cron fires every
        // time of day its fields allow on each day it fires, so a few firings show it.
        let firings: Vec<DateTime<Utc>> = parse_cron(expr)?.upcoming(Utc).take(50).collect();
        if let Some(pair) = firings.windows(2).find(|p| p[0].date_naive() == p[1].date_naive()) {
            return Err(bad(format!(
                "it fires more than once a day ({} and {}); podsift sends one digest a day: give one time of day",
                pair[0].format("%H:%M:%S"),
                pair[1].format("%H:%M:%S")
            )));
        }
        Ok(s)
    }

    pub fn validate(&self) -> Result<(), ScheduleError> {
        self.tz()?;
        match self {
            Schedule::Daily { time, .. } => parse_time(time).map(|_| ()),
            Schedule::Cron { expr, .. } => parse_cron(expr).map(|_| ()),
        }
    }

    pub fn tz(&self) -> Result<Tz, ScheduleError> {
        let name = match self {
            Schedule::Daily { timezone, .. } | Schedule::Cron { timezone, .. } => timezone,
        };
        Tz::from_str(name).map_err(|_| ScheduleError::BadTimezone(name.clone()))
    }

    /// The local date of `at` in this schedule's timezone.
    pub fn local_date(&self, at: DateTime<Utc>) -> Result<NaiveDate, ScheduleError> {
        Ok(at.with_timezone(&self.tz()?).date_naive())
    }

    /// The instant the digest of local day `date` is due, or None when the schedule skips that
    /// day (a cron expression for weekdays, say).
    pub fn fire_on(&self, date: NaiveDate) -> Result<Option<DateTime<Utc>>, ScheduleError> {
        let tz = self.tz()?;
        let local = match self {
            Schedule::Daily { time, .. } => Some(date.and_time(parse_time(time)?)),
            Schedule::Cron { expr, .. } => {
                let schedule = parse_cron(expr)?;
                // Evaluate on naive local time (as if UTC), so DST cannot skip or repeat a day.
                let start = Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)) - Duration::seconds(1);
                schedule.after(&start).next().filter(|t| t.date_naive() == date).map(|t| t.naive_utc())
            }
        };
        Ok(local.map(|l| to_instant(tz, l)))
    }

    /// A short description for the operator, who wrote it ("08:00 Europe/Berlin", a cron as
    /// written).
    pub fn describe(&self) -> String {
        match self {
            Schedule::Daily { time, timezone } => format!("{time} {timezone}"),
            Schedule::Cron { expr, timezone } => format!("cron \"{expr}\" {timezone}"),
        }
    }

    /// When digests come, in words for readers: "every day at 08:00 Europe/Berlin", "at 08:00
    /// Europe/Berlin, Monday to Friday"; a cron of another shape than a time on chosen weekdays
    /// is quoted.
    pub fn when(&self) -> String {
        match self {
            Schedule::Daily { time, timezone } => format!("every day at {time} {timezone}"),
            Schedule::Cron { expr, timezone } => match weekly_time(expr) {
                Some((time, None)) => format!("every day at {time} {timezone}"),
                Some((time, Some(days))) => format!("at {time} {timezone}{days}"),
                None => format!("on the schedule \"{expr}\" ({timezone})"),
            },
        }
    }
}

/// A cron that fires once a day at one time ("0 30 7 * * Mon-Fri") as that time and its weekdays
/// in words ("Monday to Friday", "on Mondays and Thursdays"; None: every day); None for any
/// other shape.
fn weekly_time(expr: &str) -> Option<(String, Option<String>)> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let [sec, min, hour, dom, month, dow, rest @ ..] = fields.as_slice() else { return None };
    let any = |f: &str| f == "*" || f == "?";
    if *sec != "0" || !any(dom) || !any(month) || !rest.iter().all(|f| any(f)) || rest.len() > 1 {
        return None;
    }
    let (min, hour): (u32, u32) = (min.parse().ok()?, hour.parse().ok()?);
    if min > 59 || hour > 23 {
        return None;
    }
    let time = format!("{hour:02}:{min:02}");
    if any(dow) {
        return Some((time, None));
    }
    let mut said = Vec::new();
    let mut ranges = false;
    for item in dow.split(',') {
        said.push(match item.split_once('-') {
            Some((from, to)) => {
                ranges = true;
                format!("{} to {}", weekday(from)?, weekday(to)?)
            }
            None => format!("{}s", weekday(item)?),
        });
    }
    let days = match said.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, others)) => format!("{} and {last}", others.join(", ")),
        None => return None,
    };
    // "on Mondays", but "Monday to Friday" as it stands.
    Some((time, Some(if ranges { format!(", {days}") } else { format!(" on {days}") })))
}

/// A weekday as cron names it ("Mon", "monday"), said in full; numbers are not read (the cron
/// library counts them from Sunday, crontab from Monday).
fn weekday(name: &str) -> Option<&'static str> {
    const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    let lower = name.to_ascii_lowercase();
    DAYS.into_iter().find(|d| lower.len() >= 3 && d.to_ascii_lowercase().starts_with(&lower))
}

fn parse_time(s: &str) -> Result<NaiveTime, ScheduleError> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| ScheduleError::BadTime(s.to_string()))
}

fn parse_cron(expr: &str) -> Result<cron::Schedule, ScheduleError> {
    cron::Schedule::from_str(expr).map_err(|e| {
        // The library's message repeats the expression with a caret under the fault, then says
        // it, as "less than 59" where 59 itself is allowed: its last line, saying "at most".
        let text = e.to_string();
        let last = text.lines().map(str::trim).rfind(|l| !l.is_empty() && *l != "^").unwrap_or("").to_string();
        let reason = last.replace("must be less than", "must be at most");
        ScheduleError::BadCron { expr: expr.to_string(), reason }
    })
}

/// Maps a local wall-clock time to the instant it names: the earlier one when the clocks fall
/// back through it, the end of the gap when they spring forward over it.
fn to_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        LocalResult::None => {
            // Walk forward minute by minute to the first time that exists (gaps are at most hours).
            (1..=24 * 60)
                .find_map(|m| tz.from_local_datetime(&(local + Duration::minutes(m))).earliest())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&local))
        }
    }
}

/// What to do about one destination's digest of one local day at instant `now`.
#[derive(Debug, Clone, PartialEq)]
pub enum Due {
    /// Not yet (or that day is not scheduled).
    NotYet,
    /// Deliver now.
    Now { date: NaiveDate, fire: DateTime<Utc> },
    /// Missed by more than the catch-up window: skip rather than flood.
    Missed { date: NaiveDate, fire: DateTime<Utc> },
}

/// Which local days' digests are due at `now`: today's, and yesterday's (a catch-up that crosses
/// midnight). The caller drops days already delivered or skipped, which is what makes delivery
/// exactly once per local day.
pub fn due(schedule: &Schedule, now: DateTime<Utc>, catch_up: Duration) -> Result<Vec<Due>, ScheduleError> {
    let today = schedule.local_date(now)?;
    let mut out = Vec::new();
    for date in [today.pred_opt(), Some(today)].into_iter().flatten() {
        if let Some(fire) = schedule.fire_on(date)? {
            if now >= fire {
                out.push(if now - fire <= catch_up { Due::Now { date, fire } } else { Due::Missed { date, fire } });
            }
        }
    }
    Ok(out)
}

/// The first instant at or after `at` when the schedule fires (looking a year ahead at most),
/// or None when it never does or is invalid.
pub fn next_fire(schedule: &Schedule, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut date = schedule.local_date(at).ok()?.pred_opt()?;
    for _ in 0..367 {
        if let Some(fire) = schedule.fire_on(date).ok()? {
            if fire >= at {
                return Some(fire);
            }
        }
        date = date.succ_opt()?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_told_a_weekday_cron_in_words_and_any_other_cron_as_written() {
        let when = |expr: &str| Schedule::cron(expr, "Europe/Berlin").unwrap().when();
        assert_eq!(Schedule::daily("08:00", "UTC").unwrap().when(), "every day at 08:00 UTC");
        assert_eq!(when("0 30 7 * * Mon-Fri"), "at 07:30 Europe/Berlin, Monday to Friday");
        assert_eq!(when("0 0 9 * * Mon,Wed,Fri"), "at 09:00 Europe/Berlin on Mondays, Wednesdays and Fridays");
        assert_eq!(when("0 0 9 * * Mon"), "at 09:00 Europe/Berlin on Mondays");
        assert_eq!(when("0 5 18 * * Tue-Thu,Sat"), "at 18:05 Europe/Berlin, Tuesday to Thursday and Saturdays");
        assert_eq!(when("0 0 8 * * *"), "every day at 08:00 Europe/Berlin");
        // Weekday numbers are refused now; one stored before is quoted, not guessed at.
        let numbered = Schedule::Cron { expr: "0 0 8 * * 2-6".into(), timezone: "Europe/Berlin".into() };
        assert_eq!(numbered.when(), "on the schedule \"0 0 8 * * 2-6\" (Europe/Berlin)");
        // Twice a day is refused now; one stored before is quoted.
        let twice = Schedule::Cron { expr: "0 0 8,20 * * *".into(), timezone: "Europe/Berlin".into() };
        assert_eq!(twice.when(), "on the schedule \"0 0 8,20 * * *\" (Europe/Berlin)");
        assert_eq!(when("0 0 8 1 * *"), "on the schedule \"0 0 8 1 * *\" (Europe/Berlin)");
        assert_eq!(when("30 0 8 * * Mon"), "on the schedule \"30 0 8 * * Mon\" (Europe/Berlin)");
    }
    use std::collections::BTreeMap;

    #[test]
    fn a_daily_time_is_kept_as_hh_mm_and_minutes_take_two_digits() {
        let s = Schedule::daily(" 7:30 ", "UTC").unwrap();
        assert_eq!(s, Schedule::Daily { time: "07:30".into(), timezone: "UTC".into() });
        for bad in ["7:5", "07:5", "7", "25:00", "07:300"] {
            assert!(matches!(Schedule::daily(bad, "UTC"), Err(ScheduleError::BadTime(_))), "{bad}");
        }
        // One stored before the rule still fires.
        let stored = Schedule::Daily { time: "7:5".into(), timezone: "UTC".into() };
        assert!(stored.validate().is_ok());
        let date = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(stored.fire_on(date).unwrap(), Some(utc("2026-03-01T07:05:00Z")));
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Steps through `days` days from `start` every `step` minutes, delivering whatever is due
    /// and not yet delivered, and counts deliveries per local date.
    fn simulate(schedule: &Schedule, start: &str, days: i64, step: i64) -> BTreeMap<NaiveDate, Vec<DateTime<Utc>>> {
        let mut delivered: BTreeMap<NaiveDate, Vec<DateTime<Utc>>> = BTreeMap::new();
        let mut now = utc(start);
        let end = now + Duration::days(days);
        while now < end {
            for d in due(schedule, now, Duration::hours(6)).unwrap() {
                if let Due::Now { date, .. } = d {
                    if !delivered.contains_key(&date) {
                        delivered.entry(date).or_default().push(now);
                    }
                }
            }
            now += Duration::minutes(step);
        }
        delivered
    }

    #[test]
    fn exactly_one_per_local_day_across_dst_in_berlin() {
        // Spring forward 2026-03-29 02:00 -> 03:00; fall back 2026-10-25 03:00 -> 02:00.
        for (start, time) in
            [("2026-03-26T00:00:00Z", "02:30"), ("2026-10-22T00:00:00Z", "02:30"), ("2026-10-22T00:00:00Z", "08:00")]
        {
            let s = Schedule::daily(time, "Europe/Berlin").unwrap();
            let got = simulate(&s, start, 6, 5);
            assert_eq!(got.len(), 6, "{start} {time}: {got:?}");
            assert!(got.values().all(|v| v.len() == 1));
        }
        // On the spring-forward day 02:30 does not exist: delivered when the clocks reach 03:00.
        let s = Schedule::daily("02:30", "Europe/Berlin").unwrap();
        let spring = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        assert_eq!(s.fire_on(spring).unwrap(), Some(utc("2026-03-29T01:00:00Z")));
        // On the fall-back day 02:30 happens twice: delivered at the first.
        let fall = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        assert_eq!(s.fire_on(fall).unwrap(), Some(utc("2026-10-25T00:30:00Z")));
    }

    #[test]
    fn exactly_one_per_local_day_across_dst_in_new_york() {
        // Spring forward 2026-03-08 02:00 -> 03:00; fall back 2026-11-01 02:00 -> 01:00.
        for start in ["2026-03-05T00:00:00Z", "2026-10-29T00:00:00Z"] {
            for time in ["01:30", "02:30", "07:00"] {
                let s = Schedule::daily(time, "America/New_York").unwrap();
                let got = simulate(&s, start, 6, 5);
                assert_eq!(got.len(), 6, "{start} {time}: {got:?}");
                assert!(got.values().all(|v| v.len() == 1), "{start} {time}: {got:?}");
            }
        }
    }

    #[test]
    fn cron_schedules_keep_one_per_day_over_dst_and_skip_unselected_days() {
        let s = Schedule::cron("0 30 2 * * *", "Europe/Berlin").unwrap();
        let got = simulate(&s, "2026-03-26T00:00:00Z", 6, 5);
        assert_eq!(got.len(), 6, "{got:?}");
        let weekdays = Schedule::cron("0 0 8 * * Mon-Fri", "America/New_York").unwrap();
        // 2026-10-29 is a Thursday: Thu, Fri, (Sat, Sun skipped), Mon, Tue.
        let got = simulate(&weekdays, "2026-10-29T00:00:00Z", 6, 5);
        let days: Vec<String> = got.keys().map(|d| d.format("%a").to_string()).collect();
        assert_eq!(days, ["Thu", "Fri", "Mon", "Tue"]);
    }

    #[test]
    fn catch_up_within_the_window_then_skip() {
        let s = Schedule::daily("08:00", "UTC").unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let fire = utc("2026-11-28T08:00:00Z");
        assert_eq!(
            due(&s, utc("2026-11-28T07:59:00Z"), Duration::hours(6)).unwrap().last(),
            Some(&Due::Missed { date: date.pred_opt().unwrap(), fire: fire - Duration::days(1) })
        );
        assert_eq!(
            due(&s, utc("2026-11-28T10:00:00Z"), Duration::hours(6)).unwrap().last(),
            Some(&Due::Now { date, fire })
        );
        assert_eq!(
            due(&s, utc("2026-11-28T15:00:00Z"), Duration::hours(6)).unwrap().last(),
            Some(&Due::Missed { date, fire })
        );
    }

    #[test]
    fn bad_input_says_what_good_input_looks_like() {
        assert!(Schedule::daily("8am", "UTC").unwrap_err().to_string().contains("HH:MM"));
        assert!(Schedule::daily("08:00", "Mars/Olympus").unwrap_err().to_string().contains("Europe/Berlin"));
        assert!(Schedule::cron("every day", "UTC").unwrap_err().to_string().contains("seconds first"));
        assert!(Schedule::cron("@daily", "UTC").is_ok() && Schedule::cron("@weekly", "UTC").is_ok());
        let crontab = Schedule::cron("0 8 * * Mon-Fri", "UTC").unwrap_err().to_string();
        assert!(
            crontab.contains("5 fields, as crontab writes them") && crontab.contains("put 0 in front"),
            "{crontab}"
        );
        let year = Schedule::cron("0 0 8 * * Mon-Fri 2026", "UTC").unwrap_err().to_string();
        assert!(year.contains("would stop the digests for good") && year.contains("(6 fields)"), "{year}");
        assert!(Schedule::cron("0 0 8 * * Mon-Fri *", "UTC").is_ok());
        // One digest a day.
        for twice in ["0 0 8,20 * * *", "0 */5 * * * *", "0 0 8,12 * * Mon", "* 0 8 * * *"] {
            let err = Schedule::cron(twice, "UTC").map(|s| s.describe()).unwrap_or_else(|e| e.to_string());
            assert!(err.contains("fires more than once a day"), "{twice}: {err}");
        }
        assert!(Schedule::cron("@daily", "UTC").is_ok());
        let never = Schedule::cron("0 0 8 31 Feb *", "UTC").unwrap_err().to_string();
        assert!(never.contains("names no time that will come"), "{never}");
        let seconds = Schedule::cron("60 0 8 * * *", "UTC").unwrap_err().to_string();
        assert!(
            seconds.contains("(Seconds must be at most 59. ('60' specified.))") && !seconds.contains('\n'),
            "{seconds}"
        );
        // Crontab's "1-5" (Monday to Friday) would run Sunday to Thursday here: refused.
        let numbered = Schedule::cron("0 0 8 * * 1-5", "UTC").unwrap_err().to_string();
        assert!(numbered.contains("1 is Sunday") && numbered.contains("Mon-Fri"), "{numbered}");
        // A stored schedule from before still loads and fires.
        let stored = Schedule::Cron { expr: "0 0 8 * * 2-6".into(), timezone: "UTC".into() };
        assert!(stored.validate().is_ok());
    }
}
