//! Weighted Dominant Resource Fairness in whole workers (Ghodsi et al., "Dominant Resource
//! Fairness", NSDI 2011; the policy of Mesos' allocator). A framework's dominant share is its
//! largest share of any limited resource; progressive filling gives the next worker to the
//! framework whose weighted dominant share would be lowest with it, as long as that worker fits
//! in what is left, until every framework has its demand (within `max_workers`) or no worker of
//! it fits any more. `min_workers` are given first.
//!
//! Shares are compared exactly (integer units, ratios cross-multiplied in 128 bits), so that
//! equal shares really tie, and a tie goes to the job key that sorts first, whatever the order
//! of the input.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fmt;

use crate::api::aggregate::Amounts;

/// A kind of resource the frameworks share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Cpu,
    Ram,
    Disk,
    Gpu,
}

/// Amounts in the allocator's units, one per kind (see `Kind::units`).
type Units = [u64; 4];

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Cpu, Kind::Ram, Kind::Disk, Kind::Gpu];

    /// The name options and results use: `cpu`, `ram`, `disk`, `gpu`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cpu => "cpu",
            Kind::Ram => "ram",
            Kind::Disk => "disk",
            Kind::Gpu => "gpu",
        }
    }

    /// The amount of this kind in `amounts`, in the allocator's unit: CPU in thousandths of a
    /// core (what Aurora's float CPUs can tell apart in practice), RAM and disk in MiB, GPUs.
    /// Negative amounts count as none.
    pub fn units(self, amounts: &Amounts) -> u64 {
        let value = match self {
            Kind::Cpu => (amounts.cpu * 1000.0).round() as i64,
            Kind::Ram => amounts.ram_mb,
            Kind::Disk => amounts.disk_mb,
            Kind::Gpu => amounts.gpu,
        };
        u64::try_from(value).unwrap_or(0)
    }

    /// `units` of this kind in words: `2.5 CPU`, `512 MiB RAM`, `1 GPU`.
    pub fn describe(self, units: u128) -> String {
        match self {
            Kind::Cpu => format!("{} CPU", units as f64 / 1000.0),
            Kind::Ram => format!("{units} MiB RAM"),
            Kind::Disk => format!("{units} MiB disk"),
            Kind::Gpu => format!("{units} GPU"),
        }
    }

    fn units_of(amounts: &Amounts) -> Units {
        Kind::ALL.map(|kind| kind.units(amounts))
    }
}

/// What the frameworks share: an amount of each limited kind. A kind that is not limited (left
/// out of a budget, or GPUs when the capacity is a quota) bounds nobody and counts in no
/// dominant share.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Capacity {
    pub total: Amounts,
    /// Per kind, in the order of `Kind::ALL`.
    pub limited: [bool; 4],
}

impl Capacity {
    /// `total`, limited in `kinds` only.
    pub fn new(total: Amounts, kinds: &[Kind]) -> Capacity {
        Capacity {
            total,
            limited: Kind::ALL.map(|kind| kinds.contains(&kind)),
        }
    }

    pub fn limits(&self, kind: Kind) -> bool {
        self.limited[kind as usize]
    }

    /// What is left once `used` is taken, none of any kind below zero.
    pub fn minus(&self, used: Amounts) -> Capacity {
        let left = self.total.minus(used);
        Capacity {
            total: Amounts {
                cpu: left.cpu.max(0.0),
                ram_mb: left.ram_mb.max(0),
                disk_mb: left.disk_mb.max(0),
                gpu: left.gpu.max(0),
            },
            limited: self.limited,
        }
    }

    /// The limit of each kind in units; `None` where the kind is not limited.
    fn units(&self) -> [Option<u64>; 4] {
        let units = Kind::units_of(&self.total);
        Kind::ALL.map(|kind| self.limits(kind).then_some(units[kind as usize]))
    }
}

/// One framework's claim on the capacity.
#[derive(Clone, Debug, PartialEq)]
pub struct Framework {
    /// Its worker job, `role/environment/name`: ties between equal shares go to the key that
    /// sorts first.
    pub job: String,
    /// What one worker uses.
    pub per_worker: Amounts,
    /// Workers it has work for.
    pub demand: u32,
    /// Its weight: a framework of weight 2 gets twice the dominant share of one of weight 1.
    /// Positive.
    pub weight: f64,
    pub min_workers: u32,
    pub max_workers: Option<u32>,
}

impl Framework {
    /// The most workers it can be given: its demand within `max_workers`, and never less than
    /// `min_workers`.
    pub fn ceiling(&self) -> u32 {
        let wanted = self
            .max_workers
            .map_or(self.demand, |max| self.demand.min(max));
        wanted.max(self.min_workers)
    }
}

