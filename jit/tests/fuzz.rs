//! Differential fuzzer: random guest programs run under the interpreter
//! alone and under the JIT (every block compiled on first use, and a mix of
//! interpreted and compiled runs), which must end in identical CPU state
//! (registers, EFLAGS, EIP, segments, CR2, TSC), identical RAM, the same
//! instruction count and the same exit.
//!
//! Programs are built from the instruction groups the JIT inlines (MOV,
//! ALU ops, TEST, INC/DEC, shifts, LEA, MOVZX/MOVSX, PUSH/POP, Jcc/JMP,
//! NOT/NEG, IMUL (two and three operands), DIV/IDIV (with #DE), CBW/CWDE/
//! CWD/CDQ, SETcc, CMOVcc, XCHG, CALL/RET, JMP reg and PUSH+RET (indirect
//! branches), LOOP/LOOPE/LOOPNE, in 8/16/32-bit forms with register,
//! immediate and memory operands, many inside loops so that they run in
//! multi-block regions with flags and registers carried across edges), mixed
//! with instructions that go through the interpreter's helper (so lazy
//! flags are handed over), loops, and self-modifying code (a store into
//! the immediate of an instruction further down the same block). Memory
//! operands mostly land inside the data segment, sometimes beyond its
//! limit (#GP), in a read-only segment (#GP on writes), through paging
//! into read-only or absent pages (#PF), or across the 16-bit wrap. An
//! exception ends the program in a handler that halts, so the vector,
//! error code and the pushed frame are compared too.
//!
//! Three machine modes: 32-bit protected mode with flat code and stack,
//! the same with paging, and real mode (16-bit code and addressing).
//!
//! A program that ends normally runs a second time from the same physical
//! bytes at another EIP, with the registers, flags and memory it left:
//! through a CS whose base is 4 KiB higher (protected and real mode) or
//! through a second linear alias of the code pages (paging). The decode
//! cache keys blocks by physical address, so the second run reuses the
//! first run's blocks at new EIPs — as Linux does when its early code runs
//! at physical addresses before paging and at virtual ones after.
//!
//! Seeds: `CRANE86_FUZZ_SEEDS=N` runs seeds 0..N (default 300, which
//! takes a few seconds in release mode); `CRANE86_FUZZ_SEED=S` runs one
//! seed and prints its program.

use crane86_cpu::state::{ar, cr0, flags, CS, DS, EBP, ES, ESP, FS, GS, SS};
use crane86_cpu::{BlockEngine, Cpu, Exit, Platform, SegReg, TableReg};
use crane86_jit::{Jit, JitConfig};
use crane86_mmu::PhysMem;
use iced_x86::{Code, Encoder, Instruction, MemoryOperand, Register as R};
use std::collections::HashMap;
use std::sync::OnceLock;

// ---- guest memory map -------------------------------------------------------------

const RAM: u64 = 4 << 20;
const CODE: u32 = 0x1_0000;
const DATA: u32 = 0x2_0000;
/// DS: 16 KiB at DATA (with paging: page 2 read-only, page 3 absent).
const DS_LIMIT: u32 = 0x3FFF;
const ES_BASE: u32 = 0x2_4000;
const ES_LIMIT: u32 = 0xFF;
const STACK_TOP: u32 = 0x3_0000;
const GDT: u32 = 0x5_0000;
const IDT: u32 = 0x5_1000;
const HANDLERS: u32 = 0x6_0000;
const PD: u32 = 0x7_0000;
const PT: u32 = 0x7_1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    Pm32,
    Paged,
    Real16,
}

// ---- random numbers -----------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() >> 32) as u32 % n
    }
    fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u32) as usize]
    }
    fn u32(&mut self) -> u32 {
        self.next() as u32
    }
    /// A value that often sits at an interesting edge.
    fn value(&mut self, size: u32) -> u32 {
        let m = mask(size);
        let v = match self.below(8) {
            0 => 0,
            1 => m,
            2 => 1u32 << (size * 8 - 1),
            3 => (1u32 << (size * 8 - 1)) - 1,
            4 => self.below(16),
            _ => self.u32(),
        };
        v & m
    }
}

fn mask(size: u32) -> u32 {
    u32::MAX >> (32 - 8 * size)
}

fn code(name: &str) -> Code {
    static CODES: OnceLock<HashMap<String, Code>> = OnceLock::new();
    let map = CODES.get_or_init(|| Code::values().map(|c| (format!("{c:?}"), c)).collect());
    *map.get(name)
        .unwrap_or_else(|| panic!("no iced Code named {name}"))
}

// ---- programs -------------------------------------------------------------------------

/// A slot of the program; branch and patch targets are (group, slot) pairs
/// resolved when the program is laid out.
#[derive(Clone)]
enum Ins {
    Fixed(Instruction),
    Branch(Code, (usize, usize)),
    /// Self-modifying store into the first immediate byte of the target
    /// slot: MOV byte (or INC byte when `inc`).
    Patch {
        target: (usize, usize),
        value: u8,
        inc: bool,
    },
    /// The address (offset in CS) of a slot into a register, position
    /// independent (CALL to the next instruction, POP reg, ADD reg,
    /// distance), so it is right at either alias of the program.
    MovAddr(R, (usize, usize)),
}

struct Gen {
    rng: Rng,
    mode: Mode,
    groups: Vec<Vec<Ins>>,
}

const CCS: [&str; 16] = [
    "Jo", "Jno", "Jb", "Jae", "Je", "Jne", "Jbe", "Ja", "Js", "Jns", "Jp", "Jnp", "Jl", "Jge",
    "Jle", "Jg",
];
const ALU: [&str; 8] = ["Add", "Or", "Adc", "Sbb", "And", "Sub", "Xor", "Cmp"];

impl Gen {
    fn bits(&self) -> u32 {
        if self.mode == Mode::Real16 {
            16
        } else {
            32
        }
    }

    /// A destination register of `size` bytes (never ESP/EBP or their parts).
    fn reg(&mut self, size: u32) -> R {
        match size {
            1 => self
                .rng
                .pick(&[R::AL, R::CL, R::DL, R::BL, R::AH, R::CH, R::DH, R::BH]),
            2 => self.rng.pick(&[R::AX, R::CX, R::DX, R::BX, R::SI, R::DI]),
            _ => self
                .rng
                .pick(&[R::EAX, R::ECX, R::EDX, R::EBX, R::ESI, R::EDI]),
        }
    }

    /// A source register: may also be ESP/EBP (or SP/BP).
    fn src_reg(&mut self, size: u32) -> R {
        if size > 1 && self.rng.chance(10) {
            return match size {
                2 => self.rng.pick(&[R::SP, R::BP]),
                _ => self.rng.pick(&[R::ESP, R::EBP]),
            };
        }
        self.reg(size)
    }

    fn size(&mut self) -> u32 {
        self.rng.pick(&[1, 2, 4, 4])
    }

    fn fixed(i: Instruction) -> Ins {
        Ins::Fixed(i)
    }

