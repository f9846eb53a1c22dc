//! HTTP basic auth as the scheduler does it with Shiro (api-reference §1.6, §5.4): users and roles
//! from an INI file, Shiro wildcard permissions, and the permission each method needs.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context};
use base64::Engine;

use crate::api::methods::{Call, Service};
use crate::api::types::JobKey;

/// The users and role permissions of a `--users` file.
#[derive(Clone, Debug, Default)]
pub struct Users {
    users: HashMap<String, User>,
    roles: HashMap<String, Vec<Permission>>,
}

#[derive(Clone, Debug)]
struct User {
    password: String,
    roles: Vec<String>,
}

/// What the request's `Authorization` header amounts to.
#[derive(Debug, PartialEq, Eq)]
pub enum Identity {
    Anonymous,
    User(String),
    /// Present but wrong: HTTP 401 even for reads (§1.6).
    BadCredentials,
}

/// Why a call may not run, before it reaches the scheduler.
#[derive(Debug, PartialEq, Eq)]
pub enum Denial {
    /// HTTP 401 with a Basic challenge.
    Unauthenticated,
    /// HTTP 200, INVALID_REQUEST: the job key the permission needs is missing or invalid.
    InvalidKey(String),
    /// HTTP 200, AUTH_FAILED.
    Forbidden(String),
}

