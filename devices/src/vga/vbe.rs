//! The Bochs VBE "dispi" interface: a 16-bit index register at port 0x1CE
//! and a 16-bit data register at 0x1CF selecting the registers below. A
//! guest (our BIOS's VBE services, Linux's bochs DRM driver) sets XRES,
//! YRES and BPP, then writes ENABLE; the mode shows the VBE memory from
//! the start address given by the virtual width and the X/Y offsets.
//!
//! | index | register | notes |
//! | --- | --- | --- |
//! | 0 | ID | writes of 0xB0C0-0xB0C5 select the interface version; reads back (power-on 0xB0C5) |
//! | 1 | XRES | multiple of 8, at most [`VBE_MAX_XRES`]; only while disabled |
//! | 2 | YRES | at most [`VBE_MAX_YRES`]; only while disabled |
//! | 3 | BPP | 8, 15, 16, 24 or 32 (0 means 8); only while disabled |
//! | 4 | ENABLE | bit 0 enabled, bit 1 GETCAPS (XRES/YRES/BPP read their maxima), bit 5 8-bit DAC, bit 6 LFB, bit 7 do not clear the screen's memory |
//! | 5 | BANK | 64 KiB bank shown at 0xA0000-0xAFFFF while enabled |
//! | 6 | VIRT_WIDTH | pixels per scan line in memory (at least XRES) |
//! | 7 | VIRT_HEIGHT | read-only: lines that fit in memory at VIRT_WIDTH |
//! | 8 | X_OFFSET | display start, pixels |
//! | 9 | Y_OFFSET | display start, lines |
//! | 10 | VIDEO_MEMORY_64K | read-only: memory size / 64 KiB (256) |

use super::{Vga, VBE_MEMORY_SIZE};

/// Index port.
pub const VBE_INDEX_PORT: u16 = 0x1CE;
/// Data port.
pub const VBE_DATA_PORT: u16 = 0x1CF;

pub const VBE_DISPI_INDEX_ID: u16 = 0;
pub const VBE_DISPI_INDEX_XRES: u16 = 1;
pub const VBE_DISPI_INDEX_YRES: u16 = 2;
pub const VBE_DISPI_INDEX_BPP: u16 = 3;
pub const VBE_DISPI_INDEX_ENABLE: u16 = 4;
pub const VBE_DISPI_INDEX_BANK: u16 = 5;
pub const VBE_DISPI_INDEX_VIRT_WIDTH: u16 = 6;
pub const VBE_DISPI_INDEX_VIRT_HEIGHT: u16 = 7;
pub const VBE_DISPI_INDEX_X_OFFSET: u16 = 8;
pub const VBE_DISPI_INDEX_Y_OFFSET: u16 = 9;
pub const VBE_DISPI_INDEX_VIDEO_MEMORY_64K: u16 = 10;

pub const VBE_DISPI_ID0: u16 = 0xB0C0;
pub const VBE_DISPI_ID5: u16 = 0xB0C5;

pub const VBE_DISPI_ENABLED: u16 = 0x01;
pub const VBE_DISPI_GETCAPS: u16 = 0x02;
pub const VBE_DISPI_8BIT_DAC: u16 = 0x20;
pub const VBE_DISPI_LFB_ENABLED: u16 = 0x40;
pub const VBE_DISPI_NOCLEARMEM: u16 = 0x80;

pub const VBE_MAX_XRES: u16 = 2560;
pub const VBE_MAX_YRES: u16 = 1600;
pub const VBE_MAX_BPP: u16 = 32;

const BANK_SIZE: usize = 0x10000;

/// The dispi registers.
#[derive(Debug, Clone)]
pub(super) struct Vbe {
    index: u16,
    id: u16,
    xres: u16,
    yres: u16,
    bpp: u16,
    enable: u16,
    bank: u16,
    virt_width: u16,
    virt_height: u16,
    x_offset: u16,
    y_offset: u16,
}

/// Bytes per pixel of a BPP value.
pub(super) fn bytes_per_pixel(bpp: u16) -> usize {
    match bpp {
        15 | 16 => 2,
        24 => 3,
        32 => 4,
        _ => 1,
    }
}