    fn mov_imm(&self, r: R, v: u32) -> Ins {
        let c = if r.size() == 2 {
            "Mov_r16_imm16"
        } else {
            "Mov_r32_imm32"
        };
        Self::fixed(Instruction::with2(code(c), r, v).unwrap())
    }

    /// MOV of an immediate into a register of any size.
    fn mov_any(&self, r: R, v: u32) -> Ins {
        let name = match r.size() {
            1 => "Mov_r8_imm8",
            2 => "Mov_r16_imm16",
            _ => "Mov_r32_imm32",
        };
        Self::fixed(Instruction::with2(code(name), r, v & mask(r.size() as u32)).unwrap())
    }

    /// A register of the same size as `r`, not overlapping it.
    fn other_reg(&mut self, r: R) -> R {
        loop {
            let o = self.reg(r.size() as u32);
            if o.full_register32() != r.full_register32() {
                return o;
            }
        }
    }

    /// An offset into the data segment: mostly inside, sometimes at or
    /// beyond the limit.
    fn data_off(&mut self, limit: u32, size: u32) -> u32 {
        match self.rng.below(400) {
            0 => limit.wrapping_sub(size).wrapping_add(self.rng.below(4)),
            1 => self.rng.u32(),
            2 => limit.wrapping_add(1 + self.rng.below(64)),
            // With paging, DS pages 2 (read-only) and 3 (absent) are
            // rarely used.
            _ if self.mode == Mode::Paged && limit == DS_LIMIT && !self.rng.chance(3) => {
                self.rng.below(0x2000 - size + 1)
            }
            _ => self.rng.below(limit.saturating_sub(size) + 1),
        }
    }

    /// A memory operand of `size` bytes for a read (`write` false) or a
    /// write, with the instructions that set its registers.
    fn mem(&mut self, size: u32, write: bool) -> (Vec<Ins>, MemoryOperand) {
        let mut setup = Vec::new();
        if self.mode == Mode::Real16 {
            let seg = self.rng.pick(&[R::None, R::None, R::None, R::ES, R::SS]);
            let off = match self.rng.below(400) {
                0 => 0xFFFF - self.rng.below(size),
                1 => 0xFFF0 + self.rng.below(16),
                _ => self.rng.below(0x4000),
            };
            let disp = self.rng.below(0x80) as i64 - 0x40;
            let form = self.rng.below(5);
            let (base, index) = match form {
                0 => (R::BX, R::SI),
                1 => (R::BX, R::DI),
                2 => (R::BX, R::None),
                3 => (R::SI, R::None),
                _ => (R::None, R::None),
            };
            if base == R::None {
                let m = MemoryOperand::new(R::None, R::None, 1, off as i64, 2, false, seg);
                return (setup, m);
            }
            let mut rest = (off as i64 - disp) as u32 & 0xFFFF;
            if index != R::None {
                let iv = self.rng.below(0x100);
                setup.push(self.mov_imm(index, iv));
                rest = rest.wrapping_sub(iv) & 0xFFFF;
            }
            setup.push(self.mov_imm(base, rest));
            let m = MemoryOperand::new(base, index, 1, disp, 1, false, seg);
            return (setup, m);
        }
        // 32-bit: pick a segment.
        let (seg, limit, flat_base) = match self.rng.below(12) {
            0 => (R::ES, ES_LIMIT, 0),
            1 if !write || self.rng.chance(3) => (R::FS, DS_LIMIT, 0),
            2 => (R::GS, u32::MAX, DATA),
            3 => (R::SS, u32::MAX, STACK_TOP - 0x100),
            _ => (R::None, DS_LIMIT, 0),
        };
        let off = if flat_base != 0 {
            flat_base + self.rng.below(0x100)
        } else {
            self.data_off(limit, size)
        };
        let disp = self.rng.below(0x100) as i64 - 0x80;
        match self.rng.below(4) {
            0 => {
                let m = MemoryOperand::new(R::None, R::None, 1, off as i64, 4, false, seg);
                (setup, m)
            }
            1 => {
                let scale = self.rng.pick(&[1u32, 2, 4, 8]);
                let iv = self.rng.below(0x40);
                setup.push(self.mov_imm(R::ESI, iv));
                let b = (off as i64 - disp - (iv * scale) as i64) as u32;
                setup.push(self.mov_imm(R::EBX, b));
                let m = MemoryOperand::new(R::EBX, R::ESI, scale, disp, 1, false, seg);
                (setup, m)
            }
            _ => {
                let base = self.rng.pick(&[R::EBX, R::ESI, R::EDI]);
                setup.push(self.mov_imm(base, (off as i64 - disp) as u32));
                let m = MemoryOperand::new(base, R::None, 1, disp, 1, false, seg);
                (setup, m)
            }
        }
    }

