//! Where results go: human text (coloured only on a terminal) or JSON (`--json`) on stdout; diagnostics, progress and
//! errors on stderr.
//!
//! Colours are on when the stream is a terminal, `NO_COLOR` is unset and `TERM` is not `dumb`; `--color` overrides.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::error::CliError;

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// ANSI styling that turns into plain text when colours are off.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    pub fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    pub fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    pub fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }
    pub fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    pub fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    pub fn cyan(&self, t: &str) -> String {
        self.paint("36", t)
    }
    pub fn magenta(&self, t: &str) -> String {
        self.paint("35", t)
    }
}

fn color_for(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

/// A command's result, printed as JSON or as text.
pub trait Render: Serialize {
    /// The human form, lines ending with `\n`.
    fn render(&self, st: &Style) -> String;
}

#[derive(Debug, Clone)]
pub struct Output {
    pub json: bool,
    /// Styling of stdout.
    pub out: Style,
    /// Styling of stderr.
    pub err: Style,
    /// stdout is a terminal (progress bars, prompts).
    pub stdout_tty: bool,
    pub stderr_tty: bool,
}

impl Output {
    pub fn new(json: bool, color: ColorChoice) -> Output {
        let stdout_tty = std::io::stdout().is_terminal();
        let stderr_tty = std::io::stderr().is_terminal();
        Output {
            json,
            out: Style { color: !json && color_for(color, stdout_tty) },
            err: Style { color: color_for(color, stderr_tty) },
            stdout_tty,
            stderr_tty,
        }
    }

    /// Prints a result: pretty JSON with `--json`, else its text.
    pub fn show<T: Render>(&self, value: &T) {
        if self.json {
            self.json_line(value, true);
        } else {
            self.text(&value.render(&self.out));
        }
    }

    /// Prints raw text on stdout (flushed: the chat prints without newlines).
    pub fn text(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed stdout (`| head`) is not worth a panic or an error exit.
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }

    /// One JSON document on stdout (`pretty`: indented, else one line — JSON Lines for streams).
    pub fn json_line<T: Serialize + ?Sized>(&self, value: &T, pretty: bool) {
        let text = if pretty { serde_json::to_string_pretty(value) } else { serde_json::to_string(value) };
        match text {
            Ok(t) => self.text(&format!("{t}\n")),
            Err(e) => self.note(&format!("cannot encode the result as JSON: {e}")),
        }
    }

    /// A diagnostic line on stderr (warnings, "using the cached list", hints). Never on stdout: `--json` stays parseable.
    pub fn note(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }

    pub fn warn(&self, text: &str) {
        self.note(&format!("{} {text}", self.err.yellow("warning:")));
    }

    /// The final error: `error: …` on stderr, or `{"error": {...}}` on stderr with `--json`.
    pub fn error(&self, e: &CliError) {
        if self.json {
            let doc = serde_json::json!({ "error": {
                "kind": e.kind, "code": e.code, "message": e.message, "exit_code": e.kind.exit_code() } });
            self.note(&doc.to_string());
        } else {
            self.note(&format!("{} {}", self.err.red("error:"), e.message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_when_colours_are_off() {
        let st = Style { color: false };
        assert_eq!(st.bold("x"), "x");
        let st = Style { color: true };
        assert_eq!(st.red("x"), "\x1b[31mx\x1b[0m");
    }

    #[test]
    fn explicit_choices_win() {
        assert!(color_for(ColorChoice::Always, false));
        assert!(!color_for(ColorChoice::Never, true));
        assert!(!color_for(ColorChoice::Auto, false), "never colours a pipe");
    }
}
