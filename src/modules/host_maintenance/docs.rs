//! The documentation of `host_maintenance`: description, examples and return values.

use crate::ansible::{Documentation, Support};

pub fn documentation() -> Documentation {
    Documentation::new(
        "Put Aurora agent hosts in maintenance, drain them, or end their maintenance",
    )
    .description(
        "C(state=scheduled) marks hosts for maintenance: the scheduler places new tasks \
             elsewhere when it can; running tasks stay. C(state=drained) (the default) moves \
             every task off and waits for DRAINED. C(state=active) ends the maintenance and waits \
             for NONE. Hosts already in the wanted mode are left alone (C(changed=false)).",
    )
    .description(
        "C(drain=sla) (the default) uses the scheduler's C(slaDrainHosts): a task goes only \
             while its job's SLA holds (the task's own C(sla_policy), else C(sla_policy) here, \
             95% over 30 minutes by default) and the drain is forced after C(sla_timeout). \
             C(drain=force) uses C(drainHosts), which moves every task at once.",
    )
    .description(
        "Fleet mode: C(batch_size) or C(batch_percentage), and C(group_by) (a host attribute \
             such as C(rack), so that one failure domain drains at a time; a batch never mixes \
             groups). The module first marks the whole set for maintenance, so that tasks moved \
             off one batch prefer hosts outside the set over hosts drained later, then drains \
             batch by batch, waiting for each. Re-running after an interruption carries on from \
             the hosts' current modes: DRAINED hosts are skipped, a DRAINING batch is waited for, \
             not asked again.",
    )
    .description(
        "While waiting, and in the error on timeout, the result says which jobs and \
             instances still hold each host (C(blocking)), under which SLA, and when the drain \
             will be forced.",
    )
    .description(
        "Check mode predicts, without any change: per host, the tasks that would move; per \
             job, how many instances would be down at once and whether its SLA would hold (the \
             idea of C(aurora_admin sla_probe_hosts)).",
    )
    .note(
        "Needs the scheduler's admin permission. Host names the scheduler does not know fail \
             the task, since the scheduler would silently ignore them.",
    )
    .note(
        "The scheduler checks SLAs only for jobs with at least \
             C(-min_required_instances_for_sla_check) (20 by default) instances and, unless \
             C(-sla_aware_kill_non_prod), production tiers; the prediction counts every job.",
    )
    .examples(EXAMPLES)
    .returns(RETURN)
    .check_mode(Support::Full)
    .diff_mode(Support::Full)
}

const EXAMPLES: &str = r#"- name: Drain two hosts, keeping 95% of each job's instances up, forced after 7 days
  aurora.scheduler.host_maintenance:
    scheduler_url: http://aurora.example.com:8081
    hosts: [host-001.example.com, host-002.example.com]

- name: Drain a whole fleet one rack at a time, 10 hosts at a time within a rack
  aurora.scheduler.host_maintenance:
    hosts: "{{ groups['aurora_agents'] }}"
    group_by: rack
    batch_size: 10
    sla_policy:
      percentage: 90
      duration_secs: 600
    sla_timeout: 7200
    wait_timeout: 14400

- name: What would a forced drain of rack r1 break?
  aurora.scheduler.host_maintenance:
    hosts: [host-001.example.com, host-002.example.com]
    drain: force
  check_mode: true
  register: prediction

- name: Mark hosts for maintenance without moving anything yet
  aurora.scheduler.host_maintenance:
    hosts: [host-003.example.com]
    state: scheduled

- name: Back in service
  aurora.scheduler.host_maintenance:
    hosts: [host-001.example.com, host-002.example.com]
    state: active
"#;

const RETURN: &str = r#"hosts:
  description: Each host with its mode before and after, sorted by name.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: host-001, mode_before: NONE, mode: DRAINED}
batches:
  description: The batches drained by this run, in order (in check mode, those that would be).
  returned: always
  type: list
  elements: list
  sample: [[host-001, host-002], [host-003]]
blocking:
  description: On a wait timeout, what still holds each host, by job, the SLA that holds it
    back, and when the drain is forced (UTC; null when an earlier run asked for the drain).
  returned: failure on timeout
  type: list
  elements: dict
  sample:
    - {host: host-002, job: www-data/prod/web, instances: [3], sla: 95% of instances up for 1800s,
       forced_at: "2024-05-08T12:00:00Z"}
prediction:
  description: The check-mode prediction. C(hosts) maps each host to drain to the tasks that
    would move; C(jobs) gives per job the active instances, the most down at once, the SLA and
    whether it holds.
  returned: in check mode
  type: dict
  sample:
    hosts:
      host-001:
        - {job: www-data/prod/web, role: www-data, environment: prod, name: web, instance: 0,
           task_id: www-data-prod-web-0-1f3a, status: RUNNING}
    jobs:
      - {job: www-data/prod/web, instances_total: 4, instances_down: 1,
         sla: 95% of instances up for 1800s, holds: false}
scheduler_calls:
  description: How many requests the module made to the scheduler.
  returned: always
  type: int
  sample: 14
scheduler_url:
  description: The scheduler the module talked to.
  returned: success
  type: str
"#;