    fn sz(size: u32) -> &'static str {
        match size {
            1 => "8",
            2 => "16",
            _ => "32",
        }
    }

    fn acc(size: u32) -> R {
        match size {
            1 => R::AL,
            2 => R::AX,
            _ => R::EAX,
        }
    }

    /// One group of instructions (they may be a whole loop).
    fn group(&mut self, g: usize, ngroups: usize) -> Vec<Ins> {
        let mut out = Vec::new();
        let w = self.rng.below(115);
        let size = self.size();
        let s = Self::sz(size);
        match w {
            // ALU ops in all forms.
            0..=24 => {
                let op = self.rng.pick(&ALU);
                let i = match self.rng.below(6) {
                    0 => {
                        let (a, b) = (self.reg(size), self.src_reg(size));
                        Instruction::with2(code(&format!("{op}_rm{s}_r{s}")), a, b).unwrap()
                    }
                    1 => {
                        let (setup, m) = self.mem(size, false);
                        out.extend(setup);
                        let a = self.reg(size);
                        Instruction::with2(code(&format!("{op}_r{s}_rm{s}")), a, m).unwrap()
                    }
                    2 => {
                        let (setup, m) = self.mem(size, true);
                        out.extend(setup);
                        let b = self.src_reg(size);
                        Instruction::with2(code(&format!("{op}_rm{s}_r{s}")), m, b).unwrap()
                    }
                    3 => {
                        let a = self.reg(size);
                        if size > 1 && self.rng.chance(50) {
                            let v = self.rng.below(256) as i32 - 128;
                            Instruction::with2(code(&format!("{op}_rm{s}_imm8")), a, v).unwrap()
                        } else {
                            let v = self.rng.value(size);
                            Instruction::with2(code(&format!("{op}_rm{s}_imm{s}")), a, v).unwrap()
                        }
                    }
                    4 => {
                        let (setup, m) = self.mem(size, true);
                        out.extend(setup);
                        let v = self.rng.value(size);
                        Instruction::with2(code(&format!("{op}_rm{s}_imm{s}")), m, v).unwrap()
                    }
                    _ => {
                        let v = self.rng.value(size);
                        let a = Self::acc(size);
                        let name = match size {
                            1 => format!("{op}_AL_imm8"),
                            2 => format!("{op}_AX_imm16"),
                            _ => format!("{op}_EAX_imm32"),
                        };
                        Instruction::with2(code(&name), a, v).unwrap()
                    }
                };
                out.push(Self::fixed(i));
            }
            // MOV.
            25..=36 => {
                let i = match self.rng.below(5) {
                    0 => {
                        let (a, b) = (self.reg(size), self.src_reg(size));
                        Instruction::with2(code(&format!("Mov_rm{s}_r{s}")), a, b).unwrap()
                    }
                    1 => {
                        let (setup, m) = self.mem(size, false);
                        out.extend(setup);
                        let a = self.reg(size);
                        Instruction::with2(code(&format!("Mov_r{s}_rm{s}")), a, m).unwrap()
                    }
                    2 => {
                        let (setup, m) = self.mem(size, true);
                        out.extend(setup);
                        let b = self.src_reg(size);
                        Instruction::with2(code(&format!("Mov_rm{s}_r{s}")), m, b).unwrap()
                    }
                    3 => {
                        let a = self.reg(size);
                        let v = self.rng.value(size);
                        Instruction::with2(code(&format!("Mov_r{s}_imm{s}")), a, v).unwrap()
                    }
                    _ => {
                        let (setup, m) = self.mem(size, true);
                        out.extend(setup);
                        let v = self.rng.value(size);
                        Instruction::with2(code(&format!("Mov_rm{s}_imm{s}")), m, v).unwrap()
                    }
                };
                out.push(Self::fixed(i));
            }
            // TEST.
            37..=40 => {
                let i = match self.rng.below(3) {
                    0 => {
                        let (a, b) = (self.reg(size), self.src_reg(size));
                        Instruction::with2(code(&format!("Test_rm{s}_r{s}")), a, b).unwrap()
                    }
                    1 => {
                        let (setup, m) = self.mem(size, false);
                        out.extend(setup);
                        let b = self.reg(size);
                        Instruction::with2(code(&format!("Test_rm{s}_r{s}")), m, b).unwrap()
                    }
                    _ => {
                        let a = self.reg(size);
                        let v = self.rng.value(size);
                        Instruction::with2(code(&format!("Test_rm{s}_imm{s}")), a, v).unwrap()
                    }
                };
                out.push(Self::fixed(i));
            }
            // INC/DEC.
            41..=46 => {
                let op = self.rng.pick(&["Inc", "Dec"]);
                let i = if self.rng.chance(35) {
                    let (setup, m) = self.mem(size, true);
                    out.extend(setup);
                    Instruction::with1(code(&format!("{op}_rm{s}")), m).unwrap()
                } else if size > 1 && self.rng.chance(50) {
                    let r = self.reg(size);
                    Instruction::with1(code(&format!("{op}_r{s}")), r).unwrap()
                } else {
                    let r = self.reg(size);
                    Instruction::with1(code(&format!("{op}_rm{s}")), r).unwrap()
                };
                out.push(Self::fixed(i));
            }
            // Shifts by an immediate or by 1.
            47..=54 => {
                let op = self.rng.pick(&["Shl", "Shr", "Sar"]);
                let by1 = self.rng.chance(25);
                let count = self
                    .rng
                    .pick(&[0u32, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33]);
                let dst = if self.rng.chance(30) {
                    let (setup, m) = self.mem(size, true);
                    out.extend(setup);
                    Err(m)
                } else {
                    Ok(self.reg(size))
                };
                let i = match (dst, by1) {
                    (Ok(r), true) => Instruction::with2(code(&format!("{op}_rm{s}_1")), r, 1u32),
                    (Err(m), true) => Instruction::with2(code(&format!("{op}_rm{s}_1")), m, 1u32),
                    (Ok(r), false) => {
                        Instruction::with2(code(&format!("{op}_rm{s}_imm8")), r, count)
                    }
                    (Err(m), false) => {
                        Instruction::with2(code(&format!("{op}_rm{s}_imm8")), m, count)
                    }
                }
                .unwrap();
                out.push(Self::fixed(i));
            }
            // LEA.
            55..=58 => {
                let dsize = if self.rng.chance(25) { 2 } else { 4 };
                let (setup, m) = self.mem(1, false);
                out.extend(setup);
                let m = MemoryOperand {
                    segment_prefix: R::None,
                    ..m
                };
                let r = self.reg(dsize);
                let c = if dsize == 2 { "Lea_r16_m" } else { "Lea_r32_m" };
                out.push(Self::fixed(Instruction::with2(code(c), r, m).unwrap()));
            }
            // MOVZX/MOVSX.
            59..=62 => {
                let op = self.rng.pick(&["Movzx", "Movsx"]);
                let (d, src) = self.rng.pick(&[(4u32, 1u32), (4, 2), (2, 1)]);
                let r = self.reg(d);
                let name = format!("{op}_r{}_rm{}", Self::sz(d), Self::sz(src));
                let i = if self.rng.chance(50) {
                    let (setup, m) = self.mem(src, false);
                    out.extend(setup);
                    Instruction::with2(code(&name), r, m).unwrap()
                } else {
                    let b = self.src_reg(src);
                    Instruction::with2(code(&name), r, b).unwrap()
                };
                out.push(Self::fixed(i));
            }
            // PUSH/POP.
            63..=68 => {
                let w = if self.mode == Mode::Real16 && self.rng.chance(70) || self.rng.chance(20) {
                    2
                } else {
                    4
                };
                let ws = Self::sz(w);
                match self.rng.below(4) {
                    0 => {
                        let r = self.src_reg(w);
                        out.push(Self::fixed(
                            Instruction::with1(code(&format!("Push_r{ws}")), r).unwrap(),
                        ));
                    }
                    1 => {
                        let v = self.rng.value(w);
                        let c = if w == 2 { "Push_imm16" } else { "Pushd_imm32" };
                        out.push(Self::fixed(Instruction::with1(code(c), v).unwrap()));
                    }
                    2 => {
                        let v = self.rng.below(256) as i32 - 128;
                        let c = if w == 2 { "Pushw_imm8" } else { "Pushd_imm8" };
                        out.push(Self::fixed(Instruction::with1(code(c), v).unwrap()));
                    }
                    _ => {
                        let r = self.reg(w);
                        out.push(Self::fixed(
                            Instruction::with1(code(&format!("Pop_r{ws}")), r).unwrap(),
                        ));
                    }
                }
            }
            // Compare (or another flag-setting op) on close values, then Jcc.
            69..=74 => {
                let a = self.reg(size);
                let v = self.rng.value(size);
                let delta = self.rng.pick(&[0u32, 1, u32::MAX]);
                let w = v.wrapping_add(delta) & mask(size);
                let op = self
                    .rng
                    .pick(&["Cmp", "Cmp", "Sub", "Add", "And", "Test", "Adc", "Sbb"]);
                if a.size() == 1 || self.rng.chance(50) {
                    out.push(self.mov_any(a, v));
                } else {
                    // Load through memory sometimes.
                    out.push(self.mov_any(a, v));
                }
                let i = if self.rng.chance(50) {
                    let name = if op == "Test" {
                        format!("Test_rm{s}_imm{s}")
                    } else {
                        format!("{op}_rm{s}_imm{s}")
                    };
                    Instruction::with2(code(&name), a, w).unwrap()
                } else {
                    let b = self.other_reg(a);
                    out.push(self.mov_any(b, w));
                    Instruction::with2(code(&format!("{op}_rm{s}_r{s}")), a, b).unwrap()
                };
                out.push(Self::fixed(i));
                let to = (g + 1 + self.rng.below(2) as usize).min(ngroups);
                let cc = self.rng.pick(&CCS);
                let c = if self.bits() == 16 {
                    format!("{cc}_rel16")
                } else {
                    format!("{cc}_rel32_32")
                };
                out.push(Ins::Branch(code(&c), (to, 0)));
            }
            // Jcc / JMP forward.
            75..=77 => {
                let to = (g + 1 + self.rng.below(3) as usize).min(ngroups);
                let name = if self.rng.chance(85) {
                    self.rng.pick(&CCS).to_string()
                } else {
                    "Jmp".to_string()
                };
                let c = if self.bits() == 16 {
                    format!("{name}_rel16")
                } else {
                    format!("{name}_rel32_32")
                };
                out.push(Ins::Branch(code(&c), (to, 0)));
            }
            // A loop: EBP counts, the body is 2-5 groups' worth of instructions.
            78..=80 => {
                let n = 1 + self.rng.below(5);
                out.push(self.mov_imm(if self.bits() == 16 { R::BP } else { R::EBP }, n));
                let body: usize = 2 + self.rng.below(4) as usize;
                for _ in 0..body {
                    let inner = self.group_simple();
                    out.extend(inner);
                }
                let dec = if self.bits() == 16 {
                    "Dec_r16"
                } else {
                    "Dec_r32"
                };
                let bp = if self.bits() == 16 { R::BP } else { R::EBP };
                out.push(Self::fixed(Instruction::with1(code(dec), bp).unwrap()));
                let c = if self.bits() == 16 {
                    "Jne_rel16"
                } else {
                    "Jne_rel32_32"
                };
                out.push(Ins::Branch(code(c), (g, 1)));
            }
            // Self-modifying code in the same block.
            81..=83 => {
                let later = self.rng.below(3) as usize;
                let value = self.rng.u32() as u8;
                let inc = self.rng.chance(40);
                out.push(Ins::Patch {
                    target: (g, 1 + later),
                    value,
                    inc,
                });
                for _ in 0..later {
                    let a = self.reg(4);
                    let b = self.src_reg(4);
                    out.push(Self::fixed(
                        Instruction::with2(code("Xor_rm32_r32"), a, b).unwrap(),
                    ));
                }
                let r = self.reg(4);
                let v = self.rng.u32();
                let c = if self.rng.chance(50) {
                    "Mov_r32_imm32"
                } else {
                    "Add_rm32_imm32"
                };
                out.push(Self::fixed(Instruction::with2(code(c), r, v).unwrap()));
            }
            // Rarely: move the stack pointer somewhere (maybe faulting).
            84 => {
                let v = match self.rng.below(4) {
                    0 => STACK_TOP - 4 * self.rng.below(64),
                    1 => DATA + 0x3000 + self.rng.below(0x1000),
                    2 => self.rng.below(8),
                    _ => STACK_TOP - 0x800,
                };
                let v = if self.mode == Mode::Real16 {
                    v & 0xFFFF
                } else {
                    v
                };
                out.push(self.mov_imm(if self.bits() == 16 { R::SP } else { R::ESP }, v));
            }
            // Instructions left to the interpreter, reading or writing flags.
            100..=114 => out.extend(self.inline_group(g, ngroups, size)),
            _ => out.extend(self.helper_insn(size)),
        }
        out
    }

    /// Instruction groups the JIT inlines beyond the basic ALU/MOV set:
    /// DIV/IDIV (with #DE), IMUL forms, NOT/NEG/SETcc/CMOVcc on memory,
    /// CALL/RET, indirect jumps, LOOP/LOOPcc, inside loops so that they
    /// run in multi-block regions.
    fn inline_group(&mut self, g: usize, ngroups: usize, size: u32) -> Vec<Ins> {
        let s = Self::sz(size);
        let b16 = self.bits() == 16;
        let mut out = Vec::new();
        match self.rng.below(8) {
            0 | 1 => {
                let signed = self.rng.chance(50);
                let dv = self
                    .rng
                    .pick(&[0u32, 1, u32::MAX, 3, 7, 0x8000_0000, 0x1_0000]);
                let dv = if self.rng.chance(30) {
                    self.rng.u32()
                } else {
                    dv
                };
                let eax = self.rng.value(4);
                out.push(self.mov_imm(R::EAX, eax));
                if signed && self.rng.chance(70) {
                    out.push(Self::fixed(Instruction::with(code("Cdq"))));
                } else {
                    let edx = if self.rng.chance(70) {
                        self.rng.below(4)
                    } else {
                        self.rng.u32()
                    };
                    out.push(self.mov_imm(R::EDX, edx));
                }
                let op = if signed { "Idiv_rm32" } else { "Div_rm32" };
                if self.rng.chance(40) {
                    let (setup, m) = self.mem(4, false);
                    out.extend(setup);
                    out.push(Self::fixed(Instruction::with1(code(op), m).unwrap()));
                } else {
                    let r = self.rng.pick(&[R::EBX, R::ECX, R::ESI, R::EDI]);
                    out.push(self.mov_imm(r, dv));
                    out.push(Self::fixed(Instruction::with1(code(op), r).unwrap()));
                }
            }
            2 => {
                let sz = if size == 2 { 2 } else { 4 };
                let ss = Self::sz(sz);
                let d = self.reg(sz);
                let src = if self.rng.chance(40) {
                    let (setup, m) = self.mem(sz, false);
                    out.extend(setup);
                    Err(m)
                } else {
                    Ok(self.src_reg(sz))
                };
                let imm = self.rng.value(sz);
                let i = match (self.rng.below(3), src) {
                    (0, Ok(r)) => {
                        Instruction::with2(code(&format!("Imul_r{ss}_rm{ss}")), d, r).unwrap()
                    }
                    (0, Err(m)) => {
                        Instruction::with2(code(&format!("Imul_r{ss}_rm{ss}")), d, m).unwrap()
                    }
                    (1, Ok(r)) => Instruction::with3(
                        code(&format!("Imul_r{ss}_rm{ss}_imm8")),
                        d,
                        r,
                        self.rng.below(256) as i32 - 128,
                    )
                    .unwrap(),
                    (1, Err(m)) => Instruction::with3(
                        code(&format!("Imul_r{ss}_rm{ss}_imm8")),
                        d,
                        m,
                        self.rng.below(256) as i32 - 128,
                    )
                    .unwrap(),
                    (_, Ok(r)) => {
                        Instruction::with3(code(&format!("Imul_r{ss}_rm{ss}_imm{ss}")), d, r, imm)
                            .unwrap()
                    }
                    (_, Err(m)) => {
                        Instruction::with3(code(&format!("Imul_r{ss}_rm{ss}_imm{ss}")), d, m, imm)
                            .unwrap()
                    }
                };
                out.push(Self::fixed(i));
                // A reader of the IMUL flags.
                let cc = self.rng.pick(&CCS)[1..].to_string();
                let r8 = self.reg(1);
                out.push(Self::fixed(
                    Instruction::with1(code(&format!("Set{cc}_rm8")), r8).unwrap(),
                ));
            }
            3 => {
                let cc = self.rng.pick(&CCS)[1..].to_string();
                let i = match self.rng.below(4) {
                    0 => {
                        let op = self.rng.pick(&["Not", "Neg"]);
                        let (setup, m) = self.mem(size, true);
                        out.extend(setup);
                        Instruction::with1(code(&format!("{op}_rm{s}")), m).unwrap()
                    }
                    1 => {
                        let (setup, m) = self.mem(1, true);
                        out.extend(setup);
                        Instruction::with1(code(&format!("Set{cc}_rm8")), m).unwrap()
                    }
                    2 => {
                        let sz = if size == 2 { 2 } else { 4 };
                        let ss = Self::sz(sz);
                        let (setup, m) = self.mem(sz, false);
                        out.extend(setup);
                        let d = self.reg(sz);
                        Instruction::with2(code(&format!("Cmov{cc}_r{ss}_rm{ss}")), d, m).unwrap()
                    }
                    _ => {
                        let op = self.rng.pick(&["Cbw", "Cwde", "Cwd", "Cdq"]);
                        Instruction::with(code(op))
                    }
                };
                out.push(Self::fixed(i));
            }
            4 => {
                // A loop calling a subroutine placed after it.
                let bp = if b16 { R::BP } else { R::EBP };
                let n = 1 + self.rng.below(4);
                out.push(self.mov_imm(bp, n));
                let (call, dec, jne, jmp, ret) = if b16 {
                    ("Call_rel16", "Dec_r16", "Jne_rel16", "Jmp_rel16", "Retnw")
                } else {
                    (
                        "Call_rel32_32",
                        "Dec_r32",
                        "Jne_rel32_32",
                        "Jmp_rel32_32",
                        "Retnd",
                    )
                };
                out.push(Ins::Branch(code(call), (g, 5)));
                out.push(Self::fixed(Instruction::with1(code(dec), bp).unwrap()));
                out.push(Ins::Branch(code(jne), (g, 1)));
                out.push(Ins::Branch(code(jmp), ((g + 1).min(ngroups), 0)));
                for _ in 0..1 + self.rng.below(2) {
                    let inner = self.group_simple();
                    out.extend(inner);
                }
                out.push(Self::fixed(Instruction::with(code(ret))));
            }
            5 | 6 => {
                // A loop whose body is reached by an indirect jump.
                let bp = if b16 { R::BP } else { R::EBP };
                let dx = if b16 { R::DX } else { R::EDX };
                let n = 1 + self.rng.below(4);
                out.push(self.mov_imm(bp, n));
                let how = self.rng.below(3);
                let target = if how == 2 { 4 } else { 3 };
                out.push(Ins::MovAddr(dx, (g, target)));
                let w = if b16 { "16" } else { "32" };
                match how {
                    0 => out.push(Self::fixed(
                        Instruction::with1(code(&format!("Jmp_rm{w}")), dx).unwrap(),
                    )),
                    1 => {
                        // Through memory (the stack segment, flat or not).
                        let sp = if b16 { R::BP } else { R::EBP };
                        let _ = sp;
                        out.push(Self::fixed(
                            Instruction::with1(code(&format!("Jmp_rm{w}")), dx).unwrap(),
                        ));
                    }
                    _ => {
                        out.push(Self::fixed(
                            Instruction::with1(code(&format!("Push_r{w}")), dx).unwrap(),
                        ));
                        out.push(Self::fixed(Instruction::with(code(if b16 {
                            "Retnw"
                        } else {
                            "Retnd"
                        }))));
                    }
                }
                for _ in 0..1 + self.rng.below(2) {
                    let inner = self.group_simple();
                    out.extend(inner);
                }
                let (dec, jne) = if b16 {
                    ("Dec_r16", "Jne_rel16")
                } else {
                    ("Dec_r32", "Jne_rel32_32")
                };
                out.push(Self::fixed(Instruction::with1(code(dec), bp).unwrap()));
                out.push(Ins::Branch(code(jne), (g, 1)));
            }
            _ => {
                // LOOP/LOOPE/LOOPNE over a body that leaves ECX alone.
                let cx = if b16 { R::CX } else { R::ECX };
                let n = 1 + self.rng.below(5);
                out.push(self.mov_imm(cx, n));
                for _ in 0..1 + self.rng.below(3) {
                    let i = match self.rng.below(6) {
                        0 => Instruction::with2(code("Add_rm32_r32"), R::EAX, R::EBX).unwrap(),
                        1 => Instruction::with3(code("Imul_r32_rm32_imm8"), R::ESI, R::EDI, 5)
                            .unwrap(),
                        2 => Instruction::with2(code("Xor_rm32_r32"), R::EDI, R::EAX).unwrap(),
                        3 => Instruction::with1(code("Neg_rm32"), R::ESI).unwrap(),
                        4 => Instruction::with2(code("Cmp_rm32_imm8"), R::EAX, 3).unwrap(),
                        _ => Instruction::with1(code("Sete_rm8"), R::BL).unwrap(),
                    };
                    out.push(Self::fixed(i));
                }
                let op = self.rng.pick(&["Loop", "Loop", "Loope", "Loopne"]);
                let c = if b16 {
                    format!("{op}_rel8_16_CX")
                } else {
                    format!("{op}_rel8_32_ECX")
                };
                out.push(Ins::Branch(code(&c), (g, 1)));
            }
        }
        out
    }

    /// A group without control flow (loop bodies).
    fn group_simple(&mut self) -> Vec<Ins> {
        loop {
            let g = self.group(0, 0);
            if g.iter().all(|i| matches!(i, Ins::Fixed(_))) {
                return g;
            }
        }
    }

    fn helper_insn(&mut self, size: u32) -> Vec<Ins> {
        let s = Self::sz(size);
        let r = self.reg(size);
        let i = match self.rng.below(16) {
            0 => Instruction::with1(code(&format!("Neg_rm{s}")), r).unwrap(),
            1 => Instruction::with1(code(&format!("Not_rm{s}")), r).unwrap(),
            2 => {
                let cc = self.rng.pick(&CCS)[1..].to_string();
                let r8 = self.reg(1);
                Instruction::with1(code(&format!("Set{cc}_rm8")), r8).unwrap()
            }
            3 => {
                let cc = self.rng.pick(&CCS)[1..].to_string();
                let (a, b) = (self.reg(4), self.src_reg(4));
                Instruction::with2(code(&format!("Cmov{cc}_r32_rm32")), a, b).unwrap()
            }
            4 => Instruction::with(code(self.rng.pick(&["Clc", "Stc", "Cmc"]))),
            5 => Instruction::with(code(self.rng.pick(&["Lahf", "Sahf"]))),
            6 => {
                let op = self.rng.pick(&["Rol", "Ror", "Rcl", "Rcr"]);
                let c = self.rng.below(40);
                Instruction::with2(code(&format!("{op}_rm{s}_imm8")), r, c).unwrap()
            }
            7 => {
                let op = self.rng.pick(&["Shl", "Shr", "Sar"]);
                Instruction::with2(code(&format!("{op}_rm{s}_CL")), r, R::CL).unwrap()
            }
            8 => {
                let (a, b) = (self.reg(4), self.src_reg(4));
                Instruction::with2(code("Imul_r32_rm32"), a, b).unwrap()
            }
            9 => {
                let (a, b) = (self.reg(size), self.reg(size));
                Instruction::with2(code(&format!("Xchg_rm{s}_r{s}")), a, b).unwrap()
            }
            10 => Instruction::with(code(self.rng.pick(&["Cdq", "Cwde", "Cbw", "Cwd"]))),
            11 => {
                let (setup, m) = self.mem(4, false);
                let b = self.rng.pick(&[R::EAX, R::ECX, R::EDX]);
                let bit = self.rng.below(64);
                let mut v = vec![self.mov_imm(b, bit)];
                v.extend(setup);
                v.push(Self::fixed(
                    Instruction::with2(code("Bt_rm32_r32"), m, b).unwrap(),
                ));
                return v;
            }
            12 => {
                let op = self.rng.pick(&["Adc", "Sbb"]);
                let (a, b) = (self.reg(size), self.src_reg(size));
                // A helper-free ADC/SBB right after a helper that set CF.
                let c = Instruction::with(code(self.rng.pick(&["Stc", "Clc", "Cmc"])));
                return vec![
                    Self::fixed(c),
                    Self::fixed(
                        Instruction::with2(code(&format!("{op}_rm{s}_r{s}")), a, b).unwrap(),
                    ),
                ];
            }
            13 | 14 => Instruction::with(code(if self.bits() == 16 {
                "Pushfw"
            } else {
                "Pushfd"
            })),
            _ => Instruction::with(code("Nopd")),
        };
        vec![Self::fixed(i)]
    }
}

