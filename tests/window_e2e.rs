//! The desktop window end to end, under a virtual X server (Xvfb): crane86
//! boots its built-in demo in a window; the test waits for the window and
//! the demo's "Type keys" prompt, types keys into the window with
//! `xdotool`, and checks that the guest got them (the demo echoes them to
//! COM1, which is our stdout), that the window shows the screen the
//! emulator renders (the window's pixels against crane86's own
//! `-screenshot` of the same moment, and the demo's last lines against a
//! headless run's), and that closing the window ends crane86 with status 0.
//!
//! The window is captured and closed by talking the X11 protocol over the
//! server's Unix socket (GetImage, and a WM_DELETE_WINDOW message as a
//! window manager sends when the close button is clicked): Xvfb and
//! xdotool are all the test needs. Without them it is skipped with a note,
//! unless the environment variable CI is set: then it fails.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Character cell of the 80x25 text mode (9-dot characters).
const CW: usize = 9;
const CH: usize = 16;
const LIGHT_GREY: u32 = 0xAAAAAA;

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            let p = d.join(program);
            p.is_file()
                && std::fs::metadata(&p)
                    .map(|m| {
                        use std::os::unix::fs::PermissionsExt;
                        m.permissions().mode() & 0o111 != 0
                    })
                    .unwrap_or(false)
        })
    })
}

fn work_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crane86-window-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the temporary directory");
    dir
}

/// Kills the processes it holds (crane86 first, then Xvfb) however the
/// test ends.
#[derive(Default)]
struct Reaper {
    children: Vec<(&'static str, Child)>,
}

impl Reaper {
    fn add(&mut self, name: &'static str, child: Child) {
        self.children.push((name, child));
    }

    fn get(&mut self, name: &str) -> &mut Child {
        &mut self
            .children
            .iter_mut()
            .find(|(n, _)| *n == name)
            .expect("a child by that name")
            .1
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        for (_, c) in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts Xvfb on a free display number; returns the number.
fn start_xvfb(reaper: &mut Reaper) -> u32 {
    for n in (91..140).chain(200..260) {
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        if socket.exists() || Path::new(&format!("/tmp/.X{n}-lock")).exists() {
            continue;
        }
        let Ok(mut child) = Command::new("Xvfb")
            .arg(format!(":{n}"))
            .args(["-screen", "0", "1024x768x24", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            continue;
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break; // the display was taken after all: try the next one
            }
            if socket.exists() && UnixStream::connect(&socket).is_ok() {
                reaper.add("Xvfb", child);
                return n;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("could not start Xvfb on any display :91-:259");
}

/// Runs a short command with a time limit; returns its stdout when it
/// succeeded.
fn run_bounded(mut cmd: Command, limit: Duration) -> Result<String, String> {
    let dir = work_dir();
    let out_path = dir.join("cmd.stdout");
    let err_path = dir.join("cmd.stderr");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for a command") {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{cmd:?} did not finish in {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = String::from_utf8_lossy(&std::fs::read(&out_path).unwrap_or_default()).into_owned();
    let err = String::from_utf8_lossy(&std::fs::read(&err_path).unwrap_or_default()).into_owned();
    if status.success() {
        Ok(out)
    } else {
        Err(format!("{cmd:?} failed ({status}): {err}"))
    }
}

fn xdotool(display: u32, args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new("xdotool");
    cmd.args(args).env("DISPLAY", format!(":{display}"));
    run_bounded(cmd, Duration::from_secs(30))
}

/// Collects what a child writes to a pipe.
fn collect(mut r: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let b = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = r.read(&mut chunk) {
            if n == 0 {
                break;
            }
            b.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buf
}

fn text(buf: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&buf.lock().unwrap()).into_owned()
}

/// A picture, 0x00RRGGBB pixels, row-major.
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
        let mut reader = dec.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size().expect("PNG size")];
        let info = reader.next_frame(&mut buf).expect("decoding the PNG");
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("{}: RGB PNG expected, got {other:?}", path.display()),
        };
        let (width, height) = (info.width as usize, info.height as usize);
        let pixels = (0..width * height)
            .map(|i| {
                let p = &buf[i * channels..];
                u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2])
            })
            .collect();
        Picture {
            width,
            height,
            pixels,
        }
    }

