//! The Cranelift JIT for crane86 (issue 6).
//!
//! Hot decoded blocks of the interpreter's decode cache are compiled into
//! *regions* and run through the interpreter's
//! [`BlockEngine`](crane86_cpu::BlockEngine) hook; cold blocks stay with the
//! interpreter, which remains the reference semantics.
//!
//! - [`translate`]: a region (a hot block and the hot blocks reachable
//!   from it by direct branches, calls, fall-through and the indirect
//!   targets seen at run time) → one Cranelift function with one Cranelift
//!   block per guest block, enterable at any of them. Guest registers and
//!   EFLAGS live in SSA variables across the whole region; branches inside
//!   it are host jumps, indirect branches (RET, JMP/CALL r/m) compare the
//!   target with the region's known targets. Common instructions (MOV, ALU
//!   with exact flags, INC/DEC, shifts by an immediate, LEA, MOVZX/MOVSX,
//!   PUSH/POP, NOT/NEG, IMUL, DIV/IDIV, CBW..CDQ, SETcc, CMOVcc, XCHG,
//!   Jcc/JMP/CALL/RET/LOOP) are inline IR; every other instruction calls
//!   [`crane86_cpu::step`], the interpreter's own semantics.
//! - [`flags`]: lazy EFLAGS. An instruction records how its status flags
//!   follow from its operands (a *recipe*); only a flag a later instruction
//!   reads is computed in IR. Across block edges the recipe travels in
//!   variables (a liveness pass decides which flags must be computed on the
//!   edge); at an exit it is handed to Rust, which materialises EFLAGS with
//!   the interpreter's `alu` functions, so the result is bit-identical.
//! - [`memory`]: effective addresses and the inline fast path for loads
//!   and stores (segment check, TLB hit when paging, plain RAM, and for
//!   stores no decoded code on the page); every other case calls the
//!   interpreter's `Exec::read_mem` / `write_mem`, which keep the
//!   code-page tracking for self-modifying code.
//! - [`runtime`]: the context passed to generated code and the `extern "C"`
//!   helpers it calls.
//! - [`code_cache`]: executable memory (a bump arena, flushed whole).
//! - [`engine`]: [`Jit`]: hotness counters, region formation and guards,
//!   compilation, chaining between regions, statistics.
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
