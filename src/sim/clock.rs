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
}
