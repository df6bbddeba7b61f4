//! Running the `crash-child` binary: spawn it, collect its lines, kill it.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a child may take to say `ready` (generous: the machine is shared).
pub const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// A running `crash-child`.
#[derive(Debug)]
pub struct ChildRun {
    child: Child,
    lines: Receiver<String>,
    reader: Option<JoinHandle<()>>,
    seen: Vec<String>,
}

/// What a child printed, once it has ended.
#[derive(Clone, Debug, Default)]
pub struct ChildOutput {
    /// Its stdout lines.
    pub lines: Vec<String>,
    /// Its stderr.
    pub stderr: String,
    /// Whether it exited by itself with success.
    pub success: bool,
}

impl ChildOutput {
    /// The highest `ack N` printed.
    pub fn last_ack(&self) -> Option<u64> {
        self.lines
            .iter()
            .filter_map(|line| line.strip_prefix("ack "))
            .filter_map(|n| n.parse().ok())
            .max()
    }

    /// The first `error ...` line.
    pub fn error(&self) -> Option<&str> {
        self.lines
            .iter()
            .find(|line| line.starts_with("error"))
            .map(String::as_str)
    }

    /// Whether a line equals `line` or starts with `line` and a space.
    pub fn said(&self, line: &str) -> bool {
        self.lines
            .iter()
            .any(|l| l == line || l.starts_with(&format!("{line} ")))
    }
}

impl ChildRun {
    /// Spawns `binary` with `args`, reading its stdout on a thread.
    pub fn spawn(binary: &Path, args: &[&str]) -> std::io::Result<Self> {
        let mut child = Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let (sender, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(ChildRun {
            child,
            lines,
            reader: Some(reader),
            seen: Vec::new(),
        })
    }

    /// Waits until the child prints a line starting with `prefix` (or ends, or
    /// `timeout` passes). Returns whether it did.
    pub fn wait_for(&mut self, prefix: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.starts_with(prefix);
                    self.seen.push(line);
                    if found {
                        return true;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    /// Kills the child with `SIGKILL` (if it is still running) and collects its output.
    pub fn kill(mut self) -> std::io::Result<ChildOutput> {
        let exited = self.child.try_wait()?;
        if exited.is_none() {
            // Child::kill sends SIGKILL on Unix.
            let _ = self.child.kill();
        }
        self.finish()
    }

    /// Waits for the child to end by itself and collects its output.
    pub fn wait(self) -> std::io::Result<ChildOutput> {
        self.finish()
    }

    fn finish(mut self) -> std::io::Result<ChildOutput> {
        let status = self.child.wait()?;
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let mut lines = std::mem::take(&mut self.seen);
        lines.extend(self.lines.try_iter());
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        Ok(ChildOutput {
            lines,
            stderr,
            success: status.success(),
        })
    }
}
