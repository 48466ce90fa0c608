//! Intel 8254 programmable interval timer as wired in a PC: three 16-bit
//! counters at 0x40-0x42, the control word register at 0x43, a 1.193182 MHz
//! input clock on every channel, channel 0's OUT on IRQ 0, channel 2's GATE
//! and OUT on System Control Port B (0x61) next to the speaker enable and
//! the refresh toggle bit. Modelled from the 82C54 datasheet: modes 0-5,
//! binary and BCD counting, LSB/MSB/LSB-then-MSB access, counter latch,
//! read-back (count and status), null count and gate behaviour.
//!
//! Counters are not stepped: each channel remembers the tick at which it
//! was last (re)loaded and computes CE and OUT for any later tick in closed
//! form. Channel 0's rising OUT edges are reported to the board as pulses
//! (see [`Pit8254::tick`]) so that periods shorter than the board's polling
//! interval still produce interrupts.

use crate::{split_read, split_write, PortDevice};

/// Input clock of every channel, Hz.
pub const PIT_HZ: u64 = 1_193_182;
const NS_PER_SEC: u64 = 1_000_000_000;

pub const PIT_PORT_BASE: u16 = 0x40;
pub const PIT_CONTROL_PORT: u16 = 0x43;
pub const PORT_B: u16 = 0x61;

// Port 0x61 bits.
const PB_GATE2: u8 = 0x01;
const PB_SPEAKER: u8 = 0x02;
const PB_WRITABLE: u8 = 0x0F;
const PB_REFRESH: u8 = 0x10;
const PB_OUT2: u8 = 0x20;
/// PIT ticks per refresh request (about 15.09 us), for the toggle bit.
const REFRESH_TICKS: u64 = 18;

/// PIT clock ticks elapsed at virtual time `ns`.
fn tick_at(ns: u64) -> u64 {
    (u128::from(ns) * u128::from(PIT_HZ) / u128::from(NS_PER_SEC)) as u64
}

/// First virtual time at which tick `t` has happened.
fn ns_at(t: u64) -> u64 {
    let ns = (u128::from(t) * u128::from(NS_PER_SEC)).div_ceil(u128::from(PIT_HZ));
    u64::try_from(ns).unwrap_or(u64::MAX)
}

fn to_bcd16(v: u32) -> u16 {
    let v = v % 10_000;
    ((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10)) as u16
}

fn from_bcd16(b: u16) -> u32 {
    let d = |shift: u16| u32::from((b >> shift) & 0xF);
    (d(12) * 1000 + d(8) * 100 + d(4) * 10 + d(0)) % 10_000
}

/// A counting run: at tick `start` the counting element held `ce0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    start: u64,
    ce0: u32,
    /// OUT at `start` (modes 0/1: terminal count already reached; mode 3:
    /// level of the current half-cycle).
    out0: bool,
    /// Modes 4/5: the strobe is still to come.
    armed: bool,
    /// Modes 2/3: counts per cycle (1..=65536).
    period: u32,
    /// Mode 3: pulses left in the current half-cycle at `start`.
    phase_left: u32,
    /// OUT before `start` (between a write or trigger and the clock that
    /// loads the count).
    pre_out: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not counting: no count yet, waiting for a trigger, or stopped by
    /// GATE in modes 2/3.
    Idle {
        ce: u32,
        out: bool,
    },
    /// Suspended by GATE low (modes 0/4) or by the first byte of a new
    /// mode 0 count.
    Held {
        ce: u32,
        out: bool,
        armed: bool,
    },
    Run(Run),
}

#[derive(Debug, Clone)]
struct Channel {
    /// Mode 0-5 (6 and 7 alias 2 and 3).
    mode: u8,
    /// Control word bits 5:0 as written, for the status byte.
    control: u8,
    /// 1 = LSB only, 2 = MSB only, 3 = LSB then MSB.
    access: u8,
    bcd: bool,
    /// Count register as written (raw, BCD when `bcd`).
    cr: u16,
    /// LSB of a two-byte count waiting for its MSB.
    write_msb_next: bool,
    read_msb_next: bool,
    latched_count: Option<u16>,
    latched_status: Option<u8>,
    /// A complete count was written since the control word.
    count_written: bool,
    /// NULL COUNT reads 1 while the tick is below this.
    null_until: u64,
    gate: bool,
    state: State,
}

/// Result of evaluating a channel at one tick.
struct Eval {
    /// CE as a binary number 0..modulus, as read back.
    ce: u32,
    /// Mode 3: CE before wrapping to the modulus (65536 stays 65536).
    raw: u32,
    out: bool,
    /// Mode 3: pulses left in the current half-cycle; mode 2: pulses to
    /// the next reload.
    left: u32,
    armed: bool,
}

impl Channel {
    fn new(gate: bool) -> Self {
        Channel {
            mode: 0,
            control: 0x30,
            access: 3,
            bcd: false,
            cr: 0,
            write_msb_next: false,
            read_msb_next: false,
            latched_count: None,
            latched_status: None,
            count_written: false,
            null_until: 0,
            gate,
            state: State::Idle { ce: 0, out: false },
        }
    }

    fn modulus(&self) -> u32 {
        if self.bcd {
            10_000
        } else {
            0x1_0000
        }
    }

