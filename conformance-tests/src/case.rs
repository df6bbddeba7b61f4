//! What a case is, the context it runs in, and how one is run.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sqlite_runtime::{Capability, OpenOptions, SqliteDatabase, SqliteRuntime, Target};

/// What a case returns: `Err` (or a panic, e.g. a failed `assert!`) fails it.
pub type CaseResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// One behaviour case.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// The case's name, unique within its suite.
    pub name: &'static str,
    /// The capability the case needs; on a backend without it the case is skipped.
    pub requires: Option<Capability>,
    /// The capability the case is about the absence of (e.g. what a driver does on an
    /// engine without [`Capability::LocalFiles`]); on a backend with it the case is
    /// skipped.
    pub unless: Option<Capability>,
    /// The case itself.
    pub run: fn(&Context) -> CaseResult,
}

/// A named list of cases.
#[derive(Clone, Copy, Debug)]
pub struct Suite {
    /// The suite's name, the first part of each test name (`runtime::exec_...`).
    pub name: &'static str,
    /// Its cases.
    pub cases: &'static [Case],
}

/// Every suite.
pub fn suites() -> Vec<Suite> {
    vec![
        Suite {
            name: "runtime",
            cases: crate::runtime::CASES,
        },
        Suite {
            name: "driver",
            cases: crate::driver::CASES,
        },
        Suite {
            name: "async",
            cases: crate::asynchronous::CASES,
        },
    ]
}

/// What a case runs with: the backend under test and a temporary directory of its own,
/// removed afterwards.
pub struct Context {
    runtime: Arc<dyn SqliteRuntime>,
    dir: tempfile::TempDir,
}

impl Context {
    /// The backend under test.
    pub fn runtime(&self) -> &Arc<dyn SqliteRuntime> {
        &self.runtime
    }

    /// This case's own temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the case's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A private in-memory database with default options.
    pub fn open_memory(&self) -> sqlite_runtime::Result<Box<dyn SqliteDatabase>> {
        self.runtime.open(&Target::Memory, &OpenOptions::new())
    }

    /// The file `name` in the case's directory, with default options.
    pub fn open_file(&self, name: &str) -> sqlite_runtime::Result<Box<dyn SqliteDatabase>> {
        self.open_file_with(name, &OpenOptions::new())
    }

    /// The file `name` in the case's directory, with `options`.
    pub fn open_file_with(
        &self,
        name: &str,
        options: &OpenOptions,
    ) -> sqlite_runtime::Result<Box<dyn SqliteDatabase>> {
        self.runtime.open(&Target::file(self.path(name)), options)
    }

    /// Every backend compiled into this build whose databases are local files (the one
    /// under test included), for cases that check that they share files.
    pub fn all_runtimes(&self) -> Vec<Arc<dyn SqliteRuntime>> {
        sqlite_runtime_backends::compiled_backends()
            .iter()
            .filter_map(|b| b.runtime())
            .filter(|runtime| runtime.capabilities().has(Capability::LocalFiles))
            .collect()
    }
}

/// How a case ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It passed.
    Passed,
    /// It failed, with the error or panic message.
    Failed(String),
    /// It did not run: the backend lacks a capability it needs.
    Skipped(String),
}

/// The reason `case` is skipped on `runtime`, if it is.
pub(crate) fn skip_reason(case: &Case, runtime: &dyn SqliteRuntime) -> Option<String> {
    let capabilities = runtime.capabilities();
    if let Some(capability) = case.requires.filter(|c| !capabilities.has(*c)) {
        return Some(format!(
            "backend `{}` lacks capability {capability:?}",
            runtime.backend()
        ));
    }
    let capability = case.unless.filter(|c| capabilities.has(*c))?;
    Some(format!(
        "the case is for backends without capability {capability:?}, which `{}` has",
        runtime.backend()
    ))
}

/// Runs one case against `runtime` in a fresh temporary directory. Panics inside the
/// case (failed assertions) become [`Outcome::Failed`].
pub fn run_case(case: &Case, runtime: Arc<dyn SqliteRuntime>) -> Outcome {
    if let Some(reason) = skip_reason(case, runtime.as_ref()) {
        return Outcome::Skipped(reason);
    }
    let dir = match tempfile::Builder::new()
        .prefix("sqlrt-conformance-")
        .tempdir()
    {
        Ok(dir) => dir,
        Err(error) => {
            return Outcome::Failed(format!("cannot create a temporary directory: {error}"));
        }
    };
    let context = Context { runtime, dir };
    match catch_unwind(AssertUnwindSafe(|| (case.run)(&context))) {
        Ok(Ok(())) => Outcome::Passed,
        Ok(Err(error)) => Outcome::Failed(error.to_string()),
        Err(panic) => Outcome::Failed(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the case panicked".to_owned()),
        ),
    }
}

/// Runs every case of `suite` against `runtime`, calling `on_case` after each.
pub fn run_suite(
    suite: &Suite,
    runtime: &Arc<dyn SqliteRuntime>,
    mut on_case: impl FnMut(&Case, &Outcome),
) -> Vec<(&'static str, Outcome)> {
    suite
        .cases
        .iter()
        .map(|case| {
            let outcome = run_case(case, runtime.clone());
            on_case(case, &outcome);
            (case.name, outcome)
        })
        .collect()
}
