//! Cache of decoded guest code: straight-line blocks of iced-x86
//! instructions keyed by the physical address they start at and the code
//! size, invalidated when the guest (or a device) writes a page they came
//! from. This spares the interpreter from decoding each instruction again.

use crate::alu::{AluOp, ShiftOp};
use iced_x86::{Code, Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic, OpKind};
use rustc_hash::FxHashMap as HashMap;

/// Longest block we build: bounds the latency of interrupt checks.
pub const MAX_BLOCK: usize = 64;

#[derive(Clone, Copy)]
pub struct Decoded {
    pub i: Instruction,
    /// Operand size in bytes (2 or 4; 1 for byte-only forms is not used).
    pub opsize: u8,
    /// Pre-decoded form of the most common instructions, so the hot path
    /// skips the generic operand decoding.
    pub fast: Fast,
    pub a: Opnd,
    pub b: Opnd,
    /// The memory operand's address parts, resolved once.
    pub mem: MemRef,
}

/// Address computation of a memory operand: base + index * scale + disp,
/// truncated to 16 bits for 16-bit addressing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemRef {
    /// Register numbers (0–7), or `NO_REG`.
    pub base: u8,
    pub index: u8,
    pub scale: u8,
    pub addr16: bool,
    pub seg: u8,
    pub disp: u32,
}

pub const NO_REG: u8 = 0xFF;

fn mem_ref(i: &Instruction) -> MemRef {
    let reg = |r: iced_x86::Register| {
        if r == iced_x86::Register::None || !(r.is_gpr16() || r.is_gpr32()) {
            NO_REG
        } else {
            r.number() as u8
        }
    };
    MemRef {
        base: reg(i.memory_base()),
        index: reg(i.memory_index()),
        scale: i.memory_index_scale() as u8,
        addr16: crate::exec::addr16(i),
        seg: crate::exec::seg_index(i.memory_segment()) as u8,
        disp: i.memory_displacement32(),
    }
}

/// An operand resolved at decode time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opnd {
    None,
    /// General register `n` of `size` bytes; `hi` for AH/CH/DH/BH.
    Reg {
        n: u8,
        size: u8,
        hi: bool,
    },
    /// The instruction's memory operand, `size` bytes.
    Mem {
        size: u8,
    },
    Imm(u32),
}

/// Instructions with a dedicated fast path in the interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fast {
    Generic,
    Alu(AluOp),
    Test,
    Mov,
    Inc,
    Dec,
    /// Jcc with its condition code.
    Jcc(u8),
    /// Shift/rotate of `a` by `b` (an immediate, CL, or 1).
    Shift(ShiftOp),
    /// MOVZX / MOVSX into a register.
    Movzx,
    Movsx,
    /// JMP rel.
    Jmp,
}

/// Operand `k` as the fast paths and the JIT see it: a general register,
/// memory, or an immediate truncated to the destination's size; `None`
/// for anything else.
pub fn opnd(i: &Instruction, k: u32) -> Option<Opnd> {
    Some(match i.op_kind(k) {
        OpKind::Register => {
            let r = i.op_register(k);
            if !(r.is_gpr8() || r.is_gpr16() || r.is_gpr32()) {
                return None;
            }
            let n = r.number() as u8;
            let size = r.size() as u8;
            if size == 1 && n >= 4 {
                Opnd::Reg {
                    n: n - 4,
                    size,
                    hi: true,
                }
            } else {
                Opnd::Reg { n, size, hi: false }
            }
        }
        OpKind::Memory => Opnd::Mem {
            size: i.memory_size().size() as u8,
        },
        OpKind::Immediate8
        | OpKind::Immediate16
        | OpKind::Immediate32
        | OpKind::Immediate8to16
        | OpKind::Immediate8to32 => {
            let size = match i.op_kind(0) {
                OpKind::Register => i.op_register(0).size(),
                _ => i.memory_size().size(),
            };
            let m = match size {
                1 => 0xFF,
                2 => 0xFFFF,
                _ => 0xFFFF_FFFF,
            };
            Opnd::Imm(i.immediate(k) as u32 & m)
        }
        _ => return None,
    })
}

