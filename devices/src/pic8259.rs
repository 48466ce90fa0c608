//! The PC's pair of Intel 8259A programmable interrupt controllers
//! (master at 0x20/0x21, slave at 0xA0/0xA1 cascaded on the master's IR2)
//! plus the edge/level control registers (ELCR, 0x4D0/0x4D1) that PIIX-era
//! chipsets added. Modelled from the 8259A datasheet: ICW1-ICW4, OCW1-OCW3,
//! fully nested priorities, automatic and specific rotation, specific and
//! non-specific EOI, automatic EOI, special fully nested mode, special mask
//! mode, poll mode, IRR/ISR reads and spurious IR7.
//!
//! Edge-triggered inputs latch a request on the rising edge and keep it
//! until it is acknowledged (the datasheet wants the input held until INTA;
//! emulated devices often pulse, and latching keeps their interrupts).
//! The cascade input (master IR2) follows the slave's INT output as a level.

use crate::{split_read, split_write, PortDevice};

pub const MASTER_PORT: u16 = 0x20;
pub const SLAVE_PORT: u16 = 0xA0;
pub const ELCR_MASTER_PORT: u16 = 0x4D0;
pub const ELCR_SLAVE_PORT: u16 = 0x4D1;

/// The master input the slave is wired to.
const CASCADE_IRQ: u8 = 2;

// ICW1 bits.
const ICW1_IC4: u8 = 0x01;
const ICW1_SNGL: u8 = 0x02;
const ICW1_LTIM: u8 = 0x08;
const ICW1_MARKER: u8 = 0x10;
// ICW4 bits.
const ICW4_AEOI: u8 = 0x02;
const ICW4_SFNM: u8 = 0x10;
// OCW3 bits.
const OCW3_MARKER: u8 = 0x08;
const OCW3_ESMM: u8 = 0x40;
const OCW3_SMM: u8 = 0x20;
const OCW3_POLL: u8 = 0x04;
const OCW3_RR: u8 = 0x02;
const OCW3_RIS: u8 = 0x01;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InitStep {
    Ready,
    Icw2,
    Icw3,
    Icw4,
}

/// One 8259A.
#[derive(Debug, Clone)]
struct Pic {
    is_master: bool,
    /// Requests latched by rising edges (edge-triggered inputs only).
    irr_edge: u8,
    isr: u8,
    imr: u8,
    /// Current levels of the IR inputs.
    input: u8,
    elcr: u8,
    elcr_mask: u8,
    /// Inputs that are always level-sensitive (the master's cascade input).
    forced_level: u8,
    vector_base: u8,
    icw3: u8,
    step: InitStep,
    single: bool,
    icw4_needed: bool,
    ltim: bool,
    auto_eoi: bool,
    rotate_on_aeoi: bool,
    sfnm: bool,
    /// IR level with the lowest priority; the next one up has the highest.
    lowest: u8,
    read_isr: bool,
    poll: bool,
    special_mask: bool,
}

impl Pic {
    fn new(is_master: bool, vector_base: u8) -> Self {
        Pic {
            is_master,
            irr_edge: 0,
            isr: 0,
            imr: 0,
            input: 0,
            elcr: 0,
            // PIIX: IRQ 0, 1, 2, 8 and 13 are always edge-triggered.
            elcr_mask: if is_master { 0xF8 } else { 0xDE },
            forced_level: if is_master { 1 << CASCADE_IRQ } else { 0 },
            vector_base,
            icw3: if is_master {
                1 << CASCADE_IRQ
            } else {
                CASCADE_IRQ
            },
            step: InitStep::Ready,
            single: false,
            icw4_needed: true,
            ltim: false,
            auto_eoi: false,
            rotate_on_aeoi: false,
            sfnm: false,
            lowest: 7,
            read_isr: false,
            poll: false,
            special_mask: false,
        }
    }

    fn level_mask(&self) -> u8 {
        (if self.ltim { 0xFF } else { self.elcr }) | self.forced_level
    }

    /// The IRR as the datasheet defines it.
    fn irr(&self) -> u8 {
        let level = self.level_mask();
        (self.irr_edge & !level) | (self.input & level)
    }

    fn set_input(&mut self, irq: u8, high: bool) {
        let bit = 1 << (irq & 7);
        if high {
            if self.input & bit == 0 && self.level_mask() & bit == 0 {
                self.irr_edge |= bit;
            }
            self.input |= bit;
        } else {
            self.input &= !bit;
        }
    }

