//! Deadlines that never overflow.

use std::time::Duration;

use tokio::time::Instant;

/// About thirty years: far enough to mean "never", small enough to add to any `Instant`.
const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `from + d`, saturating at a far-future instant instead of panicking on overflow (a caller may
/// pass `Duration::MAX` to mean "no timeout").
pub(crate) fn deadline_after(from: Instant, d: Duration) -> Instant {
    from.checked_add(d.min(FAR)).unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_saturate_instead_of_panicking() {
        let now = Instant::now();
        assert!(deadline_after(now, Duration::MAX) > now + Duration::from_secs(86_400 * 365));
        assert_eq!(deadline_after(now, Duration::ZERO), now);
    }
}