impl Users {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read users file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid users file {}", path.display()))
    }

    /// Parses Shiro INI: `[users]` `name = password, role...`; `[roles]` `role = permission, ...`.
    /// Other sections are ignored, as the scheduler ignores them.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut users = Users::default();
        let mut section = String::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.trim().to_ascii_lowercase();
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                bail!("line {}: expected `name = value`", n + 1);
            };
            let key = key.trim().to_string();
            let mut values = value
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty());
            match section.as_str() {
                "users" => {
                    let password = values
                        .next()
                        .with_context(|| format!("line {}: user {key} has no password", n + 1))?;
                    users.users.insert(
                        key,
                        User {
                            password,
                            roles: values.collect(),
                        },
                    );
                }
                "roles" => {
                    users
                        .roles
                        .insert(key, values.map(|v| Permission::parse(&v)).collect());
                }
                _ => {}
            }
        }
        if users.users.is_empty() {
            bail!("no [users] entries");
        }
        Ok(users)
    }

    /// Checks an `Authorization` header value (Basic only).
    pub fn identify(&self, authorization: Option<&str>) -> Identity {
        let Some(header) = authorization else {
            return Identity::Anonymous;
        };
        let Some(encoded) = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
        else {
            return Identity::BadCredentials;
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let Some((name, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Identity::BadCredentials;
        };
        match self.users.get(name) {
            Some(user) if user.password == password => Identity::User(name.to_string()),
            _ => Identity::BadCredentials,
        }
    }

    /// Decides whether `identity` may make `call` (§1.6); reads are always allowed.
    pub fn authorize(&self, identity: &Identity, call: &Call) -> Result<(), Denial> {
        if call.service() == Service::ReadOnly {
            return Ok(());
        }
        let Identity::User(name) = identity else {
            return Err(Denial::Unauthenticated);
        };
        let needed = required_permission(call)?;
        let requested = Permission::parse(&needed);
        let granted = self.users[name]
            .roles
            .iter()
            .filter_map(|role| self.roles.get(role))
            .flatten()
            .any(|p| p.implies(&requested));
        if granted {
            Ok(())
        } else {
            Err(Denial::Forbidden(format!(
                "Subject {name} is not permitted to perform action {needed}"
            )))
        }
    }
}

/// The permission string a write method needs (§1.6).
pub fn required_permission(call: &Call) -> Result<String, Denial> {
    let method = call.name();
    if call.service() == Service::Admin {
        return Ok(format!("thrift.AuroraAdmin:{method}"));
    }
    let key = job_key_of(call)
        .filter(|k| k.is_valid())
        .ok_or_else(|| Denial::InvalidKey(format!("{method} needs a valid job key")))?;
    let part = |p: &Option<String>| p.clone().unwrap_or_default();
    Ok(format!(
        "thrift.AuroraSchedulerManager:{method}:{}:{}:{}",
        part(&key.role),
        part(&key.environment),
        part(&key.name)
    ))
}

/// Where each job method's key comes from (§1.6).
fn job_key_of(call: &Call) -> Option<JobKey> {
    match call {
        Call::CreateJob(a) => a.description.as_ref()?.key.clone(),
        Call::ScheduleCronJob(a) => a.description.as_ref()?.key.clone(),
        Call::ReplaceCronTemplate(a) => a.config.as_ref()?.key.clone(),
        Call::DescheduleCronJob(a) => a.job.clone(),
        Call::StartCronJob(a) => a.job.clone(),
        Call::RestartShards(a) => a.job.clone(),
        Call::KillTasks(a) => a.job.clone(),
        Call::AddInstances(a) => a.key.as_ref()?.job_key.clone(),
        Call::StartJobUpdate(a) => a.request.as_ref()?.task_config.as_ref()?.job.clone(),
        Call::PauseJobUpdate(a) => a.key.as_ref()?.job.clone(),
        Call::ResumeJobUpdate(a) => a.key.as_ref()?.job.clone(),
        Call::AbortJobUpdate(a) => a.key.as_ref()?.job.clone(),
        Call::RollbackJobUpdate(a) => a.key.as_ref()?.job.clone(),
        Call::PulseJobUpdate(a) => a.key.as_ref()?.job.clone(),
        _ => None,
    }
}

/// A Shiro wildcard permission: parts split on `:`, sub-parts on `,`, `*` matches anything;
/// compared case-insensitively, as Shiro does by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permission(Vec<Vec<String>>);

impl Permission {
    pub fn parse(text: &str) -> Self {
        Permission(
            text.split(':')
                .map(|part| {
                    part.split(',')
                        .map(|s| s.trim().to_ascii_lowercase())
                        .collect()
                })
                .collect(),
        )
    }

    /// Whether holding `self` grants `other` (Shiro's `WildcardPermission.implies`).
    pub fn implies(&self, other: &Permission) -> bool {
        for (i, wanted) in other.0.iter().enumerate() {
            // A shorter granted permission implies everything below it.
            let Some(granted) = self.0.get(i) else {
                return true;
            };
            if !granted.iter().any(|g| g == "*") && !wanted.iter().all(|w| granted.contains(w)) {
                return false;
            }
        }
        // Extra granted parts must be wildcards.
        self.0
            .iter()
            .skip(other.0.len())
            .all(|part| part.iter().any(|g| g == "*"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::methods::{GetJobs, KillTasks, SetQuota};

    const INI: &str = "
[users]
root = secret, admin
deployer = pw, webapp
reader = pw2
[roles]
admin = *
webapp = thrift.AuroraSchedulerManager:*:webapp, thrift.AuroraAdmin:setQuota
[main]
ignored = yes
";

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    fn kill(role: &str) -> Call {
        Call::KillTasks(KillTasks {
            job: Some(JobKey::new(role, "prod", "web")),
            ..KillTasks::default()
        })
    }

    #[test]
    fn shorter_and_wildcard_permissions_imply_longer_ones() {
        // Shiro wildcard semantics, as the role grants in §1.6 rely on.
        let p = Permission::parse;
        assert!(p("*").implies(&p("thrift.AuroraAdmin:setQuota")));
        assert!(p("thrift.AuroraSchedulerManager:*:webapp").implies(&p(
            "thrift.AuroraSchedulerManager:killTasks:webapp:prod:web"
        )));
        assert!(!p("thrift.AuroraSchedulerManager:*:webapp")
            .implies(&p("thrift.AuroraSchedulerManager:killTasks:other:prod:web")));
        assert!(p("a:b,c").implies(&p("a:c")));
        assert!(!p("a:b:c").implies(&p("a:b")));
        assert!(p("a:b:*").implies(&p("a:b")));
        assert!(p("THRIFT.AuroraAdmin:SETQUOTA").implies(&p("thrift.AuroraAdmin:setQuota")));
    }

    #[test]
    fn credentials_are_checked_and_bad_ones_are_not_anonymous() {
        let users = Users::parse(INI).unwrap();
        assert_eq!(users.identify(None), Identity::Anonymous);
        assert_eq!(
            users.identify(Some(&basic("root", "secret"))),
            Identity::User("root".into())
        );
        assert_eq!(
            users.identify(Some(&basic("root", "wrong"))),
            Identity::BadCredentials
        );
        assert_eq!(users.identify(Some("Basic !!!")), Identity::BadCredentials);
        assert_eq!(
            users.identify(Some("Negotiate abc")),
            Identity::BadCredentials
        );
    }

    #[test]
    fn reads_need_nothing_and_writes_need_a_user_with_the_permission() {
        // §1.6: ReadOnlyScheduler methods never need authentication; the others need the
        // job-scoped or admin permission, else AUTH_FAILED.
        let users = Users::parse(INI).unwrap();
        let read = Call::GetJobs(GetJobs::default());
        assert_eq!(users.authorize(&Identity::Anonymous, &read), Ok(()));
        assert_eq!(
            users.authorize(&Identity::Anonymous, &kill("webapp")),
            Err(Denial::Unauthenticated)
        );
        assert_eq!(
            users.authorize(&Identity::User("deployer".into()), &kill("webapp")),
            Ok(())
        );
        let denied = users
            .authorize(&Identity::User("deployer".into()), &kill("other"))
            .unwrap_err();
        assert_eq!(
            denied,
            Denial::Forbidden(
                "Subject deployer is not permitted to perform action thrift.AuroraSchedulerManager:killTasks:other:prod:web".into()
            )
        );
        let quota = Call::SetQuota(SetQuota::default());
        assert_eq!(
            users.authorize(&Identity::User("deployer".into()), &quota),
            Ok(())
        );
        assert!(matches!(
            users.authorize(&Identity::User("reader".into()), &quota),
            Err(Denial::Forbidden(_))
        ));
        assert_eq!(
            users.authorize(&Identity::User("root".into()), &kill("any")),
            Ok(())
        );
    }

    #[test]
    fn a_write_without_a_valid_job_key_is_an_invalid_request() {
        // §1.6: "If that key is missing or does not pass identifier validation, the reply is
        // HTTP 200 with INVALID_REQUEST before the method runs."
        let users = Users::parse(INI).unwrap();
        let no_key = Call::KillTasks(KillTasks::default());
        assert!(matches!(
            users.authorize(&Identity::User("root".into()), &no_key),
            Err(Denial::InvalidKey(_))
        ));
        assert!(matches!(
            users.authorize(&Identity::User("root".into()), &kill("bad role")),
            Err(Denial::InvalidKey(_))
        ));
    }

    #[test]
    fn users_file_errors_are_named() {
        assert!(Users::parse("[roles]\na = *\n").is_err());
        assert!(
            format!("{:#}", Users::parse("[users]\njust-a-name\n").unwrap_err()).contains("line 2")
        );
    }
}
