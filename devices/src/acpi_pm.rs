//! ACPI fixed-hardware power management registers as the PIIX4 power
//! management function provides them in its 64-byte I/O block (the PCI
//! function 00:01.3 holds the block's base in its PMBA register; our
//! firmware puts it at [`ACPI_PM_BASE`]). Offsets from the base, which the
//! firmware's FADT must advertise:
//!
//! | offset | size | FADT field | register |
//! | --- | --- | --- | --- |
//! | 0x00 | 2 | PM1a_EVT_BLK (len 4) | PM1_STS: TMR_STS (0), BM_STS (4), GBL_STS (5), PWRBTN_STS (8), SLPBTN_STS (9), RTC_STS (10), WAK_STS (15); write 1 to clear |
//! | 0x02 | 2 | | PM1_EN: TMR_EN (0), GBL_EN (5), PWRBTN_EN (8), SLPBTN_EN (9), RTC_EN (10) |
//! | 0x04 | 2 | PM1a_CNT_BLK (len 2) | PM1_CNT: SCI_EN (0), BM_RLD (1), GBL_RLS (2, write-only), SLP_TYP (12:10), SLP_EN (13, write-only) |
//! | 0x08 | 4 | PM_TMR_BLK (len 4) | PM_TMR: 3.579545 MHz counter, 24 bits (or 32 with FADT TMR_VAL_EXT) |
//! | 0x0C | 2 | GPE0_BLK (len 4) | GPE0_STS (write 1 to clear; no sources are wired) |
//! | 0x0E | 2 | | GPE0_EN |
//!
//! Other offsets in the block read 0 and ignore writes.
//!
//! For the FADT that means: PM1a_EVT_BLK = base (length 4), PM1a_CNT_BLK =
//! base + 4 (length 2), PM_TMR_BLK = base + 8 (length 4), GPE0_BLK = base +
//! 0x0C (length 4), SCI_INT = 9, SMI_CMD = 0 (always in ACPI mode), and,
//! for ACPI reset, RESET_REG = system I/O port 0xCF9 with RESET_VALUE 6
//! (see [`crate::pci`]).
//!
//! Sleep: writing PM1_CNT with SLP_EN set and SLP_TYP = [`SLP_TYP_S5`]
//! (0, the PIIX4 "soft off" encoding) sets [`AcpiPm::poweroff_requested`];
//! the DSDT's `_S5` object must therefore be `Package () { 0, 0, 0, 0 }`.
//! Other sleep types are recorded in [`AcpiPm::sleep_requested`] and do
//! nothing else (no S1-S4 support).
//!
//! SCI (ISA IRQ 9, level, active high in ACPI terms): raised while SCI_EN
//! is set and an enabled PM1 or GPE0 status bit is set. SCI_EN is clear at
//! power-on as on the chipset; a firmware whose FADT has SMI_CMD = 0
//! (no legacy mode) sets it during POST by writing 1 to PM1_CNT.
//! TMR_STS is set every time bit 23 (bit 31 with the 32-bit timer) of the
//! counter changes; the board calls [`AcpiPm::tick`] at
//! [`AcpiPm::next_deadline`] so an enabled timer SCI arrives on time.

use crate::{split_read, split_write, PortDevice};

/// I/O base our firmware programs into PMBA.
pub const ACPI_PM_BASE: u16 = 0x600;
/// Size of the PIIX4 PM I/O block.
pub const ACPI_PM_LEN: u16 = 0x40;
/// ISA IRQ of the SCI.
pub const SCI_IRQ: u8 = 9;
/// SLP_TYP value for S5 (soft off) the DSDT's `_S5` must use.
pub const SLP_TYP_S5: u8 = 0;
/// PM timer frequency, Hz.
pub const PM_TIMER_HZ: u64 = 3_579_545;

const NS_PER_SEC: u64 = 1_000_000_000;

