//! National Semiconductor PC16550D / 16550A UART (the chip behind the PC's
//! COM ports), as described in its datasheet: RBR/THR, IER, IIR/FCR, LCR,
//! MCR, LSR, MSR, SCR and the DLAB-selected divisor latch at base..base+7,
//! 16-byte receive FIFO with trigger levels, the four prioritized interrupt
//! sources and loopback mode.
//!
//! Simplifications (invisible to drivers that follow the datasheet):
//! - transmission is instantaneous: a byte written to THR is delivered to
//!   the sink at once, so THR and the transmitter are always empty (THRE
//!   and TEMT read 1) and the TX FIFO never holds anything;
//! - the character-timeout interrupt fires as soon as the RX FIFO holds
//!   fewer bytes than the trigger level and nothing more is arriving,
//!   instead of four character times later.
//!
//! Host input goes into an unbounded queue behind the 16-byte FIFO and is
//! moved into the FIFO as the guest makes room, so nothing the host sends is
//! ever overrun.

use std::collections::VecDeque;
use std::io::Write;

use crate::{split_read, split_write, PortDevice, Sink};

// Register offsets from the base port.
const REG_DATA: u16 = 0; // RBR (read) / THR (write) / DLL with DLAB
const REG_IER: u16 = 1; // IER / DLM with DLAB
const REG_IIR_FCR: u16 = 2;
const REG_LCR: u16 = 3;
const REG_MCR: u16 = 4;
const REG_LSR: u16 = 5;
const REG_MSR: u16 = 6;
const REG_SCR: u16 = 7;

// IER bits.
const IER_RDA: u8 = 0x01; // received data available (and char timeout)
const IER_THRE: u8 = 0x02; // transmitter holding register empty
const IER_RLS: u8 = 0x04; // receiver line status
const IER_MS: u8 = 0x08; // modem status

// IIR interrupt identification codes (bit 0 clear = interrupt pending).
const IIR_NONE: u8 = 0x01;
const IIR_MS: u8 = 0x00;
const IIR_THRE: u8 = 0x02;
const IIR_RDA: u8 = 0x04;
const IIR_RLS: u8 = 0x06;
const IIR_TIMEOUT: u8 = 0x0C;
const IIR_FIFO_ENABLED: u8 = 0xC0;

// FCR bits.
const FCR_ENABLE: u8 = 0x01;
const FCR_RX_RESET: u8 = 0x02;
const FCR_DMA_MODE: u8 = 0x08;
const FCR_TRIGGER: u8 = 0xC0;

// LCR bits.
const LCR_DLAB: u8 = 0x80;

// MCR bits.
const MCR_DTR: u8 = 0x01;
const MCR_RTS: u8 = 0x02;
const MCR_OUT1: u8 = 0x04;
const MCR_OUT2: u8 = 0x08;
const MCR_LOOP: u8 = 0x10;

// LSR bits.
const LSR_DR: u8 = 0x01;
const LSR_OE: u8 = 0x02;
const LSR_PE: u8 = 0x04;
const LSR_FE: u8 = 0x08;
const LSR_BI: u8 = 0x10;
const LSR_THRE: u8 = 0x20;
const LSR_TEMT: u8 = 0x40;
const LSR_ERRORS: u8 = LSR_OE | LSR_PE | LSR_FE | LSR_BI;

// MSR bits.
const MSR_DCTS: u8 = 0x01;
const MSR_DDSR: u8 = 0x02;
const MSR_TERI: u8 = 0x04;
const MSR_DDCD: u8 = 0x08;
const MSR_CTS: u8 = 0x10;
const MSR_DSR: u8 = 0x20;
const MSR_RI: u8 = 0x40;
const MSR_DCD: u8 = 0x80;

const FIFO_SIZE: usize = 16;

/// Frequency of the crystal on a PC serial card; baud = this / (16 * divisor).
const UART_CLOCK_HZ: u32 = 1_843_200;

/// Base port of COM1 (IRQ 4).
pub const COM1_BASE: u16 = 0x3F8;
/// Base port of COM2 (IRQ 3).
pub const COM2_BASE: u16 = 0x2F8;