    fn save_png(&self, path: &Path) {
        let file = std::fs::File::create(path).expect("creating a PNG");
        let mut enc = png::Encoder::new(file, self.width as u32, self.height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("PNG header");
        let rgb: Vec<u8> = self
            .pixels
            .iter()
            .flat_map(|p| [(p >> 16) as u8, (p >> 8) as u8, *p as u8])
            .collect();
        w.write_image_data(&rgb).expect("PNG data");
    }

    /// The pixels of text cell (`col`, `row`).
    fn cell(&self, col: usize, row: usize) -> Vec<u32> {
        (0..CH)
            .flat_map(|y| (0..CW).map(move |x| (col * CW + x, row * CH + y)))
            .map(|(x, y)| self.at(x, y))
            .collect()
    }
}

/// The window's picture at the emulator's resolution: minifb stretches
/// the guest's frame to the window keeping its aspect ratio, centred, so
/// each frame pixel is read at its centre's place in the window.
fn unscale(win: &Picture, width: usize, height: usize) -> Picture {
    if (win.width, win.height) == (width, height) {
        return Picture {
            width,
            height,
            pixels: win.pixels.clone(),
        };
    }
    let s = (win.width as f64 / width as f64).min(win.height as f64 / height as f64);
    let ox = (win.width as f64 - width as f64 * s) / 2.0;
    let oy = (win.height as f64 - height as f64 * s) / 2.0;
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let wx = ((ox + (x as f64 + 0.5) * s) as usize).min(win.width - 1);
            let wy = ((oy + (y as f64 + 0.5) * s) as usize).min(win.height - 1);
            pixels.push(win.at(wx, wy));
        }
    }
    Picture {
        width,
        height,
        pixels,
    }
}

/// A minimal X11 protocol client, enough to read a window's pixels and to
/// ask it to close.
struct X11 {
    s: UnixStream,
    /// (visual id, red, green, blue masks) of the screen's TrueColor visuals.
    visuals: Vec<(u32, u32, u32, u32)>,
    /// Bits per pixel of each depth's ZPixmap images.
    formats: Vec<(u8, u8)>,
    lsb_first: bool,
}

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