fn classify(i: &Instruction) -> (Fast, Opnd, Opnd) {
    use Mnemonic as M;
    let generic = (Fast::Generic, Opnd::None, Opnd::None);
    if i.has_lock_prefix() {
        return generic;
    }
    let two = |f: Fast| match (opnd(i, 0), opnd(i, 1)) {
        (Some(a), Some(b)) if i.op_count() == 2 => (f, a, b),
        _ => generic,
    };
    match i.mnemonic() {
        M::Add => two(Fast::Alu(AluOp::Add)),
        M::Or => two(Fast::Alu(AluOp::Or)),
        M::Adc => two(Fast::Alu(AluOp::Adc)),
        M::Sbb => two(Fast::Alu(AluOp::Sbb)),
        M::And => two(Fast::Alu(AluOp::And)),
        M::Sub => two(Fast::Alu(AluOp::Sub)),
        M::Xor => two(Fast::Alu(AluOp::Xor)),
        M::Cmp => two(Fast::Alu(AluOp::Cmp)),
        M::Test => two(Fast::Test),
        M::Mov => two(Fast::Mov),
        M::Inc | M::Dec => match opnd(i, 0) {
            Some(a) => (
                if i.mnemonic() == M::Inc {
                    Fast::Inc
                } else {
                    Fast::Dec
                },
                a,
                Opnd::None,
            ),
            None => generic,
        },
        M::Rol | M::Ror | M::Rcl | M::Rcr | M::Shl | M::Sal | M::Shr | M::Sar => {
            let op = match i.mnemonic() {
                M::Rol => ShiftOp::Rol,
                M::Ror => ShiftOp::Ror,
                M::Rcl => ShiftOp::Rcl,
                M::Rcr => ShiftOp::Rcr,
                M::Shr => ShiftOp::Shr,
                M::Sar => ShiftOp::Sar,
                _ => ShiftOp::Shl,
            };
            let count = if i.op_count() == 1 {
                Some(Opnd::Imm(1))
            } else if i.op_kind(1) == OpKind::Register {
                (i.op_register(1) == iced_x86::Register::CL).then_some(Opnd::Reg {
                    n: 1,
                    size: 1,
                    hi: false,
                })
            } else {
                Some(Opnd::Imm(i.immediate8() as u32))
            };
            match (opnd(i, 0), count) {
                (Some(a), Some(b)) => (Fast::Shift(op), a, b),
                _ => generic,
            }
        }
        M::Movzx | M::Movsx => match (opnd(i, 0), opnd(i, 1)) {
            (Some(a), Some(b)) => (
                if i.mnemonic() == M::Movzx {
                    Fast::Movzx
                } else {
                    Fast::Movsx
                },
                a,
                b,
            ),
            _ => generic,
        },
        M::Jmp if matches!(i.op_kind(0), OpKind::NearBranch16 | OpKind::NearBranch32) => {
            (Fast::Jmp, Opnd::None, Opnd::None)
        }
        M::Jo
        | M::Jno
        | M::Jb
        | M::Jae
        | M::Je
        | M::Jne
        | M::Jbe
        | M::Ja
        | M::Js
        | M::Jns
        | M::Jp
        | M::Jnp
        | M::Jl
        | M::Jge
        | M::Jle
        | M::Jg => (
            (Fast::Jcc(i.condition_code() as u8 - 1)),
            Opnd::None,
            Opnd::None,
        ),
        _ => generic,
    }
}

pub struct Block {
    pub insns: Vec<Decoded>,
    /// Bytes covered by the block.
    pub len: u32,
    /// Physical address of the first byte.
    pub start: u64,
    /// Bytes on the first page (the rest, if any, are on `second_page`).
    pub first_len: u32,
    /// Physical page (address >> 12) holding the tail of a block that
    /// straddles a page boundary, or `u64::MAX`.
    pub second_page: u64,
    key: u64,
}

impl Block {
    pub fn new(
        insns: Vec<Decoded>,
        key: u64,
        start: u64,
        len: u32,
        first_len: u32,
        second_page: u64,
    ) -> Self {
        Block {
            insns,
            len,
            start,
            first_len,
            second_page,
            key,
        }
    }

    fn overlaps(&self, addr: u64, len: u64) -> bool {
        let hit = |s: u64, l: u64| addr < s + l && s < addr + len;
        hit(self.start, self.first_len as u64)
            || (self.second_page != u64::MAX
                && hit(self.second_page << 12, (self.len - self.first_len) as u64))
    }
}