/// A 16550A UART occupying `base..base+8`.
pub struct Uart16550 {
    base: u16,
    ier: u8,
    lcr: u8,
    mcr: u8,
    scr: u8,
    dll: u8,
    dlm: u8,
    /// FIFO enable, DMA mode and trigger bits as last written (FCR is
    /// write-only; the reset bits self-clear).
    fcr: u8,
    /// OE/PE/FE/BI bits waiting to be read from LSR.
    lsr_errors: u8,
    /// Receive FIFO (capacity 16, or 1 = the RBR when FIFOs are off).
    rx: VecDeque<u8>,
    /// Host input not yet moved into the FIFO.
    host_input: VecDeque<u8>,
    /// THRE interrupt latch: set when THR becomes empty, cleared by
    /// reading IIR while it is the reported source or by writing THR.
    thre_pending: bool,
    /// MSR bits 0-3 (change indicators), cleared by reading MSR.
    msr_deltas: u8,
    /// Modem input lines from the outside world, in MSR bit positions
    /// (CTS, DSR, RI, DCD).
    modem_lines: u8,
    sink: Option<Sink>,
}

impl Uart16550 {
    /// A UART at `base` (0x3F8 for COM1, 0x2F8 for COM2) whose transmitted
    /// bytes go to `sink` (`None` discards them). The modem inputs start
    /// with CTS, DSR and DCD asserted, as if a terminal were attached.
    pub fn new(base: u16, sink: Option<Sink>) -> Self {
        Uart16550 {
            base,
            ier: 0,
            lcr: 0,
            mcr: 0,
            scr: 0,
            dll: 0,
            dlm: 0,
            fcr: 0,
            lsr_errors: 0,
            rx: VecDeque::with_capacity(FIFO_SIZE),
            host_input: VecDeque::new(),
            thre_pending: false,
            msr_deltas: 0,
            modem_lines: MSR_CTS | MSR_DSR | MSR_DCD,
            sink,
        }
    }

    /// Master reset (the chip's MR pin): registers to their datasheet reset
    /// values. Host input still queued is kept.
    pub fn reset(&mut self) {
        self.ier = 0;
        self.lcr = 0;
        self.mcr = 0;
        self.fcr = 0;
        self.lsr_errors = 0;
        self.rx.clear();
        self.thre_pending = false;
        self.msr_deltas = 0;
        self.refill();
    }

    /// First port of the register block.
    pub fn base(&self) -> u16 {
        self.base
    }

    /// Queue bytes arriving from the host side of the serial line. They are
    /// kept until the guest reads them: nothing is ever dropped.
    pub fn push_input(&mut self, bytes: &[u8]) {
        self.host_input.extend(bytes.iter().copied());
        self.refill();
    }

    /// True when the host-side queue is empty, i.e. more input would go
    /// straight to the guest's FIFO (a hint for flow control on the host).
    pub fn wants_input(&self) -> bool {
        self.host_input.is_empty()
    }

    /// Bytes received from the host that the guest has not read yet (in the
    /// FIFO and queued behind it).
    pub fn pending_input(&self) -> usize {
        self.host_input.len() + self.rx.len()
    }

    /// Set the modem status inputs (what the far end drives). Changes are
    /// latched in the MSR delta bits and may raise a modem-status interrupt.
    pub fn set_modem_lines(&mut self, cts: bool, dsr: bool, ri: bool, dcd: bool) {
        let before = self.msr_inputs();
        let mut lines = 0;
        if cts {
            lines |= MSR_CTS;
        }
        if dsr {
            lines |= MSR_DSR;
        }
        if ri {
            lines |= MSR_RI;
        }
        if dcd {
            lines |= MSR_DCD;
        }
        self.modem_lines = lines;
        self.note_msr_change(before);
    }

    /// Line speed programmed in the divisor latch (0 if the divisor is 0).
    pub fn baud_rate(&self) -> u32 {
        let divisor = u32::from(u16::from_le_bytes([self.dll, self.dlm]));
        UART_CLOCK_HZ.checked_div(16 * divisor).unwrap_or(0)
    }

    /// Level of the IRQ line seen by the PIC. On a PC the chip's INTRPT
    /// output reaches the bus through a buffer enabled by the OUT2 pin;
    /// in loopback mode the OUT pins are forced inactive, so the line is
    /// quiet even though IIR still reports the interrupt.
    pub fn irq_level(&self) -> bool {
        self.mcr & MCR_OUT2 != 0 && self.mcr & MCR_LOOP == 0 && self.pending_source() != IIR_NONE
    }

