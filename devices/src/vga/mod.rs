//! VGA adapter with the Bochs VBE extensions (the "standard VGA" that
//! QEMU and Bochs show as PCI 1234:1111).
//!
//! Registers (I/O ports, byte-wide; a 16-bit `out` to an index port writes
//! the index and the data register after it, as on the ISA bus):
//! - 0x3C0/0x3C1: attribute controller, index/data through a flip-flop that
//!   reading input status 1 resets; index bit 5 (PAS) enables the display
//!   and locks the palette registers;
//! - 0x3C2: miscellaneous output (write) / input status 0 (read); 0x3CC
//!   reads the miscellaneous output back; bit 0 moves the CRTC and input
//!   status 1 between 0x3Bx (mono) and 0x3Dx (colour); bit 1 enables host
//!   access to video memory;
//! - 0x3C4/0x3C5: sequencer (reset, clocking mode, map mask, character map
//!   select, memory mode);
//! - 0x3C6-0x3C9: DAC (PEL mask, read index / state, write index, data as
//!   successive 6-bit red, green, blue);
//! - 0x3CE/0x3CF: graphics controller (set/reset, enable set/reset, colour
//!   compare, data rotate and function, read map select, mode, misc with
//!   the memory map select, colour don't care, bit mask);
//! - 0x3B4/0x3B5 or 0x3D4/0x3D5: CRT controller, registers 0-7 locked by
//!   the protect bit (register 0x11 bit 7) except the line compare bit 8;
//! - 0x3BA or 0x3DA: input status 1 (read; vertical retrace in bit 3,
//!   display disabled in bit 0, both following the CRTC timing on the
//!   board's clock) and feature control (write; read back at 0x3CA);
//! - 0x1CE/0x1CF: Bochs VBE "dispi" index and data (16-bit), see [`vbe`].
//!
//! Memory: 256 KiB of planar memory (4 planes x 64 KiB) behind the legacy
//! window 0xA0000-0xBFFFF ([`Vga::mem_read`] / [`Vga::mem_write`], offsets
//! from 0xA0000), with write modes 0-3, read modes 0-1, the latches, map
//! mask, bit mask, set/reset, data rotate and logical function, chain-4
//! (mode 13h) and odd/even (text modes) addressing and the memory map
//! select; plus 16 MiB of VBE memory, reached through the linear
//! framebuffer ([`Vga::lfb_read`] / [`Vga::lfb_write`], or [`Vga::lfb`]
//! directly) and, while VBE is enabled, through 64 KiB banks at 0xA0000.
//!
//! [`Vga::render`] draws the current screen: text modes (with the
//! character generator in plane 2, 8 or 9 dot wide cells, the cursor,
//! blinking, the attribute controller palette and the DAC), 16-colour
//! planar graphics (modes 0Dh-12h), 4-colour CGA-style graphics, 256-colour
//! graphics (mode 13h and its unchained variants) and the VBE modes at
//! 8, 15, 16, 24 and 32 bits per pixel.
//!
//! At power-on the adapter is in the state a VGA BIOS leaves after setting
//! mode 3 (80x25 colour text, the 8x16 code page 437 font in plane 2, the
//! EGA-compatible 64-colour palette in the DAC, a blank screen), so a
//! firmware without a video BIOS finds a working text console.

mod font;
mod memory;
mod render;
pub mod vbe;

#[cfg(test)]
mod tests;

pub use render::{DisplayMode, Frame};

use crate::{split_read, split_write, PortDevice};

/// Size of one plane.
pub const PLANE_SIZE: usize = 64 * 1024;
/// Size of the VBE memory behind the linear framebuffer.
pub const VBE_MEMORY_SIZE: usize = 16 * 1024 * 1024;
/// Start of the legacy memory window; [`Vga::mem_read`] offsets count
/// from here.
pub const LEGACY_WINDOW_BASE: u64 = 0xA0000;
/// Length of the legacy memory window.
pub const LEGACY_WINDOW_LEN: u64 = 0x20000;

