//! `chatflow`: a command-line sample app on the Chatflow SDK core. See README.md for commands and exit codes.

mod cli;
mod cmd;
mod context;
mod error;
mod output;
mod views;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Args;
use crate::output::Output;

fn main() -> ExitCode {
    let args = Args::parse();
    let out = Output::new(args.json, args.color);
    init_logs(args.verbose, out.err.color);
    match cmd::run(&args, out.clone()) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            out.error(&e);
            e.exit_code()
        }
    }
}

/// `-v`: the SDK's tracing logs on stderr (`RUST_LOG` overrides the level).
fn init_logs(verbose: u8, color: bool) {
    let level = match verbose {
        0 => return,
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| format!("chatflow_core={level},chatflow_cli={level}"));
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("chatflow_core={level}")));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(color).init();
}