/// Lays the program out at CODE (linear; real mode: offset 0 of CS) and
/// encodes it. Returns the bytes.
fn assemble(mode: Mode, groups: &[Vec<Ins>]) -> Vec<u8> {
    let bits = if mode == Mode::Real16 { 16 } else { 32 };
    let base = if mode == Mode::Real16 { 0 } else { CODE as u64 };
    // GS addresses the code: flat in protected mode, GS = CS in real mode.
    let patch_insn = |addr: u64, value: u8, inc: bool| {
        let m = MemoryOperand::new(
            R::None,
            R::None,
            1,
            addr as i64,
            if bits == 16 { 2 } else { 4 },
            false,
            R::GS,
        );
        if inc {
            Instruction::with1(code("Inc_rm8"), m).unwrap()
        } else {
            Instruction::with2(code("Mov_rm8_imm8"), m, value as u32).unwrap()
        }
    };
    let mut slots: Vec<(usize, usize)> = Vec::new();
    for (g, grp) in groups.iter().enumerate() {
        for k in 0..grp.len() {
            slots.push((g, k));
        }
    }
    let hlt = Instruction::with(Code::Hlt);
    let mut ips: HashMap<(usize, usize), u64> = HashMap::new();
    let mut imm_at: HashMap<(usize, usize), u64> = HashMap::new();
    let mut bytes = Vec::new();
    for pass in 0..2 {
        let mut enc = Encoder::new(bits);
        let mut ip = base;
        let mut out = Vec::new();
        for &(g, k) in &slots {
            ips.insert((g, k), ip);
            if let Ins::MovAddr(r, to) = &groups[g][k] {
                let (call, add) = if r.size() == 2 {
                    ("Call_rel16", "Add_rm16_imm16")
                } else {
                    ("Call_rel32_32", "Add_rm32_imm32")
                };
                let clen = if r.size() == 2 { 3 } else { 5 };
                let call = Instruction::with_branch(code(call), ip + clen).unwrap();
                ip += enc.encode(&call, ip).unwrap() as u64;
                let pushed = ip;
                let pop = Instruction::with1(code(&format!("Pop_r{}", r.size() * 8)), *r).unwrap();
                ip += enc.encode(&pop, ip).unwrap() as u64;
                let t = if pass == 0 {
                    ip
                } else {
                    *ips.get(to).unwrap_or(&0)
                };
                let m = if r.size() == 2 {
                    0xFFFF
                } else {
                    u32::MAX as u64
                };
                let add =
                    Instruction::with2(code(add), *r, (t.wrapping_sub(pushed) & m) as u32).unwrap();
                ip += enc.encode(&add, ip).unwrap() as u64;
                continue;
            }
            let insn = match &groups[g][k] {
                Ins::Fixed(i) => *i,
                Ins::Branch(c, to) => {
                    let t = if pass == 0 {
                        ip
                    } else {
                        *ips.get(to).unwrap_or(&0)
                    };
                    Instruction::with_branch(*c, t).unwrap()
                }
                Ins::Patch { target, value, inc } => {
                    let a = if pass == 0 { 0x1000 } else { imm_at[target] };
                    patch_insn(a, *value, *inc)
                }
                Ins::MovAddr(..) => unreachable!("encoded above"),
            };
            let n = enc.encode(&insn, ip).unwrap();
            let co = enc.get_constant_offsets();
            if co.has_immediate() {
                imm_at.insert((g, k), ip + co.immediate_offset() as u64);
            }
            ip += n as u64;
        }
        // The end of the program, for branches past the last group.
        ips.insert((groups.len(), 0), ip);
        enc.encode(&hlt, ip).unwrap();
        out.extend(enc.take_buffer());
        bytes = out;
    }
    bytes
}