    fn fifo_enabled(&self) -> bool {
        self.fcr & FCR_ENABLE != 0
    }

    fn loopback(&self) -> bool {
        self.mcr & MCR_LOOP != 0
    }

    fn rx_capacity(&self) -> usize {
        if self.fifo_enabled() {
            FIFO_SIZE
        } else {
            1
        }
    }

    fn rx_trigger(&self) -> usize {
        match self.fcr >> 6 {
            0 => 1,
            1 => 4,
            2 => 8,
            _ => 14,
        }
    }

    /// Bits that reach the receiver for the current word length (LCR 1:0).
    fn word_mask(&self) -> u8 {
        0xFF >> (3 - (self.lcr & 0x03))
    }

    /// Move queued host bytes into the FIFO while it has room. The serial
    /// input is disconnected in loopback mode, so input waits.
    fn refill(&mut self) {
        if self.loopback() {
            return;
        }
        let mask = self.word_mask();
        while self.rx.len() < self.rx_capacity() {
            match self.host_input.pop_front() {
                Some(b) => self.rx.push_back(b & mask),
                None => break,
            }
        }
    }

    /// A character arriving from the loopback path, which (unlike host
    /// input) can overrun like a real line.
    fn receive_looped(&mut self, byte: u8) {
        if self.rx.len() < self.rx_capacity() {
            self.rx.push_back(byte);
        } else {
            self.lsr_errors |= LSR_OE;
            // Without FIFOs the new character overwrites the RBR; with
            // FIFOs it stays in the shift register and is lost.
            if !self.fifo_enabled() {
                self.rx.pop_front();
                self.rx.push_back(byte);
            }
        }
    }

    /// The highest-priority pending interrupt as an IIR code, or IIR_NONE.
    fn pending_source(&self) -> u8 {
        if self.ier & IER_RLS != 0 && self.lsr_errors != 0 {
            return IIR_RLS;
        }
        if self.ier & IER_RDA != 0 && !self.rx.is_empty() {
            if !self.fifo_enabled() || self.rx.len() >= self.rx_trigger() {
                return IIR_RDA;
            }
            return IIR_TIMEOUT;
        }
        if self.ier & IER_THRE != 0 && self.thre_pending {
            return IIR_THRE;
        }
        if self.ier & IER_MS != 0 && self.msr_deltas != 0 {
            return IIR_MS;
        }
        IIR_NONE
    }

    /// MSR bits 4-7: the modem inputs, or in loopback mode the modem
    /// outputs fed back (RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD).
    fn msr_inputs(&self) -> u8 {
        if self.loopback() {
            let mut v = 0;
            if self.mcr & MCR_RTS != 0 {
                v |= MSR_CTS;
            }
            if self.mcr & MCR_DTR != 0 {
                v |= MSR_DSR;
            }
            if self.mcr & MCR_OUT1 != 0 {
                v |= MSR_RI;
            }
            if self.mcr & MCR_OUT2 != 0 {
                v |= MSR_DCD;
            }
            v
        } else {
            self.modem_lines
        }
    }

    /// Latch delta bits after the modem inputs may have changed.
    fn note_msr_change(&mut self, before: u8) {
        let after = self.msr_inputs();
        let changed = before ^ after;
        if changed & MSR_CTS != 0 {
            self.msr_deltas |= MSR_DCTS;
        }
        if changed & MSR_DSR != 0 {
            self.msr_deltas |= MSR_DDSR;
        }
        if changed & MSR_DCD != 0 {
            self.msr_deltas |= MSR_DDCD;
        }
        // TERI: only the trailing edge of RI (active to inactive).
        if before & MSR_RI != 0 && after & MSR_RI == 0 {
            self.msr_deltas |= MSR_TERI;
        }
    }

    fn transmit(&mut self, byte: u8) {
        let byte = byte & self.word_mask();
        if self.loopback() {
            // Serial output is held marking; the byte goes to the receiver.
            self.receive_looped(byte);
        } else if let Some(sink) = self.sink.as_mut() {
            // A host-side write error (closed pipe...) must not stop the
            // guest; the byte is simply lost like on an unplugged cable.
            let _ = sink.write_all(&[byte]);
            let _ = sink.flush();
        }
        // Transmission is instantaneous: THR is empty again.
        self.thre_pending = true;
    }

