//! The documentation of `fair_share`: what ansible-doc shows besides the options.

use crate::ansible::{Documentation, Support};

pub fn documentation() -> Documentation {
    Documentation::new("Give competing batch frameworks their fair shares of workers")
        .description(
            "Sets the number of workers of several batch frameworks that share a capacity (an \
             explicit budget, a role's production quota, or the free capacity of some agent \
             hosts) by weighted Dominant Resource Fairness, the policy of Mesos' allocator: each \
             framework's dominant share is its largest share of any resource, and the weighted \
             dominant shares are raised together, one worker at a time, each framework capped \
             by its demand and C(max_workers); C(min_workers) come first, and the task fails \
             naming the frameworks when they do not fit. Equal shares go to the job key that \
             sorts first.",
        )
        .description(
            "A framework's demand is its load divided by C(work_per_worker), rounded up; the \
             load is given (C(load)) or read from its master (C(load_url), C(load_field)). When \
             the load cannot be read, or another update of its worker job is in flight, the \
             framework keeps its count and the result says why.",
        )
        .description(
            "Counts do not flap: a fair share within C(tolerance) of the count changes nothing, \
             a run removes at most C(scale_down_limit_percent) of a framework's workers, and a \
             framework the allocator changed less than C(scale_down_window_secs) ago is not \
             shrunk (Kubernetes' Horizontal Pod Autoscaler's rules). The scheduler is the \
             memory: the time of the allocator's last update of each worker job, so runs keep \
             no state and two controllers cannot disagree about history. Growth is cut to what \
             the capacity holds while shrinking is held back.",
        )
        .description(
            "Counts change through Aurora's job updater, as M(aurora.scheduler.instances) does: \
             for each changed framework, one update of its running configuration limited to the \
             instances added or removed, rolled out with the job's own update settings (batch \
             size, SLA awareness), and tagged in its metadata with who decided it and on which \
             figures. Shrinking frameworks are updated and waited for before growing ones, so \
             that growth does not land PENDING.",
        )
        .note(
            "Check mode reads the scheduler and the loads, and returns the plan: nothing is \
             changed.",
        )
        .note(
            "The batch framework role's C(aurora_batch_framework_workers=auto) leaves the worker \
             count to this module: its re-runs keep the count set here. \
             C(playbooks/rebalance.yml) runs this module once; C(aurora-ansible rebalance \
             --config FILE --every SECONDS) runs it in a loop, as an Aurora service \
             (C(playbooks/rebalance_service.yml)).",
        )
        .examples(EXAMPLES)
        .returns(RETURN)
        .check_mode(Support::Full)
        .diff_mode(Support::Full)
}

const EXAMPLES: &str = r#"- name: Share 40 cores among two teams' frameworks, by load
  aurora.scheduler.fair_share:
    scheduler_url: http://aurora.example.com:8081
    capacity: {cpu: 40, ram: 80GiB, disk: 400GiB}
    frameworks:
      - job: ds-a/prod/trainer-worker
        weight: 2
        min_workers: 1
        max_workers: 30
        load: 120
        work_per_worker: 10
      - job: ds-b/prod/ranker-worker
        load_url: http://ranker-master.example.com:8080/stats
        load_field: pending
        work_per_worker: 5
  register: rebalanced

- name: Show the allocation
  ansible.builtin.debug:
    var: rebalanced.table

- name: Share the search team's production quota, shrinking at once
  aurora.scheduler.fair_share:
    capacity_from_quota: search
    scale_down_window_secs: 0
    frameworks:
      - {job: search/prod/tuner-worker, load: 300, work_per_worker: 25}
      - {job: search/prod/indexer-worker, load: 40}

- name: Share what rack r1's hosts have free
  aurora.scheduler.fair_share:
    capacity_from_hosts:
      hosts: "{{ groups['aurora_rack_r1'] }}"
      host_size: {cpu: 16, ram: 64GiB, disk: 1TiB}
    frameworks:
      - {job: ml/prod/trainer-worker, load_url: "http://trainer.example.com/stats"}
"#;

const RETURN: &str = r#"allocation:
  description: Per framework, in the order given, what the run found and decided.
  returned: always
  type: list
  elements: dict
  contains:
    job: {description: The worker job., type: str}
    current: {description: Active workers found., type: int}
    load: {description: The load given or read; null when it could not be read., type: float}
    demand: {description: Workers of work in the load (null when unknown)., type: int}
    fair_share: {description: The weighted DRF count (null when the framework was not sized)., type: int}
    target: {description: "The count after the tolerance, the scale-down limit and the window.", type: int}
    dominant_share: {description: The target's largest fraction of any limited resource., type: float}
    weighted_dominant_share: {description: The dominant share divided by the weight., type: float}
    weight: {description: The framework's weight., type: float}
    action: {description: "C(grow), C(shrink), C(held) (a shrink held back by the window),
        C(unchanged) or C(kept) (not sized: load unreadable, an update in flight, not running).",
        type: str}
    reason: {description: "Why, in words.", type: str}
    update: {description: "The scaling update started or joined, with its last known status.", type: dict, returned: when the count changed}
  sample:
    - {job: ds-a/prod/trainer-worker, current: 4, load: 120.0, demand: 12, fair_share: 9, target: 9,
        dominant_share: 0.45, weighted_dominant_share: 0.225, weight: 2.0, min_workers: 1,
        max_workers: 30, action: grow, reason: grows to its fair share of 9, update: {id:
        5f1c7a9e-3d0a-4c1e-9a51-0e5d2f1b7c11, status: ROLLED_FORWARD}}
jain_index:
  description: Jain's fairness index over the weighted dominant shares of the frameworks that
      compete (those with work for more workers than they get, within C(max_workers)); 1 when those
      shares are equal, or fewer than two frameworks compete.
  returned: always
  type: float
  sample: 0.98
capacity:
  description: The capacity shared (C(shared)), the kinds it limits, and where it came from.
  returned: always
  type: dict
  sample: {source: capacity, shared: {cpu: 40.0, ram_mb: 81920, disk_mb: 409600}, limited: [cpu, ram, disk]}
plan:
  description: The worker jobs that shrink, then those that grow, in that order.
  returned: always
  type: dict
  sample: {shrink: [ds-b/prod/ranker-worker], grow: [ds-a/prod/trainer-worker]}
table:
  description: The allocation as text lines, and Jain's index.
  returned: always
  type: list
  elements: str
scheduler_url:
  description: The scheduler the module talked to.
  returned: always
  type: str
durations:
  description: Seconds spent in all and waiting for updates.
  returned: always
  type: dict
  sample: {total_secs: 12.4, wait_secs: 11.9}
"#;
