//! China's working-day calendar: official holidays and make-up working days, as the State
//! Council announces them each year. Art. 10 counts appeal windows and reply deadlines in
//! working days; so do many policy deadlines.
//!
//! Conventions (Chinese procedural practice): the start day is not counted; a deadline of N
//! working days ends at 24:00 Asia/Shanghai of the Nth working day after the start day.

use serde::Deserialize;
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// Asia/Shanghai has had no daylight saving since 1991: a fixed UTC+8 is exact.
pub const SHANGHAI: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The calendar file shipped with the binary (`data/calendar/cn.toml`).
pub const BUILTIN_SOURCE: &str = include_str!("../../../data/calendar/cn.toml");

/// A value computed from the calendar, and whether it depends on a year without data
/// (then weekends alone were assumed, and the answer may change when that year's notice
/// is published).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Reckoned<T> {
    pub value: T,
    pub provisional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {key}: {problem}")]
pub struct CalendarError {
    pub file: String,
    pub key: String,
    pub problem: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    notice: Vec<NoticeDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeDoc {
    year: i32,
    source: String,
    holidays: Vec<HolidayDoc>,
    workdays: Vec<toml::value::Datetime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayDoc {
    name: String,
    from: toml::value::Datetime,
    to: toml::value::Datetime,
}

/// One named holiday range of a notice.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holiday {
    pub name: String,
    pub from: Date,
    pub to: Date,
}

#[derive(Debug, Clone)]
pub struct Calendar {
    years: BTreeSet<i32>,
    off: HashSet<Date>,
    work: HashSet<Date>,
    holidays: Vec<Holiday>,
    sources: Vec<(i32, String)>,
}

impl Calendar {
    /// The calendar compiled into the binary.
    pub fn builtin() -> Result<Calendar, CalendarError> {
        Calendar::from_toml("data/calendar/cn.toml", BUILTIN_SOURCE)
    }

    /// Parses and checks a calendar file; `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Calendar, CalendarError> {
        let err = |key: String, problem: String| CalendarError {
            file: file.to_owned(),
            key,
            problem,
        };
        let doc: FileDoc = toml::from_str(text).map_err(|e| {
            err(
                "(syntax)".to_owned(),
                e.to_string().trim().replace('\n', " "),
            )
        })?;
        let mut cal = Calendar {
            years: BTreeSet::new(),
            off: HashSet::new(),
            work: HashSet::new(),
            holidays: Vec::new(),
            sources: Vec::new(),
        };
        for (i, n) in doc.notice.iter().enumerate() {
            let key = format!("notice[{i}] (year {})", n.year);
            if !(2000..=2100).contains(&n.year) {
                return Err(err(key, "year must be between 2000 and 2100".to_owned()));
            }
            if !cal.years.insert(n.year) {
                return Err(err(key, "a second notice for the same year".to_owned()));
            }
            let near = |d: Date| (n.year - 1..=n.year + 1).contains(&d.year());
            for (j, h) in n.holidays.iter().enumerate() {
                let hkey = format!("{key}.holidays[{j}] ({})", h.name);
                let from = toml_date(&h.from).map_err(|p| err(format!("{hkey}.from"), p))?;
                let to = toml_date(&h.to).map_err(|p| err(format!("{hkey}.to"), p))?;
                if to < from {
                    return Err(err(hkey, format!("ends ({to}) before it starts ({from})")));
                }
                if !near(from) || !near(to) || (to - from).whole_days() > 14 {
                    return Err(err(
                        hkey,
                        "a holiday range must lie within the notice's year (or touch the next or previous) and last at most 15 days".to_owned(),
                    ));
                }
                for k in 0..=(to - from).whole_days() {
                    cal.off.insert(from + Duration::days(k));
                }
                cal.holidays.push(Holiday {
                    name: h.name.clone(),
                    from,
                    to,
                });
            }
            for (j, w) in n.workdays.iter().enumerate() {
                let wkey = format!("{key}.workdays[{j}]");
                let d = toml_date(w).map_err(|p| err(wkey.clone(), p))?;
                if !is_weekend(d) {
                    return Err(err(
                        wkey,
                        format!(
                            "{d} is a {}: only a weekend day can be made a working day",
                            d.weekday()
                        ),
                    ));
                }
                if !near(d) {
                    return Err(err(wkey, format!("{d} is not near year {}", n.year)));
                }
                cal.work.insert(d);
            }
            cal.sources.push((n.year, n.source.clone()));
        }
        if let Some(d) = cal.work.iter().find(|d| cal.off.contains(d)) {
            return Err(err(
                "workdays".to_owned(),
                format!("{d} is listed both as a holiday and as a working day"),
            ));
        }
        cal.holidays.sort_by_key(|h| h.from);
        Ok(cal)
    }

