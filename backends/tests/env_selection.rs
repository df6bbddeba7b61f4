//! `SQLITE_RUNTIME` selection, end to end through the real environment.
//!
//! One test in its own binary: it changes the process environment, which no other
//! thread of this binary reads.

use sqlite_runtime_backends::{
    DEFAULT_PREFERENCE, ENV_VAR, KNOWN_BACKENDS, LoadError, Loader, compiled_backends, load,
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
            .contains("valid names are rusqlite, sqlite, sqlx, dqlite"),
        "{error}"
    );

    for descriptor in KNOWN_BACKENDS.iter() {
        set(Some(descriptor.name));
        match load() {
            Ok(loaded) => {
                assert!(descriptor.is_compiled());
                assert_eq!(loaded.descriptor.name, descriptor.name);
                assert_eq!(loaded.runtime.backend(), descriptor.name);
            }
            Err(LoadError::NotCompiled { requested, feature }) => {
                assert!(!descriptor.is_compiled());
                assert_eq!(requested, descriptor.name);
                assert_eq!(feature, descriptor.feature);
            }
            // A backend that needs configuration and has none (dqlite without
            // `DQLITE_CLUSTER`) fails its probe, saying what is missing.
            Err(LoadError::AllFailed { failures, .. }) if !descriptor.is_configured() => {
                let [failure] = failures.as_slice() else {
                    panic!(
                        "{}: one failure expected, got {failures:?}",
                        descriptor.name
                    );
                };
                let variable = descriptor.config_env.unwrap_or_default();
                assert!(
                    failure.reason.to_string().contains(variable),
                    "{}: {}",
                    descriptor.name,
                    failure.reason
                );
            }
            Err(other) => panic!("{}: unexpected {other}", descriptor.name),
        }
        // An explicit selection in code overrides the variable.
        assert!(matches!(
            Loader::new().selected(Some("nope")).load(),
            Err(LoadError::UnknownBackend { .. })
        ));
    }

    // Unset or empty: the first compiled backend in the default preference order (dqlite,
    // which needs a cluster, is tried only when named).
    let first = compiled_backends()
        .into_iter()
        .find(|b| DEFAULT_PREFERENCE.contains(&b.name));
    for value in [None, Some(""), Some("  ")] {
        set(value);
        match (load(), first) {
            (Ok(loaded), Some(first)) => assert_eq!(loaded.descriptor.name, first.name),
            (Err(LoadError::NoneCompiled), None) => assert!(compiled_backends().is_empty()),
            (Err(LoadError::AllFailed { failures, .. }), None) => {
                assert!(failures.is_empty(), "nothing was tried: {failures:?}");
            }
            (result, first) => panic!("unexpected {result:?} with first compiled {first:?}"),
        }
    }
}