    fn write_fcr(&mut self, value: u8) {
        let was_enabled = self.fifo_enabled();
        let enable = value & FCR_ENABLE != 0;
        if enable != was_enabled {
            // Changing the FIFO mode clears both FIFOs.
            self.rx.clear();
        } else if enable && value & FCR_RX_RESET != 0 {
            self.rx.clear();
        }
        // The TX FIFO reset bit (0x04) has nothing to do: it is always empty.
        self.fcr = value & (FCR_ENABLE | FCR_DMA_MODE | FCR_TRIGGER);
        if !enable {
            // Trigger bits are only meaningful with the FIFOs on.
            self.fcr = 0;
        }
        self.refill();
    }

    fn read_reg(&mut self, offset: u16) -> u8 {
        let dlab = self.lcr & LCR_DLAB != 0;
        match offset {
            REG_DATA if dlab => self.dll,
            REG_DATA => {
                let b = self.rx.pop_front().unwrap_or(0);
                self.refill();
                b
            }
            REG_IER if dlab => self.dlm,
            REG_IER => self.ier,
            REG_IIR_FCR => {
                let source = self.pending_source();
                if source == IIR_THRE {
                    // Reading IIR while THRE is the reported source clears it.
                    self.thre_pending = false;
                }
                let fifo = if self.fifo_enabled() {
                    IIR_FIFO_ENABLED
                } else {
                    0
                };
                source | fifo
            }
            REG_LCR => self.lcr,
            REG_MCR => self.mcr,
            REG_LSR => {
                let mut v = LSR_THRE | LSR_TEMT | (self.lsr_errors & LSR_ERRORS);
                if !self.rx.is_empty() {
                    v |= LSR_DR;
                }
                self.lsr_errors = 0;
                v
            }
            REG_MSR => {
                let v = self.msr_inputs() | self.msr_deltas;
                self.msr_deltas = 0;
                v
            }
            REG_SCR => self.scr,
            _ => 0xFF,
        }
    }

    fn write_reg(&mut self, offset: u16, value: u8) {
        let dlab = self.lcr & LCR_DLAB != 0;
        match offset {
            REG_DATA if dlab => self.dll = value,
            REG_DATA => self.transmit(value),
            REG_IER if dlab => self.dlm = value,
            REG_IER => {
                let value = value & 0x0F;
                // Enabling the THRE interrupt while THR is empty (always,
                // here) raises it at once; drivers rely on this.
                if value & IER_THRE != 0 && self.ier & IER_THRE == 0 {
                    self.thre_pending = true;
                }
                self.ier = value;
            }
            REG_IIR_FCR => self.write_fcr(value),
            REG_LCR => self.lcr = value,
            REG_MCR => {
                let before = self.msr_inputs();
                self.mcr = value & 0x1F;
                self.note_msr_change(before);
                // Leaving loopback reconnects the serial input.
                self.refill();
            }
            // LSR and MSR are read-only (factory-test writes ignored).
            REG_LSR | REG_MSR => {}
            REG_SCR => self.scr = value,
            _ => {}
        }
    }

    fn offset(&self, port: u16) -> Option<u16> {
        let off = port.wrapping_sub(self.base);
        (off < 8).then_some(off)
    }
}

impl PortDevice for Uart16550 {
    fn port_read(&mut self, port: u16, size: u8, _now_ns: u64) -> u32 {
        split_read(port, size, |p| match self.offset(p) {
            Some(off) => self.read_reg(off),
            None => 0xFF,
        })
    }