    /// Years with a notice.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    pub fn holidays(&self) -> &[Holiday] {
        &self.holidays
    }

    pub fn source_of(&self, year: i32) -> Option<&str> {
        self.sources
            .iter()
            .find(|(y, _)| *y == year)
            .map(|(_, s)| s.as_str())
    }

    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    fn working(&self, d: Date) -> bool {
        if self.work.contains(&d) {
            return true;
        }
        !is_weekend(d) && !self.off.contains(&d)
    }

    pub fn is_working_day(&self, d: Date) -> Reckoned<bool> {
        Reckoned {
            value: self.working(d),
            provisional: !self.covers(d.year()),
        }
    }

    /// The Nth working day after `start` (which is not counted). `n = 0` gives `start`.
    pub fn add_working_days(&self, start: Date, n: u32) -> Reckoned<Date> {
        self.add_days_where(start, n, |d| self.working(d))
    }

    /// The Nth day after `start` (not counted) for which `working` holds; provisional when
    /// the count ran through a year without a notice.
    fn add_days_where(
        &self,
        start: Date,
        n: u32,
        working: impl Fn(Date) -> bool,
    ) -> Reckoned<Date> {
        let mut d = start;
        let mut left = n;
        let mut provisional = false;
        while left > 0 {
            match d.next_day() {
                Some(next) => d = next,
                None => break,
            }
            provisional |= !self.covers(d.year());
            if working(d) {
                left -= 1;
            }
        }
        Reckoned {
            value: d,
            provisional,
        }
    }

    /// Working days in `(from, to]`: the start day is not counted, the end day is. Negative
    /// when `to` is before `from`. `count(a, add(a, n)) == n`.
    pub fn count_working_days(&self, from: Date, to: Date) -> Reckoned<i64> {
        let (lo, hi, sign) = if from <= to {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let mut n = 0i64;
        let mut provisional = false;
        let mut d = lo;
        while d < hi {
            match d.next_day() {
                Some(next) => d = next,
                None => break,
            }
            provisional |= !self.covers(d.year());
            if self.working(d) {
                n += 1;
            }
        }
        Reckoned {
            value: n * sign,
            provisional,
        }
    }

    /// 24:00 Asia/Shanghai of the Nth working day after the day (in Shanghai) of `start`.
    pub fn deadline(&self, start: OffsetDateTime, n: u32) -> Reckoned<OffsetDateTime> {
        let day = self.add_working_days(shanghai_date(start), n);
        Reckoned {
            value: end_of_day(day.value),
            provisional: day.provisional,
        }
    }
}

impl Calendar {
    /// How many published years before an uncovered one shape its generous count.
    const PATTERN_YEARS: usize = 3;

    /// Whether `d` counts as a working day when the count must never run short against
    /// the person it binds: in a year without a notice, a weekday that was a holiday on the
    /// same month and day in any of the last published years is taken as a holiday too,
    /// and no weekend is taken as a make-up day. Published years count as published.
    fn working_generously(&self, d: Date) -> bool {
        if self.covers(d.year()) {
            return self.working(d);
        }
        if is_weekend(d) {
            return false;
        }
        !self
            .years
            .range(..d.year())
            .rev()
            .take(Self::PATTERN_YEARS)
            .filter_map(|&y| Date::from_calendar_date(y, d.month(), d.day()).ok())
            .any(|same_day| self.off.contains(&same_day))
    }