const SEQ_REGS: usize = 5;
const CRTC_REGS: usize = 0x19;
const GC_REGS: usize = 9;
const AC_REGS: usize = 0x15;

// Register indices used by name.
const SEQ_CLOCKING: usize = 1;
const SEQ_MAP_MASK: usize = 2;
const SEQ_CHAR_MAP: usize = 3;
const SEQ_MEMORY_MODE: usize = 4;

const GC_SET_RESET: usize = 0;
const GC_ENABLE_SET_RESET: usize = 1;
const GC_COLOR_COMPARE: usize = 2;
const GC_DATA_ROTATE: usize = 3;
const GC_READ_MAP: usize = 4;
const GC_MODE: usize = 5;
const GC_MISC: usize = 6;
const GC_COLOR_DONT_CARE: usize = 7;
const GC_BIT_MASK: usize = 8;

const AC_MODE: usize = 0x10;
const AC_PLANE_ENABLE: usize = 0x12;
const AC_PANNING: usize = 0x13;
const AC_COLOR_SELECT: usize = 0x14;
/// Palette address source: the display runs from the palette.
const AC_PAS: u8 = 0x20;

const CRTC_PROTECT: u8 = 0x80;

// The state a VGA BIOS leaves after mode 3 (80x25 text, 720x400).
const MODE3_MISC: u8 = 0x67;
const MODE3_SEQ: [u8; SEQ_REGS] = [0x03, 0x00, 0x03, 0x00, 0x02];
const MODE3_CRTC: [u8; CRTC_REGS] = [
    0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00, 0x00,
    0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF,
];
const MODE3_GC: [u8; GC_REGS] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF];
const MODE3_AC: [u8; AC_REGS] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F,
    0x0C, 0x00, 0x0F, 0x08, 0x00,
];

/// The VGA adapter.
pub struct Vga {
    misc: u8,
    feature: u8,
    seq_index: u8,
    seq: [u8; SEQ_REGS],
    crtc_index: u8,
    crtc: [u8; CRTC_REGS],
    gc_index: u8,
    gc: [u8; GC_REGS],
    /// Attribute controller index register (bits 0-4 index, bit 5 PAS).
    ac_index: u8,
    /// The attribute flip-flop is in its data state.
    ac_data_next: bool,
    ac: [u8; AC_REGS],
    dac: [[u8; 3]; 256],
    pel_mask: u8,
    dac_write_index: u8,
    dac_write_buf: [u8; 3],
    dac_write_comp: usize,
    dac_read_index: u8,
    dac_read_comp: usize,
    /// The last DAC index written was the read index (state reads 3).
    dac_reading: bool,
    /// 4 planes of 64 KiB, plane-major.
    planes: Vec<u8>,
    latch: [u8; 4],
    /// Virtual time of the last input status read (kept monotonic so that
    /// polling loops make progress even on a clock that stands still).
    status_ns: u64,
    /// Rendered frames, for blinking.
    frames: u64,
    vbe: vbe::Vbe,
    lfb: Vec<u8>,
}

impl Default for Vga {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Vga {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vga")
            .field("misc", &self.misc)
            .field("seq", &self.seq)
            .field("crtc", &self.crtc)
            .field("gc", &self.gc)
            .field("ac", &self.ac)
            .field("vbe", &self.vbe)
            .finish_non_exhaustive()
    }
}

impl Vga {
    /// A VGA in 80x25 text mode with its font loaded (see the module
    /// documentation).
    pub fn new() -> Self {
        let mut v = Vga {
            misc: 0,
            feature: 0,
            seq_index: 0,
            seq: [0; SEQ_REGS],
            crtc_index: 0,
            crtc: [0; CRTC_REGS],
            gc_index: 0,
            gc: [0; GC_REGS],
            ac_index: 0,
            ac_data_next: false,
            ac: [0; AC_REGS],
            dac: [[0; 3]; 256],
            pel_mask: 0xFF,
            dac_write_index: 0,
            dac_write_buf: [0; 3],
            dac_write_comp: 0,
            dac_read_index: 0,
            dac_read_comp: 0,
            dac_reading: false,
            planes: vec![0; 4 * PLANE_SIZE],
            latch: [0; 4],
            status_ns: 0,
            frames: 0,
            vbe: vbe::Vbe::new(),
            lfb: vec![0; VBE_MEMORY_SIZE],
        };
        v.power_on();
        v
    }

