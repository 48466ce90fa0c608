//! The PC board: the I/O port map and the wiring of device IRQ lines. It is
//! the CPU's [`Platform`]: port reads and writes land here and are routed to
//! the device that decodes them, as the ISA bus does.

use crane86_cpu::Platform;
use crane86_devices::acpi_pm::ACPI_PM_BASE;
use crane86_devices::pci::DEFAULT_LFB_BASE;
use crane86_devices::pit8254::MAX_PENDING_PULSES;
use crane86_devices::{
    AcpiPm, AtaChannel, DebugCon, IsaDebugExit, Mc146818, PciBus, Pic8259Pair, Pit8254, PortDevice,
    PostPort, SystemControlPortA, Uart16550, Vga, I8042,
};
use crane86_mmu::MmioHandler;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The board's virtual clock in nanoseconds, the one time base of every
/// device. By default it follows the host's monotonic clock; with
/// `-icount shift=N` it advances 2^N ns per guest instruction (plus the time
/// skipped while the CPU idles in HLT), so runs repeat exactly.
pub struct Clock {
    start: Instant,
    icount_shift: Option<u32>,
    icount: u64,
    skipped_ns: u64,
    /// Host time the guest must not see pass (the translator compiling).
    stolen_ns: u64,
    /// The latest time handed out: compile time is stolen only after the
    /// run loop regains control, so host time minus the stolen time can
    /// step back; the clock stands still until it has caught up instead.
    last_ns: std::cell::Cell<u64>,
}

impl Clock {
    pub fn host() -> Self {
        Clock {
            start: Instant::now(),
            icount_shift: None,
            icount: 0,
            skipped_ns: 0,
            stolen_ns: 0,
            last_ns: std::cell::Cell::new(0),
        }
    }

    pub fn instruction_counted(shift: u32) -> Self {
        Clock {
            icount_shift: Some(shift),
            ..Self::host()
        }
    }

    pub fn now_ns(&self) -> u64 {
        match self.icount_shift {
            None => {
                let t = (self.start.elapsed().as_nanos() as u64)
                    .saturating_sub(self.stolen_ns)
                    .max(self.last_ns.get());
                self.last_ns.set(t);
                t
            }
            Some(s) => (self.icount << s) + self.skipped_ns,
        }
    }

    pub fn is_instruction_counted(&self) -> bool {
        self.icount_shift.is_some()
    }

    /// Guest instructions retired so far (used in instruction-counted mode).
    pub fn set_icount(&mut self, n: u64) {
        self.icount = n;
    }

    /// Host time spent outside the guest's world (compiling guest code):
    /// virtual time stands still meanwhile, so a guest that reads two
    /// clocks back to back never sees the translator's pause.
    pub fn steal(&mut self, ns: u64) {
        self.stolen_ns += ns;
    }

    /// Instruction-counted mode: an idle CPU lets virtual time jump ahead.
    pub fn skip(&mut self, ns: u64) {
        self.skipped_ns += ns;
    }
}

/// What the board asks the run loop to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoardRequest {
    /// isa-debug-exit: end the process with this status.
    Exit(i32),
    /// ACPI soft-off (S5): the machine powers down.
    PowerOff,
    /// A reset through port 0x92, 0xCF9 or the i8042.
    Reset,
}

/// The VGA device is reached through ports (the board) and through memory
/// (the MMIO windows below), so it is shared.
pub type SharedVga = Arc<Mutex<Vga>>;

/// The legacy VGA window 0xA0000–0xBFFFF.
pub struct VgaWindow(pub SharedVga);

impl MmioHandler for VgaWindow {
    fn mmio_read(&mut self, offset: u64, size: u8) -> u64 {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .mem_read(offset, size)
    }
    fn mmio_write(&mut self, offset: u64, size: u8, value: u64) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .mem_write(offset, size, value)
    }
}

/// The Bochs VBE linear framebuffer (PCI BAR0 of the VGA function).
pub struct VgaLfb(pub SharedVga);

impl MmioHandler for VgaLfb {
    fn mmio_read(&mut self, offset: u64, size: u8) -> u64 {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .lfb_read(offset, size)
    }
    fn mmio_write(&mut self, offset: u64, size: u8, value: u64) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .lfb_write(offset, size, value)
    }
}