    /// 0 = highest priority.
    fn priority(&self, irq: u8) -> u8 {
        irq.wrapping_sub(self.lowest).wrapping_sub(1) & 7
    }

    /// The highest-priority level set in `mask`.
    fn highest_in(&self, mask: u8) -> Option<u8> {
        (0..8)
            .map(|p| (self.lowest + 1 + p) & 7)
            .find(|&irq| mask & (1 << irq) != 0)
    }

    /// The request the INT output is raised for, if any.
    fn int_request(&self) -> Option<u8> {
        if self.step != InitStep::Ready {
            return None;
        }
        let irq = self.highest_in(self.irr() & !self.imr)?;
        // Special mask mode: masked levels do not block lower ones.
        let in_service = if self.special_mask {
            self.isr & !self.imr
        } else {
            self.isr
        };
        if let Some(cur) = self.highest_in(in_service) {
            // Special fully nested mode lets the slave interrupt again while
            // one of its requests is in service.
            let nested_slave = self.sfnm && self.is_master && irq == CASCADE_IRQ && cur == irq;
            if self.priority(irq) >= self.priority(cur) && !nested_slave {
                return None;
            }
        }
        Some(irq)
    }

    /// INTA bookkeeping for `irq`.
    fn ack(&mut self, irq: u8) {
        let bit = 1 << irq;
        self.irr_edge &= !bit;
        if self.auto_eoi {
            if self.rotate_on_aeoi {
                self.lowest = irq;
            }
        } else {
            self.isr |= bit;
        }
    }

    fn write_icw1(&mut self, v: u8) {
        self.ltim = v & ICW1_LTIM != 0;
        self.single = v & ICW1_SNGL != 0;
        self.icw4_needed = v & ICW1_IC4 != 0;
        // Datasheet: edge sense reset (a line already high must go low and
        // high again), IMR cleared, IR7 lowest priority, special mask mode
        // off, IRR selected for reading; ICW4 functions zero without IC4.
        self.irr_edge = 0;
        self.isr = 0;
        self.imr = 0;
        self.lowest = 7;
        self.special_mask = false;
        self.read_isr = false;
        self.poll = false;
        self.rotate_on_aeoi = false;
        if !self.icw4_needed {
            self.auto_eoi = false;
            self.sfnm = false;
        }
        self.step = InitStep::Icw2;
    }

    fn write_ocw2(&mut self, v: u8) {
        let level = v & 7;
        match v >> 5 {
            // Non-specific EOI / rotate on non-specific EOI.
            0b001 | 0b101 => {
                if let Some(irq) = self.highest_in(self.isr) {
                    self.isr &= !(1 << irq);
                    if v >> 5 == 0b101 {
                        self.lowest = irq;
                    }
                }
            }
            // Specific EOI / rotate on specific EOI.
            0b011 | 0b111 => {
                self.isr &= !(1 << level);
                if v >> 5 == 0b111 {
                    self.lowest = level;
                }
            }
            0b100 => self.rotate_on_aeoi = true,
            0b000 => self.rotate_on_aeoi = false,
            0b110 => self.lowest = level,
            // 0b010: no operation.
            _ => {}
        }
    }

    fn write_ocw3(&mut self, v: u8) {
        if v & OCW3_ESMM != 0 {
            self.special_mask = v & OCW3_SMM != 0;
        }
        if v & OCW3_POLL != 0 {
            self.poll = true;
        }
        if v & OCW3_RR != 0 {
            self.read_isr = v & OCW3_RIS != 0;
        }
    }

    fn write(&mut self, a0: bool, v: u8) {
        if !a0 {
            if v & ICW1_MARKER != 0 {
                self.write_icw1(v);
            } else if v & OCW3_MARKER != 0 {
                self.write_ocw3(v);
            } else {
                self.write_ocw2(v);
            }
            return;
        }
        match self.step {
            InitStep::Ready => self.imr = v,
            InitStep::Icw2 => {
                self.vector_base = v & 0xF8;
                self.step = if !self.single {
                    InitStep::Icw3
                } else if self.icw4_needed {
                    InitStep::Icw4
                } else {
                    InitStep::Ready
                };
            }
            InitStep::Icw3 => {
                // The PC wiring is fixed; the value is only remembered.
                self.icw3 = v;
                self.step = if self.icw4_needed {
                    InitStep::Icw4
                } else {
                    InitStep::Ready
                };
            }
            InitStep::Icw4 => {
                self.auto_eoi = v & ICW4_AEOI != 0;
                self.sfnm = v & ICW4_SFNM != 0;
                self.step = InitStep::Ready;
            }
        }
    }

