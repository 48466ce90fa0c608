//! Known VGA states, rendered by crane86 and compared pixel by pixel with
//! the expected images in `tests/screens/`.
//!
//! Each guest (`tests/guests/*.asm`, a boot sector run by crane86's BIOS)
//! draws one picture and halts; crane86 runs it headless with
//! `-screenshot`, which is taken at exit. Besides the comparison with the
//! expected PNG, every test checks its picture against what the guest's
//! source says it draws (the standard VGA colours, the gradient formula),
//! so an expected image cannot silently hold a wrong picture. When
//! `qemu-system-i386` is installed, the graphics pictures are also
//! compared with QEMU's screendumps of the same guests under SeaBIOS (QEMU
//! draws text with the font in the guest's video memory, which differs, so
//! text is not compared).
//!
//! Text-mode blinking: crane86 counts rendered frames to blink the cursor
//! and the blinking characters, and a headless run renders only the exit
//! screenshot, which is frame 0, where both are in their visible phase.
//!
//! A picture that differs is kept in the test's temporary directory (the
//! message names it). To accept new pictures after a deliberate change,
//! run with `CRANE86_BLESS_SCREENS=1` and look at every changed PNG.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An RGB picture, pixels 0x00RRGGBB, row-major.
#[derive(Clone, PartialEq, Eq)]
struct Picture {
    width: usize,
    height: usize,
    pixels: Vec<u32>,
}

impl Picture {
    fn at(&self, x: usize, y: usize) -> u32 {
        self.pixels[y * self.width + x]
    }

    fn load_png(path: &Path) -> Picture {
        let file = std::fs::File::open(path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        let mut dec = png::Decoder::new(std::io::BufReader::new(file));
        dec.set_transformations(png::Transformations::EXPAND);
        let mut reader = dec
            .read_info()
            .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", path.display()));
        let mut buf = vec![0; reader.output_buffer_size().expect("PNG size")];
        let info = reader
            .next_frame(&mut buf)
            .unwrap_or_else(|e| panic!("{}: cannot decode: {e}", path.display()));
        assert_eq!(
            info.bit_depth,
            png::BitDepth::Eight,
            "{}: 8-bit PNG expected",
            path.display()
        );
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("{}: RGB PNG expected, got {other:?}", path.display()),
        };
        let (width, height) = (info.width as usize, info.height as usize);
        let pixels = (0..width * height)
            .map(|i| {
                let p = &buf[i * channels..i * channels + 3];
                u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2])
            })
            .collect();
        Picture {
            width,
            height,
            pixels,
        }
    }

    /// A binary PPM (P6, maxval 255), as QEMU's screendump writes it.
    fn load_ppm(path: &Path) -> Picture {
        let data =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut fields = Vec::new();
        let mut i = 0;
        while fields.len() < 4 {
            while i < data.len() && data[i].is_ascii_whitespace() {
                i += 1;
            }
            if data.get(i) == Some(&b'#') {
                while i < data.len() && data[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            let start = i;
            while i < data.len() && !data[i].is_ascii_whitespace() {
                i += 1;
            }
            assert!(i > start, "{}: truncated PPM header", path.display());
            fields.push(String::from_utf8_lossy(&data[start..i]).to_string());
        }
        i += 1; // the single whitespace byte before the samples
        assert_eq!(fields[0], "P6", "{}: not a binary PPM", path.display());
        assert_eq!(fields[3], "255", "{}: 8-bit PPM expected", path.display());
        let width: usize = fields[1].parse().expect("PPM width");
        let height: usize = fields[2].parse().expect("PPM height");
        let body = &data[i..];
        assert!(
            body.len() >= width * height * 3,
            "{}: PPM cut short",
            path.display()
        );
        let pixels = body
            .chunks_exact(3)
            .take(width * height)
            .map(|p| u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2]))
            .collect();
        Picture {
            width,
            height,
            pixels,
        }
    }

    /// Describes where `self` and `other` differ; `None` when they are the
    /// same picture.
    fn differences(&self, other: &Picture) -> Option<String> {
        if (self.width, self.height) != (other.width, other.height) {
            return Some(format!(
                "size {}x{}, expected {}x{}",
                self.width, self.height, other.width, other.height
            ));
        }
        let diffs: Vec<usize> = (0..self.pixels.len())
            .filter(|&i| self.pixels[i] != other.pixels[i])
            .collect();
        let first = *diffs.first()?;
        let (x, y) = (first % self.width, first / self.width);
        Some(format!(
            "{} pixels differ; the first at ({x}, {y}) is {:06x}, expected {:06x}",
            diffs.len(),
            self.pixels[first],
            other.pixels[first]
        ))
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// This test process's scratch directory.
fn work_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crane86-screens-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the temporary directory");
    dir
}

