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
        "SMBIOS: ok",
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

/// QEMU with the BIOS, COM1 on a pipe and the monitor on a socket.
#[cfg(unix)]
struct QemuMonitor {
    child: std::process::Child,
    monitor: std::os::unix::net::UnixStream,
    serial: mpsc::Receiver<Vec<u8>>,
    out: Vec<u8>,
}

#[cfg(unix)]
impl QemuMonitor {
    fn start(tmp: &Path, extra: &[&str]) -> QemuMonitor {
        use std::os::unix::net::UnixStream;
        let socket = tmp.join("monitor.sock");
        let _ = std::fs::remove_file(&socket);
        let mut child = Command::new(QEMU)
            .arg("-bios")
            .arg(root().join("bios.bin"))
            .args(["-display", "none", "-vga", "std", "-no-reboot"])
            .args(["-serial", "stdio", "-monitor"])
            .arg(format!("unix:{},server,nowait", socket.display()))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting qemu-system-i386");
        let mut stdout = child.stdout.take().unwrap();
        let (tx, serial) = mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + TIMEOUT;
        let monitor = loop {
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
        let mut q = QemuMonitor {
            child,
            monitor,
            serial,
            out: Vec::new(),
        };
        q.prompt();
        q
    }

    fn prompt(&mut self) {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.ends_with(b"(qemu) ") {
            let n = self
                .monitor
                .read(&mut buf)
                .expect("reading the QEMU monitor");
            assert!(n > 0, "QEMU monitor closed");
            seen.extend_from_slice(&buf[..n]);
        }
    }

    /// Runs a monitor command and waits for the next prompt.
    fn command(&mut self, cmd: &str) {
        use std::io::Write;
        writeln!(self.monitor, "{cmd}").unwrap();
        self.prompt();
    }

    /// Waits until COM1 has printed `marker`; false on time-out or exit.
    fn wait_for(&mut self, marker: &str) -> bool {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if String::from_utf8_lossy(&self.out).contains(marker) {
                return true;
            }
            match self.serial.recv_timeout(Duration::from_millis(100)) {
                Ok(chunk) => self.out.extend_from_slice(&chunk),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return false,
            }
        }
        false
    }

    fn serial_text(&self) -> String {
        String::from_utf8_lossy(&self.out).replace('\r', "")
    }

    /// `len` bytes of guest physical memory from `addr`.
    fn read_phys(&mut self, tmp: &Path, addr: u64, len: usize) -> Vec<u8> {
        let file = tmp.join(format!("mem-{addr:x}.bin"));
        // Quoted: after a number, the monitor would read a "/" as division.
        self.command(&format!(
            "pmemsave {addr:#x} {len:#x} \"{}\"",
            file.display()
        ));
        let data = std::fs::read(&file).expect("reading the pmemsave dump");
        assert_eq!(data.len(), len, "pmemsave of {addr:#x}");
        data
    }
}

