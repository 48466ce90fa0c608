//! Cache of decoded guest code: straight-line blocks of iced-x86
//! instructions keyed by the physical address they start at and the code
//! size, invalidated when the guest (or a device) writes a page they came
//! from. This spares the interpreter from decoding each instruction again.

use iced_x86::{Code, Decoder, DecoderOptions, FlowControl, Instruction};
use std::collections::HashMap;
use std::rc::Rc;

/// Longest block we build: bounds the latency of interrupt checks.
pub const MAX_BLOCK: usize = 64;

#[derive(Clone, Copy)]
pub struct Decoded {
    pub i: Instruction,
    /// Operand size in bytes (2 or 4; 1 for byte-only forms is not used).
    pub opsize: u8,
}

pub struct Block {
    pub insns: Vec<Decoded>,
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
        out.push(Decoded { i, opsize });
        if i.code() == Code::INVALID || ends_block(&i) {
            break;
        }
    }
    out
}

fn ends_block(i: &Instruction) -> bool {
    i.flow_control() != FlowControl::Next
}