// Register offsets.
pub const PM1_STS: u16 = 0x00;
pub const PM1_EN: u16 = 0x02;
pub const PM1_CNT: u16 = 0x04;
pub const PM_TMR: u16 = 0x08;
pub const GPE0_STS: u16 = 0x0C;
pub const GPE0_EN: u16 = 0x0E;

// PM1_STS / PM1_EN bits.
pub const TMR_STS: u16 = 1 << 0;
pub const BM_STS: u16 = 1 << 4;
pub const GBL_STS: u16 = 1 << 5;
pub const PWRBTN_STS: u16 = 1 << 8;
pub const SLPBTN_STS: u16 = 1 << 9;
pub const RTC_STS: u16 = 1 << 10;
pub const WAK_STS: u16 = 1 << 15;
const STS_BITS: u16 = TMR_STS | BM_STS | GBL_STS | PWRBTN_STS | SLPBTN_STS | RTC_STS | WAK_STS;
const EN_BITS: u16 = TMR_STS | GBL_STS | PWRBTN_STS | SLPBTN_STS | RTC_STS;

// PM1_CNT bits.
pub const SCI_EN: u16 = 1 << 0;
pub const BM_RLD: u16 = 1 << 1;
pub const GBL_RLS: u16 = 1 << 2;
pub const SLP_EN: u16 = 1 << 13;
const SLP_TYP_SHIFT: u16 = 10;
const SLP_TYP_MASK: u16 = 7 << SLP_TYP_SHIFT;
/// Bits of PM1_CNT that hold a value (GBL_RLS and SLP_EN read 0).
const CNT_RW: u16 = SCI_EN | BM_RLD | SLP_TYP_MASK;

/// PM timer ticks elapsed at virtual time `ns`.
fn tick_at(ns: u64) -> u64 {
    (u128::from(ns) * u128::from(PM_TIMER_HZ) / u128::from(NS_PER_SEC)) as u64
}

