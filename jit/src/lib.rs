//! The Cranelift JIT for crane86 (issue 6).
//!
//! Hot decoded blocks of the interpreter's decode cache are compiled, one
//! Cranelift function per block, and run through the interpreter's
//! [`BlockEngine`](crane86_cpu::BlockEngine) hook; cold blocks stay with the
//! interpreter, which remains the reference semantics.
//!
//! - [`translate`]: one decoded block → one Cranelift function. Common
//!   instructions (MOV, ALU with exact flags, INC/DEC, shifts by an
//!   immediate, LEA, MOVZX/MOVSX, PUSH/POP, Jcc/JMP at the block end) become
//!   inline IR; every other instruction calls [`crane86_cpu::step`], the
//!   interpreter's own semantics, through a trampoline.
//! - [`flags`]: lazy EFLAGS. An instruction records how its status flags
//!   follow from its operands (a *recipe*); only a flag a later instruction
//!   reads (Jcc, ADC, INC's carry) is computed in IR. At a block exit the
//!   recipe is handed to Rust, which materialises EFLAGS with the
//!   interpreter's `alu` functions, so the result is bit-identical.
//! - [`memory`]: effective addresses and the inline fast path for loads
//!   (segment check, TLB hit, plain RAM); stores and every other case call
//!   the interpreter's `Exec::read_mem` / `write_mem`, which keep the
//!   code-page tracking for self-modifying code.
//! - [`runtime`]: the context passed to generated code and the `extern "C"`
//!   helpers it calls.
//! - [`code_cache`]: executable memory (a bump arena, flushed whole).
//! - [`engine`]: [`Jit`]: hotness counters, compilation, the block table,
//!   chaining between compiled blocks, statistics.
//!
//! State is exact at every exit: on an exception the guest registers, EFLAGS
//! and EIP are those before the faulting instruction, as the interpreter
//! leaves them.

mod code_cache;
mod engine;
mod flags;
mod memory;
mod runtime;
mod translate;

pub use engine::{Jit, JitConfig, JitStats};

/// Why the JIT could not be set up or could not compile a block.
#[derive(Debug, thiserror::Error)]
pub enum JitError {
    #[error("host ISA not supported by Cranelift: {0}")]
    HostIsa(String),
    #[error("Cranelift setting rejected: {0}")]
    Settings(String),
    #[error("Cranelift failed to compile a block: {0}")]
    Compile(String),
    #[error("could not allocate executable memory: {0}")]
    Memory(String),
}