    /// System reset: back to the power-on text mode, memory cleared.
    pub fn reset(&mut self) {
        self.planes.fill(0);
        // A fresh zeroed allocation leaves untouched pages uncommitted.
        self.lfb = vec![0; VBE_MEMORY_SIZE];
        self.vbe = vbe::Vbe::new();
        self.power_on();
    }

    fn power_on(&mut self) {
        self.misc = MODE3_MISC;
        self.feature = 0;
        self.seq = MODE3_SEQ;
        self.crtc = MODE3_CRTC;
        self.gc = MODE3_GC;
        self.ac = MODE3_AC;
        self.ac_index = AC_PAS;
        self.ac_data_next = false;
        self.seq_index = 0;
        self.crtc_index = 0;
        self.gc_index = 0;
        self.pel_mask = 0xFF;
        self.dac_write_index = 0;
        self.dac_write_comp = 0;
        self.dac_read_index = 0;
        self.dac_read_comp = 0;
        self.dac_reading = false;
        self.latch = [0; 4];
        // EGA-compatible palette: colour i has bits r g b R G B (5..0),
        // lower case worth 1/3 and upper case 2/3 of full scale.
        self.dac = [[0; 3]; 256];
        for (i, entry) in self.dac.iter_mut().enumerate().take(64) {
            let comp = |hi: usize, lo: usize| -> u8 {
                (if i >> hi & 1 != 0 { 0x2A } else { 0 })
                    + (if i >> lo & 1 != 0 { 0x15 } else { 0 })
            };
            *entry = [comp(2, 5), comp(1, 4), comp(0, 3)];
        }
        // Character generator: font 0 in plane 2, 32 bytes per glyph.
        let font = font::cp437_8x16();
        let plane2 = &mut self.planes[2 * PLANE_SIZE..3 * PLANE_SIZE];
        for c in 0..256 {
            plane2[c * 32..c * 32 + font::GLYPH_HEIGHT]
                .copy_from_slice(&font[c * font::GLYPH_HEIGHT..(c + 1) * font::GLYPH_HEIGHT]);
        }
        // Blank screen: spaces in light grey on black.
        for i in (0..0x8000).step_by(2) {
            self.planes[i] = b' ';
            self.planes[PLANE_SIZE + i] = 0x07;
        }
    }

    /// Whether the CRTC and input status 1 sit at 0x3Dx (else 0x3Bx).
    fn color_io(&self) -> bool {
        self.misc & 1 != 0
    }

    fn crtc_port(&self, p: u16) -> bool {
        let base = if self.color_io() { 0x3D0 } else { 0x3B0 };
        p & 0xFFF0 == base
    }

    /// Read the register file of a port (byte-wide).
    fn read8(&mut self, port: u16, now_ns: u64) -> u8 {
        match port {
            0x3C0 => self.ac_index,
            0x3C1 => self
                .ac
                .get(usize::from(self.ac_index & 0x1F))
                .copied()
                .unwrap_or(0),
            0x3C2 => 0x10, // switch sense: colour monitor present
            0x3C3 => 0x01, // video subsystem enabled
            0x3C4 => self.seq_index,
            0x3C5 => self
                .seq
                .get(usize::from(self.seq_index))
                .copied()
                .unwrap_or(0xFF),
            0x3C6 => self.pel_mask,
            0x3C7 => {
                if self.dac_reading {
                    0x03
                } else {
                    0x00
                }
            }
            0x3C8 => self.dac_write_index,
            0x3C9 => self.dac_data_read(),
            0x3CA => self.feature,
            0x3CC => self.misc,
            0x3CE => self.gc_index,
            0x3CF => self
                .gc
                .get(usize::from(self.gc_index))
                .copied()
                .unwrap_or(0xFF),
            p if self.crtc_port(p) => match p & 0xF {
                0x4 => self.crtc_index,
                0x5 => self
                    .crtc
                    .get(usize::from(self.crtc_index))
                    .copied()
                    .unwrap_or(0xFF),
                0xA => {
                    self.ac_data_next = false;
                    self.input_status1(now_ns)
                }
                _ => 0xFF,
            },
            _ => 0xFF,
        }
    }

