//! Segment descriptors and segment-register loads with the protection
//! checks of SDM vol. 3, 3.4–3.5 and 5.5–5.7 (MOV/POP to a segment register,
//! LDS & co.).

use crate::exception::{Exception, Result};
use crate::exec::Exec;
use crate::state::{ar, SegReg, CS, SS};

/// An 8-byte descriptor as it sits in the GDT or LDT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor(pub u64);

impl Descriptor {
    pub fn base(self) -> u32 {
        (((self.0 >> 16) & 0xFF_FFFF) | ((self.0 >> 32) & 0xFF00_0000)) as u32
    }
    /// Limit in bytes, scaled by the granularity bit.
    pub fn limit(self) -> u32 {
        let raw = ((self.0 & 0xFFFF) | ((self.0 >> 32) & 0xF_0000)) as u32;
        if self.ar() & ar::G != 0 {
            (raw << 12) | 0xFFF
        } else {
            raw
        }
    }
    /// Access rights in [`ar`] layout.
    pub fn ar(self) -> u16 {
        (((self.0 >> 40) & 0xFF) | ((self.0 >> 40) & 0xF000)) as u16
    }
    pub fn dpl(self) -> u8 {
        ((self.0 >> 45) & 3) as u8
    }
    pub fn present(self) -> bool {
        self.0 & (1 << 47) != 0
    }
    /// S bit: code/data (true) or system (false).
    pub fn is_segment(self) -> bool {
        self.0 & (1 << 44) != 0
    }
    pub fn is_code(self) -> bool {
        self.is_segment() && self.0 & (1 << 43) != 0
    }
    pub fn is_data(self) -> bool {
        self.is_segment() && self.0 & (1 << 43) == 0
    }
    /// Code: conforming. Data: expand-down.
    pub fn conforming(self) -> bool {
        self.0 & (1 << 42) != 0
    }
    /// Code: readable. Data: writable.
    pub fn rw(self) -> bool {
        self.0 & (1 << 41) != 0
    }
    /// System descriptor type (bits 3:0 of the type field, S = 0).
    pub fn sys_type(self) -> u8 {
        ((self.0 >> 40) & 0xF) as u8
    }
    /// Gate fields.
    pub fn gate_selector(self) -> u16 {
        (self.0 >> 16) as u16
    }
    pub fn gate_offset(self) -> u32 {
        ((self.0 & 0xFFFF) | ((self.0 >> 32) & 0xFFFF_0000)) as u32
    }
    pub fn gate_params(self) -> u32 {
        ((self.0 >> 32) & 0x1F) as u32
    }
    pub fn cache(self, selector: u16) -> SegReg {
        SegReg {
            selector,
            ar: self.ar(),
            base: self.base(),
            limit: self.limit(),
        }
    }
}

/// System descriptor types (SDM vol. 3, table 3-2).
pub mod sys {
    pub const TSS16_AVAIL: u8 = 1;
    pub const LDT: u8 = 2;
    pub const TSS16_BUSY: u8 = 3;
    pub const CALL_GATE16: u8 = 4;
    pub const TASK_GATE: u8 = 5;
    pub const INT_GATE16: u8 = 6;
    pub const TRAP_GATE16: u8 = 7;
    pub const TSS32_AVAIL: u8 = 9;
    pub const TSS32_BUSY: u8 = 11;
    pub const CALL_GATE32: u8 = 12;
    pub const INT_GATE32: u8 = 14;
    pub const TRAP_GATE32: u8 = 15;
}