/// Where the linear framebuffer sits (the PCI BAR is fixed there).
pub const LFB_BASE: u64 = DEFAULT_LFB_BASE as u64;
pub const LFB_SIZE: u64 = 16 << 20;

pub struct Board {
    pub clock: Clock,
    pub com1: Uart16550,
    /// COM2-COM4 with their IRQ lines, when configured.
    pub extra_com: Vec<(u8, Uart16550)>,
    /// Which UART reads the terminal: 0 = COM1, n = extra_com[n - 1].
    pub stdio_port: usize,
    pub debugcon: DebugCon,
    pub post: PostPort,
    pub port92: SystemControlPortA,
    pub cmos: Mc146818,
    pub pic: Pic8259Pair,
    pub pit: Pit8254,
    pub ide0: AtaChannel,
    pub kbd: I8042,
    pub pci: PciBus,
    pub acpi: AcpiPm,
    pub vga: SharedVga,
    pub debug_exit: Option<IsaDebugExit>,
    a20: bool,
    a20_change: Option<bool>,
    /// The x87's FERR# output, latched onto IRQ 13 until port 0xF0 is written.
    ferr: bool,
    /// Timer ticks (PIT channel 0 periods) not yet given to the guest.
    irq0_backlog: u32,
    /// Block boundaries left before the timers are looked at again.
    next_check: u32,
    request: Option<BoardRequest>,
}

impl Board {
    pub fn new(
        clock: Clock,
        com1: Uart16550,
        debugcon: DebugCon,
        cmos: Mc146818,
        debug_exit: Option<IsaDebugExit>,
    ) -> Self {
        Board {
            clock,
            com1,
            extra_com: Vec::new(),
            stdio_port: 0,
            debugcon,
            post: PostPort::new(),
            port92: SystemControlPortA::new(),
            cmos,
            pic: Pic8259Pair::new(),
            pit: Pit8254::new(),
            ide0: AtaChannel::primary(),
            kbd: I8042::new(),
            pci: PciBus::i440fx(DEFAULT_LFB_BASE),
            acpi: AcpiPm::new(ACPI_PM_BASE, false),
            vga: Arc::new(Mutex::new(Vga::new())),
            debug_exit,
            a20: true,
            a20_change: None,
            ferr: false,
            irq0_backlog: 0,
            next_check: 0,
            request: None,
        }
    }

    /// The UART whose input is the terminal's.
    pub fn stdio_uart(&mut self) -> &mut Uart16550 {
        match self.stdio_port {
            0 => &mut self.com1,
            n => &mut self.extra_com[n - 1].1,
        }
    }

    fn extra_com_at(&mut self, port: u16) -> Option<&mut Uart16550> {
        self.extra_com
            .iter_mut()
            .map(|(_, u)| u)
            .find(|u| (u.base()..u.base() + 8).contains(&port))
    }

    pub fn take_request(&mut self) -> Option<BoardRequest> {
        self.request.take()
    }

    /// Machine reset: devices back to their power-on state. (The keyboard
    /// controller keeps running through a CPU reset, as on a PC.)
    pub fn reset(&mut self) {
        self.com1.reset();
        for (_, u) in &mut self.extra_com {
            u.reset();
        }
        self.port92.reset();
        self.pic.reset();
        self.pit.reset();
        self.irq0_backlog = 0;
        self.ide0.reset();
        self.vga.lock().unwrap_or_else(|p| p.into_inner()).reset();
        self.a20 = true;
        self.a20_change = None;
    }

    /// Lets time-driven devices catch up with the virtual clock.
    pub fn tick(&mut self) {
        let now = self.clock.now_ns();
        self.cmos.tick(now);
        self.kbd.tick(now);
        self.acpi.tick(now);
        self.tick_pit(now);
        self.update_irqs();
    }

    /// IRQ 0 gets one edge per rise of channel 0's OUT (the PIT counts
    /// them, so mode 2's one-clock low pulse is never missed). Rises the
    /// guest could not take yet, because the emulator fell behind real
    /// time, are delivered one by one once the previous tick is serviced,
    /// so the guest's tick count (jiffies) keeps pace with its other
    /// clocks; the edges are the whole story, the OUT level is not also
    /// driven onto the line, which would count some rises twice.
    fn tick_pit(&mut self, now: u64) {
        self.irq0_backlog = (self.irq0_backlog + self.pit.tick(now)).min(MAX_PENDING_PULSES);
        let (irr, isr, _) = self.pic.registers(0);
        if self.irq0_backlog > 0 && (irr | isr) & 1 == 0 {
            self.irq0_backlog -= 1;
            self.pic.pulse_irq(0);
        }
    }