    /// Counts until CE reaches zero from `v` (0 stands for the modulus).
    fn dist(&self, v: u32) -> u32 {
        match v % self.modulus() {
            0 => self.modulus(),
            d => d,
        }
    }

    /// The programmed count as a number of clocks.
    fn initial_count(&self) -> u32 {
        let n = if self.bcd {
            from_bcd16(self.cr)
        } else {
            u32::from(self.cr)
        };
        self.dist(n)
    }

    /// Mode 3 from a fresh load at `start` (OUT was high before).
    fn mode3_fresh(&self, start: u64) -> Run {
        let p = self.initial_count();
        Run {
            start,
            ce0: if p % 2 == 1 { p - 1 } else { p },
            out0: true,
            armed: false,
            period: p,
            phase_left: p.div_ceil(2),
            pre_out: true,
        }
    }

    /// Mode 2 from a fresh load at `start` (OUT was high before).
    fn mode2_fresh(&self, start: u64) -> Run {
        let p = self.initial_count();
        Run {
            start,
            ce0: p,
            out0: true,
            armed: false,
            period: p,
            phase_left: 0,
            pre_out: true,
        }
    }

    /// Modes 0, 1, 4, 5: count down once from the initial count.
    fn one_shot(&self, start: u64, out0: bool, pre_out: bool) -> Run {
        Run {
            start,
            ce0: self.initial_count(),
            out0,
            armed: true,
            period: 0,
            phase_left: 0,
            pre_out,
        }
    }

    fn eval(&self, t: u64) -> Eval {
        let m = self.modulus();
        let r = match self.state {
            State::Idle { ce, out } => {
                return Eval {
                    ce: ce % m,
                    raw: ce,
                    out,
                    left: 0,
                    armed: false,
                }
            }
            State::Held { ce, out, armed } => {
                return Eval {
                    ce: ce % m,
                    raw: ce,
                    out,
                    left: 0,
                    armed,
                }
            }
            State::Run(r) => r,
        };
        if t < r.start {
            return Eval {
                ce: r.ce0 % m,
                raw: r.ce0,
                out: r.pre_out,
                left: 0,
                armed: r.armed,
            };
        }
        let k = t - r.start;
        let down = |from: u32, k: u64| -> u32 {
            (i128::from(from) - i128::from(k)).rem_euclid(i128::from(m)) as u32
        };
        match self.mode {
            0 | 1 => {
                let d = u64::from(self.dist(r.ce0));
                let ce = down(r.ce0, k);
                Eval {
                    ce,
                    raw: ce,
                    out: r.out0 || k >= d,
                    left: 0,
                    armed: false,
                }
            }
            4 | 5 => {
                let d = u64::from(self.dist(r.ce0));
                let ce = down(r.ce0, k);
                Eval {
                    ce,
                    raw: ce,
                    out: !(r.armed && k == d),
                    left: 0,
                    armed: r.armed && k < d,
                }
            }
            2 => {
                let p = u64::from(r.period.max(1));
                let c0 = u64::from(r.ce0.max(1));
                let ce = if k < c0 { c0 - k } else { p - (k - c0) % p };
                Eval {
                    ce: (ce % u64::from(m)) as u32,
                    raw: ce as u32,
                    out: ce != 1,
                    left: ce as u32,
                    armed: false,
                }
            }
            _ => {
                // Mode 3.
                let p = r.period.max(1);
                let (high, low) = (p.div_ceil(2), p / 2);
                let left0 = u64::from(r.phase_left.max(1));
                let (out, ce, left) = if k < left0 {
                    let ce = i64::from(r.ce0) - 2 * k as i64;
                    (r.out0, ce.max(0) as u32, (left0 - k) as u32)
                } else {
                    let pos = ((k - left0) % u64::from(p)) as u32;
                    let (first_len, first_out) = if r.out0 { (low, false) } else { (high, true) };
                    let (out, j, len) = if pos < first_len {
                        (first_out, pos, first_len)
                    } else {
                        let second_len = if r.out0 { high } else { low };
                        (!first_out, pos - first_len, second_len)
                    };
                    let reload = if p % 2 == 1 { p - 1 } else { p };
                    (out, reload.saturating_sub(2 * j), len - j)
                };
                Eval {
                    ce: ce % m,
                    raw: ce,
                    out,
                    left,
                    armed: false,
                }
            }
        }
    }

    /// First tick after `after` at which OUT rises, assuming no further
    /// programming.
    fn next_rise(&self, after: u64) -> Option<u64> {
        let State::Run(r) = self.state else {
            return None;
        };
        let once = |at: u64| (at > after).then_some(at);
        let periodic = |first: u64, period: u64| {
            if after < first {
                Some(first)
            } else {
                Some(first + ((after - first) / period + 1) * period)
            }
        };
        match self.mode {
            0 | 1 if r.out0 => None,
            0 | 1 => once(r.start + u64::from(self.dist(r.ce0))),
            4 | 5 if r.armed => once(r.start + u64::from(self.dist(r.ce0)) + 1),
            4 | 5 => None,
            2 => {
                // OUT is low while CE = 1 and rises at each reload. A count
                // of 1 (illegal) keeps OUT low.
                if r.period <= 1 {
                    return None;
                }
                periodic(r.start + u64::from(r.ce0.max(1)), u64::from(r.period))
            }
            _ => {
                let p = r.period.max(1);
                let low = p / 2;
                if low == 0 {
                    return None;
                }
                let first = r.start
                    + u64::from(r.phase_left.max(1))
                    + if r.out0 { u64::from(low) } else { 0 };
                periodic(first, u64::from(p))
            }
        }
    }

