//! Time is injected: every deadline and window is computed from a [`Clock`], so tests and
//! training instances (DESIGN §5.2) can move time deliberately.

use std::sync::Mutex;
use std::time::Instant;
use time::{Duration, OffsetDateTime};

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that starts at a chosen instant, moves with real time, and can be advanced.
#[derive(Debug)]
pub struct SimulatedClock {
    start: OffsetDateTime,
    started: Instant,
    advanced: Mutex<Duration>,
}

impl SimulatedClock {
    pub fn new(start: OffsetDateTime) -> Self {
        SimulatedClock {
            start,
            started: Instant::now(),
            advanced: Mutex::new(Duration::ZERO),
        }
    }

    /// Moves the clock forward; time never goes back, so negative amounts are refused.
    pub fn advance(&self, by: Duration) -> Result<OffsetDateTime, &'static str> {
        if by.is_negative() {
            return Err("a simulated clock only moves forward");
        }
        {
            let mut a = self.advanced.lock().unwrap_or_else(|p| p.into_inner());
            *a += by;
        }
        Ok(self.now())
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> OffsetDateTime {
        let advanced = *self.advanced.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = Duration::try_from(self.started.elapsed()).unwrap_or(Duration::ZERO);
        self.start + elapsed + advanced
    }
}

/// A clock that stands still unless told otherwise: for tests.
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    pub fn new(t: OffsetDateTime) -> Self {
        FixedClock(Mutex::new(t))
    }

    pub fn set(&self, t: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn simulated_clock_moves_forward_only() {
        let c = SimulatedClock::new(datetime!(2026-01-05 09:00 +8));
        let t0 = c.now();
        assert!(t0 >= datetime!(2026-01-05 09:00 +8));
        let t1 = c.advance(Duration::days(3)).unwrap();
        assert!(t1 - t0 >= Duration::days(3));
        assert!(c.advance(Duration::seconds(-1)).is_err());
        assert!(c.now() >= t1);
    }
}
