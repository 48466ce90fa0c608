//! The machine: builds RAM, ROM, devices and the vCPU from the
//! configuration, and runs the vCPU loop, handling what the CPU and the
//! board report (halts, resets, exits, guest errors).

use crate::board::{Board, BoardRequest, Clock, VgaLfb, VgaWindow, LFB_BASE, LFB_SIZE};
use crate::config::{Config, DisplayChoice, SerialTarget};
use crate::window::{self, UiEvent, WindowHandle};
use anyhow::{Context, Result};
use crane86_cpu::{BlockEngine, Cpu, Exit};
use crane86_devices::{
    BlockBackend, DebugCon, FileDisk, IsaDebugExit, Mc146818, MemDisk, Sink, Uart16550,
};
use crane86_jit::Jit;
use crane86_mmu::PhysMem;
use std::io::Write;
use std::time::{Duration, Instant};

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// isa-debug-exit or an orderly stop: the process exit status.
    Exit(i32),
    /// The guest reached a state we cannot continue from; the message says why.
    GuestError(String),
}

pub struct Machine {
    pub cpu: Cpu,
    /// The translator, with `-accel jit`.
    jit: Option<Jit>,
    /// Translator compile time already taken out of the virtual clock.
    compile_seen: Duration,
    /// `-d profile`: samples of the linear EIP between runs.
    profile: Option<std::collections::HashMap<u64, u64>>,
    pub mem: PhysMem,
    pub board: Board,
    cfg: Config,
    input: Option<crossbeam::channel::Receiver<Vec<u8>>>,
    display: Option<WindowHandle>,
}

/// CMOS byte our BIOS reads for crane86-specific settings.
const CMOS_CRANE86_FLAGS: u8 = crate::loader::CMOS_CRANE86;
/// Bit 0: a window shows the screen, so the BIOS stops echoing to COM1.
const FLAG_WINDOW: u8 = 1;

/// Writes straight to stdout, flushing each write, so nothing is lost when
/// the process exits from the middle of a run.
struct StdoutSink;

impl Write for StdoutSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = std::io::stdout().lock();
        out.write_all(buf)?;
        out.flush()?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