    /// Poll command result: acknowledges the highest request like INTA.
    fn poll_read(&mut self) -> u8 {
        self.poll = false;
        match self.int_request() {
            Some(irq) => {
                self.ack(irq);
                0x80 | irq
            }
            None => 0,
        }
    }

    fn read(&mut self, a0: bool) -> u8 {
        if self.poll {
            return self.poll_read();
        }
        if a0 {
            self.imr
        } else if self.read_isr {
            self.isr
        } else {
            self.irr()
        }
    }
}

/// Master and slave 8259A with the ELCR.
#[derive(Debug, Clone)]
pub struct Pic8259Pair {
    master: Pic,
    slave: Pic,
}

impl Default for Pic8259Pair {
    fn default() -> Self {
        Self::new()
    }
}

impl Pic8259Pair {
    /// The pair as a PC BIOS leaves it: cascaded, edge-triggered, master
    /// vectors 08h-0Fh, slave 70h-77h, nothing masked. Guests normally
    /// reprogram it with ICW1-4.
    pub fn new() -> Self {
        Pic8259Pair {
            master: Pic::new(true, 0x08),
            slave: Pic::new(false, 0x70),
        }
    }

    /// Drive IRQ line `line` (0-15) to `level`. Line 2 is the cascade and
    /// cannot be driven from outside; other out-of-range lines are ignored.
    pub fn set_irq(&mut self, line: u8, level: bool) {
        match line {
            CASCADE_IRQ => return,
            0..=7 => self.master.set_input(line, level),
            8..=15 => self.slave.set_input(line - 8, level),
            _ => return,
        }
        self.sync_cascade();
    }

    /// A rising edge followed by the line going low: for devices whose
    /// interrupt is an event rather than a level.
    pub fn pulse_irq(&mut self, line: u8) {
        self.set_irq(line, false);
        self.set_irq(line, true);
        self.set_irq(line, false);
    }

    /// The INTR output to the CPU.
    pub fn interrupt_pending(&self) -> bool {
        self.master.int_request().is_some()
    }

    /// The INTA cycle: returns the vector and updates IRR/ISR. If the
    /// request went away before the acknowledge, the answer is the
    /// spurious IR7 vector of the chip concerned (master IRQ 7 or slave
    /// IRQ 15), with no ISR bit set on that chip.
    pub fn acknowledge(&mut self) -> u8 {
        let vector = match self.master.int_request() {
            None => self.master.vector_base | 7,
            Some(CASCADE_IRQ) if !self.master.single => {
                self.master.ack(CASCADE_IRQ);
                match self.slave.int_request() {
                    Some(irq) => {
                        self.slave.ack(irq);
                        self.slave.vector_base | irq
                    }
                    None => self.slave.vector_base | 7,
                }
            }
            Some(irq) => {
                self.master.ack(irq);
                self.master.vector_base | irq
            }
        };
        self.sync_cascade();
        vector
    }

    /// (IRR, ISR, IMR) of the master (`chip` 0) or the slave (any other
    /// value), for debugging and monitors.
    pub fn registers(&self, chip: usize) -> (u8, u8, u8) {
        let p = if chip == 0 { &self.master } else { &self.slave };
        (p.irr(), p.isr, p.imr)
    }

    /// Back to the power-on/BIOS state of [`Pic8259Pair::new`], keeping the
    /// levels of the input lines.
    pub fn reset(&mut self) {
        let (mi, si) = (self.master.input, self.slave.input);
        *self = Self::new();
        self.master.input = mi;
        self.slave.input = si;
        self.sync_cascade();
    }

    fn sync_cascade(&mut self) {
        let out = self.slave.int_request().is_some();
        self.master.set_input(CASCADE_IRQ, out);
    }