/// First virtual time at which tick `t` has happened.
fn ns_at(t: u64) -> u64 {
    let ns = (u128::from(t) * u128::from(NS_PER_SEC)).div_ceil(u128::from(PM_TIMER_HZ));
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// The ACPI PM1 event/control blocks, PM timer and GPE0 block.
#[derive(Debug, Clone)]
pub struct AcpiPm {
    base: u16,
    timer_32bit: bool,
    pm1_sts: u16,
    pm1_en: u16,
    pm1_cnt: u16,
    gpe0_sts: u16,
    gpe0_en: u16,
    /// Timer value (in ticks) up to which TMR_STS has been accounted.
    synced_ticks: u64,
    /// Set when the guest enters S5; the board powers off (exit status 0).
    pub poweroff_requested: bool,
    /// The SLP_TYP of the last sleep request that was not S5.
    pub sleep_requested: Option<u8>,
    /// Set when the guest writes GBL_RLS (a firmware would get an SMI).
    pub gbl_rls_written: bool,
}

impl AcpiPm {
    /// Registers at I/O `base`, with a 24-bit timer (or 32-bit when
    /// `timer_32bit`, which the FADT must then flag with TMR_VAL_EXT).
    pub fn new(base: u16, timer_32bit: bool) -> Self {
        AcpiPm {
            base,
            timer_32bit,
            pm1_sts: 0,
            pm1_en: 0,
            pm1_cnt: 0,
            gpe0_sts: 0,
            gpe0_en: 0,
            synced_ticks: 0,
            poweroff_requested: false,
            sleep_requested: None,
            gbl_rls_written: false,
        }
    }

    /// The I/O base the block decodes at.
    pub fn base(&self) -> u16 {
        self.base
    }

    /// Move the block (the board follows the PM function's PMBA).
    pub fn set_base(&mut self, base: u16) {
        self.base = base;
    }

    /// Whether `port` falls in the block.
    pub fn contains(&self, port: u16) -> bool {
        port.wrapping_sub(self.base) < ACPI_PM_LEN
    }

    /// System reset: status, enables and control back to 0. The timer keeps
    /// counting (it runs from the always-on well).
    pub fn reset(&mut self) {
        self.pm1_sts = 0;
        self.pm1_en = 0;
        self.pm1_cnt = 0;
        self.gpe0_sts = 0;
        self.gpe0_en = 0;
        self.poweroff_requested = false;
        self.sleep_requested = None;
        self.gbl_rls_written = false;
    }

    /// Take a pending power-off request.
    pub fn take_poweroff_request(&mut self) -> bool {
        std::mem::take(&mut self.poweroff_requested)
    }

    /// The SCI line (IRQ 9).
    pub fn irq_level(&self) -> bool {
        self.pm1_cnt & SCI_EN != 0
            && (self.pm1_sts & self.pm1_en & EN_BITS != 0 || self.gpe0_sts & self.gpe0_en != 0)
    }

    /// The host's power button was pressed: PWRBTN_STS (an SCI if the
    /// guest enabled it; an ACPI OS then shuts down cleanly).
    pub fn press_power_button(&mut self) {
        self.pm1_sts |= PWRBTN_STS;
    }

    /// Raise GPE0 status bits (for a board that wires a GPE source).
    pub fn set_gpe(&mut self, bits: u16) {
        self.gpe0_sts |= bits;
    }

    fn msb_shift(&self) -> u32 {
        if self.timer_32bit {
            31
        } else {
            23
        }
    }

    /// The PM timer's value at `now_ns`.
    pub fn timer(&self, now_ns: u64) -> u32 {
        let t = tick_at(now_ns);
        if self.timer_32bit {
            t as u32
        } else {
            (t & 0xFF_FFFF) as u32
        }
    }

    /// Bring TMR_STS up to date with virtual time.
    pub fn tick(&mut self, now_ns: u64) {
        let t = tick_at(now_ns);
        let s = self.msb_shift();
        if t >> s != self.synced_ticks >> s && t > self.synced_ticks {
            self.pm1_sts |= TMR_STS;
        }
        self.synced_ticks = self.synced_ticks.max(t);
    }

    /// When the timer's MSB next toggles, if that would raise the SCI.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.pm1_en & TMR_STS == 0 || self.pm1_sts & TMR_STS != 0 || self.pm1_cnt & SCI_EN == 0 {
            return None;
        }
        let s = self.msb_shift();
        let next = ((self.synced_ticks >> s) + 1) << s;
        Some(ns_at(next))
    }

    fn read8(&mut self, off: u16, now_ns: u64) -> u8 {
        let byte = |v: u16, hi: bool| if hi { (v >> 8) as u8 } else { v as u8 };
        match off {
            0x00 | 0x01 => byte(self.pm1_sts, off & 1 != 0),
            0x02 | 0x03 => byte(self.pm1_en, off & 1 != 0),
            0x04 | 0x05 => byte(self.pm1_cnt & CNT_RW, off & 1 != 0),
            0x08..=0x0B => (self.timer(now_ns) >> (8 * (off - 8))) as u8,
            0x0C | 0x0D => byte(self.gpe0_sts, off & 1 != 0),
            0x0E | 0x0F => byte(self.gpe0_en, off & 1 != 0),
            _ => 0,
        }
    }

    fn write8(&mut self, off: u16, v: u8) {
        let hi = off & 1 != 0;
        let val = if hi { u16::from(v) << 8 } else { u16::from(v) };
        let keep = if hi { 0x00FF } else { 0xFF00 };
        match off {
            0x00 | 0x01 => self.pm1_sts &= !(val & STS_BITS),
            0x02 | 0x03 => self.pm1_en = (self.pm1_en & keep) | (val & EN_BITS),
            0x04 | 0x05 => {
                if val & GBL_RLS != 0 {
                    self.gbl_rls_written = true;
                }
                self.pm1_cnt = (self.pm1_cnt & keep) | (val & CNT_RW);
                if val & SLP_EN != 0 {
                    let typ = ((self.pm1_cnt & SLP_TYP_MASK) >> SLP_TYP_SHIFT) as u8;
                    if typ == SLP_TYP_S5 {
                        self.poweroff_requested = true;
                    } else {
                        self.sleep_requested = Some(typ);
                    }
                }
            }
            0x0C | 0x0D => self.gpe0_sts &= !val,
            0x0E | 0x0F => self.gpe0_en = (self.gpe0_en & keep) | val,
            _ => {}
        }
    }
}

