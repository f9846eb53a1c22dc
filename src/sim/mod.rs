//! `aurora-sim`: a simulator of the Aurora scheduler that speaks its real wire protocol.