impl Exec<'_> {
    /// Linear address of the descriptor a selector names, or `None` when it
    /// lies beyond the GDT/LDT limit (or the LDT is unusable).
    pub fn desc_addr(&self, sel: u16) -> Option<u32> {
        let idx = (sel & !7) as u32;
        let (base, limit) = if sel & 4 != 0 {
            if self.s.ldtr.ar & ar::P == 0 || self.s.ldtr.selector & !3 == 0 {
                return None;
            }
            (self.s.ldtr.base, self.s.ldtr.limit)
        } else {
            (self.s.gdtr.base, self.s.gdtr.limit as u32)
        };
        (idx + 7 <= limit).then(|| base.wrapping_add(idx))
    }

    /// Reads the descriptor for `sel`; beyond the table → #GP(sel).
    pub fn read_desc(&mut self, sel: u16) -> Result<Descriptor> {
        let addr = self
            .desc_addr(sel)
            .ok_or(Exception::gp(self.sel_err(sel)))?;
        self.read_desc_at(addr)
    }

    pub fn read_desc_at(&mut self, addr: u32) -> Result<Descriptor> {
        let lo = self.read_sys(addr, 4)? as u64;
        let hi = self.read_sys(addr.wrapping_add(4), 4)? as u64;
        Ok(Descriptor(lo | hi << 32))
    }

    /// Error code for a selector: index and TI with the EXT bit.
    #[inline]
    pub fn sel_err(&self, sel: u16) -> u32 {
        (sel as u32 & 0xFFFC) | self.ext
    }

    /// Sets the accessed bit of a code/data descriptor in memory.
    pub fn set_accessed(&mut self, sel: u16, d: Descriptor) -> Result<()> {
        if d.is_segment() && d.0 & (1 << 40) == 0 {
            if let Some(addr) = self.desc_addr(sel) {
                let b = self.read_sys(addr.wrapping_add(5), 1)?;
                self.write_sys(addr.wrapping_add(5), 1, b | 1)?;
            }
        }
        Ok(())
    }

    /// MOV/POP to a data segment register or SS (SDM vol. 2, "MOV — Move to
    /// segment register" operation section).
    pub fn load_seg(&mut self, seg: usize, sel: u16) -> Result<()> {
        if !self.s.protected() {
            // Real mode changes only selector and base; the hidden limit and
            // attributes stay, as on hardware ("unreal mode").
            let r = &mut self.s.seg[seg];
            r.selector = sel;
            r.base = (sel as u32) << 4;
            return Ok(());
        }
        if self.s.v86() {
            let mut r = SegReg::real(sel);
            r.ar |= 3 << ar::DPL_SHIFT;
            if seg == CS {
                r.ar |= ar::CODE;
            }
            self.s.seg[seg] = r;
            return Ok(());
        }
        let cpl = self.s.cpl;
        let rpl = (sel & 3) as u8;
        if sel & !3 == 0 {
            if seg == SS {
                return Err(Exception::gp0());
            }
            // A null selector makes the register unusable: later accesses #GP.
            self.s.seg[seg] = SegReg {
                selector: sel,
                ..Default::default()
            };
            return Ok(());
        }
        let d = self.read_desc(sel)?;
        let err = self.sel_err(sel);
        if seg == SS {
            if rpl != cpl || !d.is_data() || !d.rw() || d.dpl() != cpl {
                return Err(Exception::gp(err));
            }
            if !d.present() {
                return Err(Exception::ss(err));
            }
        } else {
            if !(d.is_data() || (d.is_code() && d.rw())) {
                return Err(Exception::gp(err));
            }
            if (d.is_data() || !d.conforming()) && (rpl > d.dpl() || cpl > d.dpl()) {
                return Err(Exception::gp(err));
            }
            if !d.present() {
                return Err(Exception::np(err));
            }
        }
        self.set_accessed(sel, d)?;
        self.s.seg[seg] = d.cache(sel);
        self.s.seg[seg].ar |= ar::ACCESSED;
        Ok(())
    }

    /// Loads CS from an already validated descriptor, with RPL forced to `cpl`.
    pub fn load_cs_checked(&mut self, sel: u16, d: Descriptor, cpl: u8) -> Result<()> {
        self.set_accessed(sel, d)?;
        let sel = (sel & !3) | cpl as u16;
        self.s.seg[CS] = d.cache(sel);
        self.s.seg[CS].ar |= ar::ACCESSED;
        self.s.cpl = cpl;
        self.end_block = true;
        Ok(())
    }

    /// In real and v8086 mode CS is loaded like a data segment register.
    pub fn load_cs_real(&mut self, sel: u16) {
        if self.s.v86() {
            let mut r = SegReg::real(sel);
            r.ar |= ar::CODE | (3 << ar::DPL_SHIFT);
            self.s.seg[CS] = r;
        } else {
            self.s.seg[CS].selector = sel;
            self.s.seg[CS].base = (sel as u32) << 4;
        }
        self.end_block = true;
    }

    /// After a return to an outer privilege level, data segment registers
    /// the new CPL may not use are made null (SDM vol. 2, RET/IRET).
    pub fn null_inaccessible_segs(&mut self) {
        for seg in [0usize, 3, 4, 5] {
            let r = self.s.seg[seg];
            let data_or_nc = r.ar & ar::CODE == 0 || r.ar & ar::DC == 0;
            if data_or_nc && r.dpl() < self.s.cpl {
                self.s.seg[seg] = SegReg {
                    selector: 0,
                    ..Default::default()
                };
            }
        }
    }
}