/// `$NASM`, else `nasm` on `PATH`.
fn nasm() -> String {
    let nasm = std::env::var("NASM").unwrap_or_else(|_| "nasm".into());
    let found = Command::new(&nasm)
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "nasm not found: install it (apt-get install nasm, or scripts/setup-test-deps.sh)"
    );
    nasm
}

/// Assembles `tests/guests/SOURCE.asm` with `defines` into the disk image
/// `OUT.img` in the scratch directory.
fn assemble(source: &str, defines: &[&str], out: &str) -> PathBuf {
    let guests = root().join("tests/guests");
    let img = work_dir().join(format!("{out}.img"));
    let o = Command::new(nasm())
        .arg("-f")
        .arg("bin")
        .arg(format!("-I{}/", guests.display()))
        .args(defines.iter().map(|d| format!("-D{d}")))
        .arg("-o")
        .arg(&img)
        .arg(guests.join(format!("{source}.asm")))
        .output()
        .expect("running nasm");
    assert!(
        o.status.success(),
        "nasm failed on {source}.asm:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    img
}

/// Runs `cmd` with its output in files, killing it after `limit`.
/// Returns the exit code (None when killed or signalled), stdout, stderr.
fn run_bounded(mut cmd: Command, limit: Duration, tag: &str) -> (Option<i32>, String, String) {
    let dir = work_dir();
    let out_path = dir.join(format!("{tag}.stdout"));
    let err_path = dir.join(format!("{tag}.stderr"));
    let out = std::fs::File::create(&out_path).expect("stdout file");
    let err = std::fs::File::create(&err_path).expect("stderr file");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {tag}: {e}"));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for the child") {
            break s.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    (status, read(&out_path), read(&err_path))
}

/// Runs the guest disk `img` headless and returns its exit screenshot.
fn screenshot(img: &Path, name: &str) -> (PathBuf, Picture) {
    let shot = work_dir().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&shot);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crane86"));
    cmd.args(["-display", "none", "-serial", "stdio", "-no-reboot", "-hda"])
        .arg(img)
        .arg("-screenshot")
        .arg(&shot);
    let (status, out, err) = run_bounded(cmd, Duration::from_secs(60), name);
    assert_eq!(
        status,
        Some(0),
        "crane86 did not end with status 0 on {name}\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert!(
        out.contains("READY"),
        "the {name} guest did not finish:\n{out}"
    );
    let pic = Picture::load_png(&shot);
    (shot, pic)
}

/// Compares the screenshot at `actual_path` with `tests/screens/NAME.png`.
fn assert_matches_expected(name: &str, actual_path: &Path, actual: &Picture) {
    let expected_path = root().join(format!("tests/screens/{name}.png"));
    if std::env::var_os("CRANE86_BLESS_SCREENS").is_some() {
        std::fs::copy(actual_path, &expected_path).expect("writing the expected image");
        eprintln!("wrote {}", expected_path.display());
        return;
    }
    assert!(
        expected_path.exists(),
        "{} is missing (the picture crane86 drew is {})",
        expected_path.display(),
        actual_path.display()
    );
    let expected = Picture::load_png(&expected_path);
    if let Some(d) = actual.differences(&expected) {
        panic!(
            "{name}: the screen differs from {}: {d}\nthe picture crane86 drew is {}",
            expected_path.display(),
            actual_path.display()
        );
    }
}

