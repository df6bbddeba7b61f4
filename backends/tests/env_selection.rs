//! `SQLITE_RUNTIME` selection, end to end through the real environment.
//!
//! One test in its own binary: it changes the process environment, which no other
//! thread of this binary reads.

use sqlite_runtime_backends::{
    ENV_VAR, KNOWN_BACKENDS, LoadError, Loader, compiled_backends, load,
};

fn set(value: Option<&str>) {
    // SAFETY: this binary runs a single test, so no other thread reads the environment.
    unsafe {
        match value {
            Some(value) => std::env::set_var(ENV_VAR, value),
            None => std::env::remove_var(ENV_VAR),
        }
    }
}

#[test]
fn sqlite_runtime_variable_selects_or_rejects_backends() {
    set(Some("no-such-backend"));
    let error = load().unwrap_err();
    assert!(
        matches!(error, LoadError::UnknownBackend { ref requested } if requested == "no-such-backend")
    );
    assert!(
        error
            .to_string()
            .contains("valid names are rusqlite, sqlite, sqlx"),
        "{error}"
    );

    for descriptor in KNOWN_BACKENDS.iter() {
        set(Some(descriptor.name));
        match load() {
            Ok(loaded) => {
                assert!(descriptor.is_compiled());
                assert_eq!(loaded.descriptor.name, descriptor.name);
                assert_eq!(loaded.runtime.name(), descriptor.name);
            }
            Err(LoadError::NotCompiled { requested, feature }) => {
                assert!(!descriptor.is_compiled());
                assert_eq!(requested, descriptor.name);
                assert_eq!(feature, descriptor.feature);
            }
            Err(other) => panic!("{}: unexpected {other}", descriptor.name),
        }
        // An explicit selection in code overrides the variable.
        assert!(matches!(
            Loader::new().selected(Some("nope")).load(),
            Err(LoadError::UnknownBackend { .. })
        ));
    }

    // Unset or empty: the first compiled backend in preference order.
    for value in [None, Some(""), Some("  ")] {
        set(value);
        match (load(), compiled_backends().first()) {
            (Ok(loaded), Some(first)) => assert_eq!(loaded.descriptor.name, first.name),
            (Err(LoadError::NoneCompiled), None) => {}
            (result, first) => panic!("unexpected {result:?} with first compiled {first:?}"),
        }
    }
}
