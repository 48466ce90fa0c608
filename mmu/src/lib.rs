//! The guest's physical address space: RAM as one host mapping, the BIOS ROM
//! (mapped below 4 GiB and aliased below 1 MiB as on a PC), MMIO regions
//! dispatched to devices, the A20 gate, and tracking of the guest pages that
//! hold translated code (so writes to them can invalidate decoded blocks).
//!
//! Paging (the linear → physical walk: 32-bit paging with 4 KiB/4 MiB
//! pages, PAE paging with 4 KiB/2 MiB pages and execute-disable, the PDPTE
//! load) lives in [`page_walk`]; the TLB that caches its results is per vCPU
//! and lives with the CPU (`crane86_cpu::tlb`).

pub mod page_walk;
mod phys;

pub use phys::{MemError, MmioHandler, PhysMem};