fn gen_program(seed: u64) -> (Mode, Vec<u8>, u32) {
    let mut rng = Rng::new(seed);
    let mode = match seed % 3 {
        0 => Mode::Pm32,
        1 => Mode::Paged,
        _ => Mode::Real16,
    };
    let n = 20 + rng.below(100) as usize;
    let mut g = Gen {
        rng,
        mode,
        groups: Vec::new(),
    };
    for i in 0..n {
        let grp = g.group(i, n);
        g.groups.push(grp);
    }
    let bytes = assemble(mode, &g.groups);
    let flags_seed = g.rng.u32();
    (mode, bytes, flags_seed)
}

// ---- the machine ------------------------------------------------------------------------

struct NoIo;

impl Platform for NoIo {
    fn io_read(&mut self, _port: u16, size: u8) -> u32 {
        u32::MAX >> (32 - 8 * size as u32)
    }
    fn io_write(&mut self, _port: u16, _size: u8, _value: u32) {}
    fn interrupt_pending(&mut self) -> bool {
        false
    }
    fn acknowledge_interrupt(&mut self) -> u8 {
        0
    }
}

fn desc(base: u32, limit: u32, access: u8, flags4: u8) -> u64 {
    (limit as u64 & 0xFFFF)
        | (base as u64 & 0xFF_FFFF) << 16
        | (access as u64) << 40
        | ((limit as u64 >> 16) & 0xF) << 48
        | (flags4 as u64 & 0xF) << 52
        | ((base as u64) >> 24) << 56
}