    fn write8(&mut self, port: u16, v: u8) {
        match port {
            0x3C0 => {
                if self.ac_data_next {
                    let i = usize::from(self.ac_index & 0x1F);
                    // The palette is locked while the display uses it.
                    if i < AC_REGS && !(i < 0x10 && self.ac_index & AC_PAS != 0) {
                        self.ac[i] = v;
                    }
                } else {
                    self.ac_index = v & 0x3F;
                }
                self.ac_data_next = !self.ac_data_next;
            }
            0x3C2 => self.misc = v,
            0x3C4 => self.seq_index = v & 0x07,
            0x3C5 => {
                if let Some(r) = self.seq.get_mut(usize::from(self.seq_index)) {
                    *r = v;
                }
            }
            0x3C6 => self.pel_mask = v,
            0x3C7 => {
                self.dac_read_index = v;
                self.dac_read_comp = 0;
                self.dac_reading = true;
            }
            0x3C8 => {
                self.dac_write_index = v;
                self.dac_write_comp = 0;
                self.dac_reading = false;
            }
            0x3C9 => self.dac_data_write(v),
            0x3CE => self.gc_index = v & 0x0F,
            0x3CF => {
                if let Some(r) = self.gc.get_mut(usize::from(self.gc_index)) {
                    *r = v;
                }
            }
            p if self.crtc_port(p) => match p & 0xF {
                0x4 => self.crtc_index = v & 0x3F,
                0x5 => self.crtc_write(v),
                0xA => self.feature = v,
                _ => {}
            },
            _ => {}
        }
    }

    fn crtc_write(&mut self, v: u8) {
        let i = usize::from(self.crtc_index);
        if i >= CRTC_REGS {
            return;
        }
        if self.crtc[0x11] & CRTC_PROTECT != 0 && i <= 7 {
            if i == 7 {
                // Line compare bit 8 stays writable.
                self.crtc[7] = (self.crtc[7] & !0x10) | (v & 0x10);
            }
            return;
        }
        self.crtc[i] = v;
    }

    fn dac_mask(&self) -> u8 {
        if self.vbe.dac_8bit() {
            0xFF
        } else {
            0x3F
        }
    }

    fn dac_data_write(&mut self, v: u8) {
        self.dac_write_buf[self.dac_write_comp] = v & self.dac_mask();
        self.dac_write_comp += 1;
        if self.dac_write_comp == 3 {
            self.dac[usize::from(self.dac_write_index)] = self.dac_write_buf;
            self.dac_write_index = self.dac_write_index.wrapping_add(1);
            self.dac_write_comp = 0;
        }
    }

    fn dac_data_read(&mut self) -> u8 {
        let v = self.dac[usize::from(self.dac_read_index)][self.dac_read_comp];
        self.dac_read_comp += 1;
        if self.dac_read_comp == 3 {
            self.dac_read_index = self.dac_read_index.wrapping_add(1);
            self.dac_read_comp = 0;
        }
        v
    }

    /// A DAC entry as (red, green, blue) in the DAC's width (6 bits, or 8
    /// with the VBE 8-bit DAC enabled).
    pub fn dac_entry(&self, i: u8) -> (u8, u8, u8) {
        let [r, g, b] = self.dac[usize::from(i)];
        (r, g, b)
    }