    fn read8(&mut self, port: u16) -> u8 {
        let v = match port {
            0x20 | 0x21 => self.master.read(port & 1 != 0),
            0xA0 | 0xA1 => self.slave.read(port & 1 != 0),
            ELCR_MASTER_PORT => self.master.elcr,
            ELCR_SLAVE_PORT => self.slave.elcr,
            _ => 0xFF,
        };
        self.sync_cascade();
        v
    }

    fn write8(&mut self, port: u16, v: u8) {
        match port {
            0x20 | 0x21 => self.master.write(port & 1 != 0, v),
            0xA0 | 0xA1 => self.slave.write(port & 1 != 0, v),
            ELCR_MASTER_PORT => self.master.elcr = v & self.master.elcr_mask,
            ELCR_SLAVE_PORT => self.slave.elcr = v & self.slave.elcr_mask,
            _ => {}
        }
        self.sync_cascade();
    }
}

impl PortDevice for Pic8259Pair {
    fn port_read(&mut self, port: u16, size: u8, _now_ns: u64) -> u32 {
        split_read(port, size, |p| self.read8(p))
    }

    fn port_write(&mut self, port: u16, size: u8, value: u32, _now_ns: u64) {
        split_write(port, size, value, |p, b| self.write8(p, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(p: &mut Pic8259Pair, port: u16, v: u8) {
        p.port_write(port, 1, u32::from(v), 0);
    }

    fn inp(p: &mut Pic8259Pair, port: u16) -> u8 {
        p.port_read(port, 1, 0) as u8
    }

    /// The usual PC initialization: master at 0x20, slave at 0x28.
    fn init(icw4: u8) -> Pic8259Pair {
        let mut p = Pic8259Pair::new();
        out(&mut p, 0x20, 0x11);
        out(&mut p, 0x21, 0x20);
        out(&mut p, 0x21, 0x04);
        out(&mut p, 0x21, icw4);
        out(&mut p, 0xA0, 0x11);
        out(&mut p, 0xA1, 0x28);
        out(&mut p, 0xA1, 0x02);
        out(&mut p, 0xA1, icw4);
        p
    }

    fn isr(p: &mut Pic8259Pair, base: u16) -> u8 {
        out(p, base, 0x0B);
        let v = inp(p, base);
        out(p, base, 0x0A);
        v
    }

    fn eoi(p: &mut Pic8259Pair, base: u16) {
        out(p, base, 0x20);
    }

    #[test]
    fn init_then_single_interrupt() {
        let mut p = init(0x01);
        assert!(!p.interrupt_pending());
        p.set_irq(0, true);
        assert!(p.interrupt_pending());
        assert_eq!(inp(&mut p, 0x20), 0x01, "IRR read by default");
        assert_eq!(p.acknowledge(), 0x20);
        assert!(!p.interrupt_pending());
        assert_eq!(isr(&mut p, 0x20), 0x01);
        assert_eq!(inp(&mut p, 0x20), 0x00, "edge request consumed");
        eoi(&mut p, 0x20);
        assert_eq!(isr(&mut p, 0x20), 0);
        // The line is still high: no new request without a new edge.
        assert!(!p.interrupt_pending());
        p.set_irq(0, false);
        p.set_irq(0, true);
        assert!(p.interrupt_pending());
    }

    #[test]
    fn initialization_state_per_datasheet() {
        let mut p = init(0x01);
        out(&mut p, 0x21, 0xFF);
        assert_eq!(inp(&mut p, 0x21), 0xFF);
        p.set_irq(3, true);
        // ICW1 clears IMR and resets the edge sense: the high line does
        // not count until it goes low and high again.
        out(&mut p, 0x20, 0x11);
        out(&mut p, 0x21, 0x20);
        out(&mut p, 0x21, 0x04);
        out(&mut p, 0x21, 0x01);
        assert_eq!(inp(&mut p, 0x21), 0);
        assert!(!p.interrupt_pending());
        p.set_irq(3, false);
        p.set_irq(3, true);
        assert_eq!(p.acknowledge(), 0x23);
    }

    #[test]
    fn init_without_icw4_and_single_mode() {
        let mut p = Pic8259Pair::new();
        // Single, no ICW4: ICW2 completes the sequence.
        out(&mut p, 0x20, 0x12);
        out(&mut p, 0x21, 0x40);
        out(&mut p, 0x21, 0xF5); // this is OCW1 now
        assert_eq!(inp(&mut p, 0x21), 0xF5);
        p.set_irq(1, true);
        assert_eq!(p.acknowledge(), 0x41);
        // ICW2 keeps only the top five bits.
        out(&mut p, 0x20, 0x12);
        out(&mut p, 0x21, 0x47);
        p.set_irq(3, true);
        assert_eq!(p.acknowledge(), 0x43);
    }

    #[test]
    fn fully_nested_priority() {
        let mut p = init(0x01);
        p.set_irq(3, true);
        p.set_irq(1, true);
        assert_eq!(p.acknowledge(), 0x21);
        // IRQ 3 waits while 1 is in service...
        assert!(!p.interrupt_pending());
        // ...but IRQ 0 nests.
        p.set_irq(0, true);
        assert!(p.interrupt_pending());
        assert_eq!(p.acknowledge(), 0x20);
        assert_eq!(isr(&mut p, 0x20), 0x03);
        eoi(&mut p, 0x20); // clears 0 (highest in service)
        assert_eq!(isr(&mut p, 0x20), 0x02);
        assert!(!p.interrupt_pending());
        eoi(&mut p, 0x20);
        assert_eq!(p.acknowledge(), 0x23);
    }

    #[test]
    fn imr_masks_requests() {
        let mut p = init(0x01);
        out(&mut p, 0x21, 0x10);
        p.set_irq(4, true);
        assert!(!p.interrupt_pending());
        assert_eq!(inp(&mut p, 0x20), 0x10, "IRR still shows it");
        out(&mut p, 0x21, 0x00);
        assert_eq!(p.acknowledge(), 0x24);
    }

    #[test]
    fn slave_interrupt_through_cascade() {
        let mut p = init(0x01);
        p.set_irq(10, true);
        assert!(p.interrupt_pending());
        assert_eq!(inp(&mut p, 0x20) & 0x04, 0x04);
        assert_eq!(p.acknowledge(), 0x2A);
        assert_eq!(isr(&mut p, 0x20), 0x04);
        assert_eq!(isr(&mut p, 0xA0), 0x04);
        // Master IR2 in service blocks the slave's other requests.
        p.set_irq(9, true);
        assert!(!p.interrupt_pending());
        eoi(&mut p, 0xA0);
        eoi(&mut p, 0x20);
        assert_eq!(p.acknowledge(), 0x29);
        // Masking on the slave.
        eoi(&mut p, 0xA0);
        eoi(&mut p, 0x20);
        out(&mut p, 0xA1, 0x08);
        p.set_irq(11, true);
        assert!(!p.interrupt_pending());
        // Masking the cascade on the master blocks all slave lines.
        out(&mut p, 0xA1, 0x00);
        out(&mut p, 0x21, 0x04);
        assert!(!p.interrupt_pending());
        out(&mut p, 0x21, 0x00);
        assert_eq!(p.acknowledge(), 0x2B);
    }

    #[test]
    fn irq2_cannot_be_driven() {
        let mut p = init(0x01);
        p.set_irq(2, true);
        assert!(!p.interrupt_pending());
        p.set_irq(200, true);
        assert!(!p.interrupt_pending());
    }

    #[test]
    fn level_triggered_via_elcr() {
        let mut p = init(0x01);
        out(&mut p, 0x4D1, 0x08); // IRQ 11 level
        assert_eq!(inp(&mut p, 0x4D1), 0x08);
        p.set_irq(11, true);
        assert_eq!(p.acknowledge(), 0x2B);
        eoi(&mut p, 0xA0);
        eoi(&mut p, 0x20);
        // Still high: requests again at once.
        assert!(p.interrupt_pending());
        assert_eq!(p.acknowledge(), 0x2B);
        p.set_irq(11, false);
        eoi(&mut p, 0xA0);
        eoi(&mut p, 0x20);
        assert!(!p.interrupt_pending());
        // Edge line for comparison: one request per rising edge.
        p.set_irq(5, true);
        assert_eq!(p.acknowledge(), 0x25);
        eoi(&mut p, 0x20);
        assert!(!p.interrupt_pending());
    }

    #[test]
    fn level_triggered_via_ltim() {
        let mut p = Pic8259Pair::new();
        out(&mut p, 0x20, 0x19);
        out(&mut p, 0x21, 0x08);
        out(&mut p, 0x21, 0x04);
        out(&mut p, 0x21, 0x01);
        p.set_irq(1, true);
        assert_eq!(p.acknowledge(), 0x09);
        eoi(&mut p, 0x20);
        assert!(p.interrupt_pending());
    }

    #[test]
    fn elcr_reserved_bits() {
        let mut p = init(0x01);
        out(&mut p, 0x4D0, 0xFF);
        out(&mut p, 0x4D1, 0xFF);
        assert_eq!(inp(&mut p, 0x4D0), 0xF8);
        assert_eq!(inp(&mut p, 0x4D1), 0xDE);
    }

    #[test]
    fn spurious_interrupts() {
        let mut p = init(0x01);
        out(&mut p, 0x4D0, 0x20); // IRQ 5 level
        p.set_irq(5, true);
        assert!(p.interrupt_pending());
        p.set_irq(5, false);
        // INTA without a request: IR7 vector, no ISR bit.
        assert_eq!(p.acknowledge(), 0x27);
        assert_eq!(isr(&mut p, 0x20), 0);

        // Slave spurious: master acknowledges the cascade, slave answers IR7.
        out(&mut p, 0x4D1, 0x02); // IRQ 9 level
        p.set_irq(9, true);
        assert!(p.interrupt_pending());
        // The request goes away between INTR and INTA: emulate by masking
        // it on the slave after the master latched the cascade.
        p.set_irq(9, false);
        p.set_irq(9, true);
        let mut q = p.clone();
        q.slave.input = 0; // line dropped, cascade not yet updated
        assert_eq!(q.acknowledge(), 0x2F);
        assert_eq!(isr(&mut q, 0x20), 0x04, "master ISR2 is set");
        assert_eq!(isr(&mut q, 0xA0), 0x00);
    }

    #[test]
    fn specific_eoi() {
        let mut p = init(0x01);
        p.set_irq(6, true);
        assert_eq!(p.acknowledge(), 0x26);
        p.set_irq(4, true);
        assert_eq!(p.acknowledge(), 0x24);
        out(&mut p, 0x20, 0x66); // specific EOI for 6
        assert_eq!(isr(&mut p, 0x20), 0x10);
        out(&mut p, 0x20, 0x64);
        assert_eq!(isr(&mut p, 0x20), 0);
    }

    #[test]
    fn rotate_on_non_specific_eoi() {
        let mut p = init(0x01);
        p.set_irq(0, true);
        assert_eq!(p.acknowledge(), 0x20);
        out(&mut p, 0x20, 0xA0); // rotate on non-specific EOI
        assert_eq!(isr(&mut p, 0x20), 0);
        // IRQ 0 is now lowest: 7 beats it.
        p.set_irq(0, false);
        p.set_irq(0, true);
        p.set_irq(7, true);
        assert_eq!(p.acknowledge(), 0x27);
        out(&mut p, 0x20, 0xA0); // now 7 is lowest, 0 highest
        assert_eq!(p.acknowledge(), 0x20);
    }

    #[test]
    fn specific_rotation_and_set_priority() {
        let mut p = init(0x01);
        out(&mut p, 0x20, 0xC3); // IR3 lowest, IR4 highest
        p.set_irq(2 + 8, true); // via slave, cascade at IR2
        p.set_irq(5, true);
        p.set_irq(3, true);
        assert_eq!(p.acknowledge(), 0x25);
        // IR2 (cascade) has lower priority than 5 but higher than 3.
        eoi(&mut p, 0x20);
        assert_eq!(p.acknowledge(), 0x2A);
        eoi(&mut p, 0xA0);
        // Rotate on specific EOI: clear IR2 and make it lowest.
        out(&mut p, 0x20, 0xE2);
        assert_eq!(isr(&mut p, 0x20), 0);
        assert_eq!(p.acknowledge(), 0x23);
    }

    #[test]
    fn auto_eoi_and_rotation_in_aeoi() {
        let mut p = init(0x03);
        p.set_irq(1, true);
        assert_eq!(p.acknowledge(), 0x21);
        assert_eq!(isr(&mut p, 0x20), 0, "AEOI leaves ISR clear");
        p.set_irq(3, true);
        assert_eq!(p.acknowledge(), 0x23);
        // Rotate in AEOI mode: each acknowledged level becomes lowest.
        out(&mut p, 0x20, 0x80);
        p.set_irq(0, true);
        assert_eq!(p.acknowledge(), 0x20);
        p.set_irq(0, false);
        p.set_irq(0, true);
        p.set_irq(6, true);
        assert_eq!(p.acknowledge(), 0x26, "0 went to the back");
        out(&mut p, 0x20, 0x00); // clear rotate in AEOI
        assert_eq!(p.acknowledge(), 0x20);
    }

    #[test]
    fn poll_mode() {
        let mut p = init(0x01);
        out(&mut p, 0x20, 0x0C); // OCW3 poll
        assert_eq!(inp(&mut p, 0x20), 0x00, "no request");
        p.set_irq(6, true);
        p.set_irq(4, true);
        out(&mut p, 0x20, 0x0C);
        assert_eq!(inp(&mut p, 0x21), 0x84, "poll works on either port");
        assert_eq!(isr(&mut p, 0x20), 0x10);
        // Next read is a normal one again.
        assert_eq!(inp(&mut p, 0x21), 0x00);
    }

    #[test]
    fn special_mask_mode() {
        let mut p = init(0x01);
        p.set_irq(1, true);
        assert_eq!(p.acknowledge(), 0x21);
        p.set_irq(4, true);
        assert!(!p.interrupt_pending(), "blocked by IR1 in service");
        // Mask IR1 and enter special mask mode: lower levels get through.
        out(&mut p, 0x21, 0x02);
        out(&mut p, 0x20, 0x68);
        assert!(p.interrupt_pending());
        assert_eq!(p.acknowledge(), 0x24);
        out(&mut p, 0x20, 0x64);
        // Leaving special mask mode restores the nesting.
        out(&mut p, 0x20, 0x48);
        p.set_irq(5, true);
        assert!(!p.interrupt_pending());
    }

    #[test]
    fn special_fully_nested_mode() {
        for (icw4, expect_nested) in [(0x01u8, false), (0x11, true)] {
            let mut p = Pic8259Pair::new();
            out(&mut p, 0x20, 0x11);
            out(&mut p, 0x21, 0x20);
            out(&mut p, 0x21, 0x04);
            out(&mut p, 0x21, icw4);
            p.set_irq(12, true);
            assert_eq!(p.acknowledge(), 0x74);
            // A higher-priority slave request while IR2 is in service.
            p.set_irq(9, true);
            assert_eq!(p.interrupt_pending(), expect_nested, "icw4 {icw4:#x}");
            if expect_nested {
                assert_eq!(p.acknowledge(), 0x71);
            }
            // A lower-priority slave request never nests.
            let mut q = p.clone();
            q.set_irq(9, false);
            q.set_irq(13, true);
            if !expect_nested {
                assert!(!q.interrupt_pending());
            }
        }
    }

    #[test]
    fn pulse_latches_edge() {
        let mut p = init(0x01);
        p.pulse_irq(0);
        assert!(p.interrupt_pending());
        assert_eq!(p.acknowledge(), 0x20);
        assert!(!p.interrupt_pending());
    }

    #[test]
    fn reads_irr_isr_imr() {
        let mut p = init(0x01);
        out(&mut p, 0xA1, 0x5A);
        assert_eq!(inp(&mut p, 0xA1), 0x5A);
        p.set_irq(3, true);
        p.set_irq(6, true);
        assert_eq!(inp(&mut p, 0x20), 0x48);
        p.acknowledge();
        out(&mut p, 0x20, 0x0B);
        assert_eq!(inp(&mut p, 0x20), 0x08);
        // The selection sticks until changed.
        assert_eq!(inp(&mut p, 0x20), 0x08);
        out(&mut p, 0x20, 0x0A);
        assert_eq!(inp(&mut p, 0x20), 0x40);
        assert_eq!(p.registers(0), (0x40, 0x08, 0x00));
    }

    #[test]
    fn stray_accesses_do_not_panic() {
        let mut p = Pic8259Pair::new();
        for port in [0x20u16, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1, 0x22] {
            for v in [0u8, 0x10, 0x1F, 0xFF, 0x08, 0xE7] {
                out(&mut p, port, v);
                let _ = inp(&mut p, port);
                let _ = p.acknowledge();
            }
        }
        let _ = p.port_read(0x20, 4, 0);
        p.port_write(0x20, 2, 0xFFFF, 0);
    }
}