impl Vbe {
    pub(super) fn new() -> Self {
        Vbe {
            index: 0,
            id: VBE_DISPI_ID5,
            xres: 640,
            yres: 480,
            bpp: 8,
            enable: 0,
            bank: 0,
            virt_width: 640,
            virt_height: 480,
            x_offset: 0,
            y_offset: 0,
        }
    }

    pub(super) fn enabled(&self) -> bool {
        self.enable & VBE_DISPI_ENABLED != 0
    }

    pub(super) fn dac_8bit(&self) -> bool {
        self.enable & VBE_DISPI_8BIT_DAC != 0
    }

    pub(super) fn xres(&self) -> usize {
        usize::from(self.xres)
    }

    pub(super) fn yres(&self) -> usize {
        usize::from(self.yres)
    }

    pub(super) fn bpp(&self) -> u16 {
        self.bpp
    }

    /// Bytes per line in memory.
    pub(super) fn stride(&self) -> usize {
        usize::from(self.virt_width) * bytes_per_pixel(self.bpp)
    }

    /// Byte offset of the top-left pixel shown.
    pub(super) fn start(&self) -> usize {
        usize::from(self.y_offset) * self.stride()
            + usize::from(self.x_offset) * bytes_per_pixel(self.bpp)
    }

    fn recompute_virt_height(&mut self) {
        let line = self.stride().max(1);
        self.virt_height = (VBE_MEMORY_SIZE / line).min(usize::from(u16::MAX)) as u16;
    }

    fn read(&self) -> u16 {
        let caps = self.enable & VBE_DISPI_GETCAPS != 0;
        match self.index {
            VBE_DISPI_INDEX_ID => self.id,
            VBE_DISPI_INDEX_XRES if caps => VBE_MAX_XRES,
            VBE_DISPI_INDEX_XRES => self.xres,
            VBE_DISPI_INDEX_YRES if caps => VBE_MAX_YRES,
            VBE_DISPI_INDEX_YRES => self.yres,
            VBE_DISPI_INDEX_BPP if caps => VBE_MAX_BPP,
            VBE_DISPI_INDEX_BPP => self.bpp,
            VBE_DISPI_INDEX_ENABLE => self.enable,
            VBE_DISPI_INDEX_BANK => self.bank,
            VBE_DISPI_INDEX_VIRT_WIDTH => self.virt_width,
            VBE_DISPI_INDEX_VIRT_HEIGHT => self.virt_height,
            VBE_DISPI_INDEX_X_OFFSET => self.x_offset,
            VBE_DISPI_INDEX_Y_OFFSET => self.y_offset,
            VBE_DISPI_INDEX_VIDEO_MEMORY_64K => (VBE_MEMORY_SIZE / BANK_SIZE) as u16,
            _ => 0,
        }
    }

    /// Register write; returns true when memory must be cleared (a mode
    /// was enabled without NOCLEARMEM).
    fn write(&mut self, v: u16) -> bool {
        let enabled = self.enabled();
        match self.index {
            VBE_DISPI_INDEX_ID if (VBE_DISPI_ID0..=VBE_DISPI_ID5).contains(&v) => self.id = v,
            VBE_DISPI_INDEX_XRES if !enabled && v <= VBE_MAX_XRES && v.is_multiple_of(8) => {
                self.xres = v
            }
            VBE_DISPI_INDEX_YRES if !enabled && v <= VBE_MAX_YRES => self.yres = v,
            VBE_DISPI_INDEX_BPP if !enabled => match v {
                0 => self.bpp = 8,
                8 | 15 | 16 | 24 | 32 => self.bpp = v,
                _ => {}
            },
            VBE_DISPI_INDEX_ENABLE => {
                let turning_on = v & VBE_DISPI_ENABLED != 0 && !enabled;
                if turning_on {
                    let size = self.xres() * self.yres() * bytes_per_pixel(self.bpp);
                    if self.xres == 0 || self.yres == 0 || size > VBE_MEMORY_SIZE {
                        // A mode that cannot be shown stays off.
                        self.enable = v & !VBE_DISPI_ENABLED;
                        return false;
                    }
                    self.virt_width = self.xres;
                    self.recompute_virt_height();
                    self.x_offset = 0;
                    self.y_offset = 0;
                    self.bank = 0;
                }
                self.enable = v;
                return turning_on && v & VBE_DISPI_NOCLEARMEM == 0;
            }
            VBE_DISPI_INDEX_BANK if usize::from(v) < VBE_MEMORY_SIZE / BANK_SIZE => self.bank = v,
            VBE_DISPI_INDEX_VIRT_WIDTH => {
                let bpp = bytes_per_pixel(self.bpp);
                if v >= self.xres && usize::from(v) * bpp * self.yres() <= VBE_MEMORY_SIZE {
                    self.virt_width = v;
                    self.recompute_virt_height();
                }
            }
            VBE_DISPI_INDEX_X_OFFSET => self.x_offset = v,
            VBE_DISPI_INDEX_Y_OFFSET => self.y_offset = v,
            _ => {}
        }
        false
    }
}

