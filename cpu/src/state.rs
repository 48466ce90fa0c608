//! Architectural state of an IA-32 processor (Intel SDM vol. 1 ch. 3, vol. 3
//! ch. 2), laid out `#[repr(C)]` so generated code can address its fields.

/// EFLAGS bits (SDM vol. 1, 3.4.3).
pub mod flags {
    pub const CF: u32 = 1 << 0;
    pub const PF: u32 = 1 << 2;
    pub const AF: u32 = 1 << 4;
    pub const ZF: u32 = 1 << 6;
    pub const SF: u32 = 1 << 7;
    pub const TF: u32 = 1 << 8;
    pub const IF: u32 = 1 << 9;
    pub const DF: u32 = 1 << 10;
    pub const OF: u32 = 1 << 11;
    pub const IOPL: u32 = 3 << 12;
    pub const NT: u32 = 1 << 14;
    pub const RF: u32 = 1 << 16;
    pub const VM: u32 = 1 << 17;
    pub const AC: u32 = 1 << 18;
    pub const VIF: u32 = 1 << 19;
    pub const VIP: u32 = 1 << 20;
    pub const ID: u32 = 1 << 21;
    /// The six arithmetic status flags.
    pub const STATUS: u32 = CF | PF | AF | ZF | SF | OF;
    /// Bit 1 always reads as 1.
    pub const FIXED: u32 = 1 << 1;
}

/// CR0 bits (SDM vol. 3, 2.5).
pub mod cr0 {
    pub const PE: u32 = 1 << 0;
    pub const MP: u32 = 1 << 1;
    pub const EM: u32 = 1 << 2;
    pub const TS: u32 = 1 << 3;
    pub const ET: u32 = 1 << 4;
    pub const NE: u32 = 1 << 5;
    pub const WP: u32 = 1 << 16;
    pub const AM: u32 = 1 << 18;
    pub const NW: u32 = 1 << 29;
    pub const CD: u32 = 1 << 30;
    pub const PG: u32 = 1 << 31;
}

pub mod cr4 {
    pub const VME: u32 = 1 << 0;
    pub const PVI: u32 = 1 << 1;
    pub const TSD: u32 = 1 << 2;
    pub const DE: u32 = 1 << 3;
    pub const PSE: u32 = 1 << 4;
    pub const PAE: u32 = 1 << 5;
    pub const PGE: u32 = 1 << 7;
    pub const PCE: u32 = 1 << 8;
    pub const OSFXSR: u32 = 1 << 9;
}

/// Segment register numbers in x86 encoding order.
pub const ES: usize = 0;
pub const CS: usize = 1;
pub const SS: usize = 2;
pub const DS: usize = 3;
pub const FS: usize = 4;
pub const GS: usize = 5;

/// General-purpose register numbers in x86 encoding order.
pub const EAX: usize = 0;
pub const ECX: usize = 1;
pub const EDX: usize = 2;
pub const EBX: usize = 3;
pub const ESP: usize = 4;
pub const EBP: usize = 5;
pub const ESI: usize = 6;
pub const EDI: usize = 7;

/// Access-rights word of a cached descriptor: the descriptor's byte 5 in
/// bits 0–7 (type, S, DPL, P) and the flags nibble of byte 6 in bits 12–15
/// (AVL, L, D/B, G) — the layout VMX uses.
pub mod ar {
    pub const ACCESSED: u16 = 1;
    /// Data: writable. Code: readable.
    pub const RW: u16 = 2;
    /// Data: expand-down. Code: conforming.
    pub const DC: u16 = 4;
    pub const CODE: u16 = 8;
    /// Code or data (as opposed to a system descriptor).
    pub const S: u16 = 0x10;
    pub const DPL_SHIFT: u16 = 5;
    pub const P: u16 = 0x80;
    /// Default operand size (code) / big (stack, expand-down bound).
    pub const DB: u16 = 0x4000;
    pub const G: u16 = 0x8000;
}

/// A segment register with its hidden descriptor cache.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegReg {
    pub selector: u16,
    pub ar: u16,
    pub base: u32,
    /// Byte-granular limit (already scaled when G is set).
    pub limit: u32,
}

impl SegReg {
    /// A segment as real mode (or v8086 mode) loads it: base = sel*16, 64 KiB.
    pub fn real(selector: u16) -> Self {
        SegReg {
            selector,
            ar: ar::P | ar::S | ar::RW | ar::ACCESSED,
            base: (selector as u32) << 4,
            limit: 0xFFFF,
        }
    }
    pub fn dpl(&self) -> u8 {
        ((self.ar >> ar::DPL_SHIFT) & 3) as u8
    }
    pub fn present(&self) -> bool {
        self.ar & ar::P != 0
    }
    pub fn big(&self) -> bool {
        self.ar & ar::DB != 0
    }
    pub fn is_code(&self) -> bool {
        self.ar & (ar::S | ar::CODE) == ar::S | ar::CODE
    }
}

