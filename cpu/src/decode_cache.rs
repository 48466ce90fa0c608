//! Cache of decoded guest code: straight-line blocks of iced-x86
//! instructions keyed by the physical address they start at and the code
//! size, invalidated when the guest (or a device) writes a page they came
//! from. This spares the interpreter from decoding each instruction again.

use crate::alu::AluOp;
use iced_x86::{Code, Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic, OpKind};
use rustc_hash::FxHashMap as HashMap;
use std::rc::Rc;

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
}

/// An operand resolved at decode time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opnd {
    None,
    /// General register `n` of `size` bytes; `hi` for AH/CH/DH/BH.
    Reg { n: u8, size: u8, hi: bool },
    /// The instruction's memory operand, `size` bytes.
    Mem { size: u8 },
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
}

fn opnd(i: &Instruction, k: u32) -> Option<Opnd> {
    Some(match i.op_kind(k) {
        OpKind::Register => {
            let r = i.op_register(k);
            if !(r.is_gpr8() || r.is_gpr16() || r.is_gpr32()) {
                return None;
            }
            let n = r.number() as u8;
            let size = r.size() as u8;
            if size == 1 && n >= 4 {
                Opnd::Reg { n: n - 4, size, hi: true }
            } else {
                Opnd::Reg { n, size, hi: false }
            }
        }
        OpKind::Memory => Opnd::Mem { size: i.memory_size().size() as u8 },
        OpKind::Immediate8 | OpKind::Immediate16 | OpKind::Immediate32 | OpKind::Immediate8to16 | OpKind::Immediate8to32 => {
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
            Some(a) => (if i.mnemonic() == M::Inc { Fast::Inc } else { Fast::Dec }, a, Opnd::None),
            None => generic,
        },
        M::Jo | M::Jno | M::Jb | M::Jae | M::Je | M::Jne | M::Jbe | M::Ja | M::Js | M::Jns | M::Jp | M::Jnp | M::Jl
        | M::Jge | M::Jle | M::Jg => ((Fast::Jcc(i.condition_code() as u8 - 1)), Opnd::None, Opnd::None),
        _ => generic,
    }
}

pub struct Block {
    pub insns: Vec<Decoded>,
    /// Bytes covered by the block.
    pub len: u32,
    /// Physical pages this block's bytes came from.
    pub pages: [u64; 2],
}

#[derive(Default)]
pub struct DecodeCache {
    blocks: HashMap<u64, Rc<Block>>,
    by_page: HashMap<u64, Vec<u64>>,
    pub decoded_blocks: u64,
}

pub fn key(phys: u64, code32: bool) -> u64 {
    phys | (code32 as u64) << 48
}

impl DecodeCache {
    pub fn get(&self, key: u64) -> Option<Rc<Block>> {
        self.blocks.get(&key).cloned()
    }

    pub fn insert(&mut self, key: u64, block: Block) -> Rc<Block> {
        let pages = block.pages;
        let b = Rc::new(block);
        self.blocks.insert(key, b.clone());
        self.decoded_blocks += 1;
        for p in pages {
            if p != u64::MAX {
                self.by_page.entry(p).or_default().push(key);
            }
        }
        b
    }

    /// Drops every block with bytes on physical page `page` (address >> 12).
    pub fn invalidate_page(&mut self, page: u64) {
        if let Some(keys) = self.by_page.remove(&page) {
            for k in keys {
                self.blocks.remove(&k);
            }
        }
    }

    pub fn clear(&mut self) {
        self.blocks.clear();
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
        let (fast, a, b) = classify(&i);
        out.push(Decoded { i, opsize, fast, a, b });
        if i.code() == Code::INVALID || ends_block(&i) {
            break;
        }
    }
    out
}

fn ends_block(i: &Instruction) -> bool {
    i.flow_control() != FlowControl::Next
}
