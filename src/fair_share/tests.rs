//! The allocator's behaviour: worked cases (tables), then the properties DRF is known for, in
//! their integer forms, checked over generated clusters (proptest).

use proptest::prelude::*;

use super::*;
use crate::api::aggregate::Amounts;

fn amounts(cpu: f64, ram_mb: i64, disk_mb: i64, gpu: i64) -> Amounts {
    Amounts {
        cpu,
        ram_mb,
        disk_mb,
        gpu,
    }
}

fn framework(job: &str, per_worker: Amounts, demand: u32) -> Framework {
    Framework {
        job: job.into(),
        per_worker,
        demand,
        weight: 1.0,
        min_workers: 0,
        max_workers: None,
    }
}

fn cpu_ram(cpu: f64, ram_mb: i64) -> Capacity {
    Capacity::new(amounts(cpu, ram_mb, 0, 0), &[Kind::Cpu, Kind::Ram])
}

#[test]
fn the_example_of_the_drf_paper_gives_three_and_two_tasks() {
    // Ghodsi et al. §4: 9 CPUs and 18 GB; A's tasks <1 CPU, 4 GB>, B's <3 CPUs, 1 GB>.
    let frameworks = [
        framework("a/prod/x", amounts(1.0, 4096, 0, 0), 100),
        framework("b/prod/x", amounts(3.0, 1024, 0, 0), 100),
    ];
    assert_eq!(
        allocate(&cpu_ram(9.0, 18 * 1024), &frameworks),
        Ok(vec![3, 2])
    );
}

#[test]
fn weights_divide_the_dominant_shares() {
    let worker = amounts(1.0, 1024, 0, 0);
    let mut heavy = framework("a/prod/x", worker, 100);
    heavy.weight = 2.0;
    let light = framework("b/prod/x", worker, 100);
    assert_eq!(
        allocate(&cpu_ram(9.0, 100 * 1024), &[heavy, light]),
        Ok(vec![6, 3])
    );
}

#[test]
fn a_framework_with_little_demand_leaves_the_rest_to_the_others() {
    let worker = amounts(1.0, 1024, 0, 0);
    let frameworks = [
        framework("a/prod/x", worker, 2),
        framework("b/prod/x", worker, 100),
        framework("c/prod/x", worker, 100),
    ];
    assert_eq!(
        allocate(&cpu_ram(12.0, 100 * 1024), &frameworks),
        Ok(vec![2, 5, 5])
    );
}

#[test]
fn minimums_come_first_and_maximums_cap() {
    let worker = amounts(1.0, 1024, 0, 0);
    let mut guaranteed = framework("a/prod/x", worker, 0);
    guaranteed.min_workers = 3;
    let mut capped = framework("b/prod/x", worker, 100);
    capped.max_workers = Some(2);
    let open = framework("c/prod/x", worker, 100);
    assert_eq!(
        allocate(&cpu_ram(10.0, 100 * 1024), &[guaranteed, capped, open]),
        Ok(vec![3, 2, 5])
    );
}

#[test]
fn minimums_that_do_not_fit_are_named() {
    let worker = amounts(2.0, 1024, 0, 0);
    let mut a = framework("a/prod/x", worker, 10);
    a.min_workers = 3;
    let mut b = framework("b/prod/x", worker, 10);
    b.min_workers = 2;
    let c = framework("c/prod/x", worker, 10);
    let error = allocate(&cpu_ram(8.0, 100 * 1024), &[a, b, c]).unwrap_err();
    assert_eq!(error.short, vec![(Kind::Cpu, 10_000, 8_000)]);
    assert_eq!(
        error.to_string(),
        "the min_workers of a/prod/x (3 x 2 CPU, 1024 MiB RAM, 0 MiB disk), b/prod/x (2 x 2 \
         CPU, 1024 MiB RAM, 0 MiB disk) need 10 CPU in all, but the capacity has 8 CPU; lower \
         their min_workers or raise the capacity"
    );
}

