//! Time as the store holds it: UTC instants with a fixed offset.

use sea_orm::prelude::DateTimeWithTimeZone;

/// Now, to the microsecond: what both databases keep, so a row's answer on
/// creation equals what reading it back gives.
pub fn now() -> DateTimeWithTimeZone {
    use chrono::DurationRound as _;
    let now = chrono::Utc::now();
    now.duration_trunc(chrono::TimeDelta::microseconds(1))
        .unwrap_or(now)
        .fixed_offset()
}

/// `t + d`, saturating instead of overflowing on absurd durations.
pub fn after(t: DateTimeWithTimeZone, d: std::time::Duration) -> DateTimeWithTimeZone {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(t)
}

/// `t - d`, saturating like [`after`].
pub fn before(t: DateTimeWithTimeZone, d: std::time::Duration) -> DateTimeWithTimeZone {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_sub_signed(d))
        .unwrap_or(t)
}