/// The 16 colours of the text attributes (the EGA palette a VGA BIOS
/// programs for mode 3), through the 6-to-8-bit DAC expansion.
const EGA: [u32; 16] = [
    0x000000, 0x0000AA, 0x00AA00, 0x00AAAA, 0xAA0000, 0xAA00AA, 0xAA5500, 0xAAAAAA, 0x555555,
    0x5555FF, 0x55FF55, 0x55FFFF, 0xFF5555, 0xFF55FF, 0xFFFF55, 0xFFFFFF,
];

/// A 6-bit DAC level as 8 bits, as the VGA's DAC output is shown.
fn dac8(v: u32) -> u32 {
    (v << 2) | (v >> 4)
}

fn rgb6(r: u32, g: u32, b: u32) -> u32 {
    dac8(r) << 16 | dac8(g) << 8 | dac8(b)
}

/// The IBM VGA's default 256-colour palette (what mode 13h starts with):
/// the 16 EGA colours, 16 greys, 9 blocks of 24 hues (high, medium and low
/// intensity, each at high, medium and low saturation), 8 blacks.
fn vga_default_palette() -> Vec<u32> {
    let mut pal: Vec<u32> = EGA.to_vec();
    let greys = [0, 5, 8, 11, 14, 17, 20, 24, 28, 32, 36, 40, 45, 50, 56, 63];
    pal.extend(greys.iter().map(|&g| rgb6(g, g, g)));
    // The five levels of each block, from "off" to "full".
    let blocks: [[u32; 5]; 9] = [
        [0, 16, 31, 47, 63],
        [31, 39, 47, 55, 63],
        [45, 49, 54, 58, 63],
        [0, 7, 14, 21, 28],
        [14, 17, 21, 24, 28],
        [20, 22, 24, 26, 28],
        [0, 4, 8, 12, 16],
        [8, 10, 12, 14, 16],
        [11, 12, 13, 15, 16],
    ];
    // The hue circle: blue, magenta, red, yellow, green, cyan, back to blue.
    let mut hues = Vec::new();
    for k in 0..24usize {
        let (seg, s) = (k / 4, k % 4);
        let (r, g, b) = match seg {
            0 => (s, 0, 4),
            1 => (4, 0, 4 - s),
            2 => (4, s, 0),
            3 => (4 - s, 4, 0),
            4 => (0, 4, s),
            _ => (0, 4 - s, 4),
        };
        hues.push((r, g, b));
    }
    for levels in blocks {
        pal.extend(
            hues.iter()
                .map(|&(r, g, b)| rgb6(levels[r], levels[g], levels[b])),
        );
    }
    pal.extend([0; 8]);
    assert_eq!(pal.len(), 256);
    pal
}

/// Checks a text screen drawn by `tests/guests/text.asm` against what its
/// source says: the colours of the attribute grid, the title row, the
/// cursor.
fn check_text_screen(p: &Picture, blink: bool) {
    const CW: usize = 9;
    const CH: usize = 16;
    assert_eq!((p.width, p.height), (80 * CW, 25 * CH), "mode 3 is 720x400");
    // The whole cell of character (col, row) in one colour?
    let cell_is = |col: usize, row: usize, colour: u32| {
        (0..CH).all(|y| (0..CW).all(|x| p.at(col * CW + x, row * CH + y) == colour))
    };
    for attr in 0..256usize {
        let (fg, bg) = (attr & 15, attr >> 4);
        let (row, col) = (2 + bg, 8 + 4 * fg);
        // The full block (0DBh, a line-graphics character, so nine dots
        // wide) is all foreground: blinking characters show at frame 0.
        assert!(
            cell_is(col + 2, row, EGA[fg]),
            "attribute {attr:02x}: the block is not colour {fg}"
        );
        // The ninth dot column of a letter cell is background; bit 7 is
        // blinking, or the bright background with blinking off.
        let bg_colour = EGA[if blink { bg & 7 } else { bg }];
        for c in [col, col + 1] {
            for y in 0..CH {
                assert_eq!(
                    p.at(c * CW + 8, row * CH + y),
                    bg_colour,
                    "attribute {attr:02x}: background of column {c}"
                );
            }
        }
    }
    // The title row: yellow on blue, the right end blank.
    assert!(cell_is(79, 0, EGA[1]), "title row background");
    assert!(
        (0..80 * CW).any(|x| (0..CH).any(|y| p.at(x, y) == EGA[14])),
        "title text in yellow"
    );
    // The cursor: at row 24, column 38, on a blank light-grey-on-black
    // cell: its top scan line is black, some lower lines are light grey
    // across the eight dots.
    let (cx, cy) = (38 * CW, 24 * CH);
    assert!((0..CW).all(|x| p.at(cx + x, cy) == 0), "cursor cell top");
    let lines = (0..CH)
        .filter(|&y| (0..8).all(|x| p.at(cx + x, cy + y) == EGA[7]))
        .count();
    assert!(
        (1..=4).contains(&lines),
        "cursor: {lines} light grey lines at row 24, column 38"
    );
    for col in (0..80).filter(|&c| !(28..=38).contains(&c)) {
        assert!(cell_is(col, 24, 0), "row 24, column {col} is blank");
    }
}