    /// Like [`Calendar::deadline`], but where the count runs through a year without a
    /// notice it is the later of Monday–Friday and the last published years' holidays
    /// (marked provisional). For time limits that must not close early against a party:
    /// an appeal's window (Art. 10).
    pub fn generous_deadline(&self, start: OffsetDateTime, n: u32) -> Reckoned<OffsetDateTime> {
        let day = self.add_days_where(shanghai_date(start), n, |d| self.working_generously(d));
        Reckoned {
            value: end_of_day(day.value),
            provisional: day.provisional,
        }
    }
}

/// The calendar day of an instant in Asia/Shanghai.
pub fn shanghai_date(t: OffsetDateTime) -> Date {
    t.to_offset(SHANGHAI).date()
}

/// 24:00 Asia/Shanghai of `d`, which is 00:00 of the next day.
pub fn end_of_day(d: Date) -> OffsetDateTime {
    let next = d.next_day().unwrap_or(d);
    PrimitiveDateTime::new(next, Time::MIDNIGHT).assume_offset(SHANGHAI)
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

fn toml_date(v: &toml::value::Datetime) -> Result<Date, String> {
    match (v.date, v.time, v.offset) {
        (Some(d), None, None) => {
            let month = time::Month::try_from(d.month).map_err(|e| e.to_string())?;
            Date::from_calendar_date(i32::from(d.year), month, d.day).map_err(|e| e.to_string())
        }
        _ => Err(format!("{v} is not a plain date like 2026-10-01")),
    }
}

impl fmt::Display for Reckoned<Date> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)?;
        if self.provisional {
            f.write_str(" provisional")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn cal() -> Calendar {
        Calendar::builtin().unwrap()
    }

    #[test]
    fn builtin_covers_2018_to_2026() {
        let c = cal();
        assert_eq!(
            c.years().collect::<Vec<_>>(),
            (2018..=2026).collect::<Vec<_>>()
        );
        assert!(c.source_of(2026).unwrap().contains("2026"));
    }

    #[test]
    fn the_issue_examples() {
        let c = cal();
        assert_eq!(
            c.add_working_days(date!(2026 - 09 - 28), 10).to_string(),
            "2026-10-16"
        );
        assert_eq!(
            c.add_working_days(date!(2026 - 02 - 10), 10).to_string(),
            "2026-03-02"
        );
    }

    #[test]
    fn a_count_into_an_unpublished_year_never_runs_short() {
        let c = cal();
        // Decided Friday 2026-12-18: Monday–Friday alone would end the 10 working days on
        // 2027-01-01, New Year's Day in every published year.
        let decided = datetime!(2026-12-18 15:00 +8);
        let plain = c.deadline(decided, 10);
        assert_eq!(plain.value, datetime!(2027-01-02 00:00 +8));
        let generous = c.generous_deadline(decided, 10);
        assert!(generous.provisional);
        assert_eq!(generous.value, datetime!(2027-01-05 00:00 +8));
        assert!(generous.value >= plain.value);
        // Inside published years both agree and nothing is provisional.
        let inside = datetime!(2026-09-28 10:00 +8);
        assert_eq!(c.generous_deadline(inside, 10), c.deadline(inside, 10));
        assert!(!c.generous_deadline(inside, 10).provisional);
        // Across the Spring Festival of an unpublished year the count is never earlier.
        for start in [
            datetime!(2027-01-20 10:00 +8),
            datetime!(2027-09-20 10:00 +8),
        ] {
            for n in [1, 10, 30] {
                assert!(c.generous_deadline(start, n).value >= c.deadline(start, n).value);
            }
        }
    }

    #[test]
    fn make_up_days_and_holidays() {
        let c = cal();
        // Saturday 2026-02-14 is a make-up working day; Monday 2026-02-23 is Spring Festival.
        assert!(c.is_working_day(date!(2026 - 02 - 14)).value);
        assert!(!c.is_working_day(date!(2026 - 02 - 23)).value);
        assert!(!c.is_working_day(date!(2026 - 10 - 01)).value);
        assert!(c.is_working_day(date!(2026 - 10 - 10)).value);
        // The 2020 Spring Festival extension: 2020-02-01 (Sat) was no longer a working day.
        assert!(!c.is_working_day(date!(2020 - 02 - 01)).value);
        assert!(!c.is_working_day(date!(2020 - 01 - 31)).value);
        // A working Saturday at the end of 2018 from the 2019 notice.
        assert!(c.is_working_day(date!(2018 - 12 - 29)).value);
        assert!(!c.is_working_day(date!(2018 - 12 - 31)).value);
    }

    #[test]
    fn years_without_data_are_provisional() {
        let c = cal();
        let r = c.add_working_days(date!(2031 - 03 - 03), 10);
        assert!(r.provisional);
        assert_eq!(r.value, date!(2031 - 03 - 17));
        assert_eq!(r.to_string(), "2031-03-17 provisional");
        // Crossing into an uncovered year makes the result provisional too.
        assert!(c.add_working_days(date!(2026 - 12 - 28), 10).provisional);
        assert!(!c.add_working_days(date!(2026 - 12 - 01), 10).provisional);
        assert!(c.is_working_day(date!(2031 - 01 - 01)).provisional);
    }

    #[test]
    fn count_inverts_add() {
        let c = cal();
        let mut d = date!(2018 - 01 - 01);
        while d < date!(2026 - 12 - 01) {
            for n in [0, 1, 5, 10, 30] {
                let end = c.add_working_days(d, n).value;
                assert_eq!(
                    c.count_working_days(d, end).value,
                    i64::from(n),
                    "{d} + {n}"
                );
            }
            d += Duration::days(3);
        }
        assert_eq!(
            c.count_working_days(date!(2026 - 10 - 16), date!(2026 - 09 - 28))
                .value,
            -10
        );
    }

    #[test]
    fn deadline_is_midnight_shanghai_after_the_nth_day() {
        let c = cal();
        // 2026-09-28 23:30 in Shanghai is 15:30 UTC; the day counts as 09-28 in Shanghai.
        let r = c.deadline(datetime!(2026-09-28 15:30 UTC), 10);
        assert_eq!(r.value, datetime!(2026-10-17 00:00 +8));
        // 16:30 UTC is already 09-29 in Shanghai.
        let r = c.deadline(datetime!(2026-09-28 16:30 UTC), 10);
        assert_eq!(r.value, datetime!(2026-10-20 00:00 +8));
    }

    #[test]
    fn malformed_files_are_refused_with_the_place() {
        let e = Calendar::from_toml(
            "x.toml",
            "[[notice]]\nyear = 2027\nsource = \"s\"\nholidays = []\nworkdays = [2027-01-04]\n",
        )
        .unwrap_err();
        assert_eq!(e.file, "x.toml");
        assert!(e.key.contains("workdays[0]"), "{e}");
        assert!(e.problem.contains("Monday"), "{e}");
        let e = Calendar::from_toml("x.toml", "[[notice]]\nyear = 2027\nsource = \"s\"\nholidays = [{ name = \"a\", from = 2027-02-10, to = 2027-02-01 }]\nworkdays = []\n").unwrap_err();
        assert!(e.problem.contains("before it starts"), "{e}");
        let e = Calendar::from_toml("x.toml", "[[notice]]\nyear = 2027\n").unwrap_err();
        assert_eq!(e.key, "(syntax)");
        let e = Calendar::from_toml("x.toml", "[[notice]]\nyear = 2027\nsource = \"s\"\nholidays = []\nworkdays = []\n[[notice]]\nyear = 2027\nsource = \"s\"\nholidays = []\nworkdays = []\n").unwrap_err();
        assert!(e.problem.contains("second notice"), "{e}");
    }

    #[test]
    fn a_new_year_loads_without_rebuilding() {
        let text = format!(
            "{BUILTIN_SOURCE}\n[[notice]]\nyear = 2031\nsource = \"test\"\nholidays = [{{ name = \"元旦\", from = 2031-01-01, to = 2031-01-01 }}]\nworkdays = []\n"
        );
        let c = Calendar::from_toml("cn.toml", &text).unwrap();
        let r = c.is_working_day(date!(2031 - 01 - 01));
        assert_eq!(
            r,
            Reckoned {
                value: false,
                provisional: false
            }
        );
    }
}
