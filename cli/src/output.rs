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

/// A text table whose columns are as wide as their widest cell: `right` marks the
/// columns aligned right (numbers). The last column is not padded.
pub fn table(headers: &[&str], right: &[bool], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let headers: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    let mut text = String::new();
    for row in std::iter::once(&headers).chain(rows) {
        let last = row.len().saturating_sub(1);
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let width = widths.get(i).copied().unwrap_or(0);
                match (right.get(i).copied().unwrap_or(false), i == last) {
                    (true, _) => format!("{cell:>width$}"),
                    (false, true) => cell.clone(),
                    (false, false) => format!("{cell:<width$}"),
                }
            })
            .collect();
        text.push_str(&cells.join("  "));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_their_widest_cell() {
        let rows = vec![
            vec!["a-long-actor-id".to_owned(), "7".to_owned(), "x".to_owned()],
            vec!["b".to_owned(), "12345".to_owned(), "y".to_owned()],
        ];
        assert_eq!(
            table(&["ID", "N", "NAME"], &[false, true, false], &rows),
            "ID                   N  NAME\na-long-actor-id      7  x\nb                12345  y\n"
        );
    }
}