impl Vga {
    pub(super) fn vbe_port_read(&mut self, port: u16, size: u8) -> u32 {
        let v = if port == VBE_INDEX_PORT {
            self.vbe.index
        } else {
            self.vbe.read()
        };
        u32::from(v) & crate::size_mask(size.min(2))
    }

    pub(super) fn vbe_port_write(&mut self, port: u16, size: u8, value: u32) {
        let v = (value & crate::size_mask(size.min(2))) as u16;
        if port == VBE_INDEX_PORT {
            self.vbe.index = v;
        } else if self.vbe.write(v) {
            // Like the Bochs adapter, clear what the new mode shows.
            let len = (self.vbe.stride() * self.vbe.yres()).min(self.lfb.len());
            self.lfb[..len].fill(0);
        }
    }

    pub(super) fn vbe_bank_read(&self, offset: u64) -> u8 {
        if offset >= BANK_SIZE as u64 {
            return 0xFF;
        }
        let a = usize::from(self.vbe.bank) * BANK_SIZE + offset as usize;
        self.lfb.get(a).copied().unwrap_or(0xFF)
    }

    pub(super) fn vbe_bank_write(&mut self, offset: u64, v: u8) {
        if offset >= BANK_SIZE as u64 {
            return;
        }
        let a = usize::from(self.vbe.bank) * BANK_SIZE + offset as usize;
        if let Some(b) = self.lfb.get_mut(a) {
            *b = v;
        }
    }

    /// Read `size` (1-8) bytes of the linear framebuffer at `offset` from
    /// its base (the VGA function's BAR0); outside the 16 MiB reads ones.
    pub fn lfb_read(&self, offset: u64, size: u8) -> u64 {
        let mut v = 0u64;
        for i in 0..u64::from(size.clamp(1, 8)) {
            let b = usize::try_from(offset.wrapping_add(i))
                .ok()
                .and_then(|a| self.lfb.get(a).copied())
                .unwrap_or(0xFF);
            v |= u64::from(b) << (8 * i);
        }
        v
    }

    /// Write counterpart of [`Vga::lfb_read`]; writes past the end are
    /// dropped.
    pub fn lfb_write(&mut self, offset: u64, size: u8, value: u64) {
        for i in 0..u64::from(size.clamp(1, 8)) {
            if let Some(b) = usize::try_from(offset.wrapping_add(i))
                .ok()
                .and_then(|a| self.lfb.get_mut(a))
            {
                *b = (value >> (8 * i)) as u8;
            }
        }
    }

    /// The VBE memory (what the linear framebuffer shows), for a board that
    /// maps it directly.
    pub fn lfb(&self) -> &[u8] {
        &self.lfb
    }

    /// Mutable access to the VBE memory.
    pub fn lfb_mut(&mut self) -> &mut [u8] {
        &mut self.lfb
    }

    /// Whether a VBE mode is enabled (the legacy registers are then not
    /// what is shown).
    pub fn vbe_enabled(&self) -> bool {
        self.vbe.enabled()
    }
}
