//! The `aurora-sim` executable: a simulated Aurora scheduler on a virtual clock.
fn main() {}
