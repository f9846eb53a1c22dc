//! The `aurora-ansible` executable: every Ansible module of the collection, and a CLI.
fn main() {}