impl X11 {
    fn connect(display: u32) -> Result<X11, String> {
        let path = format!("/tmp/.X11-unix/X{display}");
        let mut s = UnixStream::connect(&path).map_err(|e| format!("{path}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .map_err(|e| e.to_string())?;
        // Little-endian, protocol 11.0, no authorisation (Xvfb started
        // without -auth lets local clients in).
        s.write_all(&[b'l', 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            .map_err(|e| e.to_string())?;
        let mut head = [0u8; 8];
        s.read_exact(&mut head).map_err(|e| e.to_string())?;
        let mut d = vec![0u8; usize::from(u16le(&head, 6)) * 4];
        s.read_exact(&mut d).map_err(|e| e.to_string())?;
        if head[0] != 1 {
            let reason = String::from_utf8_lossy(&d[..usize::from(head[1]).min(d.len())]);
            return Err(format!("the X server refused the connection: {reason}"));
        }
        let vendor_len = usize::from(u16le(&d, 16));
        let nformats = usize::from(d[21]);
        let lsb_first = d[22] == 0;
        let mut at = 32 + pad4(vendor_len);
        let formats = (0..nformats)
            .map(|i| (d[at + 8 * i], d[at + 8 * i + 1]))
            .collect();
        at += 8 * nformats;
        // The first screen's depths and visuals.
        let ndepths = usize::from(d[at + 39]);
        at += 40;
        let mut visuals = Vec::new();
        for _ in 0..ndepths {
            let nvisuals = usize::from(u16le(&d, at + 2));
            at += 8;
            for _ in 0..nvisuals {
                if d[at + 4] == 4 {
                    // TrueColor
                    visuals.push((
                        u32le(&d, at),
                        u32le(&d, at + 8),
                        u32le(&d, at + 12),
                        u32le(&d, at + 16),
                    ));
                }
                at += 24;
            }
        }
        Ok(X11 {
            s,
            visuals,
            formats,
            lsb_first,
        })
    }

    fn send(&mut self, req: &[u8]) -> Result<(), String> {
        self.s.write_all(req).map_err(|e| e.to_string())
    }

    /// The next reply (events are skipped); an X error is an `Err`.
    fn reply(&mut self) -> Result<Vec<u8>, String> {
        loop {
            let mut r = vec![0u8; 32];
            self.s.read_exact(&mut r).map_err(|e| e.to_string())?;
            match r[0] {
                0 => {
                    return Err(format!(
                        "X error {} (request {}, value {:#x})",
                        r[1],
                        r[10],
                        u32le(&r, 4)
                    ))
                }
                1 => {
                    let extra = u32le(&r, 4) as usize * 4;
                    let mut more = vec![0u8; extra];
                    self.s.read_exact(&mut more).map_err(|e| e.to_string())?;
                    r.extend_from_slice(&more);
                    return Ok(r);
                }
                _ => continue,
            }
        }
    }

    fn intern_atom(&mut self, name: &str) -> Result<u32, String> {
        let n = name.len();
        let mut req = vec![16, 0];
        req.extend_from_slice(&((2 + pad4(n) / 4) as u16).to_le_bytes());
        req.extend_from_slice(&(n as u16).to_le_bytes());
        req.extend_from_slice(&[0, 0]);
        req.extend_from_slice(name.as_bytes());
        req.resize(8 + pad4(n), 0);
        self.send(&req)?;
        Ok(u32le(&self.reply()?, 8))
    }

    /// The window's contents.
    fn capture(&mut self, window: u32) -> Result<Picture, String> {
        let mut req = vec![14, 0, 2, 0]; // GetGeometry
        req.extend_from_slice(&window.to_le_bytes());
        self.send(&req)?;
        let g = self.reply()?;
        let (width, height) = (usize::from(u16le(&g, 16)), usize::from(u16le(&g, 18)));
        let mut req = vec![73, 2, 5, 0]; // GetImage, ZPixmap
        req.extend_from_slice(&window.to_le_bytes());
        req.extend_from_slice(&[0, 0, 0, 0]);
        req.extend_from_slice(&(width as u16).to_le_bytes());
        req.extend_from_slice(&(height as u16).to_le_bytes());
        req.extend_from_slice(&u32::MAX.to_le_bytes());
        self.send(&req)?;
        let r = self.reply()?;
        let depth = r[1];
        let visual = u32le(&r, 8);
        let bpp = self
            .formats
            .iter()
            .find(|f| f.0 == depth)
            .map(|f| f.1)
            .ok_or(format!("no pixmap format for depth {depth}"))?;
        if bpp != 32 {
            return Err(format!(
                "the window's depth {depth} uses {bpp} bits per pixel; start Xvfb at depth 24"
            ));
        }
        let (_, rm, gm, bm) = self
            .visuals
            .iter()
            .copied()
            .find(|v| v.0 == visual)
            .unwrap_or((visual, 0xFF0000, 0x00FF00, 0x0000FF));
        let channel = |p: u32, mask: u32| -> u32 {
            if mask == 0 {
                return 0;
            }
            let v = (p & mask) >> mask.trailing_zeros();
            let bits = (mask >> mask.trailing_zeros()).count_ones();
            if bits >= 8 {
                v >> (bits - 8)
            } else {
                v << (8 - bits) | v >> (2 * bits).saturating_sub(8)
            }
        };
        let data = &r[32..];
        if data.len() < width * height * 4 {
            return Err("GetImage returned too little data".into());
        }
        let pixels = data
            .chunks_exact(4)
            .take(width * height)
            .map(|b| {
                let p = if self.lsb_first {
                    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
                } else {
                    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
                };
                channel(p, rm) << 16 | channel(p, gm) << 8 | channel(p, bm)
            })
            .collect();
        Ok(Picture {
            width,
            height,
            pixels,
        })
    }

    /// Sends the window the WM_DELETE_WINDOW message a window manager sends
    /// when its close button is clicked.
    fn close(&mut self, window: u32) -> Result<(), String> {
        let protocols = self.intern_atom("WM_PROTOCOLS")?;
        let delete = self.intern_atom("WM_DELETE_WINDOW")?;
        let mut req = vec![25, 0, 11, 0]; // SendEvent to the window's owner
        req.extend_from_slice(&window.to_le_bytes());
        req.extend_from_slice(&0u32.to_le_bytes()); // event mask: none
        let mut ev = vec![33, 32, 0, 0]; // ClientMessage, format 32
        ev.extend_from_slice(&window.to_le_bytes());
        ev.extend_from_slice(&protocols.to_le_bytes());
        ev.extend_from_slice(&delete.to_le_bytes());
        ev.resize(32, 0); // time: CurrentTime
        req.extend_from_slice(&ev);
        self.send(&req)?;
        self.send(&[43, 0, 1, 0])?; // GetInputFocus: a reply, so errors show
        self.reply().map(|_| ())
    }
}

/// Waits until `cond` holds, or fails naming `what` and showing the
/// output so far.
fn wait_until(
    what: &str,
    limit: Duration,
    out: &Arc<Mutex<Vec<u8>>>,
    err: &Arc<Mutex<Vec<u8>>>,
    mut cond: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\nstdout:\n{}\nstderr:\n{}",
            text(out),
            text(err)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Presses and releases a key in the window ("shift+h": modifiers first).
/// Each step is held for a while: the window polls key state once per
/// frame, so keys pressed within one frame could be lost or reordered.
fn press(display: u32, window: &str, keys: &str) {
    let keys: Vec<&str> = keys.split('+').collect();
    let step = |action: &str, key: &str| {
        xdotool(display, &[action, "--window", window, key])
            .unwrap_or_else(|e| panic!("xdotool {action} {key}: {e}"));
        std::thread::sleep(Duration::from_millis(100));
    };
    for k in &keys {
        step("keydown", k);
    }
    for k in keys.iter().rev() {
        step("keyup", k);
    }
}

/// The demo's last screen, headless: "Demo finished." on row 23.
fn headless_demo_screen() -> Picture {
    let shot = work_dir().join("headless.png");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crane86"));
    cmd.args(["-display", "none", "-serial", "none", "-screenshot"])
        .arg(&shot);
    run_bounded(cmd, Duration::from_secs(120)).expect("the headless demo run");
    Picture::load_png(&shot)
}

#[test]
fn window_shows_the_demo_and_takes_keys() {
    let missing: Vec<&str> = ["Xvfb", "xdotool"]
        .into_iter()
        .filter(|p| !on_path(p))
        .collect();
    if !missing.is_empty() {
        let msg = format!(
            "{} not installed (Debian: apt-get install xvfb xdotool, or \
             scripts/setup-test-deps.sh --with-x11)",
            missing.join(" and ")
        );
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the window test cannot run: {msg}"
        );
        eprintln!("note: the window test is skipped: {msg}");
        return;
    }
    let reference = headless_demo_screen();

    let mut reaper = Reaper::default();
    let display = start_xvfb(&mut reaper);
    let dir = work_dir();
    let exit_shot = dir.join("exit.png");
    let _ = std::fs::remove_file(&exit_shot);
    let mut child = Command::new(env!("CARGO_BIN_EXE_crane86"))
        .args(["-display", "window", "-serial", "stdio", "-screenshot"])
        .arg(&exit_shot)
        .env("DISPLAY", format!(":{display}"))
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting crane86");
    let out = collect(child.stdout.take().expect("stdout"));
    let err = collect(child.stderr.take().expect("stderr"));
    reaper.add("crane86", child);

    let window = xdotool(
        display,
        &["search", "--sync", "--onlyvisible", "--name", "^crane86"],
    )
    .unwrap_or_else(|e| {
        panic!(
            "no crane86 window: {e}\nstdout:\n{}\nstderr:\n{}",
            text(&out),
            text(&err)
        )
    });
    let window = window.lines().next().unwrap_or("").trim().to_string();
    let window_id: u32 = window.parse().expect("a window id from xdotool");

    wait_until(
        "the demo's key prompt on COM1",
        Duration::from_secs(120),
        &out,
        &err,
        || text(&out).contains("Type keys (Esc ends): "),
    );
    for key in ["shift+h", "i", "space", "4", "2"] {
        press(display, &window, key);
    }
    wait_until(
        "the typed keys echoed on COM1",
        Duration::from_secs(20),
        &out,
        &err,
        || text(&out).contains("Type keys (Esc ends): Hi 42"),
    );
    press(display, &window, "Escape");
    wait_until(
        "the demo to end after Esc",
        Duration::from_secs(20),
        &out,
        &err,
        || text(&err).contains("guest halted"),
    );
    assert!(
        text(&out).ends_with("Type keys (Esc ends): Hi 42\r\n"),
        "COM1 output after Esc: {:?}",
        text(&out)
    );
    // The BIOS does not echo the screen to COM1 while the window shows it.
    assert!(
        !text(&out).contains("Demo finished."),
        "teletype output reached COM1 with a window: {}",
        text(&out)
    );

    // The title shows the state and the speed.
    let title = xdotool(display, &["getwindowname", &window]).expect("window title");
    assert!(
        title.contains("halted") && title.contains("MIPS"),
        "window title: {title}"
    );

    // A few frames so the window shows the final screen, then capture it.
    std::thread::sleep(Duration::from_millis(300));
    let mut x = X11::connect(display).expect("connecting to Xvfb");
    let captured = x.capture(window_id).expect("capturing the window");
    let capture_path = dir.join("window.png");
    captured.save_png(&capture_path);

    // Closing the window ends the run with status 0 (and writes the exit
    // screenshot).
    x.close(window_id).expect("closing the window");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = reaper.get("crane86").try_wait().expect("waiting") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "crane86 did not end after its window was closed\nstderr:\n{}",
            text(&err)
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        status.code(),
        Some(0),
        "crane86 after the window closed; stderr:\n{}",
        text(&err)
    );

    // The window shows the emulator's frame: the same pixels as crane86's
    // own screenshot, except the blinking cursor's cell (the two were
    // taken in different blink phases).
    let frame = Picture::load_png(&exit_shot);
    assert_eq!(
        (frame.width, frame.height),
        (80 * CW, 25 * CH),
        "the demo ends in 80x25 text mode"
    );
    let shown = unscale(&captured, frame.width, frame.height);
    let mut cells = std::collections::BTreeSet::new();
    for y in 0..frame.height {
        for x in 0..frame.width {
            if shown.at(x, y) != frame.at(x, y) {
                cells.insert((y / CH, x / CW));
            }
        }
    }
    assert!(
        cells.len() <= 1 && cells.iter().all(|&c| c == (24, 0)),
        "the window ({}, window size {}x{}) differs from the screenshot {} in text cells \
         (row, column) {cells:?}",
        capture_path.display(),
        captured.width,
        captured.height,
        exit_shot.display()
    );

    // The demo's last lines, light grey on black: "Demo finished." as a
    // headless run draws it (there on row 23; here on row 22, under it the
    // prompt and the echo).
    for col in 0..15 {
        let cell = shown.cell(col, 22);
        assert!(
            cell.iter().all(|&p| p == 0 || p == LIGHT_GREY),
            "row 22, column {col}: not light grey on black (see {})",
            capture_path.display()
        );
        assert!(
            cell == reference.cell(col, 23),
            "row 22, column {col}: the window does not show \"Demo finished.\" as the \
             headless run does (see {} and {})",
            capture_path.display(),
            work_dir().join("headless.png").display()
        );
    }
    // "Type keys (Esc ends): Hi 42": the echoed 'i' and 'e' look like
    // those of "finished", the echo ends after "42".
    assert!(shown.cell(23, 23) == shown.cell(6, 22), "echoed 'i'");
    assert!(shown.cell(6, 23) == shown.cell(11, 22), "prompt 'e'");
    let lit = |col: usize| shown.cell(col, 23).contains(&LIGHT_GREY);
    assert!(
        lit(22) && lit(23) && !lit(24) && lit(25) && lit(26) && !lit(27),
        "the echo \"Hi 42\" on row 23 (see {})",
        capture_path.display()
    );
}
