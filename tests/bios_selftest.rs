//! crane86's BIOS service self-test (firmware/selftest/selftest.asm) run
//! under crane86 itself: INT 13h over ATA, INT 15h memory and A20 services,
//! block move through protected mode, INT 10h text and graphics modes, VBE,
//! INT 1Ah with the RTC, ACPI tables, and an ACPI S5 power-off that must end
//! the emulator with status 0. (The same guest runs under QEMU in
//! firmware/tests/qemu_boot.rs.)

use std::path::PathBuf;
use std::process::Command;

fn nasm_available() -> bool {
    Command::new("nasm")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn bios_selftest_passes_under_crane86_and_powers_off() {
    if !nasm_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "nasm not found: install it (apt-get install nasm)"
        );
        eprintln!("note: nasm not found; skipping the BIOS self-test");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("selftest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join("selftest.img");
    let st = Command::new("nasm")
        .args(["-f", "bin", "-o"])
        .arg(&img)
        .arg(root.join("firmware/selftest/selftest.asm"))
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new(env!("CARGO_BIN_EXE_crane86"))
        .args(["-nographic", "-no-reboot", "-hda"])
        .arg(&img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("selftest done"),
        "self-test did not finish:\n{text}"
    );
    assert!(!text.contains("FAIL"), "a BIOS service failed:\n{text}");
    for check in [
        "AH=87 block move: ok",
        "A20 off/on wrap: ok",
        "ACPI DSDT _S5: ok",
        "VBE 4F02h/4F03h/4F05h: ok",
    ] {
        assert!(text.contains(check), "missing {check:?}:\n{text}");
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "ACPI power-off ends the run with status 0"
    );
}
