//! `run-rom`: assemble and run conformance ROMs from the command line.
//!
//! ```text
//! run-rom [--emulator PROGRAM] [--timeout SECONDS] [--show] [NAME...]
//! ```
//!
//! Runs the named ROMs (default: all of `test-roms/roms/`, or
//! `$CRANE86_ROMS`) and prints ok/FAILED for each. `--emulator` overrides
//! `$CRANE86_EMULATOR`; `--show` prints each ROM's serial output instead of
//! judging it. Exits 0 when every ROM passed, 1 otherwise, 2 on bad usage.

use crane86_test_roms as roms;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: run-rom [--emulator PROGRAM] [--timeout SECONDS] [--show] [NAME...]";

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("run-rom: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, String> {
    let mut emulator = None;
    let mut timeout = None;
    let mut show = false;
    let mut names = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--emulator" => emulator = Some(args.next().ok_or(USAGE)?),
            "--timeout" => {
                let s = args.next().ok_or(USAGE)?;
                let t: f64 = s
                    .parse()
                    .ok()
                    .filter(|t: &f64| t.is_finite() && *t > 0.0)
                    .ok_or_else(|| format!("--timeout {s}: not a number of seconds"))?;
                timeout = Some(Duration::from_secs_f64(t));
            }
            "--show" => show = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(true);
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
            _ => names.push(arg),
        }
    }
    let nasm = roms::find_nasm()?;
    let mut selected = roms::selected_roms()?;
    if !names.is_empty() {
        let all = roms::discover_roms(&roms::crate_dir().join("roms"))?;
        selected = Vec::new();
        for name in &names {
            let name = name.trim_end_matches(".asm");
            let name = name.rsplit('/').next().unwrap_or(name);
            let rom = all
                .iter()
                .find(|r| r.name == name)
                .ok_or_else(|| format!("no ROM named {name}"))?;
            selected.push(rom.clone());
        }
    }
    let timeout = match timeout {
        Some(t) => t,
        None => roms::timeout_from_env()?,
    };
    let emu = match emulator {
        Some(cmd) => roms::Emulator {
            program: roms::find_program(&cmd).ok_or_else(|| format!("{cmd}: no such program"))?,
            extra_args: Vec::new(),
            is_crane86: false,
        },
        None => roms::Emulator::from_env()?,
    };
    if show {
        for rom in &selected {
            let bin = roms::assemble(&nasm, rom, &roms::rom_out_dir())?;
            let (out, disk_check) = roms::run_rom(&emu, rom, &bin, timeout)?;
            println!(
                "== {} (status {:?}{})",
                rom.name,
                out.status.and_then(|s| s.code()),
                if out.timed_out { ", timed out" } else { "" }
            );
            print!("{}", String::from_utf8_lossy(&out.stdout));
            if let Err(e) = disk_check {
                print!("{e}");
            }
        }
        return Ok(true);
    }
    let outcomes = roms::run_roms(
        &nasm,
        &emu,
        &selected,
        timeout,
        roms::default_jobs(),
        &|o| print!("{}", roms::format_outcome(o)),
    );
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    println!(
        "test ROMs: {} passed, {} failed",
        outcomes.len() - failed,
        failed
    );
    Ok(failed == 0)
}
