//! Motorola MC146818A real-time clock and CMOS RAM (and its PC clones such
//! as the Dallas DS12887), reached through the PC's index port 0x70 (bit 7
//! masks NMI) and data port 0x71. Modelled from the datasheet: time, alarm
//! and date registers in BCD or binary and 12/24-hour format, status
//! registers A-D, the update cycle with its update-in-progress flag, the
//! periodic/alarm/update-ended interrupts on IRQ 8, and the RAM bytes the PC
//! BIOS convention gives meaning to (memory sizes, equipment, checksum,
//! century).
//!
//! The clock runs on the board's virtual time: registers are brought up to
//! date lazily when accessed or ticked. Time written by the guest is kept as
//! decoded values (clamped into range), not as raw bytes, so switching the
//! data mode shows the same time in the new format.
//! The daylight-saving bit (register B bit 0) and the square-wave output are
//! stored but have no effect.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::{split_read, split_write, PortDevice};

/// Index (address) port.
pub const CMOS_INDEX_PORT: u16 = 0x70;
/// Data port.
pub const CMOS_DATA_PORT: u16 = 0x71;

const REG_SEC: u8 = 0x00;
const REG_SEC_ALARM: u8 = 0x01;
const REG_MIN: u8 = 0x02;
const REG_MIN_ALARM: u8 = 0x03;
const REG_HOUR: u8 = 0x04;
const REG_HOUR_ALARM: u8 = 0x05;
const REG_DOW: u8 = 0x06;
const REG_DAY: u8 = 0x07;
const REG_MONTH: u8 = 0x08;
const REG_YEAR: u8 = 0x09;
const REG_A: u8 = 0x0A;
const REG_B: u8 = 0x0B;
const REG_C: u8 = 0x0C;
const REG_D: u8 = 0x0D;

// PC BIOS CMOS layout.
const CMOS_EQUIPMENT: usize = 0x14;
const CMOS_BASE_MEM_LO: usize = 0x15;
const CMOS_EXT_MEM_LO: usize = 0x17;
const CMOS_CHECKSUM_HI: usize = 0x2E;
const CMOS_EXT_MEM2_LO: usize = 0x30;
const CMOS_CENTURY: usize = 0x32;
const CMOS_MEM_ABOVE_16M_LO: usize = 0x34;
const CMOS_MEM_ABOVE_4G: usize = 0x5B;

// Register A.
const A_UIP: u8 = 0x80;
const A_DV_MASK: u8 = 0x70;
/// Divider setting for a 32.768 kHz crystal with the chain running.
const A_DV_RUNNING: u8 = 0x20;
const A_RS_MASK: u8 = 0x0F;

// Register B.
const B_SET: u8 = 0x80;
const B_PIE: u8 = 0x40;
const B_AIE: u8 = 0x20;
const B_UIE: u8 = 0x10;
const B_SQWE: u8 = 0x08;
const B_DM_BINARY: u8 = 0x04;
const B_24H: u8 = 0x02;

// Register C.
const C_IRQF: u8 = 0x80;
const C_PF: u8 = 0x40;
const C_AF: u8 = 0x20;
const C_UF: u8 = 0x10;

// Register D.
const D_VRT: u8 = 0x80;

/// Crystal frequency: the divider chain counts at this rate.
const XTAL_HZ: u64 = 32_768;
const NS_PER_SEC: u64 = 1_000_000_000;
/// UIP rises 244 us before the update, which itself takes 1984 us; we put
/// the whole window before the instant the new time becomes visible.
const UIP_WINDOW_NS: u64 = 244_000 + 1_984_000;
/// After the divider leaves reset the first update comes half a second later.
const FIRST_UPDATE_AFTER_RESET: u64 = XTAL_HZ / 2;

/// Days from 1600-01-01 (start of a 400-year Gregorian cycle) to 1970-01-01.
const DAYS_1600_TO_1970: i64 = 135_140;
const DAYS_PER_400_YEARS: i64 = 146_097;

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a Gregorian date (years before 1600 clamp).
fn days_from_date(year: i64, month: u8, day: u8) -> i64 {
    let year = year.max(1600);
    let cycles = (year - 1600) / 400;
    let mut days = cycles * DAYS_PER_400_YEARS;
    for y in (1600 + cycles * 400)..year {
        days += if is_leap(y) { 366 } else { 365 };
    }
    for m in 1..month.clamp(1, 12) {
        days += i64::from(days_in_month(year, m));
    }
    days + i64::from(day.max(1)) - 1 - DAYS_1600_TO_1970
}

/// Inverse of [`days_from_date`].
fn date_from_days(days: i64) -> (i64, u8, u8) {
    let t = (days + DAYS_1600_TO_1970).max(0);
    let mut year = 1600 + (t / DAYS_PER_400_YEARS) * 400;
    let mut rem = t % DAYS_PER_400_YEARS;
    loop {
        let len = if is_leap(year) { 366 } else { 365 };
        if rem < len {
            break;
        }
        rem -= len;
        year += 1;
    }
    let mut month = 1;
    loop {
        let len = i64::from(days_in_month(year, month));
        if rem < len || month == 12 {
            break;
        }
        rem -= len;
        month += 1;
    }
    (year, month, rem as u8 + 1)
}

