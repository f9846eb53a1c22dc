//! A compiled Ansible module that does nothing but answer: the floor against which `make bench`
//! measures the per-task cost of the real module executable (scripts/bench_modules.py).

fn main() {
    println!("{{\"changed\": false, \"msg\": \"nothing to do\"}}");
}
