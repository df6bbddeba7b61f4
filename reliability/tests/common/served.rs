//! A driver in another process (`crash-child BACKEND ROOT serve`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A driver in another process, driven one command at a time.
pub struct Served {
    /// The child process.
    pub child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Served {
    /// Starts `crash-child BACKEND ROOT serve` and waits for its `ready`.
    pub fn start(backend: &str, root: &Path) -> Self {
        Self::start_with(backend, root, &[])
    }

    /// Starts one with extra environment variables.
    pub fn start_with(backend: &str, root: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(super::crash_child())
            .args([backend, root.to_str().unwrap(), "serve"])
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let mut output = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        output.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        Served {
            child,
            input,
            output,
        }
    }

    /// Runs one command; `Ok(answer)` or `Err(error name and message)`.
    pub fn run(&mut self, command: &str) -> Result<String, String> {
        writeln!(self.input, "{command}").unwrap();
        self.input.flush().unwrap();
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        let line = line.trim_end();
        match line.strip_prefix("ok") {
            Some(answer) => Ok(answer.trim().to_owned()),
            None => Err(line.strip_prefix("error ").unwrap_or(line).to_owned()),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = writeln!(self.input, "quit");
        let _ = self.child.wait();
    }
}
