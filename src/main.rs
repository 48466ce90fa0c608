//! `crane86`: the command-line front end.

mod board;
mod cli;
mod config;
mod loader;
mod machine;
mod screenshot;
mod window;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::normalize_args(std::env::args());
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One line, not clap's multi-line report.
            let msg = e.to_string();
            let first = msg
                .lines()
                .next()
                .unwrap_or("bad command line")
                .trim_start_matches("error: ");
            eprintln!("crane86: {first}");
            return ExitCode::from(2);
        }
    };
    let cfg = match config::Config::from_cli(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("crane86: {e:#}");
            return ExitCode::from(2);
        }
    };
    let mut m = match machine::Machine::new(cfg) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("crane86: {e:#}");
            return ExitCode::from(2);
        }
    };
    match m.run() {
        machine::Outcome::Exit(code) => ExitCode::from(code as u8),
        machine::Outcome::GuestError(msg) => {
            eprintln!("crane86: {msg}");
            ExitCode::from(4)
        }
    }
}