impl Machine {
    pub fn new(cfg: Config) -> Result<Self> {
        let mut mem = PhysMem::new(cfg.ram_bytes, &cfg.bios)?;
        let com1 = Uart16550::new(0x3F8, serial_sink(&cfg.serial)?);
        // debugcon is a second console: shown on stderr only with -d debugcon;
        // test ROMs print to both it and COM1.
        let debugcon = DebugCon::new(
            0xE9,
            if cfg.debugcon_stderr {
                Some(Box::new(std::io::stderr()))
            } else {
                None
            },
        );
        let mut cmos = Mc146818::with_host_clock();
        cmos.set_memory_size(cfg.ram_bytes);
        let debug_exit = cfg
            .debug_exit
            .map(|(base, size)| IsaDebugExit::new(base, size));
        let clock = match cfg.icount_shift {
            Some(shift) => Clock::instruction_counted(shift),
            None => Clock::host(),
        };
        let mut board = Board::new(clock, com1, debugcon, cmos, debug_exit);
        // COM2-COM4 at their usual ports and IRQs, for each extra -serial.
        for (t, (base, irq)) in cfg
            .extra_serial
            .iter()
            .zip([(0x2F8, 3), (0x3E8, 4), (0x2E8, 3)])
        {
            board
                .extra_com
                .push((irq, Uart16550::new(base, serial_sink(t)?)));
        }
        if let Some(d) = &cfg.disk {
            let backend: Box<dyn BlockBackend> = match (&d.path, d.builtin) {
                (_, Some(img)) => Box::new(MemDisk::new_read_only(img.to_vec())),
                (Some(p), None) => {
                    let f = FileDisk::open(p, d.read_only).or_else(|e| {
                        // A file we may not write is attached read-only; the
                        // guest then gets ATA errors on writes.
                        if e.kind() == std::io::ErrorKind::PermissionDenied && !d.read_only {
                            FileDisk::open(p, true)
                        } else {
                            Err(e)
                        }
                    });
                    Box::new(f.with_context(|| format!("disk image {}: cannot open", p.display()))?)
                }
                (None, None) => unreachable!("a disk has a file or a built-in image"),
            };
            board.ide0.attach(0, backend);
        }
        if let Some(plan) = &cfg.direct_boot {
            plan.apply(&mut mem);
            let f = board.cmos.byte(CMOS_CRANE86_FLAGS);
            board
                .cmos
                .set_byte(CMOS_CRANE86_FLAGS, f | plan.cmos_flags());
            if cfg.trace_int || cfg.stats {
                eprintln!("crane86: {:?}: {}", plan.kind, plan.summary);
            }
        }
        mem.add_mmio(0xA0000, 0x20000, Box::new(VgaWindow(board.vga.clone())));
        mem.add_mmio(LFB_BASE, LFB_SIZE, Box::new(VgaLfb(board.vga.clone())));
        let display = match cfg.display {
            DisplayChoice::None => None,
            DisplayChoice::Window => match window::open() {
                Ok(w) => Some(w),
                Err(e) => {
                    eprintln!("crane86: no display available ({e}); running headless");
                    None
                }
            },
        };
        if display.is_some() {
            let f = board.cmos.byte(CMOS_CRANE86_FLAGS);
            board.cmos.set_byte(CMOS_CRANE86_FLAGS, f | FLAG_WINDOW);
        }
        board.stdio_port = std::iter::once(&cfg.serial)
            .chain(&cfg.extra_serial)
            .position(|t| *t == SerialTarget::Stdio)
            .unwrap_or(0);
        let uses_stdio =
            cfg.serial == SerialTarget::Stdio || cfg.extra_serial.contains(&SerialTarget::Stdio);
        let input = uses_stdio.then(spawn_stdin_reader);
        let mut cpu = Cpu::new();
        cpu.trace_int = cfg.trace_int;
        let jit = if cfg.jit {
            let mut jc = crane86_jit::JitConfig::default();
            if let Some(t) = cfg.jit_threshold {
                jc.threshold = t;
            }
            if let Some(m) = cfg.jit_code_mib {
                jc.code_capacity = (m as usize) << 20;
            }
            Some(Jit::with_config(jc).context("-accel jit: cannot start the translator")?)
        } else {
            None
        };
        let profile = cfg.profile.then(std::collections::HashMap::new);
        Ok(Machine {
            cpu,
            jit,
            profile,
            compile_seen: Duration::ZERO,
            mem,
            board,
            cfg,
            input,
            display,
        })
    }

    fn reset(&mut self) {
        self.cpu.reset();
        self.cpu.trace_int = self.cfg.trace_int;
        self.board.reset();
        self.mem.set_a20(true);
        // A kernel overwrites its own image while it runs: a reboot loads
        // a fresh copy (the CMOS flag survives the reset).
        if let Some(plan) = &self.cfg.direct_boot {
            plan.apply(&mut self.mem);
        }
    }

