//! The simulated scheduler: answers calls and runs the cluster on the virtual clock.
//!
//! PLACEHOLDER: the interface the HTTP server relies on; the scheduler core replaces the body.

use crate::api::methods::Call;
use crate::api::types::{Response, ResponseCode, ResponseDetail, ServerInfo};
use crate::sim::config::SimConfig;

pub struct Scheduler {
    cluster_name: String,
}

impl Scheduler {
    pub fn new(config: &SimConfig) -> anyhow::Result<Self> {
        Ok(Scheduler {
            cluster_name: config.cluster_name.clone(),
        })
    }

    /// Runs the cluster up to virtual time `now_ms`: placement, task transitions, timers.
    pub fn advance(&mut self, _now_ms: i64) {}

    /// Answers one call by `user` ("UNSECURE" when auth is off) at virtual time `now_ms`.
    pub fn handle(&mut self, call: Call, _user: &str, _now_ms: i64) -> Response {
        Response {
            response_code: Some(ResponseCode::INVALID_REQUEST),
            server_info: Some(ServerInfo {
                cluster_name: Some(self.cluster_name.clone()),
                stats_url_prefix: Some(String::new()),
            }),
            result: None,
            details: Some(vec![ResponseDetail {
                message: Some(format!("{} is not simulated by aurora-sim", call.name())),
            }]),
        }
    }
}