/// The capacity cannot hold every framework's `min_workers`.
#[derive(Clone, Debug, PartialEq)]
pub struct Shortfall {
    /// The frameworks with minimums, as `job (N x what one worker uses)`.
    pub frameworks: Vec<String>,
    /// The kinds that are short: what the minimums need in all, and the capacity, in units.
    pub short: Vec<(Kind, u128, u64)>,
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let needed: Vec<String> = self.short.iter().map(|(k, n, _)| k.describe(*n)).collect();
        let capacity: Vec<String> = self
            .short
            .iter()
            .map(|(k, _, c)| k.describe(u128::from(*c)))
            .collect();
        write!(
            f,
            "the min_workers of {} need {} in all, but the capacity has {}; lower their \
             min_workers or raise the capacity",
            self.frameworks.join(", "),
            needed.join(" and "),
            capacity.join(" and ")
        )
    }
}

/// Worker counts by weighted DRF, in the order of `frameworks`. Each count lies between the
/// framework's `min_workers` and its ceiling (`Framework::ceiling`); every `min_workers` is met,
/// or the error names the frameworks whose minimums do not fit.
pub fn allocate(capacity: &Capacity, frameworks: &[Framework]) -> Result<Vec<u32>, Shortfall> {
    allocate_within(capacity, capacity, frameworks)
}

/// `allocate` into `room` only, with the dominant shares still measured against `capacity`
/// (so that frameworks growing into what others leave keep the proportions of the whole).
/// `room` limits the kinds `capacity` limits.
pub fn allocate_within(
    capacity: &Capacity,
    room: &Capacity,
    frameworks: &[Framework],
) -> Result<Vec<u32>, Shortfall> {
    let basis = capacity.units();
    let limits = room.units();
    let claims: Vec<Claim> = frameworks.iter().map(|f| Claim::new(f, &basis)).collect();
    let mut workers: Vec<u32> = frameworks.iter().map(|f| f.min_workers).collect();

    let mut left: Units = [0; 4];
    let mut short = Vec::new();
    for kind in Kind::ALL {
        let k = kind as usize;
        let Some(limit) = limits[k] else { continue };
        let needed: u128 = claims
            .iter()
            .zip(&workers)
            .map(|(c, &n)| u128::from(c.need[k]) * u128::from(n))
            .sum();
        match u64::try_from(needed).ok().filter(|&n| n <= limit) {
            Some(needed) => left[k] = limit - needed,
            None => short.push((kind, needed, limit)),
        }
    }
    if !short.is_empty() {
        return Err(shortfall(frameworks, short));
    }

    // Ties go to the job key that sorts first.
    let mut by_key: Vec<usize> = (0..frameworks.len()).collect();
    by_key.sort_by(|&a, &b| frameworks[a].job.cmp(&frameworks[b].job).then(a.cmp(&b)));
    let mut rank = vec![0; frameworks.len()];
    for (position, &i) in by_key.iter().enumerate() {
        rank[i] = position;
    }

    let mut queue = BinaryHeap::new();
    for (i, (framework, claim)) in frameworks.iter().zip(&claims).enumerate() {
        let ceiling = framework.ceiling();
        if workers[i] >= ceiling {
            continue;
        }
        match claim.dominant {
            // Uses none of the limited kinds: nothing to share, its ceiling it is.
            Dominant::Nothing => workers[i] = ceiling,
            Dominant::NeverFits => {}
            Dominant::Share { .. } => queue.push(Reverse(Next {
                share: claim.share(workers[i] + 1),
                rank: rank[i],
                index: i,
            })),
        }
    }
    while let Some(Reverse(next)) = queue.pop() {
        let i = next.index;
        let claim = &claims[i];
        let ceiling = frameworks[i].ceiling();
        // Worker by worker, it would take every worker while its next share stays the lowest:
        // give them at once (the same counts, without a turn of the queue each).
        let mut grant = ceiling - workers[i];
        if let Some(Reverse(other)) = queue.peek() {
            grant = grant.min(claim.turns_before(workers[i], other, next.rank));
        }
        let given = grant.min(claim.fitting(&left, &limits));
        for k in 0..4 {
            if limits[k].is_some() {
                left[k] -= claim.need[k] * u64::from(given);
            }
        }
        workers[i] += given;
        if given < grant {
            // Its next worker does not fit, and what is left only shrinks: it never will.
            continue;
        }
        if workers[i] < ceiling {
            queue.push(Reverse(Next {
                share: claim.share(workers[i] + 1),
                ..next
            }));
        }
    }
    Ok(workers)
}

fn shortfall(frameworks: &[Framework], short: Vec<(Kind, u128, u64)>) -> Shortfall {
    Shortfall {
        frameworks: frameworks
            .iter()
            .filter(|f| f.min_workers > 0)
            .map(|f| format!("{} ({} x {})", f.job, f.min_workers, f.per_worker))
            .collect(),
        short,
    }
}

/// The dominant share of `workers` workers of `per_worker`: the largest fraction of any limited
/// kind they use (0 when they use none).
pub fn dominant_share(capacity: &Capacity, per_worker: &Amounts, workers: u32) -> f64 {
    if workers == 0 {
        return 0.0;
    }
    let need = Kind::units_of(per_worker);
    capacity
        .units()
        .iter()
        .zip(need)
        .filter_map(|(limit, need)| {
            let limit = (*limit)?;
            (need > 0).then(|| {
                if limit == 0 {
                    f64::INFINITY
                } else {
                    f64::from(workers) * need as f64 / limit as f64
                }
            })
        })
        .fold(0.0, f64::max)
}