#[test]
fn text_mode_colours_blink_attribute_and_cursor() {
    let img = assemble("text", &[], "text");
    let (path, pic) = screenshot(&img, "text");
    check_text_screen(&pic, true);
    assert_matches_expected("text", &path, &pic);
}

#[test]
fn text_mode_with_blinking_off_shows_bright_backgrounds() {
    let img = assemble("text", &["NO_BLINK"], "text_noblink");
    let (path, pic) = screenshot(&img, "text_noblink");
    check_text_screen(&pic, false);
    assert_matches_expected("text_noblink", &path, &pic);
}

/// A guest that sets mode 13h, fills its memory (which overwrites plane 2,
/// where the text font lives) and then sets mode 3 must see the same text
/// screen as one that never left mode 3: the BIOS's mode set brings the
/// font back, as a VGA BIOS does.
#[test]
fn text_mode_after_mode_13h_has_its_font() {
    let plain = assemble("text", &[], "text_plain");
    let (_, plain) = screenshot(&plain, "text_plain");
    let img = assemble("text", &["AFTER_13H"], "text_after_13h");
    let (path, pic) = screenshot(&img, "text_after_13h");
    if let Some(d) = pic.differences(&plain) {
        panic!(
            "mode 3 after mode 13h differs from mode 3 alone (is the font in plane 2 \
             restored by the mode set?): {d}\nsee {}",
            path.display()
        );
    }
}

/// What `tests/guests/mode13.asm` draws, from the default palette.
fn mode13_expected() -> Picture {
    let pal = vga_default_palette();
    let (width, height) = (320, 200);
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let index = if y < 192 {
                (y / 12) * 16 + x / 20
            } else {
                x % 256
            };
            pixels.push(pal[index]);
        }
    }
    Picture {
        width,
        height,
        pixels,
    }
}

#[test]
fn mode_13h_default_palette() {
    let img = assemble("mode13", &[], "mode13");
    let (path, pic) = screenshot(&img, "mode13");
    if let Some(d) = pic.differences(&mode13_expected()) {
        panic!(
            "mode 13h: the screen is not the default palette's tiles: {d}\nsee {}",
            path.display()
        );
    }
    assert_matches_expected("mode13", &path, &pic);
}

/// What `tests/guests/vbe32.asm` draws.
fn vbe32_expected() -> Picture {
    let (width, height) = (640u32, 480u32);
    let mut pixels = Vec::with_capacity((width * height) as usize);
    for y in 0..height {
        for x in 0..width {
            let r = 255 * x / (width - 1);
            let g = 255 * y / (height - 1);
            let b = (x + y) & 0xFF;
            pixels.push(r << 16 | g << 8 | b);
        }
    }
    Picture {
        width: width as usize,
        height: height as usize,
        pixels,
    }
}

#[test]
fn vbe_640x480x32_gradient() {
    let img = assemble("vbe32", &[], "vbe32");
    let (path, pic) = screenshot(&img, "vbe32");
    if let Some(d) = pic.differences(&vbe32_expected()) {
        panic!(
            "VBE 640x480x32: the screen is not the gradient: {d}\nsee {}",
            path.display()
        );
    }
    assert_matches_expected("vbe32", &path, &pic);
}