    fn out(&self, t: u64) -> bool {
        self.eval(t).out
    }

    fn write_control(&mut self, v: u8) {
        let mode = (v >> 1) & 7;
        self.mode = if mode >= 6 { mode - 4 } else { mode };
        self.control = v & 0x3F;
        self.access = (v >> 4) & 3;
        self.bcd = v & 1 != 0;
        self.write_msb_next = false;
        self.read_msb_next = false;
        self.latched_count = None;
        self.latched_status = None;
        self.count_written = false;
        self.null_until = u64::MAX;
        // OUT goes low in mode 0 and high in every other mode; counting
        // stops until a count is written.
        let ce = match self.state {
            State::Idle { ce, .. } | State::Held { ce, .. } => ce,
            State::Run(_) => 0,
        };
        self.state = State::Idle {
            ce,
            out: self.mode != 0,
        };
    }

    fn latch_count(&mut self, t: u64) {
        if self.latched_count.is_none() {
            let ce = self.eval(t).ce;
            self.latched_count = Some(if self.bcd { to_bcd16(ce) } else { ce as u16 });
        }
    }

    fn latch_status(&mut self, t: u64) {
        if self.latched_status.is_none() {
            let mut s = self.control;
            if self.out(t) {
                s |= 0x80;
            }
            if t < self.null_until {
                s |= 0x40;
            }
            self.latched_status = Some(s);
        }
    }

    fn read(&mut self, t: u64) -> u8 {
        if let Some(s) = self.latched_status.take() {
            return s;
        }
        let value = match self.latched_count {
            Some(v) => v,
            None => {
                let ce = self.eval(t).ce;
                if self.bcd {
                    to_bcd16(ce)
                } else {
                    ce as u16
                }
            }
        };
        let (byte, done) = match self.access {
            1 => (value as u8, true),
            2 => ((value >> 8) as u8, true),
            _ => {
                let msb = self.read_msb_next;
                self.read_msb_next = !msb;
                if msb {
                    ((value >> 8) as u8, true)
                } else {
                    (value as u8, false)
                }
            }
        };
        if done {
            self.latched_count = None;
        }
        byte
    }

    fn write(&mut self, v: u8, t: u64) {
        match self.access {
            1 => self.cr = u16::from(v),
            2 => self.cr = u16::from(v) << 8,
            3 if !self.write_msb_next => {
                self.cr = (self.cr & 0xFF00) | u16::from(v);
                self.write_msb_next = true;
                if self.mode == 0 {
                    // Mode 0: the first byte stops counting and drops OUT.
                    let e = self.eval(t);
                    self.state = State::Held {
                        ce: e.ce,
                        out: false,
                        armed: false,
                    };
                }
                return;
            }
            3 => {
                self.cr = (self.cr & 0x00FF) | (u16::from(v) << 8);
                self.write_msb_next = false;
            }
            // Access 0 is the latch command; nothing to write.
            _ => return,
        }
        self.load(t);
    }

    /// A complete new count is in the count register.
    fn load(&mut self, t: u64) {
        let was_written = self.count_written;
        self.count_written = true;
        // The count moves to CE on the next clock.
        let next = t + 1;
        match self.mode {
            0 => {
                self.null_until = next;
                self.state = if self.gate {
                    State::Run(self.one_shot(next, false, false))
                } else {
                    State::Held {
                        ce: self.initial_count(),
                        out: false,
                        armed: false,
                    }
                };
            }
            4 => {
                self.null_until = next;
                let pre_out = self.eval(t).out;
                self.state = if self.gate {
                    State::Run(self.one_shot(next, true, pre_out))
                } else {
                    State::Held {
                        ce: self.initial_count(),
                        out: true,
                        armed: true,
                    }
                };
            }
            // Modes 1 and 5 wait for the next GATE trigger.
            1 | 5 => self.null_until = u64::MAX,
            2 | 3 => {
                let running = matches!(self.state, State::Run(_)) && was_written;
                if running {
                    // The current cycle (mode 2) or half-cycle (mode 3)
                    // finishes with the old count.
                    let e = self.eval(t);
                    let p = self.initial_count();
                    self.null_until = t + u64::from(e.left.max(1));
                    let mut r = Run {
                        start: t,
                        ce0: e.left.max(1),
                        out0: e.out,
                        armed: false,
                        period: p,
                        phase_left: 0,
                        pre_out: e.out,
                    };
                    if self.mode == 3 {
                        r.ce0 = e.raw;
                        r.phase_left = e.left.max(1);
                    }
                    self.state = State::Run(r);
                } else {
                    self.null_until = next;
                    self.state = if !self.gate {
                        State::Idle {
                            ce: self.initial_count(),
                            out: true,
                        }
                    } else if self.mode == 2 {
                        State::Run(self.mode2_fresh(next))
                    } else {
                        State::Run(self.mode3_fresh(next))
                    };
                }
            }
            _ => {}
        }
    }

