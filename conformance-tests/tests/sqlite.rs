//! Every conformance case against the `sqlite` backend.

fn main() {
    // Cases this backend skips, each for a capability it declares it lacks.
    conformance_tests::harness::main("sqlite", &[]);
}
