//! System instructions: EFLAGS writes with their privilege rules, CLI/STI,
//! I/O permission (IOPL and the TSS I/O bitmap, SDM vol. 1, 19.5), control
//! and debug registers, descriptor-table registers, LAR/LSL/VERR/VERW/ARPL,
//! MSRs and the TSC.

use crate::exception::{Exception, Result};
use crate::exec::{Exec, Size};
use crate::segmentation::sys;
use crate::state::{cr0, cr4, flags, SegReg};
use crane86_mmu::page_walk;

/// Flags POPF/IRET may change at all (on a 486+ with CPUID: AC and ID too).
const WRITABLE: u32 = flags::STATUS | flags::TF | flags::DF | flags::NT | flags::AC | flags::ID;

pub mod msr {
    pub const TSC: u32 = 0x10;
    /// Platform ID (family 6): no platform bits.
    pub const PLATFORM_ID: u32 = 0x17;
    /// Microcode update signature: no microcode loaded.
    pub const BIOS_SIGN_ID: u32 = 0x8B;
    /// P6 performance counters and their event selects: stored, not counting.
    pub const PERFCTR0: u32 = 0xC1;
    pub const PERFCTR1: u32 = 0xC2;
    pub const EVNTSEL0: u32 = 0x186;
    pub const EVNTSEL1: u32 = 0x187;
    pub const APIC_BASE: u32 = 0x1B;
    pub const SYSENTER_CS: u32 = 0x174;
    pub const SYSENTER_ESP: u32 = 0x175;
    pub const SYSENTER_EIP: u32 = 0x176;
    pub const MISC_ENABLE: u32 = 0x1A0;
    pub const PAT: u32 = 0x277;
    pub const EFER: u32 = 0xC000_0080;
}

/// IA32_EFER bits. Only NXE exists here: no SYSCALL, no long mode, so
/// setting any other bit is #GP(0) (SDM vol. 4, table 2-2).
pub mod efer {
    pub const NXE: u64 = 1 << 11;
}

/// PAE paging is in use with these CR0 and CR4 values (SDM 4.1.1; no long
/// mode here).
fn pae_paging(cr0_value: u32, cr4_value: u32) -> bool {
    cr0_value & cr0::PG != 0 && cr4_value & cr4::PAE != 0
}

