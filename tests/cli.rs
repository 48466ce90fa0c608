//! The `crane86` binary end to end: the built-in demo boots, QEMU-style
//! command lines work, and bad input ends with one line and status 2.

use std::process::{Command, Output};

fn crane86(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crane86"))
        .args(args)
        .output()
        .expect("run crane86")
}

fn stderr_line(o: &Output) -> String {
    let s = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(
        s.lines().count(),
        1,
        "exactly one line on stderr, got {s:?}"
    );
    s
}

fn tmp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("crane86-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn default_run_boots_the_demo_to_its_end() {
    let o = crane86(&["-serial", "stdio"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("crane86 BIOS"), "BIOS banner missing: {out}");
    assert!(out.contains("crane86 demo"), "demo banner missing: {out}");
    assert!(out.contains("Demo finished."), "demo did not finish: {out}");
    // The E820 map the demo prints comes from our BIOS and the -m size.
    assert!(
        out.contains("0000000000100000-0000000007FFFFFF usable"),
        "{out}"
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn memory_size_reaches_the_guest() {
    let o = crane86(&["-m", "64"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("0000000000100000-0000000003FFFFFF usable"),
        "{out}"
    );
}

#[test]
fn unknown_option_is_one_line_and_status_2() {
    let o = crane86(&["-frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("-frobnicate"));
}

#[test]
fn bad_accelerators_and_properties_are_one_line() {
    for (arg, want) in [
        ("kvm", "unknown accelerator"),
        ("jit,threshold=lots", "not a number"),
        ("jit,tb-size=0", "at least 1 MiB"),
        ("tcg,bogus=1", "unknown property"),
        ("interp,threshold=5", "unknown property"),
    ] {
        let o = crane86(&["-accel", arg]);
        assert_eq!(o.status.code(), Some(2), "-accel {arg}");
        assert!(stderr_line(&o).contains(want), "-accel {arg}");
    }
}

#[test]
fn missing_empty_and_misshapen_bios_images() {
    let o = crane86(&["-bios", "/nonexistent/bios.bin"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("/nonexistent/bios.bin"));
    let empty = tmp("empty.bin", b"");
    let o = crane86(&["-bios", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("empty"));
    let odd = tmp("odd.bin", &[0u8; 1000]);
    let o = crane86(&["-bios", odd.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("64 KiB"));
    let big = tmp("big.bin", &vec![0u8; 17 << 20]);
    let o = crane86(&["-bios", big.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("16 MiB"));
}

#[test]
fn bad_memory_sizes() {
    for m in ["512K", "100G", "lots"] {
        let o = crane86(&["-m", m]);
        assert_eq!(o.status.code(), Some(2), "-m {m}");
        stderr_line(&o);
    }
}

#[test]
fn bad_devices_and_disks() {
    for args in [
        &["-device", "e1000"][..],
        &["-serial", "tcp:1234"],
        &["-hda", "/nonexistent/disk.img"],
        &["-monitor", "stdio"],
    ] {
        let o = crane86(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        stderr_line(&o);
    }
    let empty = tmp("empty.img", b"");
    let o = crane86(&["-hda", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("empty"));
}

/// A 64 KiB ROM whose reset vector jumps to `code` placed at F000:0000.
fn rom_with(code: &[u8]) -> Vec<u8> {
    let mut rom = vec![0xF4u8; 0x10000];
    rom[..code.len()].copy_from_slice(code);
    // F000:FFF0: jmp far F000:0000
    rom[0xFFF0..0xFFF5].copy_from_slice(&[0xEA, 0x00, 0x00, 0x00, 0xF0]);
    rom
}

#[test]
fn isa_debug_exit_status_follows_qemu() {
    // mov al, 0x21; out 0xf4, al  →  status (0x21 << 1) | 1 = 0x43.
    let rom = tmp("exit.bin", &rom_with(&[0xB0, 0x21, 0xE6, 0xF4, 0xFA, 0xF4]));
    let o = crane86(&[
        "-bios",
        rom.to_str().unwrap(),
        "-nographic",
        "-serial",
        "stdio",
        "-monitor",
        "none",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=0x04",
    ]);
    assert_eq!(o.status.code(), Some(0x43));
}

#[test]
fn triple_fault_with_no_reboot_stops() {
    // lidt with a zero limit, then int3: #GP → #DF → triple fault.
    let mut code = vec![0x0F, 0x01, 0x1E, 0x10, 0x00]; // lidt [0x0010] (DS=0: zeros in RAM)
    code.extend_from_slice(&[0xCC]);
    let rom = tmp("triple.bin", &rom_with(&code));
    let o = crane86(&["-bios", rom.to_str().unwrap(), "-nographic", "-no-reboot"]);
    assert_eq!(o.status.code(), Some(4));
    let line = stderr_line(&o);
    assert!(line.contains("triple fault"), "{line}");
    assert!(line.contains("f000:"), "{line}");
}

#[test]
fn serial_to_file() {
    let dir = std::env::temp_dir().join(format!("crane86-cli-ser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("com1.log");
    let spec = format!("file:{}", log.display());
    let o = crane86(&["-serial", &spec]);
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Demo finished."));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Demo finished."));
}

#[test]
fn icount_makes_timer_reads_repeat_exactly() {
    // Program PIT channel 0 (mode 2, count 65536), spin 5000 LOOPs, latch
    // and read the count, send both bytes to COM1, exit.
    let code = [
        0xB0, 0x34, 0xE6, 0x43, // mov al,34h; out 43h,al
        0xB0, 0x00, 0xE6, 0x40, 0xE6, 0x40, // count 0 = 65536
        0xB9, 0x88, 0x13, 0xE2, 0xFE, // mov cx,5000; loop $
        0xB0, 0x00, 0xE6, 0x43, // latch channel 0
        0xBA, 0xF8, 0x03, // mov dx,3F8h
        0xE4, 0x40, 0xEE, // in al,40h; out dx,al
        0xE4, 0x40, 0xEE, // in al,40h; out dx,al
        0xB0, 0x00, 0xE6, 0xF4, // exit
    ];
    let rom = tmp("pit.bin", &rom_with(&code));
    let run = || {
        let o = crane86(&[
            "-bios",
            rom.to_str().unwrap(),
            "-nographic",
            "-icount",
            "shift=0",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
        ]);
        assert_eq!(o.status.code(), Some(1));
        o.stdout
    };
    let (a, b) = (run(), run());
    assert_eq!(a.len(), 2);
    assert_eq!(a, b, "same guest, same clock reading");
    // ~5000 instructions at 1 ns each is about 6 PIT clocks (1.193182 MHz).
    let count = u16::from_le_bytes([a[0], a[1]]) as u32;
    assert!(
        (65536 - 20..65536).contains(&count) || count == 0,
        "count {count:#x}"
    );
}

#[test]
fn second_serial_option_is_com2() {
    // Both UARTs to 8 data bits (LCR=3; a 16550 resets to 5-bit words),
    // then '2' to COM2 and '1' to COM1, and exit.
    let code = [
        0xB0, 0x03, 0xBA, 0xFB, 0x02, 0xEE, // mov al,3; mov dx,2FBh; out dx,al
        0xBA, 0xFB, 0x03, 0xEE, // mov dx,3FBh; out dx,al
        0xBA, 0xF8, 0x02, 0xB0, b'2', 0xEE, // COM2 data
        0xBA, 0xF8, 0x03, 0xB0, b'1', 0xEE, // COM1 data
        0xB0, 0x00, 0xE6, 0xF4, // exit
    ];
    let rom = tmp("com2.bin", &rom_with(&code));
    let dir = std::env::temp_dir().join(format!("crane86-cli-com-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let com1 = dir.join("com1.log");
    let spec = format!("file:{}", com1.display());
    let o = crane86(&[
        "-bios",
        rom.to_str().unwrap(),
        "-serial",
        &spec,
        "-serial",
        "stdio",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=0x04",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(o.stdout, b"2", "COM2 goes to the terminal");
    assert_eq!(std::fs::read(&com1).unwrap(), b"1", "COM1 goes to the file");
}