/// GDTR / IDTR.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableReg {
    pub base: u32,
    pub limit: u16,
}

/// Model-specific registers we implement (see `system.rs`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Msrs {
    pub sysenter_cs: u32,
    pub sysenter_esp: u32,
    pub sysenter_eip: u32,
    pub apic_base: u64,
    pub pat: u64,
    pub misc_enable: u64,
    /// Added to the board's clock to give the TSC (WRMSR 0x10 moves it).
    pub tsc_offset: u64,
    /// PERFCTR0/1 and EVNTSEL0/1: kept, but nothing counts.
    pub perf_ctr: [u64; 2],
    pub perf_evtsel: [u64; 2],
}

/// Everything the guest can see of one vCPU.
#[repr(C)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuState {
    pub gpr: [u32; 8],
    pub eip: u32,
    pub eflags: u32,
    pub seg: [SegReg; 6],
    pub ldtr: SegReg,
    pub tr: SegReg,
    pub gdtr: TableReg,
    pub idtr: TableReg,
    pub cr0: u32,
    pub cr2: u32,
    pub cr3: u32,
    pub cr4: u32,
    pub dr: [u32; 8],
    pub efer: u64,
    pub tsc: u64,
    pub msr: Msrs,
    /// Current privilege level (CS.RPL in protected mode, 3 in v8086 mode).
    pub cpl: u8,
    /// Interrupts are held off for one instruction after STI / MOV SS / POP SS.
    pub int_shadow: bool,
    pub halted: bool,
    /// An NMI is being handled (blocks further NMIs until IRET).
    pub in_nmi: bool,
    /// The x87 FPU and MXCSR.
    pub fpu: crate::fpu::FpuState,
}

impl Default for CpuState {
    fn default() -> Self {
        Self::reset()
    }
}

impl CpuState {
    /// Power-on / RESET state (SDM vol. 3, 9.1.1, table 9-1).
    pub fn reset() -> Self {
        let mut seg = [SegReg::real(0); 6];
        seg[CS] = SegReg {
            selector: 0xF000,
            base: 0xFFFF_0000,
            limit: 0xFFFF,
            ar: ar::P | ar::S | ar::CODE | ar::RW | ar::ACCESSED,
        };
        let mut gpr = [0; 8];
        // EDX holds the processor signature: family 6, model 1 (Pentium Pro).
        gpr[EDX] = 0x0000_0611;
        CpuState {
            gpr,
            eip: 0xFFF0,
            eflags: flags::FIXED,
            seg,
            ldtr: SegReg {
                ar: ar::P | 2,
                limit: 0xFFFF,
                ..Default::default()
            },
            tr: SegReg {
                ar: ar::P | 11,
                limit: 0xFFFF,
                ..Default::default()
            },
            gdtr: TableReg {
                base: 0,
                limit: 0xFFFF,
            },
            idtr: TableReg {
                base: 0,
                limit: 0xFFFF,
            },
            cr0: cr0::ET | cr0::CD | cr0::NW,
            cr2: 0,
            cr3: 0,
            cr4: 0,
            dr: [0, 0, 0, 0, 0, 0, 0xFFFF_0FF0, 0x400],
            efer: 0,
            tsc: 0,
            msr: Msrs {
                apic_base: 0xFEE0_0900,
                ..Default::default()
            },
            cpl: 0,
            int_shadow: false,
            halted: false,
            in_nmi: false,
            fpu: crate::fpu::FpuState::reset(),
        }
    }

    #[inline]
    pub fn protected(&self) -> bool {
        self.cr0 & cr0::PE != 0
    }
    #[inline]
    pub fn v86(&self) -> bool {
        self.eflags & flags::VM != 0
    }
    /// Protected mode and not v8086 mode: descriptors are used for segment loads.
    #[inline]
    pub fn pm_not_v86(&self) -> bool {
        self.protected() && !self.v86()
    }
    #[inline]
    pub fn iopl(&self) -> u8 {
        ((self.eflags >> 12) & 3) as u8
    }
    #[inline]
    pub fn code32(&self) -> bool {
        self.seg[CS].big()
    }
    #[inline]
    pub fn stack32(&self) -> bool {
        self.seg[SS].big()
    }
    #[inline]
    pub fn flag(&self, f: u32) -> bool {
        self.eflags & f != 0
    }
    #[inline]
    pub fn set_flag(&mut self, f: u32, on: bool) {
        if on {
            self.eflags |= f
        } else {
            self.eflags &= !f
        }
    }
}