#[test]
fn kinds_that_are_not_limited_count_for_nobody() {
    // GPUs are not limited (a quota): the GPU framework's dominant kind is its CPU.
    let capacity = Capacity::new(amounts(8.0, 64 * 1024, 0, 0), &[Kind::Cpu, Kind::Ram]);
    let frameworks = [
        framework("a/prod/gpu", amounts(1.0, 1024, 0, 4), 100),
        framework("b/prod/cpu", amounts(1.0, 1024, 0, 0), 100),
    ];
    assert_eq!(allocate(&capacity, &frameworks), Ok(vec![4, 4]));
    // With GPUs limited to none, a GPU worker never fits.
    let capacity = Capacity::new(amounts(8.0, 64 * 1024, 0, 0), &Kind::ALL);
    assert_eq!(allocate(&capacity, &frameworks), Ok(vec![0, 8]));
}

#[test]
fn a_framework_that_uses_no_limited_kind_gets_its_demand() {
    let capacity = Capacity::new(amounts(0.0, 0, 0, 2), &[Kind::Gpu]);
    let frameworks = [framework("a/prod/x", amounts(1.0, 1024, 0, 0), 7)];
    assert_eq!(allocate(&capacity, &frameworks), Ok(vec![7]));
}

#[test]
fn ties_go_to_the_job_key_that_sorts_first_whatever_the_input_order() {
    let worker = amounts(1.0, 1024, 0, 0);
    let forward = [
        framework("a/prod/x", worker, 100),
        framework("b/prod/x", worker, 100),
        framework("c/prod/x", worker, 100),
    ];
    let backward: Vec<Framework> = forward.iter().rev().cloned().collect();
    assert_eq!(
        allocate(&cpu_ram(8.0, 64 * 1024), &forward),
        Ok(vec![3, 3, 2])
    );
    assert_eq!(
        allocate(&cpu_ram(8.0, 64 * 1024), &backward),
        Ok(vec![2, 3, 3])
    );
}

/// The cluster of the integration target `fair_share` (tests/integration/targets/fair_share):
/// its expected counts come from here.
#[test]
fn the_integration_targets_three_frameworks() {
    let capacity = Capacity::new(amounts(24.0, 48 * 1024, 100 * 1024, 0), &Kind::ALL);
    let mut trainer = framework("ds/devel/trainer-worker", amounts(2.0, 1024, 1024, 0), 20);
    trainer.weight = 2.0;
    let ranker = framework("ds/devel/ranker-worker", amounts(1.0, 4096, 1024, 0), 10);
    let etl = framework("ds/devel/etl-worker", amounts(1.0, 1024, 1024, 0), 20);
    let all = [trainer.clone(), ranker.clone(), etl.clone()];
    assert_eq!(allocate(&capacity, &all), Ok(vec![7, 3, 7]));
    let shares: Vec<f64> = all
        .iter()
        .zip([7, 3, 7])
        .map(|(f, n)| dominant_share(&capacity, &f.per_worker, n) / f.weight)
        .collect();
    assert!(jain_index(&shares) > 0.95, "{shares:?}");

    // The loads change: the trainer has less work (4 workers), the ranker much more.
    let changed = [
        Framework {
            demand: 4,
            ..trainer.clone()
        },
        Framework {
            demand: 30,
            ..ranker.clone()
        },
        etl.clone(),
    ];
    assert_eq!(allocate(&capacity, &changed), Ok(vec![4, 5, 11]));

    // The trainer's work almost ends (1 worker); shrinking at once (no window), two runs.
    let ending = [
        Framework {
            demand: 1,
            ..trainer
        },
        changed[1].clone(),
        etl,
    ];
    let rules = Damping {
        window_secs: 0.0,
        ..Damping::default()
    };
    let step = |current: [u32; 3]| -> Vec<u32> {
        let fair = allocate(&capacity, &ending).unwrap();
        let mut damped: Vec<Damped> = (0..3)
            .map(|i| damp(current[i], fair[i], &ending[i], Some(600.0), &rules))
            .collect();
        fit_growth(&capacity, &ending, &current, &mut damped, &rules);
        damped.iter().map(|d| d.target).collect()
    };
    assert_eq!(allocate(&capacity, &ending), Ok(vec![1, 7, 15]));
    // At most half the trainer's 4 workers go; the others grow into them, at the same shares.
    assert_eq!(step([4, 5, 11]), [2, 6, 14]);
    // The etl's 15th worker is within the tolerance of its 14.
    assert_eq!(step([2, 6, 14]), [1, 7, 14]);
}