/// Blocks live in a slab addressed by index; the map finds them by key.
/// Invalidated blocks stay in the slab (unreachable) until the next flush.
#[derive(Default)]
pub struct DecodeCache {
    slab: Vec<Block>,
    map: HashMap<u64, u32>,
    by_page: HashMap<u64, Vec<u32>>,
    pub decoded_blocks: u64,
    pub flushes: u64,
}

/// Slab size that triggers a full flush.
const MAX_BLOCKS: usize = 1 << 16;

pub fn key(phys: u64, code32: bool) -> u64 {
    phys | (code32 as u64) << 48
}

impl DecodeCache {
    #[inline]
    pub fn get(&self, key: u64) -> Option<u32> {
        self.map.get(&key).copied()
    }

    #[inline]
    pub fn block(&self, idx: u32) -> &Block {
        &self.slab[idx as usize]
    }

    pub fn insert(&mut self, block: Block) -> u32 {
        if self.slab.len() >= MAX_BLOCKS {
            self.clear();
            self.flushes += 1;
        }
        let idx = self.slab.len() as u32;
        let (key, first, second) = (block.key, block.start >> 12, block.second_page);
        self.slab.push(block);
        self.map.insert(key, idx);
        self.decoded_blocks += 1;
        self.by_page.entry(first).or_default().push(idx);
        if second != u64::MAX {
            self.by_page.entry(second).or_default().push(idx);
        }
        idx
    }

    /// A write hit `len` bytes at physical `addr` on a page holding code:
    /// drops the blocks it overlaps. Returns true when blocks remain on the
    /// page (so the caller keeps watching it).
    pub fn invalidate_write(&mut self, addr: u64, len: u64, dropped: &mut Vec<u32>) -> bool {
        let page = addr >> 12;
        let Some(mut list) = self.by_page.remove(&page) else {
            return false;
        };
        list.retain(|&idx| {
            let b = &self.slab[idx as usize];
            let live = self.map.get(&b.key) == Some(&idx);
            if live && b.overlaps(addr, len) {
                self.map.remove(&b.key);
                dropped.push(idx);
                return false;
            }
            live
        });
        let remain = !list.is_empty();
        if remain {
            self.by_page.insert(page, list);
        }
        remain
    }

    pub fn clear(&mut self) {
        self.slab.clear();
        self.map.clear();
        self.by_page.clear();
    }
}

/// Decodes one block from `bytes` (which start at `ip`). Stops at a control
/// transfer, at `limit` bytes (the page end), or after [`MAX_BLOCK`]
/// instructions. An instruction that would need bytes past `bytes` is left
/// out (the caller then fetches across the page boundary).
pub fn decode_block(bytes: &[u8], ip: u32, code32: bool, limit: usize) -> Vec<Decoded> {
    let bitness = if code32 { 32 } else { 16 };
    let mut dec = Decoder::with_ip(bitness, bytes, ip as u64, DecoderOptions::NONE);
    let mut out = Vec::new();
    let mut i = Instruction::default();
    while dec.can_decode() && out.len() < MAX_BLOCK {
        let pos = dec.position();
        if pos >= limit {
            break;
        }
        dec.decode_out(&mut i);
        if i.is_invalid() && dec.last_error() == iced_x86::DecoderError::NoMoreBytes {
            break;
        }
        let opsize = match i.op_code().operand_size() {
            16 => 2,
            32 => 4,
            _ => {
                if code32 {
                    4
                } else {
                    2
                }
            }
        };
        let (mut fast, a, b) = classify(&i);
        let mem = mem_ref(&i);
        // Byte-register index (XLAT's AL) and the like stay on the generic path.
        if (matches!(a, Opnd::Mem { .. }) || matches!(b, Opnd::Mem { .. }))
            && i.memory_index() != iced_x86::Register::None
            && mem.index == NO_REG
        {
            fast = Fast::Generic;
        }
        out.push(Decoded {
            i,
            opsize,
            fast,
            a,
            b,
            mem,
        });
        if i.code() == Code::INVALID || ends_block(&i) {
            break;
        }
    }
    out
}

fn ends_block(i: &Instruction) -> bool {
    i.flow_control() != FlowControl::Next
}