fn have_qemu() -> bool {
    Command::new("qemu-system-i386")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Kills QEMU however the test ends.
struct Reaper(std::process::Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Boots `img` under QEMU (its own SeaBIOS and VGA BIOS), waits for the
/// guest's "READY" and returns a screendump.
fn qemu_screendump(img: &Path, name: &str) -> Picture {
    let dir = work_dir();
    let serial = dir.join(format!("{name}.qemu.serial"));
    let socket = dir.join(format!("{name}.qemu.monitor"));
    let dump = dir.join(format!("{name}.qemu.ppm"));
    for p in [&serial, &socket, &dump] {
        let _ = std::fs::remove_file(p);
    }
    let child = Command::new("qemu-system-i386")
        .args(["-m", "64", "-display", "none", "-vga", "std", "-no-reboot"])
        .arg("-drive")
        .arg(format!(
            "file={},format=raw,if=ide,snapshot=on",
            img.display()
        ))
        .arg("-serial")
        .arg(format!("file:{}", serial.display()))
        .arg("-monitor")
        .arg(format!("unix:{},server=on,wait=off", socket.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting qemu-system-i386");
    let mut qemu = Reaper(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read(&serial).unwrap_or_default();
        if String::from_utf8_lossy(&text).contains("READY") {
            break;
        }
        if let Some(s) = qemu.0.try_wait().expect("waiting for QEMU") {
            let mut err = String::new();
            if let Some(e) = qemu.0.stderr.as_mut() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("QEMU ended ({s}) before the {name} guest was ready: {err}");
        }
        assert!(
            Instant::now() < deadline,
            "the {name} guest did not get ready under QEMU"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut monitor = loop {
        match std::os::unix::net::UnixStream::connect(&socket) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("QEMU monitor: {e}"),
        }
    };
    monitor
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("monitor timeout");
    let prompt = |m: &mut std::os::unix::net::UnixStream| {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("(qemu)") {
            let n = m.read(&mut buf).expect("reading the QEMU monitor");
            assert!(n > 0, "the QEMU monitor closed");
            seen.extend_from_slice(&buf[..n]);
        }
    };
    prompt(&mut monitor);
    writeln!(monitor, "screendump {}", dump.display()).expect("monitor write");
    prompt(&mut monitor);
    let _ = writeln!(monitor, "quit");
    drop(qemu);
    Picture::load_ppm(&dump)
}

/// QEMU's picture of the same guest: the same size, or a whole multiple
/// of it, with every pixel the same colour. `dac6` compares only the six
/// bits per channel a VGA DAC holds: QEMU widens them to 8 bits by
/// shifting (2Ah to A8h), crane86 as the analogue DAC's full range does
/// (2Ah to AAh).
fn assert_same_as_qemu(name: &str, ours: &Picture, qemu: &Picture, dac6: bool) {
    let (kx, ky) = (qemu.width / ours.width, qemu.height / ours.height);
    assert!(
        kx >= 1 && ky >= 1 && qemu.width == kx * ours.width && qemu.height == ky * ours.height,
        "{name}: QEMU shows {}x{}, crane86 {}x{}",
        qemu.width,
        qemu.height,
        ours.width,
        ours.height
    );
    let mut diffs = 0;
    let mut first = None;
    for y in 0..ours.height {
        for x in 0..ours.width {
            let (a, b) = (ours.at(x, y), qemu.at(x * kx, y * ky));
            let same = if dac6 {
                a & 0xFC_FCFC == b & 0xFC_FCFC
            } else {
                a == b
            };
            if !same {
                diffs += 1;
                first.get_or_insert((x, y, a, b));
            }
        }
    }
    if let Some((x, y, a, b)) = first {
        panic!(
            "{name}: {diffs} pixels differ from QEMU's; the first at ({x}, {y}) is {a:06x}, QEMU shows {b:06x}"
        );
    }
}

#[test]
fn graphics_screens_match_qemu() {
    if !have_qemu() {
        eprintln!("note: qemu-system-i386 not installed; the QEMU cross-check is skipped");
        return;
    }
    for (name, dac6) in [("mode13", true), ("vbe32", false)] {
        let img = assemble(name, &[], &format!("{name}_q"));
        let (_, ours) = screenshot(&img, &format!("{name}_q"));
        let qemu = qemu_screendump(&img, name);
        assert_same_as_qemu(name, &ours, &qemu, dac6);
    }
}