    fn deadlines(&self) -> [Option<u64>; 5] {
        // Ticks in the backlog go out as soon as the guest has taken the
        // previous one: look again shortly.
        let backlog = (self.irq0_backlog > 0).then(|| self.clock.now_ns() + 100_000);
        [
            self.cmos.next_deadline(),
            self.pit.next_deadline(),
            self.kbd.next_deadline(),
            self.acpi.next_deadline(),
            backlog,
        ]
    }

    /// Nanoseconds of virtual time until a device next has something to do.
    pub fn ns_until_next_event(&self) -> Option<u64> {
        let now = self.clock.now_ns();
        self.deadlines()
            .into_iter()
            .flatten()
            .min()
            .map(|t| t.saturating_sub(now))
    }

    /// A timer deadline has passed (checked at block boundaries, cheaply).
    fn timers_due(&mut self) -> bool {
        self.next_check = self.next_check.saturating_sub(1);
        if self.next_check > 0 {
            return false;
        }
        self.next_check = 64;
        let now = self.clock.now_ns();
        self.deadlines().into_iter().flatten().any(|t| t <= now)
    }

    /// Forwards device IRQ outputs to the interrupt controller (ISA wiring).
    fn update_irqs(&mut self) {
        self.pic.set_irq(1, self.kbd.irq1_level());
        // COM1/COM3 share IRQ 4 and COM2/COM4 IRQ 3 (the ISA lines are ORed here).
        let mut irq3 = false;
        let mut irq4 = self.com1.irq_level();
        for (irq, u) in &self.extra_com {
            if *irq == 3 {
                irq3 |= u.irq_level();
            } else {
                irq4 |= u.irq_level();
            }
        }
        self.pic.set_irq(3, irq3);
        self.pic.set_irq(4, irq4);
        self.pic.set_irq(8, self.cmos.irq_level());
        self.pic.set_irq(9, self.acpi.irq_level());
        self.pic.set_irq(12, self.kbd.irq12_level());
        self.pic.set_irq(13, self.ferr);
        self.pic.set_irq(14, self.ide0.irq_level());
    }

    /// Port 0x92 and the i8042 output port both drive the A20 gate; the
    /// one written last decides (as the two outputs share one line on a
    /// PIIX-era board).
    fn update_a20(&mut self, from_port92: bool) {
        let on = if from_port92 {
            self.port92.a20_enabled()
        } else {
            self.kbd.a20_enabled()
        };
        if on != self.a20 {
            self.a20 = on;
            self.a20_change = Some(on);
        }
    }

    fn collect_requests(&mut self) {
        if self.port92.take_reset_request()
            | self.kbd.take_reset_request()
            | self.pci.take_reset_request()
        {
            self.request = Some(BoardRequest::Reset);
        }
        if self.acpi.take_poweroff_request() {
            self.request = Some(BoardRequest::PowerOff);
        }
        if let Some(base) = self.pci.pm_io_base() {
            self.acpi.set_base(base);
        }
    }

    fn debug_exit_hit(&self, port: u16) -> bool {
        self.debug_exit
            .as_ref()
            .is_some_and(|d| port >= d.iobase && (port - d.iobase) < d.iosize)
    }

    fn vga_port(port: u16) -> bool {
        matches!(port, 0x3B0..=0x3DF | 0x1CE..=0x1CF)
    }
}