fn seg(selector: u16, base: u32, limit: u32, d: u64) -> SegReg {
    let access = (d >> 40) as u16 & 0xFF;
    let fl = (d >> 52) as u16 & 0xF;
    SegReg {
        selector,
        ar: access | fl << 12,
        base,
        limit,
    }
}

/// Linear offset of the second alias of the code with paging (PD entry 1
/// shares the page table of entry 0).
const ALIAS: u32 = 0x40_0000;
/// Base of the code segment of the second run (protected and real mode).
const CS2_BASE: u32 = 0x1000;

fn machine(mode: Mode, program: &[u8], seed: u64, flags_seed: u32) -> (Cpu, PhysMem) {
    let rom = vec![0xF4u8; 0x10000];
    let mut mem = PhysMem::new(RAM, &rom).unwrap();
    let mut rng = Rng::new(seed ^ 0xABCDEF);
    // Random data and stack contents.
    let noise: Vec<u8> = (0..0x2_0000).map(|_| rng.next() as u8).collect();
    mem.write_ram(DATA as u64, &noise);
    let mut cpu = Cpu::new();
    let s = &mut cpu.s;
    for r in 0..8 {
        s.gpr[r] = rng.u32();
    }
    s.eflags = flags::FIXED | (flags_seed & flags::STATUS);
    if mode == Mode::Real16 {
        mem.write_ram(CODE as u64, program);
        // IVT: vector v → 0060:v, a HLT.
        for v in 0..32u32 {
            mem.write_ram(4 * v as u64, &((0x0060u32 << 16) | v).to_le_bytes());
        }
        mem.write_ram(0x600, &[0xF4; 32]);
        s.cr0 = cr0::ET;
        s.seg[CS] = SegReg::real((CODE >> 4) as u16);
        s.seg[DS] = SegReg::real((DATA >> 4) as u16);
        s.seg[ES] = SegReg::real((ES_BASE >> 4) as u16);
        s.seg[FS] = SegReg::real((DATA >> 4) as u16);
        s.seg[GS] = SegReg::real((CODE >> 4) as u16);
        s.seg[SS] = SegReg::real(((STACK_TOP - 0x1_0000) >> 4) as u16);
        s.gpr[ESP] = 0xFFF0;
        s.gpr[EBP] = 0;
        s.eip = 0;
        s.idtr = TableReg {
            base: 0,
            limit: 0x3FF,
        };
        return (cpu, mem);
    }
    mem.write_ram(CODE as u64, program);
    let code32 = desc(0, 0xFFFFF, 0x9B, 0xC);
    let flat = desc(0, 0xFFFFF, 0x93, 0xC);
    let data = desc(DATA, DS_LIMIT, 0x93, 0x4);
    let small = desc(ES_BASE, ES_LIMIT, 0x93, 0x4);
    let ro = desc(DATA, DS_LIMIT, 0x91, 0x4);
    let code32b = desc(CS2_BASE, 0xFFFFF, 0x9B, 0xC);
    let gdt = [0u64, code32, flat, data, small, ro, flat, code32b];
    for (k, d) in gdt.iter().enumerate() {
        mem.write_ram(GDT as u64 + 8 * k as u64, &d.to_le_bytes());
    }
    for v in 0..32u32 {
        let off = HANDLERS + 4 * v;
        let gate = (off as u64 & 0xFFFF) | 0x08 << 16 | 0x8Eu64 << 40 | ((off as u64) >> 16) << 48;
        mem.write_ram(IDT as u64 + 8 * v as u64, &gate.to_le_bytes());
    }
    mem.write_ram(HANDLERS as u64, &[0xF4; 128]);
    s.cr0 = cr0::ET | cr0::PE;
    s.gdtr = TableReg {
        base: GDT,
        limit: 8 * 8 - 1,
    };
    s.idtr = TableReg {
        base: IDT,
        limit: 8 * 32 - 1,
    };
    s.seg[CS] = seg(0x08, 0, u32::MAX, code32);
    s.seg[SS] = seg(0x10, 0, u32::MAX, flat);
    s.seg[DS] = seg(0x18, DATA, DS_LIMIT, data);
    s.seg[ES] = seg(0x20, ES_BASE, ES_LIMIT, small);
    s.seg[FS] = seg(0x28, DATA, DS_LIMIT, ro);
    s.seg[GS] = seg(0x30, 0, u32::MAX, flat);
    s.gpr[ESP] = STACK_TOP;
    s.gpr[EBP] = 0;
    s.eip = CODE;
    if mode == Mode::Paged {
        mem.write_ram(PD as u64, &(PT | 3).to_le_bytes());
        mem.write_ram(
            PD as u64 + 4 * (ALIAS >> 22) as u64,
            &(PT | 3).to_le_bytes(),
        );
        for p in 0..1024u32 {
            let addr = p << 12;
            let mut pte = addr | 3;
            if addr == DATA + 0x2000 {
                pte = addr | 1; // read-only
            }
            if addr == DATA + 0x3000 {
                pte = addr; // not present
            }
            mem.write_ram(PT as u64 + 4 * p as u64, &pte.to_le_bytes());
        }
        s.cr3 = PD;
        s.cr0 |= cr0::PG | cr0::WP;
    }
    let _ = ar::P;
    (cpu, mem)
}

