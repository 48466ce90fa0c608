//! The IA-32 processor: architectural state, instruction semantics decoded
//! with iced-x86, protection (segmentation, privilege levels, tasks),
//! interrupt and exception delivery, and the reference interpreter.
//!
//! Semantics are methods on [`Exec`], a short-lived view of one vCPU bound
//! to the guest's memory and the board's I/O bus, so both the interpreter
//! and generated code can call the same definition of an instruction.

pub mod alu;
mod control;
mod cpuid;
pub mod decode_cache;
pub mod exception;
mod exec;
mod far_transfer;
pub mod flags;
pub mod fpu;
mod interp;
mod interrupt;
mod segmentation;
pub mod state;
mod string;
mod system;
mod task;
pub mod tlb;

pub use exception::{Exception, Result};
pub use exec::Exec;
pub use interp::{step, BlockEngine, BlockRun, Cpu, Exit};
pub use state::{CpuState, SegReg, TableReg};

/// What the CPU needs from the board: port I/O and the INTR line.
pub trait Platform {
    fn io_read(&mut self, port: u16, size: u8) -> u32;
    fn io_write(&mut self, port: u16, size: u8, value: u32);
    /// The interrupt controller asserts INTR.
    fn interrupt_pending(&mut self) -> bool;
    /// INTA cycle: the vector of the highest-priority pending interrupt.
    fn acknowledge_interrupt(&mut self) -> u8;
    /// The last port write changed the A20 gate (port 0x92, i8042): the new state.
    fn take_a20_change(&mut self) -> Option<bool> {
        None
    }
    /// The board wants control back now (exit or reset requested by a device).
    fn stop_requested(&self) -> bool {
        false
    }
    /// FERR#: an x87 instruction found an unmasked exception pending with
    /// CR0.NE=0 (`true`), or the exception was cleared (`false`). A PC
    /// routes it to IRQ 13 (and clears its latch on a write to port F0h).
    fn fpu_error(&mut self, _asserted: bool) {}
    /// The board's virtual clock in nanoseconds, if it has one: the TSC
    /// then follows it.
    fn clock_ns(&mut self) -> Option<u64> {
        None
    }
}
