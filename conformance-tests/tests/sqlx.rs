//! Every conformance case against the `sqlx` backend.

fn main() {
    // Cases this backend skips, each for a capability it declares it lacks.
    conformance_tests::harness::main("sqlx", &[]);
}