fn to_bcd(v: u8) -> u8 {
    ((v / 10) << 4) | (v % 10)
}

fn from_bcd(b: u8) -> u8 {
    (b >> 4) * 10 + (b & 0x0F)
}

fn is_valid_bcd(b: u8) -> bool {
    b >> 4 <= 9 && b & 0x0F <= 9
}

/// The time and date counters, in binary, always within range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Clock {
    sec: u8,
    min: u8,
    hour: u8, // 0-23
    dow: u8,  // 1-7, 1 = Sunday
    day: u8,  // 1-31
    month: u8,
    year: u8, // 0-99
}

impl Clock {
    fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let tod = secs.rem_euclid(86_400);
        let (year, month, day) = date_from_days(days);
        Clock {
            sec: (tod % 60) as u8,
            min: (tod / 60 % 60) as u8,
            hour: (tod / 3600) as u8,
            // 1970-01-01 was a Thursday (day 5 counting Sunday as 1).
            dow: ((days + 4).rem_euclid(7) + 1) as u8,
            day,
            month,
            year: year.rem_euclid(100) as u8,
        }
    }
}

/// MC146818 RTC + 128 bytes of CMOS RAM.
pub struct Mc146818 {
    index: u8,
    nmi_masked: bool,
    ram: [u8; 128],
    reg_a: u8,
    reg_b: u8,
    /// Register C flag bits PF/AF/UF (IRQF is derived).
    flags: u8,
    clock: Clock,
    /// Virtual time at which the divider chain last left reset.
    div_origin_ns: u64,
    /// Divider count (32.768 kHz ticks after the origin) of the first
    /// update; further updates come every 32768 ticks.
    update_phase: u64,
    /// Divider count up to which updates and periodic ticks are accounted.
    synced: u64,
}

impl Mc146818 {
    /// A clock showing `unix_secs` (UTC) at virtual time 0.
    pub fn new(unix_secs: i64) -> Self {
        let mut rtc = Mc146818 {
            index: 0,
            nmi_masked: false,
            ram: [0; 128],
            // 32.768 kHz time base, divider running, 1024 Hz periodic rate:
            // the state a PC BIOS leaves, and what a battery-backed chip holds.
            reg_a: A_DV_RUNNING | 0x06,
            reg_b: B_24H,
            flags: 0,
            clock: Clock::from_unix(unix_secs),
            div_origin_ns: 0,
            update_phase: 0,
            synced: 0,
        };
        let year = date_from_days(unix_secs.div_euclid(86_400)).0;
        rtc.ram[CMOS_CENTURY] = to_bcd((year / 100).rem_euclid(100) as u8);
        // Math coprocessor present, VGA/EGA display, no floppy drives.
        rtc.ram[CMOS_EQUIPMENT] = 0x02;
        rtc.set_memory_size(0);
        rtc
    }