    fn set_gate(&mut self, level: bool, t: u64) {
        let was = self.gate;
        self.gate = level;
        if level == was {
            return;
        }
        let next = t + 1;
        match (self.mode, level) {
            // Trigger: (re)load the count on the next clock.
            (1, true) if self.count_written => {
                self.null_until = next;
                let pre_out = self.eval(t).out;
                self.state = State::Run(self.one_shot(next, false, pre_out));
            }
            (5, true) if self.count_written => {
                self.null_until = next;
                let pre_out = self.eval(t).out;
                self.state = State::Run(self.one_shot(next, true, pre_out));
            }
            (2, true) if self.count_written => self.state = State::Run(self.mode2_fresh(next)),
            (3, true) if self.count_written => self.state = State::Run(self.mode3_fresh(next)),
            // GATE low stops modes 2 and 3 with OUT high.
            (2 | 3, false) => {
                let e = self.eval(t);
                self.state = State::Idle {
                    ce: e.ce,
                    out: true,
                };
            }
            // GATE suspends and resumes counting in modes 0 and 4.
            (0 | 4, false) => {
                if let State::Run(_) = self.state {
                    let e = self.eval(t);
                    self.state = State::Held {
                        ce: e.ce,
                        out: e.out,
                        armed: e.armed,
                    };
                }
            }
            (0 | 4, true) => {
                if let State::Held { ce, out, armed } = self.state {
                    if self.count_written && !self.write_msb_next {
                        self.state = State::Run(Run {
                            start: t,
                            ce0: ce,
                            out0: out && self.mode == 0,
                            armed,
                            period: 0,
                            phase_left: 0,
                            pre_out: out,
                        });
                    }
                }
            }
            _ => {}
        }
    }
}

/// The PIT plus port 0x61.
#[derive(Debug, Clone)]
pub struct Pit8254 {
    channels: [Channel; 3],
    /// Port 0x61 bits 3:0 as written.
    port_b: u8,
    /// Channel 0 edges have been examined up to this tick.
    ch0_synced: u64,
    /// Rising edges of channel 0's OUT not yet collected by `tick`.
    irq0_pulses: u32,
}

/// Missed channel-0 periods kept for catch-up: beyond this (a long host
/// stall), older ticks are dropped rather than delivered in a storm.
pub const MAX_PENDING_PULSES: u32 = 64;

impl Default for Pit8254 {
    fn default() -> Self {
        Self::new()
    }
}

impl Pit8254 {
    /// Power-on state: no channel programmed; gates of channels 0 and 1
    /// tied high, channel 2's gate low (port 0x61 bit 0 clear).
    pub fn new() -> Self {
        Pit8254 {
            channels: [Channel::new(true), Channel::new(true), Channel::new(false)],
            port_b: 0,
            ch0_synced: 0,
            irq0_pulses: 0,
        }
    }

    /// System reset: every channel back to its unprogrammed power-on state
    /// and port 0x61 cleared.
    pub fn reset(&mut self) {
        self.channels = [Channel::new(true), Channel::new(true), Channel::new(false)];
        self.port_b = 0;
        self.irq0_pulses = 0;
    }

    /// Advance to `now_ns`. Returns how many times channel 0's OUT rose
    /// since the previous call (at most [`MAX_PENDING_PULSES`]): the board
    /// gives IRQ 0 that many rising edges (`pic.pulse_irq(0)`), one after
    /// another, so a guest that fell behind still counts every tick; in any
    /// case it drives the line to [`Pit8254::irq_level`]. Call it at
    /// [`Pit8254::next_deadline`] and after every access to the PIT's ports.
    pub fn tick(&mut self, now_ns: u64) -> u32 {
        self.sync_irq0(tick_at(now_ns));
        std::mem::take(&mut self.irq0_pulses)
    }

