//! Direct kernel boot end to end through the `crane86` binary:
//! `-kernel`/`-initrd`/`-append` with tiny synthetic kernels (a bzImage whose
//! setup code prints its command line, a multiboot kernel that prints its
//! own), the bad-input cases, and Debian's i386 kernel booting to a busybox
//! shell that answers commands on the serial console and powers off.
//!
//! The Debian test needs `target/debian-guest/{vmlinuz,initrd.img}` from
//! `scripts/fetch-debian-guest.sh` (or a folder named by
//! `CRANE86_GUEST_DIR`); without them it says so and passes.
//! `CRANE86_BOOT_TIMEOUT` (seconds, default 900) bounds each boot.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const INIT_LINE: &str = "crane86 initramfs: /init running";
const PROMPT: &str = "crane86# ";

fn crane86() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crane86"))
}

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crane86-linux-boot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Runs crane86 to its end with a time limit; kills it when the limit passes.
fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run crane86");
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let status = wait_or_kill(&mut child, limit);
    let Some(status) = status else {
        panic!(
            "crane86 did not finish within {limit:?}; output so far:\n{}\nstderr:\n{}",
            out.lock().unwrap(),
            err.lock().unwrap()
        );
    };
    std::thread::sleep(Duration::from_millis(100));
    let stdout = out.lock().unwrap().clone().into_bytes();
    let stderr = err.lock().unwrap().clone().into_bytes();
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Collects a pipe into a shared string on a thread of its own.
fn drain(mut r: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let buf = Arc::new(Mutex::new(String::new()));
    let b = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = r.read(&mut chunk) {
            if n == 0 {
                break;
            }
            b.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    buf
}

fn wait_or_kill(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait for crane86") {
            return Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn one_stderr_line(o: &Output) -> String {
    let s = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(
        s.lines().count(),
        1,
        "exactly one line on stderr, got {s:?}"
    );
    s
}

// ---- synthetic kernels -----------------------------------------------------

/// A bzImage (boot protocol 2.15) whose real-mode setup code prints
/// "linux setup: " and the command line at cmd_line_ptr on COM1, then halts
/// with interrupts off. `cmdline_size` is the header's limit.
fn fake_bzimage(cmdline_size: u32) -> Vec<u8> {
    let setup_sects = 4;
    let mut k = vec![0u8; (setup_sects + 1) * 512 + 4096];
    k[0x1F1] = setup_sects as u8;
    put32(&mut k, 0x1F4, 4096 / 16); // syssize
    put16(&mut k, 0x1FE, 0xAA55);
    k[0x200] = 0xEB; // jmp short 0x280, over the header
    k[0x201] = 0x7E;
    k[0x202..0x206].copy_from_slice(b"HdrS");
    put16(&mut k, 0x206, 0x020F);
    k[0x211] = 0x01; // LOADED_HIGH
    put32(&mut k, 0x22C, 0x7FFF_FFFF); // initrd_addr_max
    put32(&mut k, 0x238, cmdline_size);
    put32(&mut k, 0x260, 0x10_0000); // init_size: 1 MiB
                                     // 16-bit code at 0x280 (CS = DS - 0x20 paragraphs, DS = the setup base).
    #[rustfmt::skip]
    let code: &[u8] = &[
        0x66, 0x8B, 0x36, 0x28, 0x02, // mov esi, [0x228]   ; cmd_line_ptr (linear)
        0x66, 0x81, 0xEE, 0x00, 0x00, 0x09, 0x00, // sub esi, 0x90000 ; DS offset
        0x56,                         // push si
        0xBE, 0x00, 0x03,             // mov si, 0x300      ; "linux setup: "
        0xE8, 0x0E, 0x00,             // call print
        0x5E,                         // pop si
        0xE8, 0x0A, 0x00,             // call print
        0xB0, 0x0A,                   // mov al, 10
        0xBA, 0xF8, 0x03,             // mov dx, 0x3F8
        0xEE,                         // out dx, al
        0xFA,                         // cli
        0xF4,                         // hlt
        0xEB, 0xFD,                   // jmp $-1
        // print: DS:SI, NUL-terminated
        0xAC,                         // lodsb
        0x84, 0xC0,                   // test al, al
        0x74, 0x06,                   // jz .ret
        0xBA, 0xF8, 0x03,             // mov dx, 0x3F8
        0xEE,                         // out dx, al
        0xEB, 0xF5,                   // jmp print
        0xC3,                         // .ret: ret
    ];
    k[0x280..0x280 + code.len()].copy_from_slice(code);
    k[0x300..0x30E].copy_from_slice(b"linux setup: \0");
    k
}

/// A multiboot a.out-kludge kernel at 1 MiB that checks EAX, prints
/// "multiboot: " and its command line (mbi.cmdline) on COM1 and halts with
/// interrupts off.
fn fake_multiboot() -> Vec<u8> {
    let base = 0x10_0000u32;
    let mut k = vec![0u8; 0x80];
    let flags = 1u32 << 16 | 1 << 1; // a.out kludge, memory info
    put32(&mut k, 0, 0x1BAD_B002);
    put32(&mut k, 4, flags);
    put32(
        &mut k,
        8,
        0u32.wrapping_sub(0x1BAD_B002).wrapping_sub(flags),
    );
    put32(&mut k, 12, base); // header_addr
    put32(&mut k, 16, base); // load_addr
    put32(&mut k, 20, 0); // load_end_addr: whole file
    put32(&mut k, 24, 0); // bss_end_addr: none
    put32(&mut k, 28, base + 0x20); // entry_addr
    #[rustfmt::skip]
    let code: &[u8] = &[
        0x3D, 0x02, 0xB0, 0xAD, 0x2B, // 20: cmp eax, 0x2BADB002
        0x75, 0x19,                   // 25: jne 40 (halt silently)
        0xBE, 0x60, 0x00, 0x10, 0x00, // 27: mov esi, 0x100060 ; "multiboot: "
        0xE8, 0x13, 0x00, 0x00, 0x00, // 2C: call 44
        0x8B, 0x73, 0x10,             // 31: mov esi, [ebx+16] ; mbi.cmdline
        0xE8, 0x0B, 0x00, 0x00, 0x00, // 34: call 44
        0xB0, 0x0A,                   // 39: mov al, 10
        0x66, 0xBA, 0xF8, 0x03,       // 3B: mov dx, 0x3F8
        0xEE,                         // 3F: out dx, al
        0xFA,                         // 40: cli
        0xF4,                         // 41: hlt
        0xEB, 0xFD,                   // 42: jmp 41
        0xAC,                         // 44: lodsb
        0x84, 0xC0,                   // 45: test al, al
        0x74, 0x07,                   // 47: jz 50
        0x66, 0xBA, 0xF8, 0x03,       // 49: mov dx, 0x3F8
        0xEE,                         // 4D: out dx, al
        0xEB, 0xF4,                   // 4E: jmp 44
        0xC3,                         // 50: ret
    ];
    k[0x20..0x20 + code.len()].copy_from_slice(code);
    k[0x60..0x6C].copy_from_slice(b"multiboot: \0");
    k
}

#[test]
fn bzimage_setup_code_gets_the_command_line() {
    let kernel = tmp("fake-bzimage", &fake_bzimage(2047));
    let initrd = tmp("fake-initrd", &[0x5A; 5000]);
    let o = run_with_timeout(
        crane86()
            .args(["-m", "64", "-nographic", "-serial", "stdio", "-kernel"])
            .arg(&kernel)
            .arg("-initrd")
            .arg(&initrd)
            .args(["-append", "console=ttyS0 crane86=yes"]),
        Duration::from_secs(60),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("linux setup: console=ttyS0 crane86=yes\n"),
        "setup code output missing: {out:?}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

#[test]
fn multiboot_kernel_gets_its_command_line() {
    let kernel = tmp("fake-multiboot", &fake_multiboot());
    let module = tmp("fake-module", b"module bytes");
    let o = run_with_timeout(
        crane86()
            .args(["-m", "32", "-nographic", "-serial", "stdio", "-kernel"])
            .arg(&kernel)
            .arg("-initrd")
            .arg(format!("{} arg1", module.display()))
            .args(["-append", "hello=world"]),
        Duration::from_secs(60),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let want = format!("multiboot: {} hello=world\n", kernel.display());
    assert!(
        out.contains(&want),
        "want {want:?} in the output: {out:?}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

#[test]
fn bad_kernel_initrd_and_command_line_are_rejected() {
    // Not a kernel.
    let junk = tmp("junk-kernel", &[0x42; 20_000]);
    let o = run_with_timeout(
        crane86().args(["-nographic", "-kernel"]).arg(&junk),
        Duration::from_secs(30),
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let line = one_stderr_line(&o);
    assert!(
        line.contains("not a Linux bzImage or multiboot kernel"),
        "{line}"
    );

    // An initrd larger than the guest's RAM.
    let kernel = tmp("fake-bzimage-2", &fake_bzimage(2047));
    let big = tmp("big-initrd", &vec![0u8; 24 << 20]);
    let o = run_with_timeout(
        crane86()
            .args(["-m", "16", "-nographic", "-kernel"])
            .arg(&kernel)
            .arg("-initrd")
            .arg(&big),
        Duration::from_secs(30),
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let line = one_stderr_line(&o);
    assert!(
        line.contains("-initrd: the initrd is 25165824 bytes"),
        "{line}"
    );

    // A command line over the kernel's cmdline_size.
    let short = tmp("fake-bzimage-short", &fake_bzimage(16));
    let o = run_with_timeout(
        crane86()
            .args(["-nographic", "-kernel"])
            .arg(&short)
            .args(["-append", "console=ttyS0 loglevel=8"]),
        Duration::from_secs(30),
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let line = one_stderr_line(&o);
    assert!(line.contains("at most 16"), "{line}");

    // A missing initrd file.
    let o = run_with_timeout(
        crane86()
            .args(["-nographic", "-kernel"])
            .arg(&kernel)
            .args(["-initrd", "/nonexistent/crane86-initrd.img"]),
        Duration::from_secs(30),
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    one_stderr_line(&o);
}

// ---- Debian ------------------------------------------------------------------

fn guest_dir() -> PathBuf {
    match std::env::var_os("CRANE86_GUEST_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debian-guest"),
    }
}

fn boot_timeout() -> Duration {
    let secs = std::env::var("CRANE86_BOOT_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(900);
    Duration::from_secs(secs)
}

/// A running guest on the serial console.
struct Guest {
    child: Child,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
    started: Instant,
    limit: Duration,
}

impl Guest {
    fn boot(extra: &[&str]) -> Option<Guest> {
        let dir = guest_dir();
        let (vmlinuz, initrd) = (dir.join("vmlinuz"), dir.join("initrd.img"));
        if !vmlinuz.exists() || !initrd.exists() {
            println!(
                "skipped: run scripts/fetch-debian-guest.sh ({} and {} are missing)",
                vmlinuz.display(),
                initrd.display()
            );
            return None;
        }
        let mut child = crane86()
            .args(["-m", "256", "-nographic", "-serial", "stdio", "-kernel"])
            .arg(&vmlinuz)
            .arg("-initrd")
            .arg(&initrd)
            .args(["-append", "console=ttyS0"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run crane86");
        let out = drain(child.stdout.take().unwrap());
        let err = drain(child.stderr.take().unwrap());
        Some(Guest {
            child,
            out,
            err,
            started: Instant::now(),
            limit: boot_timeout(),
        })
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(100));
        panic!(
            "{why} (after {:.0?})\n--- serial console ---\n{}\n--- stderr ---\n{}",
            self.started.elapsed(),
            self.output(),
            self.err.lock().unwrap()
        );
    }

    /// Waits until `text` appears after byte `from` of the output; returns
    /// the offset just past it.
    fn wait_for(&mut self, text: &str, from: usize) -> usize {
        loop {
            if let Some(i) = self.output().get(from..).and_then(|s| s.find(text)) {
                return from + i + text.len();
            }
            if let Ok(Some(s)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                self.fail(&format!("crane86 exited ({s}) before {text:?} appeared"));
            }
            if self.started.elapsed() > self.limit {
                self.fail(&format!("{text:?} did not appear within {:?}", self.limit));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let left = self.limit.saturating_sub(self.started.elapsed());
        match wait_or_kill(&mut self.child, left) {
            Some(s) => {
                std::thread::sleep(Duration::from_millis(200));
                s
            }
            None => self.fail("crane86 did not exit after the power-off"),
        }
    }
}

/// Lines of the kernel log that point at an emulation problem.
fn suspicious_kernel_lines(log: &str) -> Vec<&str> {
    const BAD: &[&str] = &[
        "Kernel panic",
        "WARNING:",
        "BUG:",
        "Call Trace",
        "unchecked MSR access",
        "clocksource",
        "spurious 8259A interrupt",
        "invalid opcode",
        "general protection",
        "Oops",
        "FPU",
        "ACPI Error",
        "ACPI BIOS Error",
    ];
    const FINE: &[&str] = &[
        // Normal boot messages that mention the words above.
        "clocksource: Switched to clocksource",
        "clocksource: tsc: mask",
        "clocksource: refined-jiffies",
        "clocksource: jiffies",
        "clocksource: hpet",
        "clocksource: acpi_pm",
        "clocksource: tsc-early",
        "clocksource: pit",
        "tsc: Refined TSC clocksource calibration",
        "x86/fpu: ",
    ];
    log.lines()
        .filter(|l| BAD.iter().any(|b| l.contains(b)))
        .filter(|l| !FINE.iter().any(|f| l.contains(f)) || l.contains("unstable"))
        .collect()
}

/// The default engine (the JIT) boots the kernel to a shell that keeps
/// answering: several commands typed one after another, each waited for
/// (so timer and serial interrupts keep arriving after user input).
#[test]
fn debian_kernel_boots_to_a_shell_and_powers_off() {
    shell_session(&[]);
}

/// The same session under the reference interpreter.
#[test]
fn debian_kernel_boots_under_the_interpreter() {
    shell_session(&["-accel", "interp"]);
}

fn shell_session(extra: &[&str]) {
    let Some(mut g) = Guest::boot(extra) else {
        return;
    };
    let init = g.wait_for(INIT_LINE, 0);
    let mut prompt = g.wait_for(PROMPT, init);
    for (cmd, answer) in [
        ("echo $((6 * 7))", "42"),
        ("sleep 1; echo slept", "slept"),
        (
            "grep -q timer /proc/interrupts && echo has-timer",
            "has-timer",
        ),
    ] {
        g.type_line(cmd);
        let done = g.wait_for(&format!("\n{answer}\r\n"), prompt);
        prompt = g.wait_for(PROMPT, done);
    }
    g.type_line("uname -a; cat /proc/cpuinfo; ls /; poweroff -f");
    let status = g.wait_exit();
    let out = g.output();
    let after = &out[prompt..];
    if status.code() != Some(0) {
        g.fail(&format!("exit status {status}, want 0 (ACPI power-off)"));
    }
    // The kernel's log is on the serial console.
    assert!(out.contains("Linux version 6.1."), "no kernel banner");
    assert!(out.contains("Run /init as init process"), "no /init");
    // uname -a: the kernel, the hostname /init sets, the machine.
    let uname = after
        .lines()
        .find(|l| l.starts_with("Linux crane86 "))
        .unwrap_or_else(|| panic!("no uname -a output in {after:?}"));
    assert!(uname.contains(" i686 GNU/Linux"), "{uname}");
    assert!(uname.contains("-686 #1 SMP"), "{uname}");
    // /proc/cpuinfo: one CPU with the x87 FPU.
    assert!(after.contains("processor\t: 0"), "no /proc/cpuinfo");
    assert!(!after.contains("processor\t: 1"), "one vCPU expected");
    assert!(after.contains("vendor_id\t: "), "no vendor_id");
    assert!(after.contains("fpu\t\t: yes"), "the FPU must be present");
    let flags = after
        .lines()
        .find(|l| l.starts_with("flags\t"))
        .expect("cpuinfo flags");
    for f in ["fpu", "tsc", "cx8", "cmov"] {
        assert!(
            flags.split_whitespace().any(|w| w == f),
            "no {f} in {flags}"
        );
    }
    // ls /: the initramfs.
    let listing: Vec<&str> = after.split_whitespace().collect();
    for name in ["bin", "dev", "init", "proc", "sbin", "sys", "usr"] {
        assert!(listing.contains(&name), "ls / lacks {name}: {after:?}");
    }
    // Power-off went through the kernel (ACPI S5).
    assert!(out.contains("reboot: Power down"), "no power-down message");
    let bad = suspicious_kernel_lines(&out);
    assert!(
        bad.is_empty(),
        "kernel log lines pointing at emulation problems:\n{}",
        bad.join("\n")
    );
}

#[test]
fn debian_reboot_with_no_reboot_exits() {
    let Some(mut g) = Guest::boot(&["-no-reboot"]) else {
        return;
    };
    let init = g.wait_for(INIT_LINE, 0);
    g.wait_for(PROMPT, init);
    g.type_line("reboot -f");
    let status = g.wait_exit();
    if status.code() != Some(0) {
        g.fail(&format!(
            "exit status {status}, want 0 (reset with -no-reboot)"
        ));
    }
    assert!(
        g.output().contains("reboot: Restarting system"),
        "no restart message"
    );
}
