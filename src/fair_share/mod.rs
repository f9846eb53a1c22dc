//! The fair-share allocator: how many workers each of several competing batch frameworks gets,
//! by weighted Dominant Resource Fairness in whole workers (`drf`), and how far a run moves
//! towards that (`stability`: a tolerance, scale-down limits and a stabilisation window, after
//! Kubernetes' Horizontal Pod Autoscaler). Pure: the `fair_share` module reads the scheduler and
//! the loads, calls these, and applies the targets through Aurora's job updater.

pub mod drf;
pub mod stability;

#[cfg(test)]
mod tests;

pub use drf::{
    allocate, allocate_within, dominant_share, jain_index, Capacity, Framework, Kind, Shortfall,
};
pub use stability::{damp, fit_growth, Damped, Damping, Why};
