//! Output helpers: one-line errors, JSON documents, progress bars only on terminals.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// An error and its causes, in one line.
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line.replace('\n', " ")
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned())
    );
}

/// A progress bar when stdout is a terminal and output is for people; hidden otherwise.
pub fn progress(len: u64, json: bool, quiet: bool) -> ProgressBar {
    if json || quiet || !std::io::stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
        bar.set_style(style);
    }
    bar
}

/// A spinner for work of unknown length, shown only when a progress bar would be.
pub fn spinner(message: &'static str, json: bool, quiet: bool) -> ProgressBar {
    let bar = progress(0, json, quiet);
    if bar.is_hidden() {
        return bar;
    }
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(message);
    spinner
}
