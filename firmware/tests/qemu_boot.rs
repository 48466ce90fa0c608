//! Boots the firmware under `qemu-system-i386` (whose i440FX PC is the
//! board crane86 mimics) and checks the serial console. Skipped with a
//! note when QEMU (or, for the self-test, nasm) is not installed: these
//! check the BIOS against a reference machine, not crane86 itself.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const QEMU: &str = "qemu-system-i386";
const TIMEOUT: Duration = Duration::from_secs(60);

fn have(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs QEMU with the BIOS and `extra` arguments until the serial output
/// contains `until`, QEMU exits by itself, or the time-out passes; then
/// stops it. Returns everything COM1 printed and QEMU's exit status when it
/// ended by itself (an ACPI power-off ends it with status 0).
fn run_qemu(extra: &[&str], until: &str) -> (String, Option<i32>) {
    let bios = root().join("bios.bin");
    let mut child = Command::new(QEMU)
        .arg("-bios")
        .arg(&bios)
        .args([
            "-m", "128", "-display", "none", "-monitor", "none", "-serial", "stdio",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting qemu-system-i386");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + TIMEOUT;
    let mut out = Vec::new();
    let mut ended = false;
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(chunk) => {
                out.extend_from_slice(&chunk);
                if String::from_utf8_lossy(&out).contains(until) {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                ended = true;
                break;
            }
        }
    }
    // QEMU closed its stdout: it is exiting; collect its status.
    let mut status = None;
    let reap_deadline = Instant::now() + Duration::from_secs(5);
    while ended && Instant::now() < reap_deadline {
        if let Ok(Some(s)) = child.try_wait() {
            status = s.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    (String::from_utf8_lossy(&out).replace('\r', ""), status)
}

/// Assembles a guest from `selftest/` into a scratch directory.
fn assemble_guest(name: &str) -> (PathBuf, PathBuf) {
    let tmp =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let image = tmp.join(format!("{name}.img"));
    let status = Command::new("nasm")
        .args(["-f", "bin", "-o"])
        .arg(&image)
        .arg(root().join(format!("selftest/{name}.asm")))
        .status()
        .expect("running nasm");
    assert!(status.success(), "nasm failed on {name}.asm");
    (tmp, image)
}

fn drive(path: &Path) -> String {
    format!("file={},format=raw,if=ide,snapshot=on", path.display())
}

#[test]
fn demo_disk_runs_to_completion() {
    if !have(QEMU, "--version") {
        eprintln!("note: {QEMU} not found; skipping the QEMU boot test");
        return;
    }
    let (out, _) = run_qemu(
        &["-no-reboot", "-drive", &drive(&root().join("demo.img"))],
        "Demo finished.",
    );
    for expected in [
        "crane86 BIOS",
        "Memory: 128 MiB (639 KiB base)",
        "crane86 demo",
        "Base memory (INT 12h): 639 KiB",
        "  0000000000000000-000000000009FBFF usable\n",
        "  000000000009FC00-000000000009FFFF reserved\n",
        "  0000000000100000-0000000007FFFFFF usable\n",
        "  00000000FFFC0000-00000000FFFFFFFF reserved\n",
        "Disk (INT 13h): CHS 2/16/63, 128 sectors",
        "Timer (INT 15h/86h, 250 ms): ok",
        "Primes below 65536 (sieve): 6542",
        "....@@@@@@@@@@",
        "Demo finished.",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn no_disk_reports_no_bootable_device() {
    if !have(QEMU, "--version") {
        eprintln!("note: {QEMU} not found; skipping the QEMU boot test");
        return;
    }
    let (out, _) = run_qemu(&["-no-reboot"], "No bootable device.");
    assert!(out.contains("Disk 80h: none"), "{out}");
    assert!(out.contains("No bootable device."), "{out}");
}

#[test]
fn bios_selftest_guest_passes_and_powers_off() {
    if !have(QEMU, "--version") || !have("nasm", "-v") {
        eprintln!("note: {QEMU} or nasm not found; skipping the BIOS self-test");
        return;
    }
    let (tmp, image) = assemble_guest("selftest");
    // The guest ends with an ACPI soft-off (SLP_TYP from \\_S5, SLP_EN):
    // QEMU then exits with status 0 by itself.
    let (out, status) = run_qemu(
        &["-no-reboot", "-drive", &drive(&image)],
        "power off failed",
    );
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        out.contains("selftest done"),
        "self-test did not finish:\n{out}"
    );
    assert!(!out.contains("FAIL"), "self-test failures:\n{out}");
    assert!(out.contains("CHS read x3: ok"), "{out}");
    // 09h then 0Eh of the same character reaches COM1 once.
    assert!(out.contains("INT 10h 09h+0Eh echo: X\n"), "{out}");
    for check in [
        "ACPI RSDP: ok",
        "ACPI FADT: ok",
        "ACPI DSDT _S5: ok",
        "ACPI MADT: ok",
        "ACPI SCI_EN, PM timer: ok",
        "INT 10h mode 13h: ok",
        "INT 10h mode 12h: ok",
        "VBE 4F00h: ok",
        "VBE 4F01h 111h: ok",
        "VBE 4F02h/4F03h/4F05h: ok",
    ] {
        assert!(out.contains(check), "missing {check:?} in:\n{out}");
    }
    assert!(out.contains("ACPI power off"), "{out}");
    assert!(!out.contains("power off failed"), "{out}");
    assert_eq!(status, Some(0), "QEMU did not power off:\n{out}");
}

#[test]
fn direct_boot_flag_keeps_ram_and_jumps_to_7c00() {
    if !have(QEMU, "--version") || !have("nasm", "-v") {
        eprintln!("note: {QEMU} or nasm not found; skipping the direct-boot test");
        return;
    }
    let (tmp, image) = assemble_guest("directboot");
    // The guest sets CMOS 0x5F bit 1 and resets through port 0xCF9: no
    // -no-reboot here.
    let (out, _) = run_qemu(&["-drive", &drive(&image)], "direct boot done");
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(out.contains("first boot, resetting"), "{out}");
    assert_eq!(out.matches("crane86 BIOS").count(), 2, "{out}");
    assert!(out.contains("direct boot: ok"), "{out}");
}

/// A screendump (binary PPM, P6) of QEMU's display.
struct Picture {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Picture {
    fn load(path: &Path) -> Picture {
        let data = std::fs::read(path).expect("reading the screendump");
        // "P6\n<w> <h>\n255\n" then the pixels
        let mut fields = Vec::new();
        let mut pos = 0;
        while fields.len() < 4 {
            while data[pos].is_ascii_whitespace() {
                pos += 1;
            }
            let start = pos;
            while !data[pos].is_ascii_whitespace() {
                pos += 1;
            }
            fields.push(String::from_utf8_lossy(&data[start..pos]).to_string());
        }
        assert_eq!(fields[0], "P6", "not a binary PPM");
        Picture {
            width: fields[1].parse().unwrap(),
            height: fields[2].parse().unwrap(),
            rgb: data[pos + 1..].to_vec(),
        }
    }

    /// The pixel at (x, y) of a `w` x `h` picture, scaled to this one.
    fn at(&self, x: usize, y: usize, w: usize, h: usize) -> [u8; 3] {
        let px = (2 * x + 1) * self.width / (2 * w);
        let py = (2 * y + 1) * self.height / (2 * h);
        let o = (py * self.width + px) * 3;
        [self.rgb[o], self.rgb[o + 1], self.rgb[o + 2]]
    }
}

/// A 6-bit DAC colour as 8 bits, give or take the scaling rule.
fn dac(r: u8, g: u8, b: u8) -> [u8; 3] {
    [r, g, b].map(|v| ((u32::from(v) * 255 + 31) / 63) as u8)
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= 4)
}

/// A picture to check: the guest's marker, the mode's size (probe
/// coordinates are in it), and probes (x, y, expected colour).
type Shot = (&'static str, (usize, usize), Vec<(usize, usize, [u8; 3])>);

/// The 16 EGA colours of the default palettes, as 6-bit DAC values.
const EGA16: [(u8, u8, u8); 16] = [
    (0x00, 0x00, 0x00),
    (0x00, 0x00, 0x2A),
    (0x00, 0x2A, 0x00),
    (0x00, 0x2A, 0x2A),
    (0x2A, 0x00, 0x00),
    (0x2A, 0x00, 0x2A),
    (0x2A, 0x15, 0x00),
    (0x2A, 0x2A, 0x2A),
    (0x15, 0x15, 0x15),
    (0x15, 0x15, 0x3F),
    (0x15, 0x3F, 0x15),
    (0x15, 0x3F, 0x3F),
    (0x3F, 0x15, 0x15),
    (0x3F, 0x15, 0x3F),
    (0x3F, 0x3F, 0x15),
    (0x3F, 0x3F, 0x3F),
];

#[cfg(unix)]
#[test]
fn graphics_modes_show_the_expected_pixels() {
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    if !have(QEMU, "--version") || !have("nasm", "-v") {
        eprintln!("note: {QEMU} or nasm not found; skipping the graphics test");
        return;
    }
    let (tmp, image) = assemble_guest("vgashot");
    let socket = tmp.join("monitor.sock");
    let mut child = Command::new(QEMU)
        .arg("-bios")
        .arg(root().join("bios.bin"))
        .args(["-m", "128", "-display", "none", "-vga", "std", "-no-reboot"])
        .args(["-serial", "stdio", "-monitor"])
        .arg(format!("unix:{},server,nowait", socket.display()))
        .args(["-drive", &drive(&image)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting qemu-system-i386");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + TIMEOUT;
    let mut out = Vec::new();
    let wait_for = |marker: &str, out: &mut Vec<u8>| -> bool {
        while Instant::now() < deadline {
            if String::from_utf8_lossy(out).contains(marker) {
                return true;
            }
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(chunk) => out.extend_from_slice(&chunk),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return false,
            }
        }
        false
    };
    let mut monitor = loop {
        match UnixStream::connect(&socket) {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("QEMU monitor: {e}"),
        }
    };
    monitor
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let prompt = |monitor: &mut UnixStream| {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.ends_with(b"(qemu) ") {
            let n = monitor.read(&mut buf).expect("reading the QEMU monitor");
            assert!(n > 0, "QEMU monitor closed");
            seen.extend_from_slice(&buf[..n]);
        }
    };
    prompt(&mut monitor);

    let mut failures = Vec::new();
    // (marker, picture size to scale to, probes: x, y, expected colour)
    let mut bands: Vec<(usize, usize, [u8; 3])> = EGA16
        .iter()
        .enumerate()
        .map(|(i, &(r, g, b))| (i * 40 + 20, 240, dac(r, g, b)))
        .collect();
    bands.push((10, 0, dac(0x3F, 0x3F, 0x3F))); // INT 10h 0Ch pixels
    bands.push((70, 0, dac(0, 0, 0x2A)));
    let shots: [Shot; 4] = [
        (
            "READY 13",
            (320, 200),
            vec![
                (1, 100, dac(0, 0, 0x2A)),
                (4, 100, dac(0x2A, 0, 0)),
                (6, 100, dac(0x2A, 0x15, 0)),
                (20, 100, dac(0x0E, 0x0E, 0x0E)),
                (40, 100, dac(0x3F, 0, 0)),
                (44, 100, dac(0x3F, 0x3F, 0)),
                (100, 100, dac(0x2D, 0x3F, 0x3F)),
                (255, 100, dac(0, 0, 0)),
            ],
        ),
        ("READY 12", (640, 480), bands),
        (
            "READY VBE16",
            (640, 480),
            vec![
                (10, 10, [255, 0, 0]),
                (600, 10, [0, 255, 0]),
                (10, 400, [0, 0, 255]),
                (600, 400, [255, 255, 255]),
            ],
        ),
        (
            "READY VBE8",
            (640, 480),
            vec![
                (10, 10, dac(0x3F, 0, 0)),
                (10, 150, dac(0x3F, 0x10, 0)),
                (10, 250, dac(0x3F, 0x1F, 0)),
                (10, 350, dac(0x3F, 0x2F, 0)),
                (10, 470, dac(0x3F, 0x3F, 0)),
            ],
        ),
    ];
    for (i, (marker, (w, h), probes)) in shots.iter().enumerate() {
        if !wait_for(marker, &mut out) {
            failures.push(format!("never saw {marker:?}"));
            break;
        }
        let file = tmp.join(format!("shot{i}.ppm"));
        writeln!(monitor, "screendump {}", file.display()).unwrap();
        prompt(&mut monitor);
        let pic = Picture::load(&file);
        if *w == 640 && (pic.width, pic.height) != (640, 480) {
            failures.push(format!("{marker}: picture is {}x{}", pic.width, pic.height));
        }
        for &(x, y, want) in probes {
            let got = pic.at(x, y, *w, *h);
            if !near(got, want) {
                failures.push(format!(
                    "{marker}: pixel ({x}, {y}) is {got:?}, want {want:?}"
                ));
            }
        }
        stdin.write_all(b"\r").unwrap();
        stdin.flush().unwrap();
    }
    if failures.is_empty() && !wait_for("vgashot done", &mut out) {
        failures.push("never saw \"vgashot done\"".into());
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        failures.is_empty(),
        "{}\nserial output:\n{}",
        failures.join("\n"),
        String::from_utf8_lossy(&out)
    );
}