    /// When channel 0's OUT next rises (the next IRQ 0), if it will.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.irq0_pulses > 0 {
            // A pulse is already waiting to be collected.
            return Some(ns_at(self.ch0_synced));
        }
        self.channels[0].next_rise(self.ch0_synced).map(ns_at)
    }

    /// Level of channel 0's OUT (IRQ 0) at `now_ns`.
    pub fn irq_level(&self, now_ns: u64) -> bool {
        self.channels[0].out(tick_at(now_ns))
    }

    /// OUT of channel `ch` (0-2) at `now_ns`.
    pub fn out(&self, ch: usize, now_ns: u64) -> bool {
        self.channels
            .get(ch)
            .is_some_and(|c| c.out(tick_at(now_ns)))
    }

    /// Drive channel `ch`'s GATE input. On a PC only channel 2's gate is
    /// wired (to port 0x61 bit 0, which calls this).
    pub fn set_gate(&mut self, ch: usize, level: bool, now_ns: u64) {
        let t = tick_at(now_ns);
        if ch == 0 {
            self.sync_irq0(t);
        }
        if let Some(c) = self.channels.get_mut(ch) {
            c.set_gate(level, t);
        }
    }

    /// Whether the speaker is sounding channel 2's output (port 0x61 bits
    /// 0 and 1 both set).
    pub fn speaker_enabled(&self) -> bool {
        self.port_b & (PB_GATE2 | PB_SPEAKER) == PB_GATE2 | PB_SPEAKER
    }

    /// Channel 2's programmed frequency in Hz, for a host-side beeper.
    pub fn speaker_frequency(&self) -> u32 {
        let c = &self.channels[2];
        (PIT_HZ / u64::from(c.initial_count())) as u32
    }

    /// Count the rising edges of channel 0's OUT in (synced, t].
    fn sync_irq0(&mut self, t: u64) {
        while self.irq0_pulses < MAX_PENDING_PULSES {
            match self.channels[0].next_rise(self.ch0_synced) {
                Some(e) if e <= t => {
                    self.irq0_pulses += 1;
                    self.ch0_synced = e;
                }
                _ => break,
            }
        }
        self.ch0_synced = self.ch0_synced.max(t);
    }

    fn write_control(&mut self, v: u8, t: u64) {
        let sc = v >> 6;
        if sc == 3 {
            // Read-back: bit 5 clear latches counts, bit 4 clear latches
            // status, bits 3:1 select the counters.
            for (i, c) in self.channels.iter_mut().enumerate() {
                if v & (2 << i) == 0 {
                    continue;
                }
                if v & 0x20 == 0 {
                    c.latch_count(t);
                }
                if v & 0x10 == 0 {
                    c.latch_status(t);
                }
            }
            return;
        }
        let c = &mut self.channels[usize::from(sc)];
        if v & 0x30 == 0 {
            c.latch_count(t);
        } else {
            c.write_control(v);
        }
    }

    fn read8(&mut self, port: u16, now_ns: u64) -> u8 {
        let t = tick_at(now_ns);
        match port {
            0x40..=0x42 => self.channels[usize::from(port - 0x40)].read(t),
            PORT_B => {
                let mut v = self.port_b & PB_WRITABLE;
                if (t / REFRESH_TICKS) & 1 != 0 {
                    v |= PB_REFRESH;
                }
                if self.channels[2].out(t) {
                    v |= PB_OUT2;
                }
                v
            }
            // The control word register cannot be read.
            _ => 0xFF,
        }
    }

    fn write8(&mut self, port: u16, v: u8, now_ns: u64) {
        let t = tick_at(now_ns);
        self.sync_irq0(t);
        match port {
            0x40..=0x42 => self.channels[usize::from(port - 0x40)].write(v, t),
            PIT_CONTROL_PORT => self.write_control(v, t),
            PORT_B => {
                self.port_b = v & PB_WRITABLE;
                self.channels[2].set_gate(v & PB_GATE2 != 0, t);
            }
            _ => {}
        }
    }
}

impl PortDevice for Pit8254 {
    fn port_read(&mut self, port: u16, size: u8, now_ns: u64) -> u32 {
        split_read(port, size, |p| self.read8(p, now_ns))
    }

