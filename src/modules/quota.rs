//! `aurora.scheduler.quota`: a role's production quota as desired state (an admin call), or read
//! with what production jobs use of it and what is left.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::ansible::{Context, Documentation, Failure, Module, Outcome, Support};
use crate::api::aggregate::Amounts;
use crate::api::keys::check_identifier;
use crate::api::methods::{GetQuota, SetQuota};
use crate::api::types::{GetQuotaResult, Result as Payload};
use crate::spec::size::MIB;
use crate::spec::Size;

use super::support::connection::ConnectionOptions;

pub struct Quota;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The role's quota is set to C(cpu), C(ram) and C(disk) when it differs; an option left
    /// out keeps its current value.
    #[default]
    Present,
    /// Only read: the quota, the production consumption and what is left.
    Info,
}

/// Options of `aurora.scheduler.quota`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Options {
    #[serde(flatten)]
    pub connection: ConnectionOptions,

    /// The role whose quota is set or read.
    pub role: String,

    #[serde(default)]
    pub state: State,

    /// CPU cores the role's production jobs may use in all.
    #[schemars(range(min = 0.0))]
    pub cpu: Option<f64>,

    /// RAM the role's production jobs may use in all, in whole MiB.
    pub ram: Option<Size>,

    /// Disk the role's production jobs may use in all, in whole MiB.
    pub disk: Option<Size>,
}

impl Module for Quota {
    const NAME: &'static str = "quota";
    type Options = Options;

    fn documentation() -> Documentation {
        Documentation::new("Set or read an Aurora role's production quota")
            .description(
                "With C(state=present), sets the CPU, RAM and disk that a role's production jobs \
                 may use in all (the scheduler's admin call C(setQuota)), when the quota differs; \
                 unchanged otherwise.",
            )
            .description(
                "With C(state=info), or in every result, returns the quota, what the role's \
                 production and non-production jobs use, and what is left for production.",
            )
            .note(
                "Only production jobs consume quota. The scheduler refuses a quota below what \
                 production jobs already use.",
            )
            .note("Setting a quota needs the scheduler's admin permission.")
            .examples(EXAMPLES)
            .returns(RETURN)
            .check_mode(Support::Full)
            .diff_mode(Support::Full)
    }

    fn run(options: Options, ctx: &mut Context) -> Result<Outcome, Failure> {
        let role = options.role.as_str();
        check_identifier("role", role).map_err(|e| Failure::new(format!("role: {}", e.0)))?;
        let wanted = requested(&options)?;
        let conn = options.connection.connect()?;
        let found = read_quota(&conn.client, role)?;
        let current = Amounts::of(found.quota.as_ref());

        let target = match (options.state, wanted) {
            (State::Info, _) => current,
            (
                State::Present,
                Requested {
                    cpu,
                    ram_mb,
                    disk_mb,
                },
            ) => Amounts {
                cpu: cpu.unwrap_or(current.cpu),
                ram_mb: ram_mb.unwrap_or(current.ram_mb),
                disk_mb: disk_mb.unwrap_or(current.disk_mb),
                gpu: current.gpu,
            },
        };
        let changed = target != current;
        let mut outcome = Outcome::changed(changed).field("scheduler_url", conn.url.clone());
        if ctx.diff && options.state == State::Present {
            outcome = outcome.diff(current.json(), target.json());
        }
        let (result, msg) = if !changed {
            let msg = match options.state {
                State::Info => format!("quota of {role}"),
                State::Present => format!("quota of {role} is already as asked"),
            };
            (found, msg)
        } else if ctx.check_mode {
            let mut would = found;
            would.quota = Some(target.wire());
            (would, format!("quota of {role} would be set"))
        } else {
            conn.client
                .call_ok(&SetQuota {
                    owner_role: Some(role.to_string()),
                    quota: Some(target.wire()),
                })
                .map_err(|e| Failure::new(format!("setting the quota of {role}: {e}")))?;
            (
                read_quota(&conn.client, role)?,
                format!("quota of {role} set"),
            )
        };
        Ok(outcome.msg(msg).fields(quota_fields(role, &result)))
    }
}

/// What `cpu`, `ram` and `disk` ask for, in the units of the call.
struct Requested {
    cpu: Option<f64>,
    ram_mb: Option<i64>,
    disk_mb: Option<i64>,
}

