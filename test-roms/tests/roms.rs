//! Runs every conformance ROM in `roms/` and fails if any of them fails.
//!
//! See `test-roms/README.md` for the environment variables that choose the
//! emulator (`CRANE86_EMULATOR`, `CRANE86_BIN`), the ROMs
//! (`CRANE86_ROMS`) and the timeout (`CRANE86_ROM_TIMEOUT`).

use crane86_test_roms as roms;

/// The ROMs with crane86's default engine (the JIT), or under whatever
/// emulator `CRANE86_EMULATOR` names.
#[test]
fn conformance_roms() {
    run_all(&[]);
}

/// The same ROMs under crane86's reference interpreter (`-accel interp`):
/// the interpreter and the JIT must give identical results.
#[test]
fn conformance_roms_under_the_interpreter() {
    run_all(&["-accel", "interp"]);
}

/// The same ROMs with every block compiled the first time it runs
/// (`-accel jit,threshold=1`), so code that runs only a few times — the
/// self-modifying ROMs' patched routines, device handlers — goes through
/// the translator too.
#[test]
fn conformance_roms_compiled_at_once() {
    run_all(&["-accel", "jit,threshold=1"]);
}

fn run_all(extra: &[&str]) {
    let nasm = roms::find_nasm().unwrap_or_else(|e| panic!("{e}"));
    let selected = roms::selected_roms().unwrap_or_else(|e| panic!("{e}"));
    assert!(!selected.is_empty(), "no ROMs found in test-roms/roms/");
    let timeout = roms::timeout_from_env().unwrap_or_else(|e| panic!("{e}"));
    let mut emu = roms::Emulator::from_env().unwrap_or_else(|e| panic!("{e}"));
    if !extra.is_empty() {
        if !emu.is_crane86 {
            eprintln!("skipped: {extra:?} applies to crane86 only");
            return;
        }
        emu.extra_args = extra.iter().map(|s| s.to_string()).collect();
    }
    eprintln!(
        "running {} ROMs under {}",
        selected.len(),
        emu.program.display()
    );
    let outcomes = roms::run_roms(
        &nasm,
        &emu,
        &selected,
        timeout,
        roms::default_jobs(),
        &|o| eprint!("{}", roms::format_outcome(o)),
    );
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| o.name.as_str())
        .collect();
    eprintln!(
        "test ROMs: {} passed, {} failed",
        outcomes.len() - failed.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "failed ROMs: {}", failed.join(", "));
}