    /// Runs the guest until it exits, errs, or (with -no-reboot) resets.
    pub fn run(&mut self) -> Outcome {
        let started = Instant::now();
        let mut status = Status::new();
        let mut paused = false;
        let mut screenshot_due = self
            .cfg
            .screenshot
            .as_ref()
            .and_then(|s| s.at)
            .map(|secs| started + secs);
        let outcome = loop {
            if let Some(rx) = &self.input {
                while let Ok(bytes) = rx.try_recv() {
                    self.board.stdio_uart().push_input(&bytes);
                }
            }
            if let Some(quit) = self.handle_ui(&mut paused) {
                break quit;
            }
            if screenshot_due.is_some_and(|t| Instant::now() >= t) {
                screenshot_due = None;
                if let Err(e) = self.screenshot() {
                    eprintln!("crane86: {e:#}");
                }
            }
            if status.due() {
                let state = if self.cpu.s.halted {
                    "halted"
                } else if paused {
                    "paused"
                } else {
                    "running"
                };
                let text = status.text(state, self.cpu.icount);
                self.show(text);
            }
            if paused {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            self.board.clock.set_icount(self.cpu.icount);
            self.board.tick();
            let engine = self.jit.as_mut().map(|j| j as &mut dyn BlockEngine);
            let exit = self
                .cpu
                .run_with(&mut self.mem, &mut self.board, 20_000, engine);
            if let Some(p) = self.profile.as_mut() {
                let s = &self.cpu.s;
                let key = if s.halted {
                    u64::MAX
                } else {
                    s.seg[1].base.wrapping_add(s.eip) as u64
                };
                *p.entry(key).or_insert(0) += 1;
            }
            self.board.clock.set_icount(self.cpu.icount);
            if let Some(j) = &self.jit {
                let spent = j.stats().compile_time;
                self.board
                    .clock
                    .steal(spent.saturating_sub(self.compile_seen).as_nanos() as u64);
                self.compile_seen = spent;
            }
            if let Some(req) = self.board.take_request() {
                match req {
                    BoardRequest::Exit(code) => break Outcome::Exit(code),
                    BoardRequest::PowerOff => break Outcome::Exit(0),
                    BoardRequest::Reset if self.cfg.no_reboot => break Outcome::Exit(0),
                    BoardRequest::Reset => {
                        self.reset();
                        continue;
                    }
                }
            }
            match exit {
                Exit::Yield => {}
                Exit::Halted => {
                    if self.cpu.s.eflags & crane86_cpu::state::flags::IF == 0 {
                        // Nothing can wake a CPU halted with interrupts off.
                        let s = &self.cpu.s;
                        eprintln!(
                            "crane86: guest halted with interrupts disabled at {:04x}:{:08x}",
                            s.seg[1].selector,
                            s.eip.wrapping_sub(1)
                        );
                        if self.display.is_some() {
                            // Keep showing the last screen until the window closes.
                            self.cpu.s.halted = true;
                            paused = true;
                            continue;
                        }
                        break Outcome::Exit(0);
                    }
                    self.idle();
                }
                Exit::TripleFault => {
                    if self.cfg.no_reboot {
                        let bytes = self.bytes_at_ip();
                        let s = &self.cpu.s;
                        break Outcome::GuestError(format!(
                            "{:04x}:{:08x}: {}: triple fault",
                            s.seg[1].selector, s.eip, bytes
                        ));
                    }
                    self.reset();
                }
                Exit::Unimplemented(msg) => break Outcome::GuestError(msg),
            }
        };
        if self.cfg.screenshot.as_ref().is_some_and(|s| s.at.is_none()) {
            if let Err(e) = self.screenshot() {
                eprintln!("crane86: {e:#}");
            }
        }
        if self.cfg.stats {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "crane86: {} instructions in {:.3} s ({:.1} MIPS), {} blocks decoded",
                self.cpu.icount,
                secs,
                self.cpu.icount as f64 / secs / 1e6,
                self.cpu.blocks_decoded()
            );
        }
        if let Some(p) = &self.profile {
            let total: u64 = p.values().sum();
            let mut v: Vec<_> = p.iter().collect();
            v.sort_by(|a, b| b.1.cmp(a.1));
            eprintln!(
                "crane86: profile: {total} samples (one per 20000 instructions), top linear EIPs:"
            );
            for (eip, n) in v.into_iter().take(25) {
                let pct = *n as f64 * 100.0 / total as f64;
                if *eip == u64::MAX {
                    eprintln!("  {pct:5.1}%  (halted)");
                } else {
                    eprintln!("  {pct:5.1}%  {eip:08x}");
                }
            }
        }
        if self.cfg.jit_stats {
            match &self.jit {
                Some(j) => eprintln!("{}", j.stats()),
                None => eprintln!("crane86: jit: not in use (-accel interp)"),
            }
        }
        outcome
    }