#[cfg(unix)]
impl Drop for QemuMonitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The BIOS loads its 8x16 font (bios/font8x16.bin) into plane 2 when it
/// sets a text mode, and INT 10h AX=1114h loads it again. QEMU's VGA draws
/// text from plane 2, so its screendump of `selftest/fontshot.asm` (mode
/// 13h memory scribbled over, mode 3, a blank user font, the ROM font
/// again, all 256 characters on screen) must show every glyph of the file
/// dot for dot.
#[cfg(unix)]
#[test]
fn text_mode_shows_the_roms_font_after_mode_13h() {
    if !have(QEMU, "--version") || !have("nasm", "-v") {
        eprintln!("note: {QEMU} or nasm not found; skipping the font test");
        return;
    }
    let font = std::fs::read(root().join("bios/font8x16.bin")).unwrap();
    assert_eq!(font.len(), 256 * 16);
    let (tmp, image) = assemble_guest("fontshot");
    let mut q = QemuMonitor::start(&tmp, &["-m", "128", "-drive", &drive(&image)]);
    assert!(
        q.wait_for("READY FONT"),
        "the guest did not finish:\n{}",
        q.serial_text()
    );
    assert!(
        q.serial_text().contains("INT 10h 1130h: ok"),
        "{}",
        q.serial_text()
    );
    let file = tmp.join("font.ppm");
    q.command(&format!("screendump {}", file.display()));
    drop(q);
    let pic = Picture::load(&file);
    let _ = std::fs::remove_dir_all(&tmp);
    assert_eq!((pic.width, pic.height), (720, 400), "mode 3 is 720x400");
    let (fg, bg) = (dac(0x2A, 0x2A, 0x2A), [0, 0, 0]);
    let mut wrong = Vec::new();
    for c in 0..256usize {
        let (row, col) = (2 + c / 32, 8 + 2 * (c % 32));
        for y in 0..16 {
            let bits = font[c * 16 + y];
            for x in 0..9 {
                // The ninth dot: background, except where QEMU repeats
                // the eighth for line-drawing characters (not checked).
                let want = match x {
                    0..=7 => bits & (0x80 >> x) != 0,
                    _ if (0xB0..=0xDF).contains(&c) => continue,
                    _ => false,
                };
                let got = pic.at(col * 9 + x, row * 16 + y, 720, 400);
                if !near(got, if want { fg } else { bg }) {
                    wrong.push(format!("char {c:#04x} dot ({x}, {y}): {got:?}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} dots differ from bios/font8x16.bin, first: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
}

/// One SMBIOS structure: type, handle, formatted area, strings.
#[derive(Debug)]
struct SmbiosStructure {
    kind: u8,
    handle: u16,
    data: Vec<u8>,
    strings: Vec<String>,
}

impl SmbiosStructure {
    /// String number `n` (1-based) of field `offset`; "" for none.
    fn string(&self, offset: usize) -> &str {
        match self.data[offset] {
            0 => "",
            n => self.strings.get(usize::from(n) - 1).map_or("?", |s| s),
        }
    }
    fn u16(&self, offset: usize) -> u16 {
        u16::from_le_bytes(self.data[offset..offset + 2].try_into().unwrap())
    }
    fn u32(&self, offset: usize) -> u32 {
        u32::from_le_bytes(self.data[offset..offset + 4].try_into().unwrap())
    }
}

/// Finds the SMBIOS 2.x entry point in the F segment as an OS does (a
/// paragraph-aligned "_SM_" whose checksum holds, "_DMI_" 16 bytes on with
/// its own) and walks the structure table it points at. Returns the
/// structures and the entry point's (version, max size, table length).
#[cfg(unix)]
fn read_smbios(q: &mut QemuMonitor, tmp: &Path) -> (Vec<SmbiosStructure>, (u8, u8, u16, u16)) {
    let fseg = q.read_phys(tmp, 0xF0000, 0x10000);
    let sum = |b: &[u8]| b.iter().fold(0u8, |a, &x| a.wrapping_add(x));
    let at = (0..fseg.len() - 0x1F)
        .step_by(16)
        .find(|&i| &fseg[i..i + 4] == b"_SM_")
        .expect("no _SM_ anchor on a paragraph boundary in F0000-FFFFF");
    let eps = &fseg[at..at + 0x1F];
    assert_eq!(eps[5], 0x1F, "entry point length");
    assert_eq!(sum(eps), 0, "entry point checksum");
    assert_eq!(&eps[0x10..0x15], b"_DMI_", "intermediate anchor");
    assert_eq!(sum(&eps[0x10..0x1F]), 0, "intermediate checksum");
    let max_size = u16::from_le_bytes([eps[8], eps[9]]);
    let len = u16::from_le_bytes([eps[0x16], eps[0x17]]);
    let addr = u32::from_le_bytes(eps[0x18..0x1C].try_into().unwrap());
    let count = u16::from_le_bytes([eps[0x1C], eps[0x1D]]);
    assert_eq!(eps[0x1E], (eps[6] << 4) | eps[7], "BCD revision");
    let table = q.read_phys(tmp, u64::from(addr), usize::from(len));
    let mut structures = Vec::new();
    let mut p = 0;
    while p < table.len() {
        let (kind, flen) = (table[p], usize::from(table[p + 1]));
        assert!(flen >= 4, "structure at +{p:#x}: length {flen}");
        let handle = u16::from_le_bytes([table[p + 2], table[p + 3]]);
        let data = table[p..p + flen].to_vec();
        let mut q = p + flen;
        let mut strings = Vec::new();
        if table[q] == 0 {
            q += 1; // no strings: a second NUL follows
        } else {
            while table[q] != 0 {
                let end = q + table[q..].iter().position(|&b| b == 0).unwrap();
                strings.push(String::from_utf8_lossy(&table[q..end]).into_owned());
                q = end + 1;
            }
        }
        assert_eq!(table[q], 0, "structure {kind} not ended by a double NUL");
        q += 1;
        assert!(
            q - p <= usize::from(max_size),
            "structure {kind} is {} bytes, the entry point says at most {max_size}",
            q - p
        );
        structures.push(SmbiosStructure {
            kind,
            handle,
            data,
            strings,
        });
        p = q;
    }
    assert_eq!(p, table.len(), "the table length");
    assert_eq!(structures.len(), usize::from(count), "number of structures");
    assert_eq!(
        structures.last().map(|s| s.kind),
        Some(127),
        "ends with type 127"
    );
    (structures, (eps[6], eps[7], max_size, len))
}

/// The SMBIOS tables under QEMU, with RAM only below 4 GiB and with RAM
/// above it: the entry point and both checksums, every structure the BIOS
/// promises, the strings Linux prints ("DMI: crane86 crane86 PC, BIOS 0.1
/// 11/23/2026"), the CPUID signature, and memory sizes that follow -m.
#[cfg(unix)]
#[test]
fn smbios_tables_describe_the_machine() {
    if !have(QEMU, "--version") {
        eprintln!("note: {QEMU} not found; skipping the SMBIOS test");
        return;
    }
    let tmp =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("smbios-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    // QEMU's i440FX puts 3 GiB below 4 GiB when RAM does not fit under it.
    for (mib, high_mib) in [(128u32, 0u32), (4608, 1536)] {
        let mem = mib.to_string();
        let mut q = QemuMonitor::start(&tmp, &["-m", &mem, "-cpu", "pentium2"]);
        assert!(q.wait_for("No bootable device."), "{}", q.serial_text());
        // QEMU's pentium2: CPUID.1 EAX = 0x652.
        let (s, (major, minor, _, _)) = read_smbios(&mut q, &tmp);
        drop(q);
        assert_eq!((major, minor), (2, 8), "SMBIOS version");
        let find = |kind: u8| {
            s.iter()
                .find(|x| x.kind == kind)
                .unwrap_or_else(|| panic!("no type {kind} structure in {s:#?}"))
        };
        let mut handles: Vec<u16> = s.iter().map(|x| x.handle).collect();
        handles.sort_unstable();
        handles.dedup();
        assert_eq!(handles.len(), s.len(), "handles are unique");

        let bios = find(0);
        assert_eq!(bios.string(4), "crane86");
        assert_eq!(bios.string(5), "0.1");
        assert_eq!(bios.string(8), "11/23/2026");
        assert_eq!(bios.u16(6), 0xF000, "BIOS segment");
        assert_eq!(
            bios.data[0x12] & 1,
            1,
            "ACPI supported (the PIIX4 PM is there)"
        );
        let sys = find(1);
        assert_eq!(sys.string(4), "crane86");
        assert_eq!(sys.string(5), "crane86 PC");
        assert!(
            sys.data[8..24].iter().any(|&b| b != 0 && b != 0xFF),
            "a UUID"
        );
        assert_eq!(find(3).string(4), "crane86");
        let cpu = find(4);
        assert_eq!(cpu.data[5], 3, "central processor");
        assert_eq!(cpu.u32(8), 0x652, "processor ID = CPUID.1 EAX");
        assert_eq!(cpu.string(7).len(), 12, "manufacturer = CPUID vendor");
        assert_eq!((cpu.data[0x23], cpu.data[0x24], cpu.data[0x25]), (1, 1, 1));

        let total_kib = u64::from(mib) * 1024;
        let array = find(16);
        assert_eq!(u64::from(array.u32(7)), total_kib, "array capacity");
        assert_eq!(array.u16(0x0D), 1, "one memory device");
        let dimm = find(17);
        assert_eq!(dimm.u16(4), array.handle, "the DIMM is in the array");
        assert_eq!(u32::from(dimm.u16(0x0C)), mib, "memory device size, MiB");
        let ranges: Vec<&SmbiosStructure> = s.iter().filter(|x| x.kind == 19).collect();
        let low_kib = u64::from(mib - high_mib) * 1024;
        assert_eq!(ranges[0].u32(4), 0);
        assert_eq!(
            u64::from(ranges[0].u32(8)),
            low_kib - 1,
            "end of RAM below 4 GiB"
        );
        assert_eq!(ranges[0].u16(0x0C), array.handle);
        if high_mib == 0 {
            assert_eq!(ranges.len(), 1, "no range above 4 GiB");
            assert!(
                s.iter().any(|x| x.kind == 126),
                "the unused range is inactive"
            );
        } else {
            assert_eq!(ranges.len(), 2);
            assert_eq!(
                ranges[1].u32(4),
                0x40_0000,
                "RAM above 4 GiB starts at 4 GiB"
            );
            assert_eq!(
                u64::from(ranges[1].u32(8)),
                0x40_0000 + u64::from(high_mib) * 1024 - 1
            );
        }
        assert_eq!(find(32).data[0x0A], 0, "boot status: no errors");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
