//! Runs that meet other runs, or lose a write's answer: what a refused or unanswered write means,
//! so that a module that lost a race ends as if it had come second (it reads the job again and
//! joins, waits or finds nothing left to do), and one whose write may have been applied checks
//! before it says anything (design.md: a write is sent at most once).

use crate::api::client::ClientError;
use crate::api::types::ResponseCode;

/// Rounds of read, compare and write one module run makes at most: a round whose write lost a
/// race to another run (the job appeared, an update started) starts another that reads what
/// that run did. More rounds than this means the job keeps changing under the run.
pub const MAX_ROUNDS: usize = 5;

/// The scheduler refused the call because an update of the job is in flight
/// (JOB_UPDATING_ERROR, api-reference §4.6.3): another run started one since this one looked.
pub fn update_in_flight(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Scheduler {
            code: ResponseCode::JOB_UPDATING_ERROR,
            ..
        }
    )
}

/// The scheduler refused the call as invalid (INVALID_REQUEST). For createJob after a read that
/// found no job, that is what another run creating it in between looks like (§4.4).
pub fn refused(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Scheduler {
            code: ResponseCode::INVALID_REQUEST,
            ..
        }
    )
}

/// The write reached the scheduler, or may have, but its answer was lost: whether it was
/// applied has to be read before anything else is said or sent.
pub fn maybe_applied(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Transport {
            maybe_applied: true,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::client::TransportKind;

    fn scheduler(code: ResponseCode) -> ClientError {
        ClientError::Scheduler {
            method: "createJob",
            url: "http://127.0.0.1:1/api".into(),
            code,
            details: vec!["Job ml/devel/web already exists".into()],
        }
    }

    fn transport(maybe_applied: bool) -> ClientError {
        ClientError::Transport {
            method: "createJob",
            url: "http://127.0.0.1:1/api".into(),
            kind: TransportKind::Other,
            detail: "connection closed before message completed".into(),
            maybe_applied,
            attempts: 1,
        }
    }

    #[test]
    fn each_error_is_read_for_what_it_says_about_other_runs() {
        let cases = [
            (
                scheduler(ResponseCode::JOB_UPDATING_ERROR),
                (true, false, false),
            ),
            (
                scheduler(ResponseCode::INVALID_REQUEST),
                (false, true, false),
            ),
            (scheduler(ResponseCode::ERROR), (false, false, false)),
            (transport(true), (false, false, true)),
            (transport(false), (false, false, false)),
        ];
        for (error, expected) in cases {
            let read = (
                update_in_flight(&error),
                refused(&error),
                maybe_applied(&error),
            );
            assert_eq!(read, expected, "{error}");
        }
    }
}