    // ---- CRTC geometry and timing ------------------------------------

    fn crtc_reg(&self, i: usize) -> u16 {
        u16::from(self.crtc[i])
    }

    /// Vertical display end + 1: scan lines shown.
    fn vertical_display(&self) -> u32 {
        let ov = self.crtc_reg(7);
        let vde = self.crtc_reg(0x12) | (ov >> 1 & 1) << 8 | (ov >> 6 & 1) << 9;
        u32::from(vde) + 1
    }

    fn vertical_total(&self) -> u32 {
        let ov = self.crtc_reg(7);
        let vt = self.crtc_reg(6) | (ov & 1) << 8 | (ov >> 5 & 1) << 9;
        u32::from(vt) + 2
    }

    fn vertical_retrace(&self) -> (u32, u32) {
        let ov = self.crtc_reg(7);
        let start = u32::from(self.crtc_reg(0x10) | (ov >> 2 & 1) << 8 | (ov >> 7 & 1) << 9);
        let mut end = (start & !0xF) | u32::from(self.crtc[0x11] & 0xF);
        if end <= start {
            end += 0x10;
        }
        (start, end)
    }

    /// Line compare (split screen) scan line.
    fn line_compare(&self) -> u32 {
        let lc = self.crtc_reg(0x18)
            | (self.crtc_reg(7) >> 4 & 1) << 8
            | (self.crtc_reg(9) >> 6 & 1) << 9;
        u32::from(lc)
    }

    /// Dots per character clock (8 or 9).
    fn char_width(&self) -> u32 {
        if self.seq[SEQ_CLOCKING] & 1 != 0 {
            8
        } else {
            9
        }
    }

    /// Nanoseconds per scan line from the horizontal total and the clock.
    fn line_ns(&self) -> u64 {
        let htotal = u64::from(self.crtc[0]) + 5;
        let mut dots = htotal * u64::from(self.char_width());
        if self.seq[SEQ_CLOCKING] & 0x08 != 0 {
            dots *= 2;
        }
        let hz: u64 = if self.misc >> 2 & 3 == 1 {
            28_322_000
        } else {
            25_175_000
        };
        (dots * 1_000_000_000 / hz).clamp(1_000, 1_000_000)
    }

    /// Input status 1: bit 0 set outside the active display, bit 3 during
    /// vertical retrace.
    fn input_status1(&mut self, now_ns: u64) -> u8 {
        let t = now_ns.max(self.status_ns.saturating_add(1_000));
        self.status_ns = t;
        let line_ns = self.line_ns();
        let vt = u64::from(self.vertical_total().clamp(2, 2048));
        let line = (t / line_ns) % vt;
        let in_line = t % line_ns;
        let hde = u64::from(self.crtc[1]) + 1;
        let htotal = u64::from(self.crtc[0]) + 5;
        let (vrs, vre) = self.vertical_retrace();
        let mut s = 0;
        let active_h = in_line * htotal < line_ns * hde.min(htotal);
        if line >= u64::from(self.vertical_display()) || !active_h {
            s |= 0x01;
        }
        if line >= u64::from(vrs) && line < u64::from(vre) {
            s |= 0x08;
        }
        s
    }
}

impl PortDevice for Vga {
    fn port_read(&mut self, port: u16, size: u8, now_ns: u64) -> u32 {
        if matches!(port, vbe::VBE_INDEX_PORT | vbe::VBE_DATA_PORT) {
            return self.vbe_port_read(port, size);
        }
        split_read(port, size, |p| self.read8(p, now_ns))
    }

    fn port_write(&mut self, port: u16, size: u8, value: u32, _now_ns: u64) {
        if matches!(port, vbe::VBE_INDEX_PORT | vbe::VBE_DATA_PORT) {
            self.vbe_port_write(port, size, value);
            return;
        }
        split_write(port, size, value, |p, b| self.write8(p, b))
    }
}