impl Platform for Board {
    fn io_read(&mut self, port: u16, size: u8) -> u32 {
        let now = self.clock.now_ns();
        let v = match port {
            0x3F8..=0x3FF => self.com1.port_read(port, size, now),
            0x2F8..=0x2FF | 0x3E8..=0x3EF | 0x2E8..=0x2EF if self.extra_com_at(port).is_some() => {
                self.extra_com_at(port)
                    .map_or(0, |u| u.port_read(port, size, now))
            }
            0x20..=0x21 | 0xA0..=0xA1 | 0x4D0..=0x4D1 => self.pic.port_read(port, size, now),
            0x1F0..=0x1F7 | 0x3F6 => self.ide0.port_read(port, size, now),
            0x40..=0x43 | 0x61 => self.pit.port_read(port, size, now),
            0x60 | 0x64 => self.kbd.port_read(port, size, now),
            0x70..=0x71 => self.cmos.port_read(port, size, now),
            0x80 => self.post.port_read(port, size, now),
            0x92 => self.port92.port_read(port, size, now),
            0xCF8..=0xCFF => self.pci.port_read(port, size, now),
            p if Self::vga_port(p) => self
                .vga
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .port_read(port, size, now),
            p if self.acpi.contains(p) => self.acpi.port_read(port, size, now),
            p if p == self.debugcon.port() => self.debugcon.port_read(port, size, now),
            p if self.debug_exit_hit(p) => self
                .debug_exit
                .as_mut()
                .map_or(0, |d| d.port_read(port, size, now)),
            // Nothing decodes the port: the data bus floats high.
            _ => u32::MAX >> (32 - 8 * size as u32),
        };
        self.update_irqs();
        v
    }

    fn io_write(&mut self, port: u16, size: u8, value: u32) {
        let now = self.clock.now_ns();
        match port {
            0x3F8..=0x3FF => self.com1.port_write(port, size, value, now),
            0x2F8..=0x2FF | 0x3E8..=0x3EF | 0x2E8..=0x2EF if self.extra_com_at(port).is_some() => {
                if let Some(u) = self.extra_com_at(port) {
                    u.port_write(port, size, value, now);
                }
            }
            0x20..=0x21 | 0xA0..=0xA1 | 0x4D0..=0x4D1 => {
                self.pic.port_write(port, size, value, now)
            }
            0x1F0..=0x1F7 | 0x3F6 => self.ide0.port_write(port, size, value, now),
            0x40..=0x43 | 0x61 => {
                self.pit.port_write(port, size, value, now);
                self.tick_pit(now);
            }
            0x60 | 0x64 => {
                let before = self.kbd.a20_enabled();
                self.kbd.port_write(port, size, value, now);
                if self.kbd.a20_enabled() != before {
                    self.update_a20(false);
                }
            }
            0x70..=0x71 => self.cmos.port_write(port, size, value, now),
            0x80 => self.post.port_write(port, size, value, now),
            // A write to the coprocessor port clears the FERR#/IRQ 13 latch.
            0xF0 => self.ferr = false,
            0x92 => {
                self.port92.port_write(port, size, value, now);
                self.update_a20(true);
            }
            0xCF8..=0xCFF => self.pci.port_write(port, size, value, now),
            p if Self::vga_port(p) => self
                .vga
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .port_write(port, size, value, now),
            p if self.acpi.contains(p) => self.acpi.port_write(port, size, value, now),
            p if p == self.debugcon.port() => self.debugcon.port_write(port, size, value, now),
            p if self.debug_exit_hit(p) => {
                if let Some(d) = self.debug_exit.as_mut() {
                    d.port_write(port, size, value, now);
                    if let Some(code) = d.take_exit_request() {
                        self.request = Some(BoardRequest::Exit(code));
                    }
                }
            }
            _ => {}
        }
        self.collect_requests();
        self.update_irqs();
    }

    fn interrupt_pending(&mut self) -> bool {
        if self.timers_due() {
            self.tick();
        }
        self.pic.interrupt_pending()
    }

    fn acknowledge_interrupt(&mut self) -> u8 {
        self.pic.acknowledge()
    }

    fn clock_ns(&mut self) -> Option<u64> {
        Some(self.clock.now_ns())
    }

    fn fpu_error(&mut self, asserted: bool) {
        if asserted {
            self.ferr = true;
        }
        self.update_irqs();
    }

    fn take_a20_change(&mut self) -> Option<bool> {
        self.a20_change.take()
    }

    fn stop_requested(&self) -> bool {
        self.request.is_some()
    }
}

#[cfg(test)]
mod clock_tests {
    use super::Clock;

    #[test]
    fn stolen_time_never_runs_the_clock_backwards() {
        let mut c = Clock::host();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let before = c.now_ns();
        assert!(before > 0);
        // Compile time accounted after the guest already saw it pass.
        c.steal(3_600_000_000_000);
        let after = c.now_ns();
        assert_eq!(after, before, "the clock stands still until it catches up");
        c.steal(0);
        assert!(c.now_ns() >= after);
    }
}