    fn port_write(&mut self, port: u16, size: u8, value: u32, now_ns: u64) {
        split_write(port, size, value, |p, b| self.write8(p, b, now_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wr(p: &mut Pit8254, port: u16, v: u8, tick: u64) {
        p.port_write(port, 1, u32::from(v), ns_at(tick));
    }

    fn rd(p: &mut Pit8254, port: u16, tick: u64) -> u8 {
        p.port_read(port, 1, ns_at(tick)) as u8
    }

    /// Program `ch` with control bits `rw_mode_bcd` (bits 5:0) and a
    /// 16-bit count, LSB then MSB, at `tick`.
    fn program(p: &mut Pit8254, ch: u16, mode: u8, count: u16, tick: u64) {
        wr(p, 0x43, ((ch as u8) << 6) | 0x30 | (mode << 1), tick);
        wr(p, 0x40 + ch, count as u8, tick);
        wr(p, 0x40 + ch, (count >> 8) as u8, tick);
    }

    fn read_count(p: &mut Pit8254, ch: u16, tick: u64) -> u16 {
        wr(p, 0x43, (ch as u8) << 6, tick); // counter latch
        let lo = rd(p, 0x40 + ch, tick);
        let hi = rd(p, 0x40 + ch, tick);
        u16::from_le_bytes([lo, hi])
    }

    fn out0(p: &Pit8254, tick: u64) -> bool {
        p.irq_level(ns_at(tick))
    }

    #[test]
    fn clock_conversions() {
        assert_eq!(tick_at(NS_PER_SEC), PIT_HZ);
        for t in [0, 1, 2, 100, 1_193_181, 1_193_182, 123_456_789] {
            assert_eq!(tick_at(ns_at(t)), t);
            if t > 0 {
                assert_eq!(tick_at(ns_at(t) - 1), t - 1);
            }
        }
        assert_eq!(to_bcd16(1234), 0x1234);
        assert_eq!(from_bcd16(0x9999), 9999);
    }

    #[test]
    fn mode2_rate_generator() {
        let mut p = Pit8254::new();
        program(&mut p, 0, 2, 100, 0);
        // Loaded on the first clock: CE 100 at tick 1, 51 at tick 50.
        assert_eq!(read_count(&mut p, 0, 1), 100);
        assert_eq!(read_count(&mut p, 0, 50), 51);
        // OUT low for one clock when CE = 1 (tick 100), high again at 101.
        assert!(out0(&p, 99));
        assert!(!out0(&p, 100));
        assert!(out0(&p, 101));
        assert_eq!(read_count(&mut p, 0, 101), 100);
        assert!(!out0(&p, 200));
        // IRQ 0 edges (on a fresh PIT: the reads above moved time on).
        let mut p = Pit8254::new();
        program(&mut p, 0, 2, 100, 0);
        assert_eq!(p.tick(ns_at(0)), 0);
        assert_eq!(p.next_deadline(), Some(ns_at(101)));
        assert_eq!(p.tick(ns_at(100)), 0);
        assert_eq!(p.tick(ns_at(101)), 1);
        assert_eq!(p.tick(ns_at(101)), 0);
        assert_eq!(p.next_deadline(), Some(ns_at(201)));
        // Several periods at once are all counted (rises at 201..=901),
        // so a board can deliver every missed tick.
        assert_eq!(p.tick(ns_at(1000)), 8);
        assert_eq!(p.tick(ns_at(1000)), 0);
        assert_eq!(p.next_deadline(), Some(ns_at(1001)));
        // A long stall is capped.
        assert_eq!(p.tick(ns_at(1_000_000)), MAX_PENDING_PULSES);
    }

    #[test]
    fn mode2_count_zero_is_65536() {
        let mut p = Pit8254::new();
        program(&mut p, 0, 2, 0, 0);
        assert_eq!(p.next_deadline(), Some(ns_at(65_537)));
        // 18.2 Hz: 54.9 ms.
        assert_eq!(ns_at(65_537) / 100_000, 549);
        assert_eq!(read_count(&mut p, 0, 1), 0);
        assert_eq!(read_count(&mut p, 0, 2), 0xFFFF);
    }

    #[test]
    fn mode2_new_count_waits_for_period_end() {
        let mut p = Pit8254::new();
        program(&mut p, 0, 2, 100, 0);
        program_count_only(&mut p, 0, 10, 51); // CE = 50 at tick 51
        assert_eq!(read_count(&mut p, 0, 60), 41);
        // Old period ends at 101; then period 10.
        assert!(!out0(&p, 100));
        assert_eq!(read_count(&mut p, 0, 101), 10);
        assert!(!out0(&p, 110));
        assert!(out0(&p, 111));
    }

    fn program_count_only(p: &mut Pit8254, ch: u16, count: u16, tick: u64) {
        wr(p, 0x40 + ch, count as u8, tick);
        wr(p, 0x40 + ch, (count >> 8) as u8, tick);
    }

    #[test]
    fn mode3_square_wave_even_and_odd() {
        let mut p = Pit8254::new();
        program(&mut p, 0, 3, 10, 0);
        // Even: 5 clocks high (ticks 1-5), 5 low (6-10).
        let outs: Vec<bool> = (1..=21).map(|t| out0(&p, t)).collect();
        let mut want = Vec::new();
        for _ in 0..2 {
            want.extend([true; 5]);
            want.extend([false; 5]);
        }
        want.push(true);
        assert_eq!(outs, want);
        // CE counts down by two from N.
        let ces: Vec<u16> = (1..=6).map(|t| read_count(&mut p, 0, t)).collect();
        assert_eq!(ces, vec![10, 8, 6, 4, 2, 10]);
        // Rising edges every 10 clocks starting at 11.
        assert_eq!(p.next_deadline(), Some(ns_at(11)));

        let mut p = Pit8254::new();
        program(&mut p, 0, 3, 5, 0);
        // Odd: (N+1)/2 = 3 high, (N-1)/2 = 2 low.
        let outs: Vec<bool> = (1..=10).map(|t| out0(&p, t)).collect();
        assert_eq!(
            outs,
            vec![true, true, true, false, false, true, true, true, false, false]
        );
        let ces: Vec<u16> = (1..=6).map(|t| read_count(&mut p, 0, t)).collect();
        assert_eq!(ces, vec![4, 2, 0, 4, 2, 4]);
        assert_eq!(p.next_deadline(), Some(ns_at(6)));
    }

    #[test]
    fn mode3_new_count_at_half_cycle_end() {
        let mut p = Pit8254::new();
        program(&mut p, 0, 3, 10, 0);
        program_count_only(&mut p, 0, 4, 3); // in the first high half
                                             // The high half still lasts to tick 5; then halves of 2.
        assert!(out0(&p, 5));
        assert!(!out0(&p, 6));
        assert!(!out0(&p, 7));
        assert!(out0(&p, 8));
        assert!(out0(&p, 9));
        assert!(!out0(&p, 10));
    }

    #[test]
    fn mode0_interrupt_on_terminal_count() {
        let mut p = Pit8254::new();
        wr(&mut p, 0x43, 0x30, 0);
        assert!(!out0(&p, 0), "mode 0 control word drops OUT");
        wr(&mut p, 0x40, 10, 0);
        wr(&mut p, 0x40, 0, 0);
        // OUT rises N+1 clocks after the count is written.
        assert!(!out0(&p, 10));
        assert!(out0(&p, 11));
        assert_eq!(p.next_deadline(), Some(ns_at(11)));
        assert!(p.tick(ns_at(11)) > 0);
        assert_eq!(p.next_deadline(), None);
        // The counter keeps counting (wrapping), OUT stays high.
        assert_eq!(read_count(&mut p, 0, 12), 0xFFFF);
        assert!(out0(&p, 5000));
        // Writing the first byte of a new count stops counting, OUT low.
        wr(&mut p, 0x40, 20, 6000);
        assert!(!out0(&p, 6000));
        let frozen = read_count(&mut p, 0, 6001);
        assert_eq!(read_count(&mut p, 0, 6100), frozen);
        wr(&mut p, 0x40, 0, 6100);
        assert!(!out0(&p, 6120));
        assert!(out0(&p, 6121));
    }

    #[test]
    fn gate_pauses_mode0_on_channel2() {
        let mut p = Pit8254::new();
        wr(&mut p, 0x61, 0x01, 0); // gate 2 high
        program(&mut p, 2, 0, 100, 0);
        assert_eq!(read_count(&mut p, 2, 11), 90);
        wr(&mut p, 0x61, 0x00, 11);
        assert_eq!(read_count(&mut p, 2, 500), 90);
        assert!(!p.out(2, ns_at(500)));
        wr(&mut p, 0x61, 0x01, 500);
        assert_eq!(read_count(&mut p, 2, 510), 80);
        assert!(!p.out(2, ns_at(589)));
        assert!(p.out(2, ns_at(590)));
        assert_eq!(rd(&mut p, 0x61, 590) & 0x20, 0x20, "OUT2 on port 0x61");
    }

    #[test]
    fn mode1_retriggerable_one_shot() {
        let mut p = Pit8254::new();
        program(&mut p, 2, 1, 5, 0);
        assert!(p.out(2, ns_at(1)), "OUT high until triggered");
        wr(&mut p, 0x61, 0x01, 10); // trigger
        assert!(p.out(2, ns_at(10)));
        assert!(!p.out(2, ns_at(11)));
        assert!(!p.out(2, ns_at(15)));
        assert!(p.out(2, ns_at(16)));
        // Retrigger during the pulse restarts it.
        wr(&mut p, 0x61, 0x00, 20);
        wr(&mut p, 0x61, 0x01, 21);
        wr(&mut p, 0x61, 0x00, 24);
        wr(&mut p, 0x61, 0x01, 24);
        assert!(!p.out(2, ns_at(29)));
        assert!(p.out(2, ns_at(30)));
    }

    #[test]
    fn mode4_software_strobe() {
        let mut p = Pit8254::new();
        program(&mut p, 0, 4, 8, 0);
        assert!(out0(&p, 8));
        assert!(!out0(&p, 9), "strobe N+1 clocks after the write");
        assert!(out0(&p, 10));
        assert_eq!(p.next_deadline(), Some(ns_at(10)));
        assert!(p.tick(ns_at(10)) > 0);
        assert_eq!(p.next_deadline(), None, "one strobe per count");
        assert!(out0(&p, 9 + 0x10000));
    }

    #[test]
    fn mode5_hardware_strobe() {
        let mut p = Pit8254::new();
        program(&mut p, 2, 5, 3, 0);
        assert!(p.out(2, ns_at(100)));
        wr(&mut p, 0x61, 0x01, 100);
        assert!(p.out(2, ns_at(103)));
        assert!(!p.out(2, ns_at(104)));
        assert!(p.out(2, ns_at(105)));
    }

    #[test]
    fn mode3_gate_low_forces_out_high_and_restarts() {
        let mut p = Pit8254::new();
        wr(&mut p, 0x61, 0x01, 0);
        program(&mut p, 2, 3, 10, 0);
        assert!(!p.out(2, ns_at(7)));
        wr(&mut p, 0x61, 0x00, 7);
        assert!(p.out(2, ns_at(7)));
        assert!(p.out(2, ns_at(100)));
        wr(&mut p, 0x61, 0x03, 100);
        assert!(p.speaker_enabled());
        assert_eq!(p.speaker_frequency(), 119_318);
        // Restarted on the next clock: high 101-105, low 106-110.
        assert!(p.out(2, ns_at(105)));
        assert!(!p.out(2, ns_at(106)));
    }

    #[test]
    fn counter_latch_holds_value() {
        let mut p = Pit8254::new();
        program(&mut p, 0, 2, 1000, 0);
        wr(&mut p, 0x43, 0x00, 101); // latch: CE = 900
        let lo = rd(&mut p, 0x40, 300);
        // A second latch command before the read completes is ignored.
        wr(&mut p, 0x43, 0x00, 400);
        let hi = rd(&mut p, 0x40, 500);
        assert_eq!(u16::from_le_bytes([lo, hi]), 900);
        // Unlatched reads follow the counter.
        let lo = rd(&mut p, 0x40, 600);
        let hi = rd(&mut p, 0x40, 600);
        assert_eq!(u16::from_le_bytes([lo, hi]), 401);
    }

    #[test]
    fn lsb_only_and_msb_only_access() {
        let mut p = Pit8254::new();
        wr(&mut p, 0x43, 0x14, 0); // ch0 LSB only, mode 2
        wr(&mut p, 0x40, 0x20, 0);
        assert_eq!(rd(&mut p, 0x40, 1), 0x20);
        assert_eq!(rd(&mut p, 0x40, 2), 0x1F);
        assert_eq!(p.next_deadline(), Some(ns_at(33)));
        wr(&mut p, 0x43, 0x24, 0); // MSB only
        wr(&mut p, 0x40, 0x01, 0);
        assert_eq!(rd(&mut p, 0x40, 1), 0x01);
        assert_eq!(rd(&mut p, 0x40, 2), 0x00, "CE 0xFF has MSB 0");
    }

    #[test]
    fn read_back_status_and_count() {
        let mut p = Pit8254::new();
        wr(&mut p, 0x43, 0x34, 0); // ch0, LSB/MSB, mode 2, binary
                                   // Status only: null count set (no count yet), OUT high in mode 2.
        wr(&mut p, 0x43, 0xE2, 0);
        assert_eq!(rd(&mut p, 0x40, 0), 0x80 | 0x40 | 0x34);
        program_count_only(&mut p, 0, 50, 0);
        // Still null until the count reaches CE on the next clock.
        wr(&mut p, 0x43, 0xE2, 0);
        assert_eq!(rd(&mut p, 0x40, 0) & 0x40, 0x40);
        wr(&mut p, 0x43, 0xE2, 1);
        assert_eq!(rd(&mut p, 0x40, 1), 0x80 | 0x34);
        // Status and count together: status first, then LSB, MSB.
        wr(&mut p, 0x43, 0xC2, 11);
        assert_eq!(rd(&mut p, 0x40, 20), 0x80 | 0x34);
        assert_eq!(rd(&mut p, 0x40, 20), 40);
        assert_eq!(rd(&mut p, 0x40, 20), 0);
        // Count only, several channels at once.
        program(&mut p, 1, 2, 300, 0);
        wr(&mut p, 0x43, 0xD6, 100); // count, channels 1 and 2
        assert_eq!(rd(&mut p, 0x41, 200), 201);
        assert_eq!(rd(&mut p, 0x41, 200), 0);
        // Mode 6 reads back as programmed (x11 = mode 3 alias).
        wr(&mut p, 0x43, 0x3C, 300);
        wr(&mut p, 0x43, 0xE2, 300);
        assert_eq!(rd(&mut p, 0x40, 300) & 0x3F, 0x3C);
    }

    #[test]
    fn bcd_counting() {
        let mut p = Pit8254::new();
        wr(&mut p, 0x43, 0x35, 0); // ch0 LSB/MSB mode 2 BCD
        program_count_only(&mut p, 0, 0x1000, 0);
        assert_eq!(read_count(&mut p, 0, 1), 0x1000);
        assert_eq!(read_count(&mut p, 0, 2), 0x0999);
        assert_eq!(p.next_deadline(), Some(ns_at(1001)));
        // BCD count 0 is 10000.
        program_count_only(&mut p, 0, 0x0000, 2000);
        wr(&mut p, 0x43, 0x35, 3000);
        program_count_only(&mut p, 0, 0x0000, 3000);
        assert_eq!(read_count(&mut p, 0, 3002), 0x9999);
        assert!(p.tick(ns_at(3002)) > 0, "earlier periods left a pulse");
        assert_eq!(p.next_deadline(), Some(ns_at(13_001)));
    }

    #[test]
    fn port61_bits() {
        let mut p = Pit8254::new();
        wr(&mut p, 0x61, 0xFF, 0);
        let v = rd(&mut p, 0x61, 0);
        assert_eq!(v & 0x0F, 0x0F);
        assert_eq!(v & 0xC0, 0);
        // Refresh toggles every 18 clocks.
        let a = rd(&mut p, 0x61, 0) & 0x10;
        let b = rd(&mut p, 0x61, 18) & 0x10;
        let c = rd(&mut p, 0x61, 36) & 0x10;
        assert_ne!(a, b);
        assert_eq!(a, c);
        assert_eq!(rd(&mut p, 0x43, 0), 0xFF, "control word is write-only");
    }

    #[test]
    fn reset_stops_everything() {
        let mut p = Pit8254::new();
        program(&mut p, 0, 2, 100, 0);
        wr(&mut p, 0x61, 0x03, 0);
        p.reset();
        assert_eq!(p.next_deadline(), None);
        assert_eq!(p.tick(ns_at(10_000)), 0);
        assert!(!p.speaker_enabled());
    }

    #[test]
    fn unprogrammed_channel_is_quiet() {
        let mut p = Pit8254::new();
        assert_eq!(p.next_deadline(), None);
        assert_eq!(p.tick(ns_at(1_000_000)), 0);
        // Odd accesses never panic.
        for port in [0x40u16, 0x41, 0x42, 0x43, 0x61, 0x44] {
            for v in [0u8, 0xFF, 0x3F, 0xC0, 0xFE] {
                wr(&mut p, port, v, 5);
                let _ = rd(&mut p, port, 6);
            }
        }
        p.port_write(0x40, 4, 0xFFFF_FFFF, 10);
        let _ = p.port_read(0x40, 4, 10);
        let _ = p.next_deadline();
        let _ = p.speaker_frequency();
    }
}