impl Exec<'_> {
    /// Writes EFLAGS as POPF does (SDM vol. 2, POPF), or IRET in real mode.
    pub fn write_eflags(&mut self, value: u32, size: Size, _iret: bool) {
        let cpl = if self.s.protected() { self.s.cpl } else { 0 };
        let mut m = WRITABLE;
        if cpl == 0 {
            m |= flags::IOPL | flags::IF;
        } else if cpl <= self.s.iopl() {
            m |= flags::IF;
        }
        self.update_eflags(value, size, m);
        self.s.eflags &= !flags::RF;
    }

    /// EFLAGS as a protected-mode IRET/RETF to `cpl` (the old CPL) loads them.
    pub fn write_eflags_as(&mut self, value: u32, size: Size, cpl: u8) {
        let mut m = WRITABLE | flags::RF;
        if cpl <= self.s.iopl() {
            m |= flags::IF;
        }
        if cpl == 0 {
            m |= flags::IOPL | flags::VIF | flags::VIP;
        }
        self.update_eflags(value, size, m);
    }

    fn update_eflags(&mut self, value: u32, size: Size, mut m: u32) {
        if size == 2 {
            m &= 0xFFFF;
        }
        self.s.eflags = (self.s.eflags & !m) | (value & m) | flags::FIXED;
        self.end_block = true;
    }

    /// POPF.
    pub fn popf(&mut self, size: Size) -> Result<()> {
        if self.s.v86() {
            if self.s.iopl() < 3 {
                return Err(Exception::gp0());
            }
            let v = self.pop(size)?;
            let m = WRITABLE | flags::IF;
            self.update_eflags(v, size, m);
            self.s.eflags &= !flags::RF;
            return Ok(());
        }
        let v = self.pop(size)?;
        self.write_eflags(v, size, false);
        Ok(())
    }

    /// PUSHF: VM and RF read as 0 in the image.
    pub fn pushf(&mut self, size: Size) -> Result<()> {
        if self.s.v86() && self.s.iopl() < 3 {
            return Err(Exception::gp0());
        }
        self.push(size, self.s.eflags & !(flags::VM | flags::RF))
    }

    pub fn cli(&mut self) -> Result<()> {
        if self.s.protected() && self.s.cpl > self.s.iopl() {
            return Err(Exception::gp0());
        }
        self.s.eflags &= !flags::IF;
        Ok(())
    }

    pub fn sti(&mut self) -> Result<()> {
        if self.s.protected() && self.s.cpl > self.s.iopl() {
            return Err(Exception::gp0());
        }
        if !self.s.flag(flags::IF) {
            // Interrupts stay blocked until after the next instruction.
            self.s.int_shadow = true;
        }
        self.s.eflags |= flags::IF;
        self.end_block = true;
        Ok(())
    }

    /// IOPL and TSS I/O-permission-bitmap check for IN/OUT/INS/OUTS.
    pub fn check_io(&mut self, port: u16, size: Size) -> Result<()> {
        if !self.s.protected() || (!self.s.v86() && self.s.cpl <= self.s.iopl()) {
            return Ok(());
        }
        // 16-bit TSSes have no bitmap: access is denied.
        let tr = self.s.tr;
        if tr.ar & 8 == 0 || tr.limit < 0x67 {
            return Err(Exception::gp0());
        }
        let map = self.read_sys(tr.base.wrapping_add(0x66), 2)?;
        let byte = map + port as u32 / 8;
        if byte + 1 > tr.limit {
            return Err(Exception::gp0());
        }
        let bits = self.read_sys(tr.base.wrapping_add(byte), 2)?;
        let need = ((1u32 << size) - 1) << (port % 8);
        if bits & need != 0 {
            return Err(Exception::gp0());
        }
        Ok(())
    }

    pub fn port_in(&mut self, port: u16, size: Size) -> Result<u32> {
        self.check_io(port, size)?;
        self.end_block = true;
        Ok(self.io.io_read(port, size))
    }

    pub fn port_out(&mut self, port: u16, size: Size, v: u32) -> Result<()> {
        self.check_io(port, size)?;
        self.end_block = true;
        self.io.io_write(port, size, v);
        if let Some(on) = self.io.take_a20_change() {
            if on != self.mem.a20_enabled() {
                // Cached translations (and the walks that made them) saw
                // physical addresses through the old gate.
                self.tlb.flush_all();
            }
            self.mem.set_a20(on);
        }
        Ok(())
    }

    /// Privileged instructions need CPL 0 (and are #GP in v8086 mode).
    pub fn require_cpl0(&self) -> Result<()> {
        if self.s.protected() && (self.s.v86() || self.s.cpl != 0) {
            return Err(Exception::gp0());
        }
        Ok(())
    }

    pub fn read_cr(&mut self, n: usize) -> Result<u32> {
        self.require_cpl0()?;
        Ok(match n {
            0 => self.s.cr0,
            2 => self.s.cr2,
            3 => self.s.cr3,
            4 => self.s.cr4,
            _ => return Err(Exception::ud()),
        })
    }

    /// MOV to CR0/CR2/CR3/CR4 (SDM vol. 3, 2.5; the PDPTE load of PAE
    /// paging per 4.4.1; TLB effects per 4.10.4.1).
    pub fn write_cr(&mut self, n: usize, v: u32) -> Result<()> {
        self.require_cpl0()?;
        match n {
            0 => {
                if (v & cr0::PG != 0 && v & cr0::PE == 0) || (v & cr0::NW != 0 && v & cr0::CD == 0)
                {
                    return Err(Exception::gp0());
                }
                let old = self.s.cr0;
                // ET is hardwired to 1 on the P6 family.
                let new = v | cr0::ET;
                if pae_paging(new, self.s.cr4) && (old ^ new) & (cr0::PG | cr0::CD | cr0::NW) != 0 {
                    self.load_pdptes(self.s.cr3)?;
                }
                self.s.cr0 = new;
                // PG 1 -> 0 must flush everything; WP is folded into the
                // TLB's write tags, so a WP change must too.
                if (old ^ new) & (cr0::PG | cr0::WP | cr0::PE) != 0 {
                    self.tlb.flush_all();
                }
                if (old ^ new) & cr0::PE != 0 && new & cr0::PE == 0 {
                    self.s.cpl = 0;
                }
            }
            2 => self.s.cr2 = v,
            3 => self.set_cr3(v)?,
            4 => {
                // We implement PSE, PAE, PGE, TSD, DE and PCE as plain
                // controls; anything else is reserved here.
                let allowed =
                    cr4::PSE | cr4::PAE | cr4::PGE | cr4::TSD | cr4::DE | cr4::PCE | cr4::OSFXSR;
                if v & !allowed != 0 {
                    return Err(Exception::gp0());
                }
                let old = self.s.cr4;
                let paging_bits = cr4::PSE | cr4::PAE | cr4::PGE;
                if pae_paging(self.s.cr0, v) && (old ^ v) & paging_bits != 0 {
                    self.load_pdptes(self.s.cr3)?;
                }
                // PGE and PAE changes flush everything, global pages too;
                // PSE changes may (the SDM lets us flush more) and do.
                if (old ^ v) & paging_bits != 0 {
                    self.tlb.flush_all();
                }
                self.s.cr4 = v;
            }
            _ => return Err(Exception::ud()),
        }
        self.end_block = true;
        Ok(())
    }

    /// MOV to CR3: with PAE paging in use the PDPTE registers are loaded
    /// from the new table first (#GP(0), nothing changed, if a present one
    /// sets a reserved bit); then every non-global TLB entry is dropped.
    /// A task switch that changes CR3 should call this too.
    pub fn set_cr3(&mut self, v: u32) -> Result<()> {
        if pae_paging(self.s.cr0, self.s.cr4) {
            self.load_pdptes(v)?;
        }
        self.s.cr3 = v;
        self.tlb.flush_non_global();
        Ok(())
    }

    /// Loads the PDPTE registers from the table at `cr3`, or #GP(0).
    fn load_pdptes(&mut self, cr3: u32) -> Result<()> {
        let p = page_walk::load_pdptes(self.mem, cr3).ok_or_else(Exception::gp0)?;
        self.tlb.pdptes = p;
        self.tlb.pdpte_cr3 = Some(cr3);
        Ok(())
    }

    pub fn read_dr(&mut self, n: usize) -> Result<u32> {
        self.require_cpl0()?;
        match n {
            4 | 5 if self.s.cr4 & cr4::DE != 0 => Err(Exception::ud()),
            4 => Ok(self.s.dr[6]),
            5 => Ok(self.s.dr[7]),
            _ => Ok(self.s.dr[n]),
        }
    }

    pub fn write_dr(&mut self, n: usize, v: u32) -> Result<()> {
        self.require_cpl0()?;
        match n {
            4 | 5 if self.s.cr4 & cr4::DE != 0 => return Err(Exception::ud()),
            4 | 6 => self.s.dr[6] = v | 0xFFFF_0FF0,
            5 | 7 => self.s.dr[7] = (v | 0x400) & !0x1000,
            _ => self.s.dr[n] = v,
        }
        Ok(())
    }

    /// LMSW: changes PE (set only), MP, EM, TS.
    pub fn lmsw(&mut self, v: u32) -> Result<()> {
        self.require_cpl0()?;
        let keep_pe = self.s.cr0 & cr0::PE;
        self.s.cr0 = (self.s.cr0 & !0xE) | (v & 0xF) | keep_pe;
        self.end_block = true;
        Ok(())
    }

    /// LLDT.
    pub fn lldt(&mut self, sel: u16) -> Result<()> {
        self.require_cpl0()?;
        if !self.s.protected() || self.s.v86() {
            return Err(Exception::ud());
        }
        if sel & !3 == 0 {
            self.s.ldtr = SegReg {
                selector: sel,
                ..Default::default()
            };
            return Ok(());
        }
        let err = self.sel_err(sel);
        if sel & 4 != 0 {
            return Err(Exception::gp(err));
        }
        let d = self.read_desc(sel)?;
        if d.is_segment() || d.sys_type() != sys::LDT {
            return Err(Exception::gp(err));
        }
        if !d.present() {
            return Err(Exception::np(err));
        }
        self.s.ldtr = d.cache(sel);
        Ok(())
    }

    /// LTR: loads TR and marks the TSS busy.
    pub fn ltr(&mut self, sel: u16) -> Result<()> {
        self.require_cpl0()?;
        if !self.s.protected() || self.s.v86() {
            return Err(Exception::ud());
        }
        let err = self.sel_err(sel);
        if sel & !3 == 0 {
            return Err(Exception::gp0());
        }
        if sel & 4 != 0 {
            return Err(Exception::gp(err));
        }
        let d = self.read_desc(sel)?;
        if d.is_segment() || !matches!(d.sys_type(), sys::TSS16_AVAIL | sys::TSS32_AVAIL) {
            return Err(Exception::gp(err));
        }
        if !d.present() {
            return Err(Exception::np(err));
        }
        let addr = self.desc_addr(sel).expect("checked by read_desc");
        let b = self.read_sys(addr.wrapping_add(5), 1)?;
        self.write_sys(addr.wrapping_add(5), 1, b | 2)?;
        self.s.tr = d.cache(sel);
        self.s.tr.ar |= 2;
        Ok(())
    }

    /// LAR / LSL: (valid, value). ZF tells the guest whether it is valid.
    pub fn lar_lsl(&mut self, sel: u16, lsl: bool) -> Result<Option<u32>> {
        if !self.s.pm_not_v86() {
            return Err(Exception::ud());
        }
        if sel & !3 == 0 {
            return Ok(None);
        }
        let Some(addr) = self.desc_addr(sel) else {
            return Ok(None);
        };
        let d = self.read_desc_at(addr)?;
        let ok_type = if d.is_segment() {
            true
        } else if lsl {
            matches!(d.sys_type(), 1 | 2 | 3 | 9 | 11)
        } else {
            matches!(d.sys_type(), 1..=5 | 9 | 11 | 12)
        };
        if !ok_type {
            return Ok(None);
        }
        let conforming_code = d.is_code() && d.conforming();
        if !conforming_code && (d.dpl() < self.s.cpl || d.dpl() < (sel & 3) as u8) {
            return Ok(None);
        }
        Ok(Some(if lsl {
            d.limit()
        } else {
            ((d.0 >> 32) as u32) & 0x00F0_FF00
        }))
    }

    /// VERR / VERW: whether the segment is readable/writable at CPL and RPL.
    pub fn verify(&mut self, sel: u16, write: bool) -> Result<bool> {
        if !self.s.pm_not_v86() {
            return Err(Exception::ud());
        }
        if sel & !3 == 0 {
            return Ok(false);
        }
        let Some(addr) = self.desc_addr(sel) else {
            return Ok(false);
        };
        let d = self.read_desc_at(addr)?;
        if !d.is_segment() {
            return Ok(false);
        }
        let conforming_code = d.is_code() && d.conforming();
        if !conforming_code && (d.dpl() < self.s.cpl || d.dpl() < (sel & 3) as u8) {
            return Ok(false);
        }
        Ok(if write {
            d.is_data() && d.rw()
        } else {
            d.is_data() || d.rw()
        })
    }

    pub fn rdmsr(&mut self, idx: u32) -> Result<u64> {
        self.require_cpl0()?;
        let m = &self.s.msr;
        Ok(match idx {
            msr::TSC => self.tsc(),
            msr::PLATFORM_ID | msr::BIOS_SIGN_ID => 0,
            msr::PERFCTR0 | msr::PERFCTR1 => m.perf_ctr[(idx - msr::PERFCTR0) as usize],
            msr::EVNTSEL0 | msr::EVNTSEL1 => m.perf_evtsel[(idx - msr::EVNTSEL0) as usize],
            msr::APIC_BASE => m.apic_base,
            msr::SYSENTER_CS => m.sysenter_cs as u64,
            msr::SYSENTER_ESP => m.sysenter_esp as u64,
            msr::SYSENTER_EIP => m.sysenter_eip as u64,
            msr::MISC_ENABLE => m.misc_enable,
            msr::PAT => m.pat,
            msr::EFER => self.s.efer,
            _ => return Err(Exception::gp0()),
        })
    }

    pub fn wrmsr(&mut self, idx: u32, v: u64) -> Result<()> {
        self.require_cpl0()?;
        let m = &mut self.s.msr;
        match idx {
            msr::TSC => self.set_tsc(v),
            // Writing 0 before CPUID is how software asks for the signature.
            msr::BIOS_SIGN_ID => {}
            // P6 counters are 40 bits wide.
            msr::PERFCTR0 | msr::PERFCTR1 => {
                m.perf_ctr[(idx - msr::PERFCTR0) as usize] = v & 0xFF_FFFF_FFFF
            }
            msr::EVNTSEL0 | msr::EVNTSEL1 => {
                m.perf_evtsel[(idx - msr::EVNTSEL0) as usize] = v & 0xFFFF_FFFF
            }
            msr::APIC_BASE => m.apic_base = v,
            msr::SYSENTER_CS => m.sysenter_cs = v as u32,
            msr::SYSENTER_ESP => m.sysenter_esp = v as u32,
            msr::SYSENTER_EIP => m.sysenter_eip = v as u32,
            msr::MISC_ENABLE => m.misc_enable = v,
            msr::PAT => m.pat = v,
            msr::EFER => {
                if v & !efer::NXE != 0 {
                    return Err(Exception::gp0());
                }
                if (self.s.efer ^ v) & efer::NXE != 0 {
                    // XD is folded into the TLB's fetch tags.
                    self.tlb.flush_all();
                }
                self.s.efer = v;
            }
            _ => return Err(Exception::gp0()),
        }
        Ok(())
    }

    /// RDTSC: CR4.TSD restricts it to CPL 0.
    pub fn rdtsc(&mut self) -> Result<u64> {
        if self.s.cr4 & cr4::TSD != 0 && self.s.protected() && self.s.cpl != 0 {
            return Err(Exception::gp0());
        }
        Ok(self.tsc())
    }

    /// The time-stamp counter. With a board clock it counts nanoseconds of
    /// virtual time (a 1 GHz TSC, in step with the PIT, RTC and PM timer,
    /// so the guest's clocksource watchdog sees no drift); without one it
    /// counts retired instructions.
    pub fn tsc(&mut self) -> u64 {
        match self.io.clock_ns() {
            Some(ns) => ns.wrapping_add(self.s.msr.tsc_offset),
            None => self.s.tsc,
        }
    }

    fn set_tsc(&mut self, v: u64) {
        match self.io.clock_ns() {
            Some(ns) => self.s.msr.tsc_offset = v.wrapping_sub(ns),
            None => self.s.tsc = v,
        }
    }

    /// ARPL (protected mode only).
    pub fn arpl(&self, dst: u32, src: u32) -> Option<u32> {
        if dst & 3 < src & 3 {
            Some((dst & !3) | (src & 3))
        } else {
            None
        }
    }
}
