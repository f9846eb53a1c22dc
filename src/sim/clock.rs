//! The virtual clock: `--time-scale K` runs K seconds of scheduler time per real second.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug)]
pub struct Clock {
    started: Instant,
    start_ms: i64,
    scale: f64,
}

impl Clock {
    /// A clock that starts at the current wall-clock time and runs `scale` times faster.
    pub fn new(scale: f64) -> Self {
        let start_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self::starting_at(start_ms, scale)
    }

    /// A clock for a scheduler that recovered its state: as `new`, but never before `last_ms`,
    /// the latest virtual time recorded, so that virtual time does not go backwards across a
    /// restart or a failover (even when the last run went faster than real time).
    pub fn resuming(last_ms: Option<i64>, scale: f64) -> Self {
        let clock = Self::new(scale);
        match last_ms {
            Some(last) if last > clock.start_ms => Self::starting_at(last, scale),
            _ => clock,
        }
    }

    pub fn starting_at(start_ms: i64, scale: f64) -> Self {
        Clock {
            started: Instant::now(),
            start_ms,
            scale,
        }
    }

    /// Virtual time now, in epoch milliseconds (the unit of every timestamp in the API).
    pub fn now_ms(&self) -> i64 {
        self.start_ms + (self.started.elapsed().as_secs_f64() * 1000.0 * self.scale) as i64
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_time_never_goes_backwards_and_starts_where_asked() {
        let clock = Clock::starting_at(1_000, 100.0);
        let a = clock.now_ms();
        let b = clock.now_ms();
        assert!(a >= 1_000 && b >= a);
    }

    #[test]
    fn a_resumed_clock_starts_no_earlier_than_the_last_recorded_time() {
        let wall = Clock::new(1.0).now_ms();
        let ahead = wall + 3_600_000;
        assert!(Clock::resuming(Some(ahead), 1.0).now_ms() >= ahead);
        let behind = Clock::resuming(Some(1_000), 1.0).now_ms();
        assert!(behind >= wall, "an old record does not hold the clock back");
        assert!(Clock::resuming(None, 1.0).now_ms() >= wall);
    }
}