impl PortDevice for AcpiPm {
    fn port_read(&mut self, port: u16, size: u8, now_ns: u64) -> u32 {
        self.tick(now_ns);
        let base = self.base;
        split_read(port, size, |p| {
            let off = p.wrapping_sub(base);
            if off < ACPI_PM_LEN {
                self.read8(off, now_ns)
            } else {
                0xFF
            }
        })
    }

    fn port_write(&mut self, port: u16, size: u8, value: u32, now_ns: u64) {
        self.tick(now_ns);
        let base = self.base;
        split_write(port, size, value, |p, b| {
            let off = p.wrapping_sub(base);
            if off < ACPI_PM_LEN {
                self.write8(off, b);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: u16 = ACPI_PM_BASE;

    fn pm() -> AcpiPm {
        AcpiPm::new(B, false)
    }

    #[test]
    fn s5_sleep_requests_poweroff() {
        let mut p = pm();
        // SLP_TYP = 0, SLP_EN, as a 16-bit write.
        p.port_write(B + PM1_CNT, 2, u32::from(SLP_EN), 0);
        assert!(p.take_poweroff_request());
        assert!(!p.take_poweroff_request());
        // SLP_EN reads back 0.
        assert_eq!(p.port_read(B + PM1_CNT, 2, 0) as u16 & SLP_EN, 0);
    }

    #[test]
    fn other_sleep_types_do_not_power_off() {
        let mut p = pm();
        p.port_write(B + PM1_CNT, 2, u32::from(SLP_EN | (1 << 10) | SCI_EN), 0);
        assert!(!p.poweroff_requested);
        assert_eq!(p.sleep_requested, Some(1));
        // SLP_TYP and SCI_EN are kept.
        assert_eq!(
            p.port_read(B + PM1_CNT, 2, 0),
            u32::from((1 << 10) | SCI_EN)
        );
        // Setting SLP_TYP without SLP_EN does nothing.
        let mut p = pm();
        p.port_write(B + PM1_CNT, 2, 5 << 10, 0);
        assert_eq!(p.sleep_requested, None);
        assert!(!p.poweroff_requested);
    }

    #[test]
    fn s5_by_byte_writes() {
        let mut p = pm();
        p.port_write(B + PM1_CNT, 1, 0x01, 0); // SCI_EN
        assert!(!p.poweroff_requested);
        p.port_write(B + PM1_CNT + 1, 1, 0x20, 0); // SLP_EN, SLP_TYP 0
        assert!(p.poweroff_requested);
        assert_eq!(p.port_read(B + PM1_CNT, 2, 0), 1);
    }

    #[test]
    fn pm_timer_counts_at_3_58_mhz_and_wraps_24_bits() {
        let mut p = pm();
        assert_eq!(p.port_read(B + PM_TMR, 4, 0), 0);
        assert_eq!(p.port_read(B + PM_TMR, 4, 1_000_000_000), 3_579_545);
        // 24-bit wrap after 2^24 ticks (~4.69 s).
        let t = ns_at(1 << 24) + 1;
        assert_eq!(p.port_read(B + PM_TMR, 4, t), 0);
        let mut p32 = AcpiPm::new(B, true);
        assert_eq!(p32.port_read(B + PM_TMR, 4, t), 1 << 24);
        // Byte reads see the same value.
        let v = p32.port_read(B + PM_TMR, 4, 1_000_000_000);
        let b0 = p32.port_read(B + PM_TMR, 1, 1_000_000_000);
        let b2 = p32.port_read(B + PM_TMR + 2, 1, 1_000_000_000);
        assert_eq!(b0, v & 0xFF);
        assert_eq!(b2, (v >> 16) & 0xFF);
        // Writes are ignored.
        p.port_write(B + PM_TMR, 4, 0x1234, 0);
        assert_eq!(p.port_read(B + PM_TMR, 4, 0), 0);
    }

    #[test]
    fn timer_overflow_status_and_sci() {
        let mut p = pm();
        p.port_write(B + PM1_CNT, 2, u32::from(SCI_EN), 0);
        p.port_write(B + PM1_EN, 2, u32::from(TMR_STS), 0);
        let deadline = p.next_deadline().unwrap();
        assert_eq!(deadline, ns_at(1 << 23));
        p.tick(deadline - 1);
        assert!(!p.irq_level());
        p.tick(deadline);
        assert_ne!(p.port_read(B + PM1_STS, 2, deadline) as u16 & TMR_STS, 0);
        assert!(p.irq_level());
        assert_eq!(p.next_deadline(), None);
        // Write 1 to clear.
        p.port_write(B + PM1_STS, 2, u32::from(TMR_STS), deadline);
        assert!(!p.irq_level());
        assert_eq!(p.next_deadline(), Some(ns_at(2 << 23)));
    }

    #[test]
    fn sci_needs_sci_en_and_enable() {
        let mut p = pm();
        p.press_power_button();
        assert!(!p.irq_level());
        p.port_write(B + PM1_EN, 2, u32::from(PWRBTN_STS), 0);
        assert!(!p.irq_level(), "SCI_EN clear");
        p.port_write(B + PM1_CNT, 2, u32::from(SCI_EN), 0);
        assert!(p.irq_level());
        assert_eq!(p.port_read(B + PM1_STS, 2, 0), u32::from(PWRBTN_STS));
        // Writing 0 bits clears nothing.
        p.port_write(B + PM1_STS, 2, 0, 0);
        assert!(p.irq_level());
        p.port_write(B + PM1_STS + 1, 1, 0x01, 0);
        assert!(!p.irq_level());
    }

    #[test]
    fn gpe0_block() {
        let mut p = pm();
        p.port_write(B + PM1_CNT, 2, u32::from(SCI_EN), 0);
        p.set_gpe(0x0004);
        assert!(!p.irq_level());
        p.port_write(B + GPE0_EN, 2, 0x0004, 0);
        assert!(p.irq_level());
        assert_eq!(p.port_read(B + GPE0_STS, 4, 0), 0x0004_0004);
        p.port_write(B + GPE0_STS, 2, 0x0004, 0);
        assert!(!p.irq_level());
    }

    #[test]
    fn enable_register_keeps_only_defined_bits() {
        let mut p = pm();
        p.port_write(B + PM1_EN, 2, 0xFFFF, 0);
        assert_eq!(p.port_read(B + PM1_EN, 2, 0), u32::from(EN_BITS));
        // A dword read at the base sees STS in the low half, EN in the high.
        assert_eq!(p.port_read(B, 4, 0), u32::from(EN_BITS) << 16);
    }

    #[test]
    fn rebase_and_reset() {
        let mut p = pm();
        p.set_base(0xB000);
        assert!(p.contains(0xB03F) && !p.contains(0xB040) && !p.contains(B));
        p.port_write(0xB000 + PM1_CNT, 2, u32::from(SCI_EN | SLP_EN), 0);
        assert!(p.poweroff_requested);
        p.reset();
        assert!(!p.poweroff_requested);
        assert_eq!(p.port_read(0xB000 + PM1_CNT, 2, 0), 0);
        // Unused offsets read 0; outside the block 0xFF.
        assert_eq!(p.port_read(0xB010, 1, 0), 0);
        assert_eq!(p.port_read(0xAFFF, 1, 0), 0xFF);
    }
}