    /// The CPU waits in HLT: let host time pass until the next device event.
    fn idle(&mut self) {
        let next = self.board.ns_until_next_event();
        let ns = next.unwrap_or(1_000_000).min(1_000_000);
        if self.board.clock.is_instruction_counted() {
            // Virtual time jumps ahead; the host waits only when nothing is
            // scheduled (the guest waits for input).
            self.board.clock.skip(ns.max(1));
            if next.is_none() {
                std::thread::sleep(Duration::from_micros(200));
            }
        } else if ns > 0 {
            std::thread::sleep(Duration::from_nanos(ns));
        }
    }

    /// Applies window input. Returns an outcome when the window was closed.
    fn handle_ui(&mut self, paused: &mut bool) -> Option<Outcome> {
        let events: Vec<UiEvent> = self.display.as_ref()?.events.try_iter().collect();
        for e in events {
            match e {
                UiEvent::Key(k, down) => self.board.kbd.key_event(k, down),
                UiEvent::Mouse(dx, dy, buttons) => self.board.kbd.mouse_event(dx, dy, buttons),
                UiEvent::TogglePause => *paused = !*paused,
                UiEvent::Quit => return Some(Outcome::Exit(0)),
            }
        }
        None
    }

    /// Publishes the current screen and status to the window (~60 Hz).
    fn show(&mut self, status: String) {
        let Some(d) = &self.display else { return };
        let frame = self
            .board
            .vga
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .render();
        let mut shared = d.shared.lock().unwrap_or_else(|p| p.into_inner());
        shared.screen = Some(frame);
        shared.status = status;
    }

    fn screenshot(&mut self) -> Result<()> {
        let Some(shot) = &self.cfg.screenshot else {
            return Ok(());
        };
        let frame = self
            .board
            .vga
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .render();
        crate::screenshot::write_png(
            &shot.path,
            frame.width as usize,
            frame.height as usize,
            &frame.pixels,
        )
    }

    fn bytes_at_ip(&mut self) -> String {
        let s = &self.cpu.s;
        let lin = s.seg[1].base.wrapping_add(s.eip) as u64;
        (0..8)
            .map(|k| format!("{:02x}", self.mem.read_u8(lin + k)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Where a serial port's output goes.
fn serial_sink(t: &SerialTarget) -> Result<Option<Sink>> {
    Ok(match t {
        SerialTarget::Stdio => Some(Box::new(StdoutSink)),
        SerialTarget::File(p) => {
            Some(Box::new(std::fs::File::create(p).with_context(|| {
                format!("-serial file:{}: cannot create", p.display())
            })?))
        }
        SerialTarget::None => None,
    })
}

/// Reads stdin on its own thread: the vCPU never blocks on the terminal.
fn spawn_stdin_reader() -> crossbeam::channel::Receiver<Vec<u8>> {
    let (tx, rx) = crossbeam::channel::unbounded();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin();
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Title-bar status: the machine state and the guest speed, refreshed at
/// the window's frame rate with MIPS averaged over the last second.
struct Status {
    last: Instant,
    window_start: Instant,
    window_icount: u64,
    mips: f64,
}

impl Status {
    fn new() -> Self {
        let now = Instant::now();
        Status {
            last: now,
            window_start: now,
            window_icount: 0,
            mips: 0.0,
        }
    }

    fn due(&mut self) -> bool {
        if self.last.elapsed() >= Duration::from_millis(16) {
            self.last = Instant::now();
            return true;
        }
        false
    }

    fn text(&mut self, state: &str, icount: u64) -> String {
        let secs = self.window_start.elapsed().as_secs_f64();
        if secs >= 1.0 {
            self.mips = (icount - self.window_icount) as f64 / secs / 1e6;
            self.window_start = Instant::now();
            self.window_icount = icount;
        }
        format!("{state} — {:.0} MIPS", self.mips)
    }
}