fn requested(o: &Options) -> Result<Requested, Failure> {
    let mib = |option: &str, size: Option<Size>| -> Result<Option<i64>, Failure> {
        let Some(size) = size else { return Ok(None) };
        if size.bytes() % MIB != 0 {
            return Err(Failure::new(format!(
                "{option}: {size} is not a whole number of MiB; quotas are counted in MiB \
                 (write for example 512MiB or 2GiB)"
            )));
        }
        i64::try_from(size.whole_mib())
            .map(Some)
            .map_err(|_| Failure::new(format!("{option}: {size} is too large")))
    };
    let wanted = Requested {
        cpu: o.cpu,
        ram_mb: mib("ram", o.ram)?,
        disk_mb: mib("disk", o.disk)?,
    };
    if o.state == State::Present
        && wanted.cpu.is_none()
        && wanted.ram_mb.is_none()
        && wanted.disk_mb.is_none()
    {
        return Err(Failure::new(
            "state=present sets a quota: give at least one of cpu, ram and disk (or use \
             state=info to read it)",
        ));
    }
    Ok(wanted)
}

/// The quota of `role` and what its jobs consume (shared with `fair_share`).
pub(crate) fn read_quota(
    client: &crate::api::client::Client,
    role: &str,
) -> Result<GetQuotaResult, Failure> {
    let response = client
        .call_ok(&GetQuota {
            owner_role: Some(role.to_string()),
        })
        .map_err(|e| Failure::new(format!("reading the quota of {role}: {e}")))?;
    match response.result {
        Some(Payload::GetQuotaResult(result)) => Ok(result),
        _ => Err(Failure::new(format!(
            "the scheduler answered getQuota for {role} without a quota"
        ))),
    }
}

fn quota_fields(role: &str, result: &GetQuotaResult) -> serde_json::Map<String, Value> {
    let quota = Amounts::of(result.quota.as_ref());
    let prod = Amounts::of(result.prod_shared_consumption.as_ref());
    let non_prod = Amounts::of(result.non_prod_shared_consumption.as_ref());
    let mut fields = serde_json::Map::new();
    fields.insert("role".into(), json!(role));
    fields.insert("quota".into(), quota.json());
    fields.insert("prod_consumption".into(), prod.json());
    fields.insert("non_prod_consumption".into(), non_prod.json());
    fields.insert("available".into(), quota.minus(prod).json());
    fields
}

const EXAMPLES: &str = r#"- name: Give the ml team's production jobs 64 cores, 256 GiB of RAM and 2 TiB of disk
  aurora.scheduler.quota:
    scheduler_url: http://aurora.example.com:8081
    role: ml
    cpu: 64
    ram: 256GiB
    disk: 2TiB

- name: How much production quota is left for ml?
  aurora.scheduler.quota:
    role: ml
    state: info
  register: ml_quota

- name: Fail early when a deployment would not fit
  ansible.builtin.assert:
    that: ml_quota.available.cpu >= 8
"#;

const RETURN: &str = r#"role:
  description: The role.
  returned: always
  type: str
  sample: ml
quota:
  description: The role's quota (after the change, or as it would be in check mode).
  returned: always
  type: dict
  sample: {cpu: 64.0, ram_mb: 262144, disk_mb: 2097152}
prod_consumption:
  description: What the role's production jobs use.
  returned: always
  type: dict
  sample: {cpu: 12.0, ram_mb: 49152, disk_mb: 102400}
non_prod_consumption:
  description: What the role's non-production jobs use (not counted against the quota).
  returned: always
  type: dict
  sample: {cpu: 3.5, ram_mb: 8192, disk_mb: 20480}
available:
  description: Quota minus production consumption.
  returned: always
  type: dict
  sample: {cpu: 52.0, ram_mb: 212992, disk_mb: 1994752}
scheduler_url:
  description: The scheduler the module talked to.
  returned: always
  type: str
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_that_is_not_whole_mib_is_refused_naming_the_option() {
        let options: Options = serde_json::from_value(
            json!({"role": "ml", "ram": "1.5KiB", "scheduler_url": "http://127.0.0.1:9"}),
        )
        .unwrap();
        let failure = requested(&options).err().unwrap();
        assert!(failure.msg().starts_with("ram:"), "{}", failure.msg());
    }
}