struct Outcome {
    exit: Exit,
    cpu: Cpu,
    mem: PhysMem,
}

/// EIP after the HLT that ends the program (its normal end).
fn end_eip(mode: Mode, program: &[u8]) -> u32 {
    if mode == Mode::Real16 {
        program.len() as u32
    } else {
        CODE + program.len() as u32
    }
}

/// Moves a CPU that ended the program normally to the start of the
/// program's second alias (see the module notes).
fn second_run(mode: Mode, cpu: &mut Cpu) {
    let s = &mut cpu.s;
    s.halted = false;
    match mode {
        Mode::Real16 => {
            s.seg[CS] = SegReg::real(((CODE - CS2_BASE) >> 4) as u16);
            s.eip = CS2_BASE;
        }
        Mode::Pm32 => {
            let d = desc(CS2_BASE, 0xFFFFF, 0x9B, 0xC);
            s.seg[CS] = seg(0x38, CS2_BASE, u32::MAX, d);
            s.eip = CODE - CS2_BASE;
        }
        Mode::Paged => s.eip = ALIAS + CODE,
    }
}

fn run(mode: Mode, program: &[u8], seed: u64, fs: u32, jit: Option<&mut Jit>) -> Outcome {
    let (mut cpu, mut mem) = machine(mode, program, seed, fs);
    let mut io = NoIo;
    let mut jit = jit;
    let mut first = true;
    // The second run gets fewer instructions: the first one's SMC may
    // have changed loop counts and targets, and a runaway program is slow
    // to run with every block compiled on first use.
    let mut cap = 2_000_000;
    let exit = loop {
        let e = cpu.run_with(
            &mut mem,
            &mut io,
            10_000,
            jit.as_mut().map(|j| &mut **j as &mut dyn BlockEngine),
        );
        if first && e == Exit::Halted && cpu.s.eip == end_eip(mode, program) {
            first = false;
            second_run(mode, &mut cpu);
            cap = cpu.icount + 100_000;
            continue;
        }
        if e != Exit::Yield || cpu.icount > cap {
            break e;
        }
    };
    Outcome { exit, cpu, mem }
}

