//! The platform layer: data scientists say *what* to run (a request), the platform team's
//! profile says *how* it runs, and the mediator turns both into the jobs the modules apply,
//! after a pre-flight that finds, before anything is written, what the scheduler would refuse
//! or silently degrade. Pure functions; the `platform` module does the reading and the roles
//! apply the result.

pub mod mediate;
pub mod preflight;
pub mod profile;
pub mod request;

#[cfg(test)]
mod tests;

pub use mediate::{mediate, Names, Part, PlannedJob, Problem, PROFILE_VARIABLE};
pub use profile::Profile;
pub use request::Request;
