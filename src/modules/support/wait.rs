//! Waiting on the scheduler: a deadline and a polling loop whose pace suits both aurora-sim
//! (fast virtual time) and a real cluster (no more than one look every two seconds).

use std::time::{Duration, Instant};

use crate::ansible::Failure;

/// First pause between two looks; each later one is 1.5 times longer, up to `MAX_PAUSE`.
const FIRST_PAUSE: Duration = Duration::from_millis(40);
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// When a wait gives up.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    started: Instant,
    limit: Duration,
}

impl Deadline {
    pub fn after_secs(secs: u64) -> Self {
        Deadline {
            started: Instant::now(),
            limit: Duration::from_secs(secs),
        }
    }

    pub fn passed(&self) -> bool {
        self.started.elapsed() >= self.limit
    }

    pub fn limit_secs(&self) -> u64 {
        self.limit.as_secs()
    }

    fn remaining(&self) -> Duration {
        self.limit.saturating_sub(self.started.elapsed())
    }
}

/// What one look found.
pub enum Look<T> {
    Done(T),
    NotYet,
}

/// Looks until `look` is done, fails, or the deadline passes (`Ok(None)`). The first look is
/// immediate; the loop is bounded by the deadline.
pub fn poll<T>(
    deadline: &Deadline,
    mut look: impl FnMut() -> Result<Look<T>, Failure>,
) -> Result<Option<T>, Failure> {
    let mut pause = FIRST_PAUSE;
    loop {
        if let Look::Done(value) = look()? {
            return Ok(Some(value));
        }
        if deadline.passed() {
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline.remaining()));
        pause = (pause * 3 / 2).min(MAX_PAUSE);
    }
}

/// Seconds since `start`, rounded to milliseconds, for results.
pub fn secs_since(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_returns_the_first_done_value() {
        let mut looks = 0;
        let found = poll(&Deadline::after_secs(5), || {
            looks += 1;
            Ok(if looks == 3 {
                Look::Done(looks)
            } else {
                Look::NotYet
            })
        });
        assert_eq!(found.ok().flatten(), Some(3));
    }

    #[test]
    fn poll_gives_up_at_the_deadline() {
        let found: Result<Option<()>, Failure> =
            poll(&Deadline::after_secs(0), || Ok(Look::NotYet));
        assert!(matches!(found, Ok(None)));
    }
}