    /// A clock showing the host's current UTC time at virtual time 0.
    pub fn with_host_clock() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Self::new(secs)
    }

    /// The chip's RESET pin (driven by system reset on a PC): clears the
    /// interrupt enables (PIE, AIE, UIE), SQWE and every register C flag.
    /// Time, date, alarm and RAM survive: they are battery-backed.
    pub fn reset(&mut self) {
        self.reg_b &= !(B_PIE | B_AIE | B_UIE | B_SQWE);
        self.flags = 0;
    }

    /// Set the clock to `unix_secs` (UTC) as of virtual time `now_ns`.
    pub fn set_time(&mut self, unix_secs: i64, now_ns: u64) {
        self.sync(now_ns);
        self.clock = Clock::from_unix(unix_secs);
        let year = date_from_days(unix_secs.div_euclid(86_400)).0;
        self.ram[CMOS_CENTURY] = to_bcd((year / 100).rem_euclid(100) as u8);
    }

    /// The clock's current time as Unix seconds (UTC), for the host side.
    pub fn time_unix(&mut self, now_ns: u64) -> i64 {
        self.sync(now_ns);
        let c = self.clock;
        let days = days_from_date(self.full_year(), c.month, c.day);
        days * 86_400 + i64::from(c.hour) * 3600 + i64::from(c.min) * 60 + i64::from(c.sec)
    }

    /// Whether the guest has masked NMI through bit 7 of port 0x70.
    pub fn nmi_masked(&self) -> bool {
        self.nmi_masked
    }

    /// Raw CMOS byte (time registers are not in this array).
    pub fn byte(&self, index: u8) -> u8 {
        self.ram[usize::from(index & 0x7F)]
    }

    /// Set a CMOS byte from the host side (disk types, boot order...).
    /// The standard checksum is kept valid.
    pub fn set_byte(&mut self, index: u8, value: u8) {
        self.ram[usize::from(index & 0x7F)] = value;
        self.update_checksum();
    }

    /// Equipment byte 0x14 (bit 0 floppy present, bit 1 FPU, bits 5:4
    /// display, bits 7:6 floppy count - 1).
    pub fn set_equipment(&mut self, value: u8) {
        self.set_byte(CMOS_EQUIPMENT as u8, value);
    }

    /// Fill the memory-size bytes for `ram_bytes` of RAM, with everything
    /// from 3.5 GiB up relocated above 4 GiB (the usual PCI hole).
    pub fn set_memory_size(&mut self, ram_bytes: u64) {
        const LOW_LIMIT: u64 = 0xE000_0000;
        let below = ram_bytes.min(LOW_LIMIT);
        self.set_memory_layout(below, ram_bytes - below);
    }

    /// Fill the memory-size bytes from the RAM below 4 GiB (from address 0)
    /// and the RAM mapped from 4 GiB up.
    pub fn set_memory_layout(&mut self, below_4g: u64, above_4g: u64) {
        const KIB: u64 = 1024;
        const MIB: u64 = 1024 * KIB;
        let put16 = |ram: &mut [u8; 128], at: usize, v: u64| {
            let v = v.min(0xFFFF) as u16;
            ram[at..at + 2].copy_from_slice(&v.to_le_bytes());
        };
        // Conventional memory is always reported as 640 KiB.
        let base_kib = (below_4g / KIB).min(640);
        put16(&mut self.ram, CMOS_BASE_MEM_LO, base_kib);
        let ext_kib = below_4g.saturating_sub(MIB) / KIB;
        put16(&mut self.ram, CMOS_EXT_MEM_LO, ext_kib);
        put16(&mut self.ram, CMOS_EXT_MEM2_LO, ext_kib);
        let above_16m = below_4g.saturating_sub(16 * MIB) / (64 * KIB);
        put16(&mut self.ram, CMOS_MEM_ABOVE_16M_LO, above_16m);
        let high = (above_4g / (64 * KIB)).min(0xFF_FFFF) as u32;
        self.ram[CMOS_MEM_ABOVE_4G..CMOS_MEM_ABOVE_4G + 3]
            .copy_from_slice(&high.to_le_bytes()[..3]);
        self.update_checksum();
    }

    /// Recompute the standard checksum at 0x2E (high) / 0x2F (low): the sum
    /// of bytes 0x10..=0x2D.
    pub fn update_checksum(&mut self) {
        let sum: u16 = self.ram[0x10..=0x2D].iter().map(|&b| u16::from(b)).sum();
        self.ram[CMOS_CHECKSUM_HI..CMOS_CHECKSUM_HI + 2].copy_from_slice(&sum.to_be_bytes());
    }

    /// Level of IRQ 8: register C's IRQF.
    pub fn irq_level(&self) -> bool {
        self.flags & self.reg_b & (B_PIE | B_AIE | B_UIE) != 0
    }

    /// Bring the clock and interrupt flags up to `now_ns`.
    pub fn tick(&mut self, now_ns: u64) {
        self.sync(now_ns);
    }

    /// When the next event that could raise IRQ 8 is due, if any.
    pub fn next_deadline(&self) -> Option<u64> {
        if !self.running() || self.irq_level() {
            return None;
        }
        let mut next: Option<u64> = None;
        let period = self.periodic_ticks();
        if self.reg_b & B_PIE != 0 && period != 0 {
            next = Some((self.synced / period + 1) * period);
        }
        if self.reg_b & (B_UIE | B_AIE) != 0 && self.reg_b & B_SET == 0 {
            let u = self.next_update_after(self.synced);
            next = Some(next.map_or(u, |n| n.min(u)));
        }
        next.map(|t| self.ns_of(t))
    }

    fn running(&self) -> bool {
        self.reg_a & A_DV_MASK == A_DV_RUNNING
    }

    /// Periodic interrupt period in divider ticks (0 = off). With a
    /// 32.768 kHz base, rates 1 and 2 repeat rates 8 and 9.
    fn periodic_ticks(&self) -> u64 {
        match self.reg_a & A_RS_MASK {
            0 => 0,
            rs @ 1..=2 => 1 << (rs + 6),
            rs => 1 << (rs - 1),
        }
    }

    fn ticks_at(&self, now_ns: u64) -> u64 {
        let ns = u128::from(now_ns.saturating_sub(self.div_origin_ns));
        (ns * u128::from(XTAL_HZ) / u128::from(NS_PER_SEC)) as u64
    }

    /// Earliest virtual time at which the divider count reaches `ticks`.
    fn ns_of(&self, ticks: u64) -> u64 {
        let ns = (u128::from(ticks) * u128::from(NS_PER_SEC)).div_ceil(u128::from(XTAL_HZ));
        self.div_origin_ns
            .saturating_add(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// Number of update points at or before divider count `t`.
    fn updates_upto(&self, t: u64) -> u64 {
        if t < self.update_phase {
            0
        } else {
            (t - self.update_phase) / XTAL_HZ + 1
        }
    }

    fn next_update_after(&self, t: u64) -> u64 {
        if t < self.update_phase {
            self.update_phase
        } else {
            self.update_phase + ((t - self.update_phase) / XTAL_HZ + 1) * XTAL_HZ
        }
    }

    fn update_in_progress(&self, now_ns: u64) -> bool {
        if !self.running() || self.reg_b & B_SET != 0 {
            return false;
        }
        let next = self.ns_of(self.next_update_after(self.ticks_at(now_ns)));
        next.saturating_sub(now_ns) <= UIP_WINDOW_NS
    }

    fn sync(&mut self, now_ns: u64) {
        if !self.running() {
            return;
        }
        let t = self.ticks_at(now_ns);
        if t <= self.synced {
            return;
        }
        let updates = self.updates_upto(t) - self.updates_upto(self.synced);
        if updates > 0 && self.reg_b & B_SET == 0 {
            self.advance(updates);
            self.flags |= C_UF;
        }
        let period = self.periodic_ticks();
        if period != 0 && t / period > self.synced / period {
            self.flags |= C_PF;
        }
        self.synced = t;
    }

    /// Century from CMOS byte 0x32 if it holds a sane BCD value.
    fn century(&self) -> Option<u8> {
        let b = self.ram[CMOS_CENTURY];
        (is_valid_bcd(b) && from_bcd(b) >= 16).then(|| from_bcd(b))
    }

    fn full_year(&self) -> i64 {
        i64::from(self.century().unwrap_or(20)) * 100 + i64::from(self.clock.year)
    }

    /// Run `n` update cycles. The alarm is checked at every one of the last
    /// 86400, which covers every time of day; earlier ones are skipped in
    /// bulk (they cannot find a match the last day will not).
    fn advance(&mut self, n: u64) {
        let bulk = n.saturating_sub(86_400);
        if bulk > 0 {
            self.add_seconds_bulk(bulk);
        }
        for _ in 0..(n - bulk) {
            self.step_second();
            if self.alarm_matches() {
                self.flags |= C_AF;
            }
        }
    }

    fn add_seconds_bulk(&mut self, n: u64) {
        let c = self.clock;
        let old_days = days_from_date(self.full_year(), c.month, c.day);
        let tod = i64::from(c.hour) * 3600 + i64::from(c.min) * 60 + i64::from(c.sec);
        let total = old_days * 86_400 + tod + i64::try_from(n).unwrap_or(i64::MAX / 4);
        let days = total.div_euclid(86_400);
        let dow = (i64::from(c.dow) - 1 + (days - old_days)).rem_euclid(7) as u8 + 1;
        let mut next = Clock::from_unix(total);
        next.dow = dow;
        self.clock = next;
        if self.century().is_some() {
            let (year, _, _) = date_from_days(days);
            self.ram[CMOS_CENTURY] = to_bcd((year / 100).rem_euclid(100) as u8);
        }
    }

    fn step_second(&mut self) {
        let full_year = self.full_year();
        let c = &mut self.clock;
        c.sec += 1;
        if c.sec < 60 {
            return;
        }
        c.sec = 0;
        c.min += 1;
        if c.min < 60 {
            return;
        }
        c.min = 0;
        c.hour += 1;
        if c.hour < 24 {
            return;
        }
        c.hour = 0;
        c.dow = c.dow % 7 + 1;
        c.day += 1;
        if c.day <= days_in_month(full_year, c.month) {
            return;
        }
        c.day = 1;
        c.month += 1;
        if c.month <= 12 {
            return;
        }
        c.month = 1;
        c.year += 1;
        if c.year < 100 {
            return;
        }
        c.year = 0;
        if let Some(century) = self.century() {
            self.ram[CMOS_CENTURY] = to_bcd((century + 1) % 100);
        }
    }

    /// The alarm bytes are compared with the time registers as encoded in
    /// the current data mode; 11xxxxxx in an alarm byte matches anything.
    fn alarm_matches(&self) -> bool {
        [
            (REG_SEC_ALARM, REG_SEC),
            (REG_MIN_ALARM, REG_MIN),
            (REG_HOUR_ALARM, REG_HOUR),
        ]
        .iter()
        .all(|&(alarm, reg)| {
            let a = self.ram[usize::from(alarm)];
            a & 0xC0 == 0xC0 || a == self.read_time_reg(reg)
        })
    }

    fn encode(&self, v: u8) -> u8 {
        if self.reg_b & B_DM_BINARY != 0 {
            v
        } else {
            to_bcd(v)
        }
    }

    fn decode(&self, b: u8) -> u8 {
        if self.reg_b & B_DM_BINARY != 0 {
            b
        } else {
            from_bcd(b)
        }
    }

    fn read_time_reg(&self, reg: u8) -> u8 {
        let c = &self.clock;
        match reg {
            REG_SEC => self.encode(c.sec),
            REG_MIN => self.encode(c.min),
            REG_HOUR => {
                if self.reg_b & B_24H != 0 {
                    self.encode(c.hour)
                } else {
                    // 12-hour mode: 12, 1..11 with bit 7 = PM.
                    let h12 = match c.hour % 12 {
                        0 => 12,
                        h => h,
                    };
                    let pm = if c.hour >= 12 { 0x80 } else { 0 };
                    self.encode(h12) | pm
                }
            }
            REG_DOW => self.encode(c.dow),
            REG_DAY => self.encode(c.day),
            REG_MONTH => self.encode(c.month),
            REG_YEAR => self.encode(c.year),
            _ => 0,
        }
    }

    fn write_time_reg(&mut self, reg: u8, value: u8) {
        match reg {
            REG_SEC => self.clock.sec = self.decode(value).min(59),
            REG_MIN => self.clock.min = self.decode(value).min(59),
            REG_HOUR => {
                self.clock.hour = if self.reg_b & B_24H != 0 {
                    self.decode(value).min(23)
                } else {
                    let h12 = self.decode(value & 0x7F).clamp(1, 12) % 12;
                    h12 + if value & 0x80 != 0 { 12 } else { 0 }
                };
            }
            REG_DOW => self.clock.dow = self.decode(value).clamp(1, 7),
            REG_DAY => self.clock.day = self.decode(value).clamp(1, 31),
            REG_MONTH => self.clock.month = self.decode(value).clamp(1, 12),
            REG_YEAR => self.clock.year = self.decode(value).min(99),
            _ => {}
        }
    }

    fn read_data(&mut self, now_ns: u64) -> u8 {
        self.sync(now_ns);
        match self.index {
            REG_SEC | REG_MIN | REG_HOUR | REG_DOW | REG_DAY | REG_MONTH | REG_YEAR => {
                self.read_time_reg(self.index)
            }
            REG_A => {
                let uip = if self.update_in_progress(now_ns) {
                    A_UIP
                } else {
                    0
                };
                self.reg_a | uip
            }
            REG_B => self.reg_b,
            REG_C => {
                // Reading C returns the flags and clears them all, which
                // releases IRQ 8.
                let irqf = if self.irq_level() { C_IRQF } else { 0 };
                let v = self.flags | irqf;
                self.flags = 0;
                v
            }
            REG_D => D_VRT,
            i => self.ram[usize::from(i)],
        }
    }

    fn write_data(&mut self, value: u8, now_ns: u64) {
        self.sync(now_ns);
        match self.index {
            REG_SEC | REG_MIN | REG_HOUR | REG_DOW | REG_DAY | REG_MONTH | REG_YEAR => {
                self.write_time_reg(self.index, value)
            }
            REG_A => {
                let was_running = self.running();
                self.reg_a = value & !A_UIP;
                if self.running() && !was_running {
                    // The divider leaves reset: count from here, first
                    // update half a second later.
                    self.div_origin_ns = now_ns;
                    self.update_phase = FIRST_UPDATE_AFTER_RESET;
                    self.synced = 0;
                }
            }
            REG_B => {
                let mut value = value;
                if value & B_SET != 0 {
                    // SET inhibits updates and clears UIE.
                    value &= !B_UIE;
                }
                self.reg_b = value;
            }
            // C and D are read-only.
            REG_C | REG_D => {}
            i => self.ram[usize::from(i)] = value,
        }
    }
}

impl PortDevice for Mc146818 {
    fn port_read(&mut self, port: u16, size: u8, now_ns: u64) -> u32 {
        split_read(port, size, |p| match p {
            // The index register is write-only.
            CMOS_INDEX_PORT => 0xFF,
            CMOS_DATA_PORT => self.read_data(now_ns),
            _ => 0xFF,
        })
    }

    fn port_write(&mut self, port: u16, size: u8, value: u32, now_ns: u64) {
        split_write(port, size, value, |p, b| match p {
            CMOS_INDEX_PORT => {
                self.index = b & 0x7F;
                self.nmi_masked = b & 0x80 != 0;
            }
            CMOS_DATA_PORT => self.write_data(b, now_ns),
            _ => {}
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = NS_PER_SEC;
    /// 2024-02-28 23:59:58 UTC, a Wednesday.
    const T0: i64 = 1_709_164_798;

    fn rd(r: &mut Mc146818, idx: u8, now: u64) -> u8 {
        r.port_write(0x70, 1, u32::from(idx), now);
        r.port_read(0x71, 1, now) as u8
    }

    fn wr(r: &mut Mc146818, idx: u8, v: u8, now: u64) {
        r.port_write(0x70, 1, u32::from(idx), now);
        r.port_write(0x71, 1, u32::from(v), now);
    }

    #[test]
    fn calendar_helpers_round_trip() {
        assert_eq!(days_from_date(1970, 1, 1), 0);
        assert_eq!(days_from_date(2000, 3, 1), 11_017);
        for days in [-1000, 0, 59, 365, 10_957, 11_016, 11_017, 19_782, 50_000] {
            let (y, m, d) = date_from_days(days);
            assert_eq!(days_from_date(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(date_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn bcd_time_and_date() {
        let mut r = Mc146818::new(T0);
        assert_eq!(rd(&mut r, REG_SEC, 0), 0x58);
        assert_eq!(rd(&mut r, REG_MIN, 0), 0x59);
        assert_eq!(rd(&mut r, REG_HOUR, 0), 0x23);
        assert_eq!(rd(&mut r, REG_DOW, 0), 4); // Wednesday
        assert_eq!(rd(&mut r, REG_DAY, 0), 0x28);
        assert_eq!(rd(&mut r, REG_MONTH, 0), 0x02);
        assert_eq!(rd(&mut r, REG_YEAR, 0), 0x24);
        assert_eq!(rd(&mut r, 0x32, 0), 0x20);
        // Two seconds later: leap day, Thursday.
        assert_eq!(rd(&mut r, REG_DAY, 2 * SEC), 0x29);
        assert_eq!(rd(&mut r, REG_DOW, 2 * SEC), 5);
        assert_eq!(rd(&mut r, REG_HOUR, 2 * SEC), 0x00);
        assert_eq!(r.time_unix(2 * SEC), T0 + 2);
    }

    #[test]
    fn binary_and_12_hour_modes() {
        let mut r = Mc146818::new(T0);
        wr(&mut r, REG_B, B_DM_BINARY | B_24H, 0);
        assert_eq!(rd(&mut r, REG_SEC, 0), 58);
        assert_eq!(rd(&mut r, REG_HOUR, 0), 23);
        wr(&mut r, REG_B, B_DM_BINARY, 0);
        assert_eq!(rd(&mut r, REG_HOUR, 0), 0x80 | 11);
        wr(&mut r, REG_B, 0, 0);
        assert_eq!(rd(&mut r, REG_HOUR, 0), 0x80 | 0x11);
        // Midnight reads 12 AM.
        assert_eq!(rd(&mut r, REG_HOUR, 2 * SEC), 0x12);
        // Writing 12 PM in 12-hour BCD mode is noon.
        wr(&mut r, REG_HOUR, 0x92, 2 * SEC);
        wr(&mut r, REG_B, B_24H, 2 * SEC);
        assert_eq!(rd(&mut r, REG_HOUR, 2 * SEC), 0x12);
    }

    #[test]
    fn guest_sets_time_with_set_bit() {
        let mut r = Mc146818::new(T0);
        wr(&mut r, REG_B, B_SET | B_24H, 0);
        for (reg, v) in [
            (REG_SEC, 0x30),
            (REG_MIN, 0x15),
            (REG_HOUR, 0x10),
            (REG_DAY, 0x31),
            (REG_MONTH, 0x12),
            (REG_YEAR, 0x99),
        ] {
            wr(&mut r, reg, v, 0);
        }
        // Frozen while SET is on.
        assert_eq!(rd(&mut r, REG_SEC, 5 * SEC), 0x30);
        wr(&mut r, REG_B, B_24H, 5 * SEC);
        assert_eq!(rd(&mut r, REG_SEC, 6 * SEC), 0x31);
        // Garbage is clamped, never a panic.
        wr(&mut r, REG_MONTH, 0xFF, 6 * SEC);
        assert_eq!(rd(&mut r, REG_MONTH, 6 * SEC), 0x12);
    }

    #[test]
    fn year_and_century_roll_over() {
        // 2099-12-31 23:59:59
        let mut r = Mc146818::new(4_102_444_799);
        assert_eq!(rd(&mut r, REG_YEAR, 0), 0x99);
        assert_eq!(rd(&mut r, REG_YEAR, SEC), 0x00);
        assert_eq!(rd(&mut r, REG_MONTH, SEC), 0x01);
        assert_eq!(rd(&mut r, 0x32, SEC), 0x21);
    }

    #[test]
    fn long_idle_gap_is_caught_up() {
        let mut r = Mc146818::new(T0);
        let gap = 400 * 86_400 + 17;
        assert_eq!(r.time_unix(gap * SEC), T0 + gap as i64);
        let (y, m, d) = date_from_days((T0 + gap as i64).div_euclid(86_400));
        assert_eq!(rd(&mut r, REG_YEAR, gap * SEC), to_bcd((y % 100) as u8));
        assert_eq!(rd(&mut r, REG_MONTH, gap * SEC), to_bcd(m));
        assert_eq!(rd(&mut r, REG_DAY, gap * SEC), to_bcd(d));
        let expect_dow = ((T0 + gap as i64).div_euclid(86_400) + 4).rem_euclid(7) + 1;
        assert_eq!(i64::from(rd(&mut r, REG_DOW, gap * SEC)), expect_dow);
    }

    #[test]
    fn uip_window_before_each_update() {
        let mut r = Mc146818::new(T0);
        assert_eq!(rd(&mut r, REG_A, SEC / 2) & A_UIP, 0);
        assert_eq!(rd(&mut r, REG_A, SEC - 1_000_000) & A_UIP, A_UIP);
        assert_eq!(rd(&mut r, REG_A, SEC + 1_000) & A_UIP, 0);
        assert_eq!(rd(&mut r, REG_A, 0) & 0x7F, 0x26);
        // No UIP while SET holds updates.
        wr(&mut r, REG_B, B_SET | B_24H, SEC + 1_000);
        assert_eq!(rd(&mut r, REG_A, 2 * SEC - 1_000_000) & A_UIP, 0);
    }

    #[test]
    fn register_d_and_c_read_only() {
        let mut r = Mc146818::new(T0);
        assert_eq!(rd(&mut r, REG_D, 0), 0x80);
        wr(&mut r, REG_D, 0, 0);
        wr(&mut r, REG_C, 0xFF, 0);
        assert_eq!(rd(&mut r, REG_D, 0), 0x80);
        assert_eq!(rd(&mut r, REG_C, 0), 0);
    }

    #[test]
    fn update_ended_interrupt() {
        let mut r = Mc146818::new(T0);
        wr(&mut r, REG_A, 0x20, 0); // no periodic flag in the way
        wr(&mut r, REG_SEC_ALARM, 0x30, 0); // nor an alarm match
        wr(&mut r, REG_B, B_24H | B_UIE, 0);
        assert!(!r.irq_level());
        assert_eq!(r.next_deadline(), Some(SEC));
        r.tick(SEC - 1);
        assert!(!r.irq_level());
        r.tick(SEC);
        assert!(r.irq_level());
        assert_eq!(r.next_deadline(), None, "line already high");
        assert_eq!(rd(&mut r, REG_C, SEC), C_IRQF | C_UF);
        assert!(!r.irq_level());
        assert_eq!(rd(&mut r, REG_C, SEC), 0);
        // UF is set even with UIE off (polled use), without IRQF.
        wr(&mut r, REG_B, B_24H, SEC);
        r.tick(2 * SEC);
        assert!(!r.irq_level());
        assert_eq!(rd(&mut r, REG_C, 2 * SEC), C_UF);
    }

    #[test]
    fn reset_pin_clears_enables_and_flags() {
        let mut r = Mc146818::new(T0);
        wr(
            &mut r,
            REG_B,
            B_24H | B_PIE | B_UIE | B_SQWE | B_DM_BINARY,
            0,
        );
        r.tick(2 * SEC);
        assert!(r.irq_level());
        r.reset();
        assert!(!r.irq_level());
        assert_eq!(rd(&mut r, REG_B, 2 * SEC), B_24H | B_DM_BINARY);
        assert_eq!(rd(&mut r, REG_C, 2 * SEC), 0);
        assert_eq!(rd(&mut r, REG_SEC, 2 * SEC), 0);
    }

    #[test]
    fn set_bit_clears_uie() {
        let mut r = Mc146818::new(T0);
        wr(&mut r, REG_B, B_SET | B_UIE | B_24H, 0);
        assert_eq!(rd(&mut r, REG_B, 0), B_SET | B_24H);
    }

    #[test]
    fn periodic_interrupt_rates() {
        let mut r = Mc146818::new(T0);
        // Rate 6 = 1024 Hz: period 976.5625 us.
        wr(&mut r, REG_B, B_24H | B_PIE, 0);
        let d = r.next_deadline().unwrap();
        assert_eq!(d, 976_563);
        r.tick(d - 1);
        assert!(!r.irq_level());
        r.tick(d);
        assert!(r.irq_level());
        assert_eq!(rd(&mut r, REG_C, d) & (C_IRQF | C_PF), C_IRQF | C_PF);
        assert_eq!(r.next_deadline(), Some(2 * 976_563 - 1));
        // Rate 15 = 2 Hz.
        wr(&mut r, REG_A, 0x2F, d);
        assert_eq!(r.next_deadline(), Some(SEC / 2));
        // Rate 1 repeats rate 8 (256 Hz) at 32.768 kHz.
        wr(&mut r, REG_A, 0x21, d);
        assert_eq!(r.next_deadline(), Some(3_906_250));
        // Rate 0 disables.
        wr(&mut r, REG_A, 0x20, d);
        assert_eq!(r.next_deadline(), None);
    }

    #[test]
    fn alarm_interrupt_and_dont_care() {
        let mut r = Mc146818::new(T0); // 23:59:58
        wr(&mut r, REG_A, 0x20, 0); // no periodic flag in the way
        wr(&mut r, REG_B, B_24H | B_AIE, 0);
        wr(&mut r, REG_SEC_ALARM, 0x05, 0);
        wr(&mut r, REG_MIN_ALARM, 0x00, 0);
        wr(&mut r, REG_HOUR_ALARM, 0x00, 0);
        r.tick(6 * SEC);
        assert!(!r.irq_level());
        r.tick(7 * SEC); // 00:00:05
        assert!(r.irq_level());
        assert_eq!(rd(&mut r, REG_C, 7 * SEC), C_IRQF | C_AF | C_UF);
        // Hours and minutes "don't care": fires every minute at :05.
        wr(&mut r, REG_MIN_ALARM, 0xC0, 7 * SEC);
        wr(&mut r, REG_HOUR_ALARM, 0xFF, 7 * SEC);
        r.tick(66 * SEC);
        assert!(!r.irq_level());
        r.tick(67 * SEC);
        assert!(r.irq_level());
        // A long unattended gap still catches an alarm in it.
        rd(&mut r, REG_C, 67 * SEC);
        wr(&mut r, REG_B, B_24H, 67 * SEC);
        wr(&mut r, REG_SEC_ALARM, 0x00, 67 * SEC);
        wr(&mut r, REG_MIN_ALARM, 0x30, 67 * SEC);
        wr(&mut r, REG_HOUR_ALARM, 0x12, 67 * SEC);
        assert_eq!(rd(&mut r, REG_C, 5 * 86_400 * SEC) & C_AF, C_AF);
    }

    #[test]
    fn divider_reset_holds_and_restarts_half_second_later() {
        let mut r = Mc146818::new(T0);
        wr(&mut r, REG_A, 0x70, 0); // divider in reset
        assert_eq!(rd(&mut r, REG_SEC, 10 * SEC), 0x58);
        assert_eq!(rd(&mut r, REG_A, 10 * SEC) & A_UIP, 0);
        wr(&mut r, REG_A, 0x26, 10 * SEC);
        assert_eq!(rd(&mut r, REG_SEC, 10 * SEC + SEC / 2 - 1), 0x58);
        assert_eq!(rd(&mut r, REG_SEC, 10 * SEC + SEC / 2), 0x59);
        assert_eq!(rd(&mut r, REG_SEC, 11 * SEC + SEC / 2), 0x00);
    }

    #[test]
    fn nmi_mask_bit_and_index() {
        let mut r = Mc146818::new(T0);
        r.port_write(0x70, 1, 0x80 | 0x40, 0);
        assert!(r.nmi_masked());
        r.port_write(0x71, 1, 0xAB, 0);
        r.port_write(0x70, 1, 0x40, 0);
        assert!(!r.nmi_masked());
        assert_eq!(r.port_read(0x71, 1, 0), 0xAB);
        assert_eq!(r.byte(0x40), 0xAB);
        // All 128 bytes of NVRAM above the clock are plain storage.
        for i in 0x0E..0x80u8 {
            wr(&mut r, i, i ^ 0x5A, 0);
        }
        for i in 0x0E..0x80u8 {
            assert_eq!(rd(&mut r, i, 0), i ^ 0x5A);
        }
    }

    #[test]
    fn memory_sizes_and_checksum() {
        let mut r = Mc146818::new(T0);
        r.set_memory_size(32 << 20);
        let w = |r: &Mc146818, i: u8| u16::from_le_bytes([r.byte(i), r.byte(i + 1)]);
        assert_eq!(w(&r, 0x15), 640);
        assert_eq!(w(&r, 0x17), 31 * 1024);
        assert_eq!(w(&r, 0x30), 31 * 1024);
        assert_eq!(w(&r, 0x34), 256);
        assert_eq!(r.byte(0x5B) | r.byte(0x5C) | r.byte(0x5D), 0);
        let sum: u16 = (0x10..=0x2D).map(|i| u16::from(r.byte(i))).sum();
        assert_eq!(u16::from_be_bytes([r.byte(0x2E), r.byte(0x2F)]), sum);

        // 6 GiB: 3.5 GiB low, 2.5 GiB high; extended memory caps at 0xFFFF.
        r.set_memory_size(6 << 30);
        assert_eq!(w(&r, 0x17), 0xFFFF);
        assert_eq!(w(&r, 0x30), 0xFFFF);
        assert_eq!(w(&r, 0x34), ((0xE000_0000u64 - (16 << 20)) / 65536) as u16);
        let high = u32::from_le_bytes([r.byte(0x5B), r.byte(0x5C), r.byte(0x5D), 0]);
        assert_eq!(u64::from(high) * 65536, (6u64 << 30) - 0xE000_0000);

        r.set_equipment(0x41);
        assert_eq!(r.byte(0x14), 0x41);
        let sum: u16 = (0x10..=0x2D).map(|i| u16::from(r.byte(i))).sum();
        assert_eq!(u16::from_be_bytes([r.byte(0x2E), r.byte(0x2F)]), sum);
    }

    #[test]
    fn wide_access_does_not_panic() {
        let mut r = Mc146818::new(T0);
        r.port_write(0x70, 2, 0xFFFF, 0);
        let _ = r.port_read(0x70, 4, 0);
        assert_eq!(r.port_read(0x70, 1, 0), 0xFF);
    }
}