#[test]
fn jain_index_is_one_for_equal_shares_and_one_over_n_for_one_taking_all() {
    assert_eq!(jain_index(&[0.2, 0.2, 0.2]), 1.0);
    assert!((jain_index(&[0.9, 0.0, 0.0]) - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(jain_index(&[]), 1.0);
}

#[test]
fn the_dominant_share_is_the_largest_fraction_of_a_limited_kind() {
    let capacity = cpu_ram(10.0, 10 * 1024);
    let share = dominant_share(&capacity, &amounts(1.0, 2048, 0, 0), 3);
    assert!((share - 0.6).abs() < 1e-12);
    assert_eq!(dominant_share(&capacity, &amounts(1.0, 2048, 0, 0), 0), 0.0);
}

// Damping.

fn plain(max_workers: Option<u32>, min_workers: u32) -> Framework {
    Framework {
        min_workers,
        max_workers,
        ..framework("a/prod/x", amounts(1.0, 1024, 0, 0), 0)
    }
}

#[test]
fn damping_follows_the_rules_of_the_autoscaler() {
    let rules = Damping {
        tolerance: 0.1,
        max_scale_down_percent: 50.0,
        window_secs: 300.0,
    };
    // (current, fair, since the last change, min, max) -> (target, action)
    type Case<'a> = (u32, u32, Option<f64>, u32, Option<u32>, u32, &'a str);
    let cases: &[Case] = &[
        (10, 10, None, 0, None, 10, "unchanged"),
        (10, 11, None, 0, None, 10, "unchanged"),
        (10, 9, None, 0, None, 10, "unchanged"),
        (10, 12, None, 0, None, 12, "grow"),
        (0, 3, None, 0, None, 3, "grow"),
        (3, 4, Some(0.0), 0, None, 4, "grow"),
        (10, 6, None, 0, None, 6, "shrink"),
        (10, 2, None, 0, None, 5, "shrink"),
        (3, 0, None, 0, None, 2, "shrink"),
        (1, 0, None, 0, None, 0, "shrink"),
        (10, 6, Some(120.0), 0, None, 10, "held"),
        (10, 6, Some(-30.0), 0, None, 10, "held"),
        (10, 6, Some(301.0), 0, None, 6, "shrink"),
        (9, 10, None, 10, None, 10, "grow"),
        (12, 4, Some(0.0), 0, Some(8), 8, "shrink"),
    ];
    for &(current, fair, since, min, max, target, action) in cases {
        let damped = damp(current, fair, &plain(max, min), since, &rules);
        let got = match damped.why {
            Why::AtFairShare | Why::WithinTolerance => "unchanged",
            Why::Grow | Why::GrowthTrimmed => "grow",
            Why::Shrink | Why::ShrinkLimited | Why::AboveMax => "shrink",
            Why::Held { .. } => "held",
        };
        assert_eq!(
            (damped.target, got),
            (target, action),
            "{current} -> {fair}, since {since:?}, min {min}, max {max:?}: {:?}",
            damped.why
        );
    }
}

#[test]
fn growth_is_cut_to_what_held_shrinking_leaves() {
    // a holds 6 of 8 CPUs, its shrink to 4 held by the window; b's fair share of 4 needs 2
    // more than are left.
    let capacity = cpu_ram(8.0, 64 * 1024);
    let worker = amounts(1.0, 1024, 0, 0);
    let frameworks = [
        framework("a/prod/x", worker, 4),
        framework("b/prod/x", worker, 10),
    ];
    let current = [6, 1];
    let rules = Damping::default();
    let mut damped = vec![
        damp(6, 4, &frameworks[0], Some(10.0), &rules),
        damp(1, 4, &frameworks[1], None, &rules),
    ];
    fit_growth(&capacity, &frameworks, &current, &mut damped, &rules);
    assert_eq!(damped[0].target, 6);
    assert!(matches!(damped[0].why, Why::Held { .. }));
    assert_eq!(
        damped[1],
        Damped {
            target: 2,
            why: Why::GrowthTrimmed
        }
    );
}

// Properties, integer forms. Units: CPU in quarters of a core, RAM and disk in 256 MiB, GPUs.

#[derive(Clone, Debug)]
struct Case {
    capacity: Capacity,
    frameworks: Vec<Framework>,
}

fn worker_shape() -> impl Strategy<Value = Amounts> {
    (1u32..=8, 1i64..=16, 0i64..=4, 0i64..=2).prop_map(|(quarters, ram, disk, gpu)| {
        amounts(f64::from(quarters) * 0.25, ram * 256, disk * 256, gpu)
    })
}

fn case(with_minimums: bool) -> impl Strategy<Value = Case> {
    let capacity = (
        4u32..=64,
        4i64..=128,
        0i64..=32,
        0i64..=6,
        any::<[bool; 4]>(),
    )
        .prop_map(|(quarters, ram, disk, gpu, limited)| Capacity {
            total: amounts(f64::from(quarters) * 0.25, ram * 256, disk * 256, gpu),
            limited,
        });
    let one = (
        worker_shape(),
        0u32..=30,
        1u32..=4,
        0u32..=if with_minimums { 3 } else { 0 },
        proptest::option::of(0u32..=20),
    );
    (capacity, proptest::collection::vec(one, 1..=6)).prop_map(|(capacity, claims)| Case {
        capacity,
        frameworks: claims
            .into_iter()
            .enumerate()
            .map(
                |(i, (per_worker, demand, weight, min_workers, max))| Framework {
                    job: format!("team{i}/prod/workers"),
                    per_worker,
                    demand,
                    weight: f64::from(weight),
                    min_workers,
                    max_workers: max.map(|m| m.max(min_workers)),
                },
            )
            .collect(),
    })
}

fn need(kind: Kind, f: &Framework) -> u128 {
    u128::from(kind.units(&f.per_worker))
}

fn limited(capacity: &Capacity) -> impl Iterator<Item = (Kind, u128)> + '_ {
    Kind::ALL
        .into_iter()
        .filter(|k| capacity.limits(*k))
        .map(|k| (k, u128::from(k.units(&capacity.total))))
}

