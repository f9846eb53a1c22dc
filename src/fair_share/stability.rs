//! How far one run moves each framework towards its fair share, after Kubernetes' Horizontal Pod
//! Autoscaler: no change within a tolerance of the current count (HPA's 10%), at most a share
//! of the workers removed per run, and no shrinking within a stabilisation window after the
//! allocator last changed the framework. The scheduler keeps that time (the allocator's last
//! update of the job), so runs stay stateless. Growth is then cut to what the capacity holds
//! while shrinking is held back, so that the targets never overbook it.

use crate::api::aggregate::Amounts;

use super::drf::{allocate_within, Capacity, Framework};

/// The damping rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Damping {
    /// A change of at most this fraction of the current count is not made.
    pub tolerance: f64,
    /// The most workers one run removes from a framework, in percent of its count (always at
    /// least one worker).
    pub max_scale_down_percent: f64,
    /// Seconds after the allocator last changed a framework during which it is not shrunk.
    pub window_secs: f64,
}

impl Default for Damping {
    fn default() -> Damping {
        Damping {
            tolerance: 0.1,
            max_scale_down_percent: 50.0,
            window_secs: 300.0,
        }
    }
}

/// Why a framework's target is what it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Why {
    /// It has its fair share.
    AtFairShare,
    /// Its fair share is within the tolerance of its count: left alone.
    WithinTolerance,
    /// Grown to its fair share.
    Grow,
    /// Shrunk to its fair share.
    Shrink,
    /// Shrunk towards its fair share by the most one run removes.
    ShrinkLimited,
    /// Not shrunk: the allocator changed it `since_secs` ago, within the stabilisation window.
    Held { since_secs: f64 },
    /// Grown by less than its fair share, or not at all: the capacity is still held by
    /// frameworks whose shrinking is held back or limited.
    GrowthTrimmed,
    /// Above its `max_workers`: brought down to it at once.
    AboveMax,
}

/// A framework's target for this run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Damped {
    pub target: u32,
    pub why: Why,
}

/// Whether `to` is within the tolerance of `from` (never, from zero).
fn within_tolerance(from: u32, to: u32, tolerance: f64) -> bool {
    from > 0 && f64::from(from.abs_diff(to)) <= tolerance * f64::from(from)
}

/// The target of one framework with `current` workers and a fair share of `fair` (within its
/// bounds, as `allocate` gives it); `since_last_change_secs` is the age of the allocator's last
/// update of its job, `None` when it has none.
pub fn damp(
    current: u32,
    fair: u32,
    framework: &Framework,
    since_last_change_secs: Option<f64>,
    damping: &Damping,
) -> Damped {
    let at = |target, why| Damped { target, why };
    if fair == current {
        return at(current, Why::AtFairShare);
    }
    if let Some(max) = framework.max_workers.filter(|&max| current > max) {
        return at(max.max(fair), Why::AboveMax);
    }
    if fair > current {
        // Below min_workers, growth is not a matter of tolerance.
        if current >= framework.min_workers && within_tolerance(current, fair, damping.tolerance) {
            return at(current, Why::WithinTolerance);
        }
        return at(fair, Why::Grow);
    }
    if within_tolerance(current, fair, damping.tolerance) {
        return at(current, Why::WithinTolerance);
    }
    if let Some(since) = since_last_change_secs {
        // A clock behind the scheduler's makes the change look younger, never older.
        let since = since.max(0.0);
        if since < damping.window_secs {
            return at(current, Why::Held { since_secs: since });
        }
    }
    let limit = (f64::from(current) * damping.max_scale_down_percent / 100.0).floor();
    let limit = (limit as u32).max(1);
    if current - fair > limit {
        at(current - limit, Why::ShrinkLimited)
    } else {
        at(fair, Why::Shrink)
    }
}

/// Cuts the growth in `damped` to what `capacity` holds once the others have their targets:
/// frameworks whose shrinking is held back or limited keep workers their fair shares counted
/// as freed. The growing frameworks share the room left by the same DRF (shares measured
/// against the whole capacity), from their current counts up to their targets; growth cut to
/// within the tolerance is not made. All slices are
/// in the order of `frameworks`.
pub fn fit_growth(
    capacity: &Capacity,
    frameworks: &[Framework],
    current: &[u32],
    damped: &mut [Damped],
    damping: &Damping,
) {
    let growing: Vec<usize> = (0..frameworks.len())
        .filter(|&i| damped[i].target > current[i])
        .collect();
    if growing.is_empty() {
        return;
    }
    let mut kept = Amounts::default();
    for (i, framework) in frameworks.iter().enumerate() {
        if !growing.contains(&i) {
            let workers = i32::try_from(damped[i].target).unwrap_or(i32::MAX);
            kept = kept.plus(framework.per_worker.times(workers));
        }
    }
    let room = capacity.minus(kept);
    let claims: Vec<Framework> = growing
        .iter()
        .map(|&i| Framework {
            demand: damped[i].target,
            min_workers: current[i].max(frameworks[i].min_workers),
            max_workers: Some(damped[i].target),
            ..frameworks[i].clone()
        })
        .collect();
    // Shares against the whole capacity, as their fair shares were. When even their current
    // workers do not fit (the capacity shrank), nobody grows.
    let fitted = allocate_within(capacity, &room, &claims)
        .unwrap_or_else(|_| growing.iter().map(|&i| current[i]).collect());
    for (&i, workers) in growing.iter().zip(fitted) {
        if workers >= damped[i].target {
            continue;
        }
        let below_min = current[i] < frameworks[i].min_workers;
        let target = if !below_min && within_tolerance(current[i], workers, damping.tolerance) {
            current[i]
        } else {
            workers
        };
        damped[i] = Damped {
            target,
            why: Why::GrowthTrimmed,
        };
    }
}