    fn port_write(&mut self, port: u16, size: u8, value: u32, _now_ns: u64) {
        split_write(port, size, value, |p, b| {
            if let Some(off) = self.offset(p) {
                self.write_reg(off, b);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    const BASE: u16 = COM1_BASE;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn uart() -> (Uart16550, Shared) {
        let out = Shared::default();
        (Uart16550::new(BASE, Some(Box::new(out.clone()))), out)
    }

    fn rd(u: &mut Uart16550, off: u16) -> u8 {
        u.port_read(BASE + off, 1, 0) as u8
    }

    fn wr(u: &mut Uart16550, off: u16, v: u8) {
        u.port_write(BASE + off, 1, u32::from(v), 0)
    }

    #[test]
    fn reset_values_match_datasheet() {
        let (mut u, _) = uart();
        assert_eq!(rd(&mut u, REG_IER), 0);
        assert_eq!(rd(&mut u, REG_IIR_FCR), 0x01);
        assert_eq!(rd(&mut u, REG_LCR), 0);
        assert_eq!(rd(&mut u, REG_MCR), 0);
        assert_eq!(rd(&mut u, REG_LSR), 0x60);
        assert!(!u.irq_level());
    }

    #[test]
    fn transmit_goes_to_sink() {
        let (mut u, out) = uart();
        wr(&mut u, REG_LCR, 0x03);
        for b in b"hi\n" {
            wr(&mut u, REG_DATA, *b);
        }
        assert_eq!(&*out.0.lock().unwrap(), b"hi\n");
        // 7-bit words drop the top bit on the wire.
        wr(&mut u, REG_LCR, 0x02);
        wr(&mut u, REG_DATA, 0xC1);
        assert_eq!(out.0.lock().unwrap().last(), Some(&0x41));
    }

    #[test]
    fn divisor_latch_behind_dlab() {
        let (mut u, out) = uart();
        wr(&mut u, REG_LCR, 0x83);
        wr(&mut u, REG_DATA, 0x01);
        wr(&mut u, REG_IER, 0x00);
        assert_eq!(u.baud_rate(), 115_200);
        assert_eq!(rd(&mut u, REG_DATA), 0x01);
        assert_eq!(rd(&mut u, REG_IER), 0x00);
        wr(&mut u, REG_DATA, 0x0C);
        assert_eq!(u.baud_rate(), 9600);
        wr(&mut u, REG_LCR, 0x03);
        // The divisor writes did not transmit or touch IER.
        assert!(out.0.lock().unwrap().is_empty());
        assert_eq!(rd(&mut u, REG_IER), 0);
        assert_eq!(rd(&mut u, REG_LCR), 0x03);
    }

    #[test]
    fn scratch_register_holds_a_byte() {
        let (mut u, _) = uart();
        wr(&mut u, REG_SCR, 0x5A);
        assert_eq!(rd(&mut u, REG_SCR), 0x5A);
    }

    #[test]
    fn loopback_echo_and_modem_lines() {
        let (mut u, out) = uart();
        wr(&mut u, REG_LCR, 0x03);
        wr(&mut u, REG_MCR, MCR_LOOP);
        rd(&mut u, REG_MSR); // clear deltas
        wr(&mut u, REG_DATA, 0xAE);
        assert!(out.0.lock().unwrap().is_empty(), "loopback must not send");
        assert_eq!(rd(&mut u, REG_LSR) & LSR_DR, LSR_DR);
        assert_eq!(rd(&mut u, REG_DATA), 0xAE);
        assert_eq!(rd(&mut u, REG_LSR) & LSR_DR, 0);

        // Outputs loop to inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
        wr(&mut u, REG_MCR, MCR_LOOP | MCR_RTS | MCR_OUT2);
        let msr = rd(&mut u, REG_MSR);
        assert_eq!(msr & 0xF0, MSR_CTS | MSR_DCD);
        assert_eq!(msr & 0x0F, MSR_DCTS | MSR_DDCD);
        wr(&mut u, REG_MCR, MCR_LOOP | MCR_DTR | MCR_OUT1);
        let msr = rd(&mut u, REG_MSR);
        assert_eq!(msr & 0xF0, MSR_DSR | MSR_RI);
        assert_eq!(msr & 0x0F, MSR_DCTS | MSR_DDSR | MSR_DDCD);
        // RI going inactive sets TERI; going active does not.
        wr(&mut u, REG_MCR, MCR_LOOP | MCR_DTR);
        assert_eq!(rd(&mut u, REG_MSR) & 0x0F, MSR_TERI);
    }

    #[test]
    fn loopback_overrun_without_fifo_keeps_newest() {
        let (mut u, _) = uart();
        wr(&mut u, REG_LCR, 0x03);
        wr(&mut u, REG_MCR, MCR_LOOP);
        wr(&mut u, REG_DATA, 1);
        wr(&mut u, REG_DATA, 2);
        let lsr = rd(&mut u, REG_LSR);
        assert_eq!(lsr & (LSR_OE | LSR_DR), LSR_OE | LSR_DR);
        // OE is cleared by the LSR read.
        assert_eq!(rd(&mut u, REG_LSR) & LSR_OE, 0);
        assert_eq!(rd(&mut u, REG_DATA), 2);
    }

    #[test]
    fn loopback_overrun_with_fifo_drops_17th() {
        let (mut u, _) = uart();
        wr(&mut u, REG_LCR, 0x03);
        wr(&mut u, REG_IIR_FCR, 0x07);
        wr(&mut u, REG_MCR, MCR_LOOP);
        for i in 0..17 {
            wr(&mut u, REG_DATA, i);
        }
        assert_eq!(rd(&mut u, REG_LSR) & LSR_OE, LSR_OE);
        let got: Vec<u8> = (0..16).map(|_| rd(&mut u, REG_DATA)).collect();
        assert_eq!(got, (0..16).collect::<Vec<u8>>());
        assert_eq!(rd(&mut u, REG_LSR) & LSR_DR, 0);
    }

    #[test]
    fn host_input_is_never_lost() {
        let (mut u, _) = uart();
        wr(&mut u, REG_LCR, 0x03);
        wr(&mut u, REG_IIR_FCR, 0x01);
        let data: Vec<u8> = (0..100u8).collect();
        u.push_input(&data);
        assert!(!u.wants_input());
        assert_eq!(u.pending_input(), 100);
        let mut got = Vec::new();
        while rd(&mut u, REG_LSR) & LSR_DR != 0 {
            got.push(rd(&mut u, REG_DATA));
        }
        assert_eq!(got, data);
        assert!(u.wants_input());
        // No overrun was reported for host input.
        assert_eq!(rd(&mut u, REG_LSR) & LSR_OE, 0);
    }

    #[test]
    fn host_input_waits_during_loopback() {
        let (mut u, _) = uart();
        wr(&mut u, REG_LCR, 0x03);
        wr(&mut u, REG_MCR, MCR_LOOP);
        u.push_input(b"x");
        assert_eq!(rd(&mut u, REG_LSR) & LSR_DR, 0);
        wr(&mut u, REG_MCR, 0);
        assert_eq!(rd(&mut u, REG_DATA), b'x');
    }

    #[test]
    fn iir_reports_fifo_mode_in_top_bits() {
        let (mut u, _) = uart();
        wr(&mut u, REG_IIR_FCR, 0x01);
        assert_eq!(rd(&mut u, REG_IIR_FCR), 0xC1);
        wr(&mut u, REG_IIR_FCR, 0x00);
        assert_eq!(rd(&mut u, REG_IIR_FCR), 0x01);
    }

    #[test]
    fn rx_trigger_levels_and_timeout() {
        let (mut u, _) = uart();
        wr(&mut u, REG_LCR, 0x03);
        wr(&mut u, REG_IER, IER_RDA);
        wr(&mut u, REG_MCR, MCR_OUT2);
        // Trigger level 4.
        wr(&mut u, REG_IIR_FCR, 0x41);
        u.push_input(b"abc");
        // Below the trigger: character timeout.
        assert_eq!(rd(&mut u, REG_IIR_FCR), 0xC0 | IIR_TIMEOUT);
        assert!(u.irq_level());
        u.push_input(b"d");
        assert_eq!(rd(&mut u, REG_IIR_FCR), 0xC0 | IIR_RDA);
        // Trigger level 14.
        wr(&mut u, REG_IIR_FCR, 0xC1);
        // Changing only the trigger keeps the FIFO contents.
        assert_eq!(u.pending_input(), 4);
        u.push_input(&[b'x'; 9]);
        assert_eq!(rd(&mut u, REG_IIR_FCR), 0xC0 | IIR_TIMEOUT);
        u.push_input(b"y");
        assert_eq!(rd(&mut u, REG_IIR_FCR), 0xC0 | IIR_RDA);
        // Reading all data clears the interrupt.
        while rd(&mut u, REG_LSR) & LSR_DR != 0 {
            rd(&mut u, REG_DATA);
        }
        assert_eq!(rd(&mut u, REG_IIR_FCR), 0xC1);
        assert!(!u.irq_level());
    }

    #[test]
    fn fifo_reset_clears_rx_but_not_host_queue() {
        let (mut u, _) = uart();
        wr(&mut u, REG_IIR_FCR, 0x01);
        u.push_input(&[7; 20]);
        wr(&mut u, REG_IIR_FCR, 0x03);
        // The 16 bytes in the FIFO were discarded, the 4 behind it refill.
        assert_eq!(u.pending_input(), 4);
    }

    #[test]
    fn thre_interrupt_set_by_enable_cleared_by_iir_read() {
        let (mut u, _) = uart();
        wr(&mut u, REG_MCR, MCR_OUT2);
        wr(&mut u, REG_IER, IER_THRE);
        assert!(u.irq_level());
        assert_eq!(rd(&mut u, REG_IIR_FCR), IIR_THRE);
        assert!(!u.irq_level());
        assert_eq!(rd(&mut u, REG_IIR_FCR), IIR_NONE);
        // Sending a byte empties THR again and re-raises it.
        wr(&mut u, REG_DATA, b'a');
        assert_eq!(rd(&mut u, REG_IIR_FCR), IIR_THRE);
        // Re-writing IER with the bit already set does not re-raise it.
        wr(&mut u, REG_IER, IER_THRE);
        assert_eq!(rd(&mut u, REG_IIR_FCR), IIR_NONE);
        // Disable then enable does.
        wr(&mut u, REG_IER, 0);
        wr(&mut u, REG_IER, IER_THRE);
        assert_eq!(rd(&mut u, REG_IIR_FCR), IIR_THRE);
    }

    #[test]
    fn iir_priority_order() {
        let (mut u, _) = uart();
        wr(&mut u, REG_LCR, 0x03);
        wr(&mut u, REG_IER, 0x0F);
        wr(&mut u, REG_MCR, MCR_LOOP);
        // Make everything pending: overrun (line status), data, THRE,
        // modem status (RTS loops to CTS).
        wr(&mut u, REG_DATA, 1);
        wr(&mut u, REG_DATA, 2);
        wr(&mut u, REG_MCR, MCR_LOOP | MCR_RTS);
        assert_eq!(rd(&mut u, REG_IIR_FCR), IIR_RLS);
        rd(&mut u, REG_LSR);
        assert_eq!(rd(&mut u, REG_IIR_FCR), IIR_RDA);
        rd(&mut u, REG_DATA);
        assert_eq!(rd(&mut u, REG_IIR_FCR), IIR_THRE);
        // That IIR read cleared THRE; modem status is next.
        assert_eq!(rd(&mut u, REG_IIR_FCR), IIR_MS);
        rd(&mut u, REG_MSR);
        assert_eq!(rd(&mut u, REG_IIR_FCR), IIR_NONE);
    }

    #[test]
    fn irq_gated_by_out2_and_loopback() {
        let (mut u, _) = uart();
        wr(&mut u, REG_IER, IER_RDA);
        u.push_input(b"z");
        assert_eq!(rd(&mut u, REG_IIR_FCR), IIR_RDA);
        assert!(!u.irq_level(), "OUT2 clear: line not driven");
        wr(&mut u, REG_MCR, MCR_OUT2);
        assert!(u.irq_level());
        rd(&mut u, REG_DATA);
        assert!(!u.irq_level());
        // Loopback: IIR reports, but the line stays quiet.
        wr(&mut u, REG_MCR, MCR_OUT2 | MCR_LOOP);
        wr(&mut u, REG_DATA, 3);
        assert_eq!(rd(&mut u, REG_IIR_FCR), IIR_RDA);
        assert!(!u.irq_level());
    }

    #[test]
    fn modem_status_interrupt_from_external_lines() {
        let (mut u, _) = uart();
        wr(&mut u, REG_MCR, MCR_OUT2);
        wr(&mut u, REG_IER, IER_MS);
        assert!(!u.irq_level());
        u.set_modem_lines(true, true, false, false); // DCD drops
        assert!(u.irq_level());
        let msr = rd(&mut u, REG_MSR);
        assert_eq!(msr, MSR_CTS | MSR_DSR | MSR_DDCD);
        assert!(!u.irq_level());
    }

    #[test]
    fn wide_and_stray_accesses_do_not_panic() {
        let (mut u, _) = uart();
        u.port_write(BASE + 6, 4, 0xFFFF_FFFF, 0);
        let _ = u.port_read(BASE + 6, 4, 0);
        assert_eq!(u.port_read(0x1234, 1, 0), 0xFF);
        u.port_write(0x1234, 1, 0, 0);
        // 16-bit read of LCR+MCR in one go.
        wr(&mut u, REG_LCR, 0x03);
        wr(&mut u, REG_MCR, 0x0B);
        assert_eq!(u.port_read(BASE + 3, 2, 0), 0x0B03);
    }
}