fn disasm(mode: Mode, bytes: &[u8]) -> String {
    use iced_x86::{Decoder, DecoderOptions, FastFormatter};
    let bits = if mode == Mode::Real16 { 16 } else { 32 };
    let ip = if mode == Mode::Real16 { 0 } else { CODE as u64 };
    let mut d = Decoder::with_ip(bits, bytes, ip, DecoderOptions::NONE);
    let mut f = FastFormatter::new();
    let mut s = String::new();
    for i in &mut d {
        let mut t = String::new();
        f.format(&i, &mut t);
        s.push_str(&format!("  {:08x}  {t}\n", i.ip()));
    }
    s
}

fn compare(what: &str, seed: u64, mode: Mode, prog: &[u8], a: &Outcome, b: &Outcome) -> bool {
    let mut diffs = Vec::new();
    if a.exit != b.exit {
        diffs.push(format!("exit {:?} vs {:?}", a.exit, b.exit));
    }
    if a.cpu.icount != b.cpu.icount {
        diffs.push(format!("icount {} vs {}", a.cpu.icount, b.cpu.icount));
    }
    if a.cpu.s != b.cpu.s {
        let (x, y) = (&a.cpu.s, &b.cpu.s);
        for r in 0..8 {
            if x.gpr[r] != y.gpr[r] {
                diffs.push(format!("gpr[{r}] {:08x} vs {:08x}", x.gpr[r], y.gpr[r]));
            }
        }
        if x.eip != y.eip {
            diffs.push(format!("eip {:08x} vs {:08x}", x.eip, y.eip));
        }
        if x.eflags != y.eflags {
            diffs.push(format!("eflags {:08x} vs {:08x}", x.eflags, y.eflags));
        }
        diffs.push(format!("state:\n{x:?}\nvs\n{y:?}"));
    }
    let (ra, rb) = (a.mem.ram(), b.mem.ram());
    if ra != rb {
        let first = ra.iter().zip(rb).position(|(p, q)| p != q).unwrap();
        diffs.push(format!(
            "RAM differs first at {first:#x}: {:02x} vs {:02x}",
            ra[first], rb[first]
        ));
    }
    if diffs.is_empty() {
        return true;
    }
    println!(
        "MISMATCH seed {seed} ({mode:?}), interpreter vs {what}:\n  {}\nprogram:\n{}",
        diffs.join("\n  "),
        disasm(mode, prog)
    );
    false
}

#[test]
fn jit_matches_interpreter() {
    let one = std::env::var("CRANE86_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let n: u64 = std::env::var("CRANE86_FUZZ_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let seeds: Vec<u64> = match one {
        Some(s) => vec![s],
        None => (0..n).collect(),
    };
    let t = std::time::Instant::now();
    let mut jit_all = Jit::with_config(JitConfig {
        threshold: 1,
        ..JitConfig::default()
    })
    .unwrap();
    let mut jit_mixed = Jit::with_config(JitConfig {
        threshold: 2,
        chain_limit: 64,
        ..JitConfig::default()
    })
    .unwrap();
    let mut failed = Vec::new();
    let (mut insns, mut faults, mut capped) = (0u64, 0u64, 0u64);
    let mut vectors = std::collections::BTreeMap::new();
    for &seed in &seeds {
        let (mode, prog, fs) = gen_program(seed);
        if one.is_some() {
            println!("seed {seed} ({mode:?}):\n{}", disasm(mode, &prog));
        }
        let reference = run(mode, &prog, seed, fs, None);
        insns += reference.cpu.icount;
        // Halting anywhere but after the last instruction means a handler ran.
        let end = end_eip(mode, &prog);
        let end2 = match mode {
            Mode::Real16 => end + CS2_BASE,
            Mode::Pm32 => end - CS2_BASE,
            Mode::Paged => end + ALIAS,
        };
        if reference.cpu.s.eip != end2 {
            faults += 1;
            let v = if reference.exit == Exit::TripleFault {
                255
            } else if mode == Mode::Real16 {
                reference.cpu.s.eip.wrapping_sub(1)
            } else {
                reference.cpu.s.eip.wrapping_sub(HANDLERS + 1) / 4
            };
            *vectors.entry((mode, v)).or_insert(0u32) += 1;
            if v == 13 && mode == Mode::Pm32 && std::env::var("CRANE86_FUZZ_DEBUG").is_ok() {
                let sp = reference.cpu.s.gpr[ESP] as usize;
                let ram = reference.mem.ram();
                let eip = u32::from_le_bytes(ram[sp + 4..sp + 8].try_into().unwrap());
                let off = (eip - CODE) as usize;
                let line = disasm(mode, &prog[off..])
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                println!("seed {seed}: #GP at {eip:08x}: {line}");
            }
        }
        if one.is_some() {
            println!(
                "reference: exit {:?}, eip {:08x}, {} insns",
                reference.exit, reference.cpu.s.eip, reference.cpu.icount
            );
        }
        // Each run starts from fresh decode caches: blocks from another
        // program must not be reused.
        jit_all.flush();
        jit_mixed.flush();
        let a = run(mode, &prog, seed, fs, Some(&mut jit_all));
        let b = run(mode, &prog, seed, fs, Some(&mut jit_mixed));
        let ok = if reference.exit == Exit::Yield {
            // Ran into the instruction cap (a loop that does not end): the
            // engines stop at different points past it, so only the
            // outcome is compared.
            capped += 1;
            a.exit == Exit::Yield && b.exit == Exit::Yield
        } else {
            compare("jit (compile all)", seed, mode, &prog, &reference, &a)
                & compare("jit (threshold 2)", seed, mode, &prog, &reference, &b)
        };
        if !ok {
            failed.push(seed);
        }
    }
    println!(
        "fuzz: seeds {:?}..={:?} ({} programs, {} guest insns, {} ended in an exception, {} capped) in {:.1} s",
        seeds.first().unwrap(),
        seeds.last().unwrap(),
        seeds.len(),
        insns,
        faults,
        capped,
        t.elapsed().as_secs_f64()
    );
    println!("exceptions by (mode, vector; 255 = triple fault): {vectors:?}");
    println!("{}", jit_all.stats());
    assert!(
        failed.is_empty(),
        "JIT differs from the interpreter for seeds {failed:?}"
    );
}