/// Jain's fairness index of `shares`: (Σx)² / (n·Σx²), 1 when all are equal, 1/n when one has
/// everything; 1 for no shares or only zeros.
pub fn jain_index(shares: &[f64]) -> f64 {
    let sum: f64 = shares.iter().sum();
    let squares: f64 = shares.iter().map(|x| x * x).sum();
    if shares.is_empty() || squares == 0.0 {
        return 1.0;
    }
    sum * sum / (shares.len() as f64 * squares)
}

/// A framework's need and its dominant kind, in units.
struct Claim {
    need: Units,
    dominant: Dominant,
    /// The weight in millionths (at least 1).
    weight: u128,
}

enum Dominant {
    /// It needs none of the limited kinds.
    Nothing,
    /// It needs a kind whose capacity is zero.
    NeverFits,
    /// One worker's largest fraction of a limited kind: `need / limit`.
    Share { need: u64, limit: u64 },
}

impl Claim {
    fn new(framework: &Framework, limits: &[Option<u64>; 4]) -> Claim {
        let need = Kind::units_of(&framework.per_worker);
        let mut dominant = Dominant::Nothing;
        for k in 0..4 {
            let (Some(limit), true) = (limits[k], need[k] > 0) else {
                continue;
            };
            if limit == 0 {
                dominant = Dominant::NeverFits;
                break;
            }
            let larger = match dominant {
                Dominant::Share { need: n, limit: l } => {
                    u128::from(need[k]) * u128::from(l) > u128::from(n) * u128::from(limit)
                }
                _ => true,
            };
            if larger {
                dominant = Dominant::Share {
                    need: need[k],
                    limit,
                };
            }
        }
        let weight = (framework.weight * 1e6).round();
        let weight = if weight >= 1.0 { weight as u128 } else { 1 };
        Claim {
            need,
            dominant,
            weight,
        }
    }

    /// How many of its workers fit in `left`.
    fn fitting(&self, left: &Units, limits: &[Option<u64>; 4]) -> u32 {
        (0..4)
            .filter(|&k| limits[k].is_some() && self.need[k] > 0)
            .map(|k| left[k] / self.need[k])
            .min()
            .map_or(u32::MAX, |n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// How many workers in a row it gets, from `workers`, before `other`'s turn comes: at least
    /// the one it was chosen for; then each whose share stays below `other`'s (or equal, when
    /// its rank `rank` is lower).
    fn turns_before(&self, workers: u32, other: &Next, rank: usize) -> u32 {
        let Dominant::Share { need, limit } = self.dominant else {
            return 1;
        };
        // The most workers m with m × need / (limit × weight) <= other's share num / den.
        let bound = other
            .share
            .num
            .checked_mul(u128::from(limit))
            .and_then(|x| x.checked_mul(self.weight));
        let per = u128::from(need).checked_mul(other.share.den);
        let (Some(bound), Some(per)) = (bound, per) else {
            return 1;
        };
        let mut most = bound / per;
        if rank > other.rank && bound % per == 0 {
            // At equal shares the other goes first.
            most = most.saturating_sub(1);
        }
        let most = u32::try_from(most).unwrap_or(u32::MAX);
        most.saturating_sub(workers).max(1)
    }

    /// The weighted dominant share of `workers` workers: workers × need / (limit × weight).
    fn share(&self, workers: u32) -> Ratio {
        match self.dominant {
            Dominant::Share { need, limit } => Ratio::new(
                u128::from(workers) * u128::from(need),
                u128::from(limit) * self.weight,
            ),
            _ => Ratio::new(0, 1),
        }
    }
}

/// A non-negative fraction. Fractions far apart compare by their floating-point values (the
/// quick way, right whenever they differ by more than a millionth of a millionth); close ones
/// exactly, while the cross products fit in 128 bits (always, for clusters below millions of
/// hosts).
#[derive(Clone, Copy, Debug)]
struct Ratio {
    num: u128,
    den: u128,
    approx: f64,
}

impl Ratio {
    fn new(num: u128, den: u128) -> Ratio {
        Ratio {
            num,
            den,
            approx: num as f64 / den as f64,
        }
    }
}

impl Ord for Ratio {
    fn cmp(&self, other: &Ratio) -> Ordering {
        let (a, b) = (self.approx, other.approx);
        if (a - b).abs() > 1e-12 * a.max(b) {
            return a.total_cmp(&b);
        }
        match (
            self.num.checked_mul(other.den),
            other.num.checked_mul(self.den),
        ) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.total_cmp(&b),
        }
    }
}

impl PartialOrd for Ratio {
    fn partial_cmp(&self, other: &Ratio) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ratio {
    fn eq(&self, other: &Ratio) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ratio {}

/// The next worker a framework would get: the lowest share goes first, then the lowest rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Next {
    share: Ratio,
    rank: usize,
    index: usize,
}

impl Ord for Next {
    fn cmp(&self, other: &Next) -> Ordering {
        self.share
            .cmp(&other.share)
            .then(self.rank.cmp(&other.rank))
    }
}

impl PartialOrd for Next {
    fn partial_cmp(&self, other: &Next) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
