//! When the team is available, and what the visitor sees when it is not.
//!
//! The schedule maths lives here (pure, no I/O) because both sides need it: the server to report status and assign
//! conversations, the SDK to resolve chatflows offline from its cached copy.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Availability {
    pub mode: AvailabilityMode,
    /// IANA time zone of `business_hours` (`Europe/Paris`). Required in `business_hours` mode.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub time_zone: String,
    /// Weekly opening ranges, several per day allowed. Used in `business_hours` mode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub business_hours: Vec<OpeningRange>,
    /// What the visitor sees while the team is away.
    pub when_away: AwayBehavior,
    /// At most 4000 characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub away_message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typical_response_time: Option<TypicalResponseTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AvailabilityMode {
    /// Always available.
    Always,
    /// Available while at least one routed agent's presence is "available".
    TeamStatus,
    /// Available inside the weekly schedule, in the chatflow's time zone.
    BusinessHours,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AwayBehavior {
    /// Keep the chat open and show `away_message`.
    AwayMessage,
    /// Keep the chat open and show the typical response time.
    TypicalResponseTime,
    /// Hide the chat launcher: the chatflow is not offered while away.
    HideLauncher,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TypicalResponseTime {
    FewMinutes,
    FewHours,
    ADay,
}

/// One opening range on one day of the week, local time, `start` < `end`; `end` may be `24:00`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpeningRange {
    pub day: Day,
    /// `HH:MM`, 24-hour clock.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"))]
    pub start: String,
    /// `HH:MM`, 24-hour clock, up to `24:00`.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"))]
    pub end: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Day {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Day {
    fn weekday(self) -> Weekday {
        match self {
            Day::Monday => Weekday::Monday,
            Day::Tuesday => Weekday::Tuesday,
            Day::Wednesday => Weekday::Wednesday,
            Day::Thursday => Weekday::Thursday,
            Day::Friday => Weekday::Friday,
            Day::Saturday => Weekday::Saturday,
            Day::Sunday => Weekday::Sunday,
        }
    }
}

/// Availability at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AvailabilityNow {
    pub available: bool,
    /// When `available` flips next, if the schedule says (Unix ms). `None` for `always`/`team_status`, or a schedule
    /// that never changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_change_at: Option<i64>,
}

/// A schedule that cannot be evaluated; the message names the offending value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError(pub String);

impl std::fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScheduleError {}

/// Minutes since local midnight of `HH:MM` (`24:00` allowed as the end of a day).
fn parse_hhmm(field: &str, value: &str) -> Result<u16, ScheduleError> {
    let bad = || ScheduleError(format!("{field} must be HH:MM between 00:00 and 24:00, got `{value}`"));
    let (h, m) = value.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl Availability {
    /// Always available, away message empty.
    pub fn always() -> Self {
        Availability {
            mode: AvailabilityMode::Always,
            time_zone: String::new(),
            business_hours: Vec::new(),
            when_away: AwayBehavior::AwayMessage,
            away_message: String::new(),
            typical_response_time: None,
        }
    }

    /// Checks the time zone and every range; the server refuses to save a chatflow that fails this.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        if self.mode == AvailabilityMode::BusinessHours {
            self.zone()?;
        }
        for (i, r) in self.business_hours.iter().enumerate() {
            let s = parse_hhmm(&format!("business_hours[{i}].start"), &r.start)?;
            let e = parse_hhmm(&format!("business_hours[{i}].end"), &r.end)?;
            if s >= e {
                return Err(ScheduleError(format!(
                    "business_hours[{i}]: start {} must be before end {}",
                    r.start, r.end
                )));
            }
        }
        Ok(())
    }

    fn zone(&self) -> Result<TimeZone, ScheduleError> {
        if self.time_zone.is_empty() {
            return Err(ScheduleError("time_zone is required in business_hours mode (e.g. `Europe/Paris`)".into()));
        }
        TimeZone::get(&self.time_zone)
            .map_err(|_| ScheduleError(format!("time_zone `{}` is not a known IANA time zone", self.time_zone)))
    }

    /// Availability at `now_ms`. `team_available` is the last known team presence (`None` = unknown, treated as
    /// available so that a launcher is never hidden without evidence).
    pub fn at(&self, now_ms: i64, team_available: Option<bool>) -> Result<AvailabilityNow, ScheduleError> {
        match self.mode {
            AvailabilityMode::Always => Ok(AvailabilityNow { available: true, next_change_at: None }),
            AvailabilityMode::TeamStatus => {
                Ok(AvailabilityNow { available: team_available.unwrap_or(true), next_change_at: None })
            }
            AvailabilityMode::BusinessHours => self.business_hours_at(now_ms),
        }
    }

    /// Opening intervals (Unix ms, half-open) of the local days from `first` for `days` days.
    fn intervals(&self, tz: &TimeZone, first: Date, days: i64) -> Result<Vec<(i64, i64)>, ScheduleError> {
        let mut ranges = Vec::with_capacity(self.business_hours.len());
        for (i, r) in self.business_hours.iter().enumerate() {
            let s = parse_hhmm(&format!("business_hours[{i}].start"), &r.start)?;
            let e = parse_hhmm(&format!("business_hours[{i}].end"), &r.end)?;
            ranges.push((r.day.weekday(), s, e));
        }
        let local_ms = |date: Date, minutes: u16| -> Result<i64, ScheduleError> {
            // 24:00 is midnight of the next day; gaps/folds at DST changes resolve like most calendars
            // ("compatible": a time in a gap moves forward, an ambiguous time takes the earlier instant).
            let (date, minutes) = if minutes == 24 * 60 {
                (date.tomorrow().map_err(|e| ScheduleError(e.to_string()))?, 0)
            } else {
                (date, minutes)
            };
            let dt = date.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0);
            let zoned = tz.to_ambiguous_zoned(dt).compatible().map_err(|e| ScheduleError(e.to_string()))?;
            Ok(zoned.timestamp().as_millisecond())
        };
        let mut out = Vec::new();
        let mut date = first;
        for _ in 0..days {
            for &(weekday, s, e) in &ranges {
                if date.weekday() == weekday {
                    out.push((local_ms(date, s)?, local_ms(date, e)?));
                }
            }
            date = date.tomorrow().map_err(|e| ScheduleError(e.to_string()))?;
        }
        Ok(out)
    }

    fn business_hours_at(&self, now_ms: i64) -> Result<AvailabilityNow, ScheduleError> {
        let tz = self.zone()?;
        let now = Timestamp::from_millisecond(now_ms).map_err(|e| ScheduleError(e.to_string()))?;
        let today = now.to_zoned(tz.clone()).date();
        let yesterday = today.yesterday().map_err(|e| ScheduleError(e.to_string()))?;
        // Yesterday (a range ending at 24:00 reaches into today) through a full week ahead: every flip within the
        // next seven days is a boundary of one of these intervals.
        let intervals = self.intervals(&tz, yesterday, 10)?;
        let open_at = |t: i64| intervals.iter().any(|&(s, e)| s <= t && t < e);
        let available = open_at(now_ms);
        let mut boundaries: Vec<i64> = intervals.iter().flat_map(|&(s, e)| [s, e]).filter(|&b| b > now_ms).collect();
        boundaries.sort_unstable();
        let next_change_at = boundaries.into_iter().find(|&b| open_at(b) != available);
        Ok(AvailabilityNow { available, next_change_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn paris_weekdays_9_to_17() -> Availability {
        let days = [Day::Monday, Day::Tuesday, Day::Wednesday, Day::Thursday, Day::Friday];
        Availability {
            mode: AvailabilityMode::BusinessHours,
            time_zone: "Europe/Paris".into(),
            business_hours: days
                .iter()
                .map(|&day| OpeningRange { day, start: "09:00".into(), end: "17:00".into() })
                .collect(),
            when_away: AwayBehavior::HideLauncher,
            away_message: String::new(),
            typical_response_time: None,
        }
    }

    #[test]
    fn open_and_closed_at_fixed_instants() {
        let a = paris_weekdays_9_to_17();
        // Wednesday 2026-01-14 10:00 Paris (UTC+1) = 09:00Z.
        let now = a.at(ms("2026-01-14T09:00:00Z"), None).unwrap();
        assert!(now.available);
        assert_eq!(now.next_change_at, Some(ms("2026-01-14T16:00:00Z")));
        // Friday 18:00 Paris → closed until Monday 09:00.
        let now = a.at(ms("2026-01-16T17:00:00Z"), None).unwrap();
        assert!(!now.available);
        assert_eq!(now.next_change_at, Some(ms("2026-01-19T08:00:00Z")));
        // Exactly at opening: open (half-open ranges).
        assert!(a.at(ms("2026-01-14T08:00:00Z"), None).unwrap().available);
        // Exactly at closing: closed.
        assert!(!a.at(ms("2026-01-14T16:00:00Z"), None).unwrap().available);
    }

    #[test]
    fn dst_spring_forward_and_fall_back_in_paris() {
        let a = paris_weekdays_9_to_17();
        // 2026-03-27 is a Friday, clocks go forward on Sunday 2026-03-29: Monday 30th opens at 09:00 CEST = 07:00Z.
        let now = a.at(ms("2026-03-27T17:00:00Z"), None).unwrap();
        assert!(!now.available);
        assert_eq!(now.next_change_at, Some(ms("2026-03-30T07:00:00Z")));
        // Clocks go back on Sunday 2026-10-25: Monday 26th opens at 09:00 CET = 08:00Z.
        let now = a.at(ms("2026-10-23T16:00:00Z"), None).unwrap();
        assert!(!now.available);
        assert_eq!(now.next_change_at, Some(ms("2026-10-26T08:00:00Z")));
    }

    #[test]
    fn opening_inside_a_dst_gap_moves_forward() {
        // 02:30 does not exist on 2026-03-29 in Paris; the range opens at 03:00 CEST (01:00Z).
        let a = Availability {
            business_hours: vec![OpeningRange { day: Day::Sunday, start: "02:30".into(), end: "05:00".into() }],
            ..paris_weekdays_9_to_17()
        };
        let now = a.at(ms("2026-03-29T00:00:00Z"), None).unwrap();
        assert!(!now.available);
        assert_eq!(now.next_change_at, Some(ms("2026-03-29T01:30:00Z")));
    }

    #[test]
    fn ranges_joined_across_midnight_do_not_report_a_false_change() {
        let a = Availability {
            business_hours: vec![
                OpeningRange { day: Day::Monday, start: "20:00".into(), end: "24:00".into() },
                OpeningRange { day: Day::Tuesday, start: "00:00".into(), end: "02:00".into() },
            ],
            time_zone: "UTC".into(),
            ..paris_weekdays_9_to_17()
        };
        // Monday 2026-01-12 23:00Z: open, next change Tuesday 02:00, not midnight.
        let now = a.at(ms("2026-01-12T23:00:00Z"), None).unwrap();
        assert!(now.available);
        assert_eq!(now.next_change_at, Some(ms("2026-01-13T02:00:00Z")));
    }

    #[test]
    fn several_ranges_a_day() {
        let a = Availability {
            business_hours: vec![
                OpeningRange { day: Day::Monday, start: "09:00".into(), end: "12:00".into() },
                OpeningRange { day: Day::Monday, start: "14:00".into(), end: "18:00".into() },
            ],
            time_zone: "UTC".into(),
            ..paris_weekdays_9_to_17()
        };
        let lunch = a.at(ms("2026-01-12T13:00:00Z"), None).unwrap();
        assert!(!lunch.available);
        assert_eq!(lunch.next_change_at, Some(ms("2026-01-12T14:00:00Z")));
    }

    #[test]
    fn empty_schedule_is_never_open_and_never_changes() {
        let a = Availability { business_hours: vec![], ..paris_weekdays_9_to_17() };
        assert_eq!(
            a.at(ms("2026-01-12T13:00:00Z"), None).unwrap(),
            AvailabilityNow { available: false, next_change_at: None }
        );
    }

    #[test]
    fn team_status_and_always() {
        let mut a = Availability::always();
        assert!(a.at(0, Some(false)).unwrap().available);
        a.mode = AvailabilityMode::TeamStatus;
        assert!(!a.at(0, Some(false)).unwrap().available);
        assert!(a.at(0, Some(true)).unwrap().available);
        assert!(a.at(0, None).unwrap().available, "unknown presence never hides a launcher");
    }

    #[test]
    fn validation_names_the_bad_value() {
        let mut a = paris_weekdays_9_to_17();
        a.time_zone = "Mars/Olympus".into();
        assert!(a.validate().unwrap_err().0.contains("Mars/Olympus"));
        let mut a = paris_weekdays_9_to_17();
        a.business_hours[0].end = "25:00".into();
        assert!(a.validate().unwrap_err().0.contains("business_hours[0].end"));
        let mut a = paris_weekdays_9_to_17();
        a.business_hours[1].start = "18:00".into();
        assert!(a.validate().unwrap_err().0.contains("must be before"));
        let mut a = paris_weekdays_9_to_17();
        a.time_zone.clear();
        assert!(a.validate().unwrap_err().0.contains("time_zone is required"));
        assert!(paris_weekdays_9_to_17().validate().is_ok());
    }
}
