//! The documentation of `host_maintenance`: description, examples and return values.

use crate::ansible::{Documentation, Support};

pub fn documentation() -> Documentation {
    Documentation::new(
        "Put Aurora agent hosts in maintenance, drain them, or end their maintenance",
    )
    .description(
        "C(state=scheduled) marks hosts for maintenance: the scheduler places new tasks \
             elsewhere when it can; running tasks stay. C(state=drained) moves every task off, \
             batch by batch, and waits for DRAINED. C(state=active) ends the maintenance and \
             waits for NONE. C(state) is required: a drain is never the silent default. Hosts \
             already in the wanted mode are left alone (C(changed=false)).",
    )
    .description(
        "C(drain=sla) (the default) keeps every job within its SLA, whatever its size or tier \
             (the scheduler itself checks only production jobs of 20 instances or more). A job's \
             SLA is its own C(sla_policy), else C(sla_policy) here (95%, an instance counting as \
             up once RUNNING for 60 s), read as Aurora reads it: a policy that lets no instance \
             go down is relaxed to one, so jobs of up to 20 instances keep N-1 of N up. The \
             module plans which hosts go down together so that no job loses more at once, and \
             before each batch waits until every job on it can lose its instances there and \
             still keep its SLA (the instances moved by the previous batch up elsewhere, \
             measured on the scheduler's clock).",
    )
    .description(
        "Make before break: a service that would lose its only instance (or more instances on \
             one host than its SLA allows) first gets extra instances elsewhere through the job \
             updater, tagged so that a re-run recognises them; once the moved instances run \
             again, the job returns to its own count. A job whose metadata says \
             C(single_copy=true), such as a batch framework's master, is never given a second \
             copy: the drain of its host is refused unless the job is listed in \
             C(allow_downtime). Batch jobs and cron runs are rescheduled elsewhere, as Aurora \
             does, within their SLA.",
    )
    .description(
        "When no safe plan exists, the task fails before anything is drained, naming each job, \
             its hosts and what would make it safe (C(problems)); check mode fails with the \
             same message. C(drain=force) is the explicit way to ignore SLAs: C(drainHosts) on \
             each batch as sized, every task moved at once.",
    )
    .description(
        "Batches: C(batch_size=auto) (the default) plans the largest safe batches; a number or \
             C(batch_percentage) caps them; C(group_by) (a host attribute such as C(rack)) \
             drains one failure domain at a time, a batch never mixing groups. The module first \
             marks the whole set for maintenance, so that tasks moved off one batch prefer hosts \
             outside the set over hosts drained later. Each safe batch is drained with \
             C(drainHosts), as C(aurora_admin host_drain) does after its own SLA check, or with \
             C(slaDrainHosts) when a task on it has a coordinator SLA, so that its coordinator \
             is asked. Re-running after an interruption carries on from the hosts' current \
             modes, with the SLA given now.",
    )
    .description(
        "On a wait timeout the error says which jobs and instances hold the batch and why \
             (C(blocking)); nothing of a batch still held has been drained.",
    )
    .description(
        "Check mode returns the plan without any change (C(prediction)): per host, the tasks \
             that would move; per job, its instances, the most down at once, the instances that \
             stay running, the SLA, how it is protected and whether the plan keeps it (the \
             idea of C(aurora_admin sla_probe_hosts)).",
    )
    .note(
        "Needs the scheduler's admin permission, and for extra instances the right to update \
             the jobs. Host names the scheduler does not know fail the task, since the scheduler \
             would silently ignore them.",
    )
    .examples(EXAMPLES)
    .returns(RETURN)
    .check_mode(Support::Full)
    .diff_mode(Support::Full)
}

const EXAMPLES: &str = r#"- name: Drain two hosts without any job falling below its SLA
  aurora.scheduler.host_maintenance:
    scheduler_url: http://aurora.example.com:8081
    hosts: [host-001.example.com, host-002.example.com]
    state: drained

- name: Drain a rack where a batch framework's master runs; it may restart elsewhere
  aurora.scheduler.host_maintenance:
    hosts: "{{ groups['aurora_rack_r3'] }}"
    state: drained
    allow_downtime: [search/prod/tuner-master]

- name: Drain a whole fleet one rack at a time, 10 hosts at a time within a rack
  aurora.scheduler.host_maintenance:
    hosts: "{{ groups['aurora_agents'] }}"
    state: drained
    group_by: rack
    batch_size: 10
    sla_policy:
      percentage: 90
      duration_secs: 600
    wait_timeout: 14400

- name: The plan for rack r1, or why it is not safe
  aurora.scheduler.host_maintenance:
    hosts: [host-001.example.com, host-002.example.com]
    state: drained
  check_mode: true
  register: plan

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
  description: On a wait timeout, what still holds the batch (or each host), by job, with its
    instances there, its SLA and how many instances are up, and when the drain is forced (UTC;
    null when the module holds the batch itself or an earlier run asked for the drain).
  returned: failure on timeout
  type: list
  elements: dict
  sample:
    - {host: host-002, job: www-data/prod/web, instances: [3],
       sla: "95% of instances up for 60s; 2 of 4 instances up, 3 needed while the batch drains",
       forced_at: null}
prediction:
  description: The plan. C(hosts) maps each host to drain to the tasks that would move;
    C(batches) are the planned batches; C(jobs) gives per job its active instances
    (C(instances_total)), the most down at once (C(instances_down)), the instances that stay
    running (C(min_running)), the SLA, its C(protection) (C(sla), C(surge) for make before break,
    C(coordinator), C(downtime_allowed)), the extra instances it runs while its hosts drain
    (C(surge)) and whether the plan keeps its SLA (C(holds)).
  returned: in check mode, and with a refused plan
  type: dict
  sample:
    hosts:
      host-001:
        - {job: www-data/prod/web, role: www-data, environment: prod, name: web, instance: 0,
           task_id: www-data-prod-web-0-1f3a, status: RUNNING}
    batches: [[host-001]]
    jobs:
      - {job: www-data/prod/web, instances_total: 1, instances_down: 1, min_running: 1,
         sla: 95% of instances up for 60s, protection: surge, surge: 1, holds: true}
problems:
  description: Why no safe plan exists, per job, with its hosts, the reason and what would make
    it safe.
  returned: when the plan is refused
  type: list
  elements: dict
  sample:
    - job: search/prod/tuner-master
      hosts: [host-001]
      reason: draining stops its only instance, and its metadata single_copy=true forbids a
        second copy
      remedy: list search/prod/tuner-master in allow_downtime to accept its downtime, or move
        it off these hosts first
surged:
  description: The jobs that ran extra instances while their hosts drained (make before break),
    with how many; they are back at their own counts when the task ends, except those in
    C(extra_instances_left).
  returned: success with drain=sla and state=drained
  type: dict
  sample: {www-data/prod/web: 1}
extra_instances_left:
  description: Jobs that keep their extra instances, with their own count, because giving them
    back while the hosts are drained would take them below their SLA (their own instances have
    no room to run); a warning says so. Give them back with M(aurora.scheduler.instances) once
    the hosts are back, as the role C(aurora_host_maintenance) does.
  returned: when some job keeps extra instances
  type: dict
  sample: {www-data/prod/web: 25}
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
