//! The machine a report was made on.

use serde::{Deserialize, Serialize};

/// The machine a report was made on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    /// `model name` from `/proc/cpuinfo`.
    pub cpu: String,
    /// Logical CPUs available.
    pub cpus: usize,
    /// `MemTotal` in MiB.
    pub memory_mib: u64,
    /// The kernel release.
    pub kernel: String,
    /// `/proc/loadavg` when the run started.
    pub load_before: String,
    /// `/proc/loadavg` when it ended.
    pub load_after: String,
}

pub(super) fn read_proc(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

pub(crate) fn load_average() -> String {
    read_proc("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Machine {
    pub(crate) fn detect() -> Self {
        let cpu = read_proc("/proc/cpuinfo")
            .lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split(':').nth(1))
            .map(|model| model.trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        let memory_mib = read_proc("/proc/meminfo")
            .lines()
            .find(|line| line.starts_with("MemTotal:"))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024);
        Machine {
            cpu,
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_mib,
            kernel: read_proc("/proc/sys/kernel/osrelease").trim().to_owned(),
            load_before: load_average(),
            load_after: String::new(),
        }
    }
}
