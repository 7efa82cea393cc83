//! Daily uptime bars from a component's status history, weighted as hosted
//! status pages weigh it: a major outage counts fully, a partial outage for
//! 30 %, degraded performance and maintenance not at all.

use attest_shared::status::{ComponentStatus, UptimeDay};
use chrono::{DateTime, Duration, NaiveTime, Utc};

/// How many daily bars the page shows.
pub const DAYS: u32 = 90;

fn weight(status: ComponentStatus) -> f64 {
    match status {
        ComponentStatus::MajorOutage => 1.0,
        ComponentStatus::PartialOutage => 0.3,
        _ => 0.0,
    }
}

/// The last `days` days up to `now` (today last, counted up to `now`), from
/// the component's status changes `(when, status)`; before the first change it
/// was operational.
pub fn bars(changes: &[(DateTime<Utc>, ComponentStatus)], now: DateTime<Utc>, days: u32) -> Vec<UptimeDay> {
    let mut changes = changes.to_vec();
    changes.sort_by_key(|(at, _)| *at);
    let today = now.date_naive();
    let mut next = 0;
    let mut status = ComponentStatus::Operational;
    let mut bars = Vec::with_capacity(days as usize);
    for back in (0..i64::from(days)).rev() {
        let date = today - Duration::days(back);
        let start = date.and_time(NaiveTime::MIN).and_utc();
        let end = (start + Duration::days(1)).min(now);
        // Changes before this day set the status it starts with.
        while next < changes.len() && changes[next].0 < start {
            status = changes[next].1;
            next += 1;
        }
        let mut worst = status;
        let mut lost = 0.0;
        let mut from = start;
        while next < changes.len() && changes[next].0 < end {
            lost += weight(status) * (changes[next].0 - from).num_milliseconds() as f64;
            from = changes[next].0;
            status = changes[next].1;
            if status.severity() > worst.severity() {
                worst = status;
            }
            next += 1;
        }
        lost += weight(status) * (end - from).num_milliseconds().max(0) as f64;
        let length = (end - start).num_milliseconds() as f64;
        let percent = if length > 0.0 {
            100.0 * (1.0 - lost / length)
        } else {
            100.0
        };
        bars.push(UptimeDay {
            date,
            percent: (percent * 100.0).round() / 100.0,
            worst,
        });
    }
    bars
}

/// The share of the whole period that was up, as the page prints it.
pub fn overall(bars: &[UptimeDay]) -> f64 {
    if bars.is_empty() {
        return 100.0;
    }
    let sum: f64 = bars.iter().map(|b| b.percent).sum();
    (sum / bars.len() as f64 * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap()
    }

    #[test]
    fn no_changes_is_fully_up() {
        let bars = bars(&[], at(7, 12), DAYS);
        assert_eq!(bars.len(), 90);
        assert!(bars
            .iter()
            .all(|b| b.percent == 100.0 && b.worst == ComponentStatus::Operational));
        assert_eq!(bars.last().unwrap().date, at(7, 0).date_naive());
    }

    #[test]
    fn outages_are_weighted_and_split_at_midnight() {
        let changes = [
            // Six hours of major outage on the 5th: 75 %.
            (at(5, 6), ComponentStatus::MajorOutage),
            (at(5, 12), ComponentStatus::Operational),
            // A partial outage from 20:00 on the 5th to 04:00 on the 6th.
            (at(5, 20), ComponentStatus::PartialOutage),
            (at(6, 4), ComponentStatus::DegradedPerformance),
            (at(6, 8), ComponentStatus::Operational),
        ];
        let bars = bars(&changes, at(7, 12), 3);
        assert_eq!(bars[0].date, at(5, 0).date_naive());
        // 6 h lost + 4 h * 0.3 = 7.2 h of 24.
        assert_eq!(bars[0].percent, 70.0);
        assert_eq!(bars[0].worst, ComponentStatus::MajorOutage);
        // 4 h * 0.3 of 24 h; degraded performance costs nothing.
        assert_eq!(bars[1].percent, 95.0);
        assert_eq!(bars[1].worst, ComponentStatus::PartialOutage);
        assert_eq!(bars[2].percent, 100.0);
    }

    #[test]
    fn today_counts_only_up_to_now_and_an_open_outage_runs_on() {
        let changes = [(at(7, 6), ComponentStatus::MajorOutage)];
        let bars = bars(&changes, at(7, 12), 2);
        // Half of the twelve hours so far.
        assert_eq!(bars[1].percent, 50.0);
        assert_eq!(bars[0].percent, 100.0);
        assert_eq!(overall(&bars), 75.0);
    }
}