/// What is left of each limited kind after the allocation.
fn leftover(case: &Case, workers: &[u32]) -> Vec<(Kind, u128)> {
    limited(&case.capacity)
        .map(|(kind, limit)| {
            let used: u128 = case
                .frameworks
                .iter()
                .zip(workers)
                .map(|(f, &n)| need(kind, f) * u128::from(n))
                .sum();
            (kind, limit - used)
        })
        .collect()
}

/// Whether one worker of `f` fits in `left` plus `extra` workers' worth of `plus`.
fn fits(left: &[(Kind, u128)], f: &Framework, plus: Option<&Framework>) -> bool {
    left.iter().all(|&(kind, free)| {
        let more = plus.map_or(0, |p| need(kind, p));
        need(kind, f) <= free + more
    })
}

/// The weighted dominant share of `n` workers as an exact fraction: (numerator, denominator).
fn share(case: &Case, f: &Framework, n: u32) -> (u128, u128) {
    let mut best = (0u128, 1u128);
    for (kind, limit) in limited(&case.capacity) {
        let d = need(kind, f);
        if d > 0 && limit > 0 && d * best.1 > best.0 * limit {
            best = (d, limit);
        }
    }
    (u128::from(n) * best.0, best.1 * f.weight as u128)
}

fn at_most(a: (u128, u128), b: (u128, u128)) -> bool {
    a.0 * b.1 <= b.0 * a.1
}

