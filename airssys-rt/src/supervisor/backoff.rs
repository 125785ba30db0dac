//! Restart backoff and the restart-intensity window.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::RestartIntensity;

/// How long a supervisor waits before restarting a child.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use airssys_rt::Backoff;
///
/// let b = Backoff::exponential();
/// let secs: Vec<u64> = (0..7).map(|n| b.base_delay(n).as_secs()).collect();
/// assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum Backoff {
    /// Restart at once.
    #[default]
    Immediate,
    /// Always wait this long.
    Delayed(Duration),
    /// `initial × factorⁿ` for the n-th restart in a row, capped at `max`; with `jitter` in
    /// `0.0..=1.0` the delay is shortened by a random fraction of at most `jitter` (so it never
    /// exceeds the un-jittered value).
    Exponential {
        /// The first delay.
        initial: Duration,
        /// The growth factor.
        factor: u32,
        /// The cap.
        max: Duration,
        /// The random fraction taken off, `0.0` for none.
        jitter: f64,
    },
}

impl Backoff {
    /// 1 s, doubling, capped at 30 s, no jitter: 1 → 2 → 4 → 8 → 16 → 30 → 30 s.
    #[must_use]
    pub fn exponential() -> Self {
        Self::Exponential {
            initial: Duration::from_secs(1),
            factor: 2,
            max: Duration::from_secs(30),
            jitter: 0.0,
        }
    }

    /// The same backoff with jitter (clamped to `0.0..=1.0`; no effect unless exponential).
    #[must_use]
    pub fn with_jitter(self, fraction: f64) -> Self {
        match self {
            Self::Exponential {
                initial,
                factor,
                max,
                ..
            } => Self::Exponential {
                initial,
                factor,
                max,
                jitter: if fraction.is_nan() {
                    0.0
                } else {
                    fraction.clamp(0.0, 1.0)
                },
            },
            other => other,
        }
    }

    /// The delay before restart number `attempt` (0-based) of a series, without jitter.
    #[must_use]
    pub fn base_delay(&self, attempt: u32) -> Duration {
        match *self {
            Self::Immediate => Duration::ZERO,
            Self::Delayed(d) => d,
            Self::Exponential {
                initial,
                factor,
                max,
                ..
            } => {
                let mut d = initial;
                for _ in 0..attempt {
                    d = d.saturating_mul(factor.max(1));
                    if d >= max {
                        return max;
                    }
                }
                d.min(max)
            }
        }
    }

    /// The delay before restart number `attempt`, with jitter drawn at random.
    #[must_use]
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, fastrand::f64())
    }

    /// The delay with a given random draw `r` in `0.0..1.0`.
    pub(crate) fn delay_with(&self, attempt: u32, r: f64) -> Duration {
        let base = self.base_delay(attempt);
        match *self {
            Self::Exponential { jitter, .. } if jitter > 0.0 => {
                base.mul_f64(1.0 - jitter * r.clamp(0.0, 1.0))
            }
            _ => base,
        }
    }
}

/// The sliding window of recent restarts.
#[derive(Debug)]
pub(crate) struct RestartWindow {
    intensity: RestartIntensity,
    times: VecDeque<Instant>,
}

impl RestartWindow {
    pub(crate) fn new(intensity: RestartIntensity) -> Self {
        Self {
            intensity,
            times: VecDeque::new(),
        }
    }

    /// Records a restart at `now`; `false` when it would exceed the intensity (circuit opens).
    pub(crate) fn record(&mut self, now: Instant) -> bool {
        while let Some(&t) = self.times.front() {
            if now.saturating_duration_since(t) >= self.intensity.within {
                self.times.pop_front();
            } else {
                break;
            }
        }
        if self.times.len() >= self.intensity.max_restarts as usize {
            return false;
        }
        self.times.push_back(now);
        true
    }

    pub(crate) fn clear(&mut self) {
        self.times.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exponential_sequence_doubles_from_one_second_and_caps_at_thirty() {
        let b = Backoff::exponential();
        let got: Vec<u64> = (0..8).map(|n| b.base_delay(n).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn immediate_and_delayed_ignore_the_attempt_number() {
        assert_eq!(Backoff::Immediate.delay(9), Duration::ZERO);
        let d = Duration::from_millis(250);
        assert_eq!(Backoff::Delayed(d).delay(0), d);
        assert_eq!(Backoff::Delayed(d).delay(40), d);
    }

    proptest! {
        #[test]
        fn exponential_delay_is_monotonic_and_capped(
            initial_ms in 1u64..5_000,
            factor in 1u32..5,
            max_ms in 1u64..120_000,
            attempts in 0u32..200,
        ) {
            let b = Backoff::Exponential {
                initial: Duration::from_millis(initial_ms),
                factor,
                max: Duration::from_millis(max_ms),
                jitter: 0.0,
            };
            let max = Duration::from_millis(max_ms);
            let mut prev = Duration::ZERO;
            for n in 0..attempts.min(64) {
                let d = b.base_delay(n);
                prop_assert!(d <= max);
                prop_assert!(d >= prev);
                prev = d;
            }
            // Closed form for the first steps.
            let expect = Duration::from_millis(initial_ms)
                .saturating_mul(factor.saturating_pow(attempts.min(10)))
                .min(max);
            prop_assert_eq!(b.base_delay(attempts.min(10)), expect);
        }

        #[test]
        fn jitter_never_exceeds_the_base_delay_nor_drops_below_its_fraction(
            attempt in 0u32..20, jitter in 0.0f64..=1.0, r in 0.0f64..1.0,
        ) {
            let b = Backoff::exponential().with_jitter(jitter);
            let base = b.base_delay(attempt);
            let d = b.delay_with(attempt, r);
            prop_assert!(d <= base);
            prop_assert!(d >= base.mul_f64(1.0 - jitter) - Duration::from_nanos(1));
        }

        #[test]
        fn restart_window_allows_exactly_max_restarts_within_the_window(
            max in 0u32..6,
            within_ms in 1u64..1_000,
            gaps in proptest::collection::vec(0u64..400, 1..60),
        ) {
            let start = Instant::now();
            let within = Duration::from_millis(within_ms);
            let mut window = RestartWindow::new(RestartIntensity::new(max, within));
            let mut accepted: Vec<Instant> = Vec::new();
            let mut now = start;
            for gap in gaps {
                now += Duration::from_millis(gap);
                let recent = accepted
                    .iter()
                    .filter(|t| now.saturating_duration_since(**t) < within)
                    .count();
                let expected = recent < max as usize;
                prop_assert_eq!(window.record(now), expected);
                if expected {
                    accepted.push(now);
                }
            }
        }
    }
}
