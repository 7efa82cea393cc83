//! Time as the store holds it: UTC instants with a fixed offset.

use sea_orm::prelude::DateTimeWithTimeZone;

pub fn now() -> DateTimeWithTimeZone {
    chrono::Utc::now().fixed_offset()
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