/// Progressive filling as the paper states it, one worker at a time: the framework whose next
/// worker gives the lowest weighted dominant share (ties to the job key that sorts first) gets it
/// if it fits, else stops for good. `allocate` gives several workers per turn; it must agree.
fn one_worker_at_a_time(case: &Case) -> Option<Vec<u32>> {
    let frameworks = &case.frameworks;
    let mut workers: Vec<u32> = frameworks.iter().map(|f| f.min_workers).collect();
    let mut left: Vec<(Kind, u128)> = leftover(case, &workers);
    if left.len() < limited(&case.capacity).count() {
        return None;
    }
    let mut stopped = vec![false; frameworks.len()];
    loop {
        let next = (0..frameworks.len())
            .filter(|&i| !stopped[i] && workers[i] < frameworks[i].ceiling())
            .min_by(|&a, &b| {
                let (sa, sb) = (
                    share(case, &frameworks[a], workers[a] + 1),
                    share(case, &frameworks[b], workers[b] + 1),
                );
                (sa.0 * sb.1)
                    .cmp(&(sb.0 * sa.1))
                    .then(frameworks[a].job.cmp(&frameworks[b].job))
            });
        let Some(i) = next else { return Some(workers) };
        if fits(&left, &frameworks[i], None) {
            for (kind, free) in &mut left {
                *free -= need(*kind, &frameworks[i]);
            }
            workers[i] += 1;
        } else {
            stopped[i] = true;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Several workers per turn give the same counts as one at a time.
    #[test]
    fn the_same_counts_as_one_worker_at_a_time(case in case(true)) {
        let Ok(workers) = allocate(&case.capacity, &case.frameworks) else {
            return Ok(());
        };
        prop_assert_eq!(Some(workers), one_worker_at_a_time(&case));
    }

    /// Counts lie within each framework's bounds and the allocation fits the capacity.
    #[test]
    fn counts_respect_bounds_and_capacity(case in case(true)) {
        let Ok(workers) = allocate(&case.capacity, &case.frameworks) else {
            return Ok(());
        };
        for (f, &n) in case.frameworks.iter().zip(&workers) {
            prop_assert!(n >= f.min_workers && n <= f.ceiling(), "{} got {n}", f.job);
            if let Some(max) = f.max_workers {
                prop_assert!(n <= max.max(f.min_workers));
            }
        }
        for (kind, limit) in limited(&case.capacity) {
            let used: u128 = case.frameworks.iter().zip(&workers)
                .map(|(f, &n)| need(kind, f) * u128::from(n)).sum();
            prop_assert!(used <= limit, "{kind:?}: {used} > {limit}");
        }
    }

    /// Minimums are met whenever they fit together; otherwise the error names exactly the
    /// frameworks that have minimums.
    #[test]
    fn minimums_are_met_or_named(case in case(true)) {
        let fit = limited(&case.capacity).all(|(kind, limit)| {
            let needed: u128 = case.frameworks.iter()
                .map(|f| need(kind, f) * u128::from(f.min_workers)).sum();
            needed <= limit
        });
        match allocate(&case.capacity, &case.frameworks) {
            Ok(workers) => {
                prop_assert!(fit);
                for (f, n) in case.frameworks.iter().zip(workers) {
                    prop_assert!(n >= f.min_workers);
                }
            }
            Err(shortfall) => {
                prop_assert!(!fit);
                let named = case.frameworks.iter().filter(|f| f.min_workers > 0).count();
                prop_assert_eq!(shortfall.frameworks.len(), named);
            }
        }
    }

    /// Pareto efficiency: no framework below its ceiling could get one more worker from what is
    /// left, so none can grow without another shrinking.
    #[test]
    fn pareto_efficient(case in case(true)) {
        let Ok(workers) = allocate(&case.capacity, &case.frameworks) else {
            return Ok(());
        };
        let left = leftover(&case, &workers);
        for (f, &n) in case.frameworks.iter().zip(&workers) {
            if n < f.ceiling() {
                prop_assert!(!fits(&left, f, None), "{} could still grow from {n}", f.job);
            }
        }
    }

    /// Sharing incentive: each framework gets at least what its weighted slice of the cluster
    /// (weight / total weight of every resource) would hold, within its ceiling.
    #[test]
    fn sharing_incentive(case in case(false)) {
        let workers = allocate(&case.capacity, &case.frameworks).unwrap();
        let total: u128 = case.frameworks.iter().map(|f| f.weight as u128).sum();
        for (f, &n) in case.frameworks.iter().zip(&workers) {
            let slice = limited(&case.capacity)
                .filter(|&(kind, _)| need(kind, f) > 0)
                .map(|(kind, limit)| (f.weight as u128 * limit) / (total * need(kind, f)))
                .min();
            let Some(slice) = slice else { continue };
            let entitled = u32::try_from(slice).unwrap_or(u32::MAX).min(f.ceiling());
            prop_assert!(n >= entitled, "{} got {n} < {entitled}", f.job);
        }
    }

    /// Envy-freeness up to one worker: a framework i below its ceiling, given the bundle of
    /// another framework j scaled by their weights, could run at most one worker more than it
    /// has, and j's weighted dominant share is at most i's with one more worker. It holds for
    /// every j whose last worker was given while i could still grow: whenever i's worker would
    /// fit in what is left plus one worker of j (otherwise i stopped first, for lack of room).
    #[test]
    fn envy_free_up_to_one_worker(case in case(true)) {
        let Ok(workers) = allocate(&case.capacity, &case.frameworks) else {
            return Ok(());
        };
        let left = leftover(&case, &workers);
        for (i, fi) in case.frameworks.iter().enumerate() {
            if workers[i] >= fi.ceiling() {
                continue;
            }
            for (j, fj) in case.frameworks.iter().enumerate() {
                if i == j || workers[j] <= fj.min_workers || !fits(&left, fi, Some(fj)) {
                    continue;
                }
                prop_assert!(
                    at_most(share(&case, fj, workers[j]), share(&case, fi, workers[i] + 1)),
                    "{} ({}) envies {} ({})", fi.job, workers[i], fj.job, workers[j]
                );
                let from_bundle = limited(&case.capacity)
                    .filter(|&(kind, _)| need(kind, fi) > 0)
                    .map(|(kind, _)| {
                        (fi.weight as u128 * u128::from(workers[j]) * need(kind, fj))
                            / (fj.weight as u128 * need(kind, fi))
                    })
                    .min();
                if let Some(m) = from_bundle {
                    prop_assert!(
                        m.min(u128::from(fi.ceiling())) <= u128::from(workers[i]) + 1,
                        "{} ({}) could run {m} with {}'s bundle", fi.job, workers[i], fj.job
                    );
                }
            }
        }
    }

    /// Strategy-proofness: declaring more demand than it has never gives a framework more
    /// useful workers than its real demand gets it.
    #[test]
    fn declaring_more_demand_gains_nothing(case in case(true), who in 0usize..6, more in 1u32..=20) {
        let Ok(truthful) = allocate(&case.capacity, &case.frameworks) else {
            return Ok(());
        };
        let who = who % case.frameworks.len();
        let mut inflated = case.frameworks.clone();
        inflated[who].demand += more;
        let lying = allocate(&case.capacity, &inflated).unwrap();
        let useful = lying[who].min(case.frameworks[who].ceiling());
        prop_assert!(useful <= truthful[who], "{useful} > {}", truthful[who]);
        if truthful[who] < case.frameworks[who].ceiling() {
            prop_assert_eq!(&lying, &truthful);
        }
    }

    /// Weights: frameworks with the same workers and ample demand get counts in proportion to
    /// their weights, up to one worker: n_j / w_j <= (n_i + 1) / w_i.
    #[test]
    fn counts_follow_weights(
        shape in worker_shape(),
        weights in proptest::collection::vec(1u32..=5, 2..=5),
        size in 8u32..=80,
    ) {
        let capacity = Capacity::new(shape.times(i32::try_from(size).unwrap()), &Kind::ALL);
        let frameworks: Vec<Framework> = weights.iter().enumerate().map(|(i, &w)| Framework {
            weight: f64::from(w),
            ..framework(&format!("team{i}/prod/workers"), shape, 1000)
        }).collect();
        let workers = allocate(&capacity, &frameworks).unwrap();
        prop_assert_eq!(workers.iter().sum::<u32>(), size);
        for (i, &wi) in weights.iter().enumerate() {
            for (j, &wj) in weights.iter().enumerate() {
                prop_assert!(workers[j] * wi <= (workers[i] + 1) * wj, "{workers:?} for {weights:?}");
            }
        }
    }

    /// Determinism: the same frameworks in any order get the same counts.
    #[test]
    fn the_order_of_the_input_does_not_matter(case in case(true), rotate in 0usize..6) {
        let Ok(workers) = allocate(&case.capacity, &case.frameworks) else {
            return Ok(());
        };
        let n = case.frameworks.len();
        let mut shuffled: Vec<(Framework, u32)> =
            case.frameworks.iter().cloned().zip(workers).collect();
        shuffled.rotate_left(rotate % n);
        shuffled.reverse();
        let (frameworks, expected): (Vec<Framework>, Vec<u32>) = shuffled.into_iter().unzip();
        prop_assert_eq!(allocate(&case.capacity, &frameworks).unwrap(), expected);
    }

    /// Damping never moves a count away from its fair share, shrinks by at most the per-run
    /// limit, and holds every shrink within the window.
    #[test]
    fn damping_moves_towards_the_fair_share(
        current in 0u32..50, fair in 0u32..50, since in proptest::option::of(-100.0f64..1000.0),
    ) {
        let rules = Damping::default();
        let damped = damp(current, fair, &plain(None, 0), since, &rules);
        let (low, high) = (current.min(fair), current.max(fair));
        prop_assert!(damped.target >= low && damped.target <= high);
        if damped.target < current {
            let limit = ((f64::from(current) * 0.5).floor() as u32).max(1);
            prop_assert!(current - damped.target <= limit);
            prop_assert!(since.is_none_or(|s| s >= rules.window_secs));
        }
    }

    /// Damped targets never overbook a capacity that held the current counts.
    #[test]
    fn damped_targets_fit_when_the_current_counts_did(
        case in case(false),
        before in proptest::collection::vec(0u32..=12, 6),
        ages in proptest::collection::vec(proptest::option::of(0.0f64..600.0), 6),
    ) {
        let n = case.frameworks.len();
        // Counts that fit: an allocation for other demands.
        let earlier: Vec<Framework> = case.frameworks.iter().zip(&before)
            .map(|(f, &demand)| Framework { demand, ..f.clone() })
            .collect();
        let current = allocate(&case.capacity, &earlier).unwrap();
        let fair = allocate(&case.capacity, &case.frameworks).unwrap();
        let rules = Damping::default();
        let mut damped: Vec<Damped> = (0..n)
            .map(|i| damp(current[i], fair[i], &case.frameworks[i], ages[i], &rules))
            .collect();
        fit_growth(&case.capacity, &case.frameworks, &current, &mut damped, &rules);
        for (kind, limit) in limited(&case.capacity) {
            let used: u128 = case.frameworks.iter().zip(&damped)
                .map(|(f, d)| need(kind, f) * u128::from(d.target)).sum();
            prop_assert!(used <= limit, "{kind:?}: {used} > {limit}");
        }
    }
}
