//! Direct kernel boot (`-kernel`, `-initrd`, `-append`), as QEMU offers it,
//! through crane86's own BIOS.
//!
//! The board calls [`prepare_files`] (or [`prepare`]) once, before the CPU
//! starts, and [`BootPlan::apply`] on every power-on and reset: the plan
//! writes the kernel, the initrd or modules, the command line and a small
//! 16-bit boot stub at 0000:7C00 into guest RAM. The board sets CMOS
//! register [`CMOS_CRANE86`] bit [`CMOS_DIRECT_BOOT`]; the BIOS runs POST as
//! usual and its INT 19h, seeing the bit, jumps to 0000:7C00 (DL = 80h)
//! instead of reading a boot sector. POST must leave [`PRESERVED_LOW`]
//! intact and must keep its own data (ACPI tables, ...) out of RAM below
//! [`TOP_RESERVE`] under the top of low RAM, where the loader puts the initrd.
//!
//! Two kinds of kernels:
//! - a Linux bzImage ([`linux`]): the real-mode setup code at 9000:0000 is
//!   entered at 9020:0000 and asks the BIOS for the memory map itself;
//! - a multiboot v1 kernel ([`multiboot`]): ELF or a.out kludge, entered in
//!   32-bit protected mode with the multiboot information structure.
//!
//! Anything else is a [`LoadError::NotAKernel`].

mod linux;
mod multiboot;
mod stub;

use crane86_mmu::PhysMem;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Where the BIOS jumps on a direct boot, and where the boot stub lives.
pub const STUB_ADDR: u64 = 0x7C00;
/// CMOS register holding crane86's firmware flags (the BIOS's `CMOS_CRANE86`).
pub const CMOS_CRANE86: u8 = 0x5F;
/// Bit 2 of CMOS 0x5F: the BIOS stops copying INT 10h text to COM1.
pub const CMOS_NO_ECHO: u8 = 0x04;
/// Bit in [`CMOS_CRANE86`]: INT 19h jumps to 0000:7C00 instead of booting a disk.
pub const CMOS_DIRECT_BOOT: u8 = 1 << 1;
/// Conventional memory the loader fills and POST must not clear or use:
/// the stub at 0x7C00 up to the EBDA (the BIOS's stack grows down from
/// 0x7C00, so it stays below).
pub const PRESERVED_LOW: Range<u64> = STUB_ADDR..0x9FC00;
/// RAM kept free under the top of low RAM for the BIOS (ACPI tables): the
/// initrd, the multiboot modules and the kernel stay below it.
pub const TOP_RESERVE: u64 = 1 << 20;

const MIB: u64 = 1 << 20;

/// What a kernel image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A Linux kernel with the x86 boot protocol header ("HdrS"); `protocol`
    /// is the version, e.g. 0x020F for 2.15.
    Linux { protocol: u16 },
    /// A multiboot v1 kernel (a header with a valid checksum in the first 8 KiB).
    Multiboot,
    /// Neither.
    Unknown,
}

/// Tells a Linux bzImage from a multiboot kernel, as QEMU does: the Linux
/// header first, then a multiboot header with a valid checksum.
pub fn detect(image: &[u8]) -> Kind {
    if let Some(protocol) = linux::protocol(image) {
        return Kind::Linux { protocol };
    }
    match multiboot::find_header(image) {
        Some(_) => Kind::Multiboot,
        None => Kind::Unknown,
    }
}

/// Why a kernel, initrd or command line cannot be booted. Each message is
/// one line meant for the user, without a "crane86:" prefix.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("-kernel: {0}")]
    NotAKernel(String),
    #[error("-kernel: Linux boot protocol {}.{:02} is too old: crane86 needs 2.02 or later (Linux 2.4 and newer)", .0 >> 8, .0 & 0xFF)]
    LinuxProtocolTooOld(u16),
    #[error("-kernel: this Linux kernel is a zImage (loaded below 1 MiB): only bzImage kernels are supported")]
    LinuxNotBzImage,
    #[error("-kernel: the Linux setup code is {0} bytes: at most 32 KiB is supported")]
    LinuxSetupTooLarge(usize),
    #[error("-kernel: the image is truncated: {0}")]
    Truncated(String),
    #[error("-kernel: {0}")]
    Multiboot(String),
    #[error("the kernel needs at least {need_mib} MiB of guest RAM ({what}); the guest has {have_mib} MiB: use a larger -m")]
    RamTooSmall {
        what: String,
        need_mib: u64,
        have_mib: u64,
    },
    #[error("-append: the kernel command line is {len} bytes: {limit}")]
    CmdlineTooLong { len: usize, limit: String },
    #[error("-append: the kernel command line contains a NUL byte")]
    CmdlineNul,
    #[error("-initrd: {what} is {size} bytes but only {room} bytes of guest RAM are free for it ({where_}): use a larger -m")]
    InitrdTooLarge {
        what: String,
        size: u64,
        room: u64,
        where_: String,
    },
    #[error("-initrd: {0}")]
    BadInitrdList(String),
}

/// One `-initrd` item: the file's bytes and the item as written, `path args`
/// (a multiboot module's string; Linux ignores it).
#[derive(Debug, Clone)]
pub struct Module {
    pub cmdline: String,
    pub data: Vec<u8>,
}

/// Splits a `-initrd` value into items as QEMU does: items separated by
/// commas (",," is a literal comma); in each, the file name runs to the
/// first space and the rest are the module's arguments.
pub fn split_initrd_list(spec: &str) -> Result<Vec<(String, PathBuf)>, LoadError> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                cur.push(',');
                continue;
            }
            items.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    items.push(cur);
    items
        .into_iter()
        .map(|item| {
            let item = item.trim().to_string();
            let path = item.split(' ').next().unwrap_or("").to_string();
            if path.is_empty() {
                return Err(LoadError::BadInitrdList(format!(
                    "empty file name in the list '{spec}'"
                )));
            }
            Ok((item, PathBuf::from(path)))
        })
        .collect()
}

/// Reads every `-initrd` item (see [`split_initrd_list`]).
pub fn read_initrds(spec: &str) -> Result<Vec<Module>, LoadError> {
    split_initrd_list(spec)?
        .into_iter()
        .map(|(cmdline, path)| {
            let data = std::fs::read(&path).map_err(|source| LoadError::Read { path, source })?;
            Ok(Module { cmdline, data })
        })
        .collect()
}

/// Reads the kernel and the initrd files and prepares the boot: the whole
/// of `-kernel FILE -initrd LIST -append CMDLINE` for a guest with
/// `ram_size` bytes of RAM.
pub fn prepare_files(
    kernel: &Path,
    initrd: Option<&str>,
    append: &str,
    ram_size: u64,
) -> Result<BootPlan, LoadError> {
    let image = std::fs::read(kernel).map_err(|source| LoadError::Read {
        path: kernel.to_path_buf(),
        source,
    })?;
    let modules = match initrd {
        Some(spec) => read_initrds(spec)?,
        None => Vec::new(),
    };
    prepare(
        &image,
        &kernel.to_string_lossy(),
        &modules,
        append,
        ram_size,
    )
}

/// Checks the kernel, the initrds and the command line against each other
/// and against `ram_size`, and lays them out in guest RAM. `kernel_name` is
/// the kernel's file name (multiboot passes "name cmdline" to the kernel, as
/// QEMU and GRUB do).
pub fn prepare(
    kernel: &[u8],
    kernel_name: &str,
    initrds: &[Module],
    cmdline: &str,
    ram_size: u64,
) -> Result<BootPlan, LoadError> {
    if cmdline.contains('\0') {
        return Err(LoadError::CmdlineNul);
    }
    match detect(kernel) {
        Kind::Linux { protocol } => linux::prepare(kernel, protocol, initrds, cmdline, ram_size),
        Kind::Multiboot => multiboot::prepare(kernel, kernel_name, initrds, cmdline, ram_size),
        Kind::Unknown => Err(LoadError::NotAKernel(unknown_reason(kernel))),
    }
}

fn unknown_reason(image: &[u8]) -> String {
    let what = if image.is_empty() {
        "the file is empty".to_string()
    } else if let Some(off) = multiboot::bad_checksum_header(image) {
        format!("its multiboot header at offset {off:#x} has a bad checksum")
    } else if image.starts_with(b"\x7FELF") {
        "it is an ELF file without a multiboot header (a vmlinux? use the bzImage, e.g. arch/x86/boot/bzImage)".to_string()
    } else if image.len() >= 0x200 && image[0x1FE..0x200] == [0x55, 0xAA] {
        "it is a boot sector without a Linux setup header (use -hda for disk images)".to_string()
    } else {
        "no Linux boot header (\"HdrS\" at 0x202) and no multiboot header in the first 8 KiB"
            .to_string()
    };
    format!("not a Linux bzImage or multiboot kernel: {what}")
}

/// One thing the plan puts in RAM.
#[derive(Debug, Clone)]
pub enum Chunk {
    Data { addr: u64, bytes: Vec<u8> },
    Zero { addr: u64, len: u64 },
}

impl Chunk {
    pub fn range(&self) -> Range<u64> {
        match self {
            Chunk::Data { addr, bytes } => *addr..addr + bytes.len() as u64,
            Chunk::Zero { addr, len } => *addr..addr + len,
        }
    }
}

/// A checked layout of a direct boot: what goes where in guest RAM.
#[derive(Debug, Clone)]
pub struct BootPlan {
    pub kind: Kind,
    pub chunks: Vec<Chunk>,
    /// Where the pieces went, for `-d` style logs: one line.
    pub summary: String,
}

impl BootPlan {
    /// Writes everything into guest RAM (bss and the like zeroed). Call it
    /// at power-on and on every reset, before the CPU runs: the kernel
    /// overwrites its own image while it runs.
    pub fn apply(&self, mem: &mut PhysMem) {
        debug_assert!(self.chunks.iter().all(|c| {
            let r = c.range();
            r.start >= MIB || (PRESERVED_LOW.start <= r.start && r.end <= PRESERVED_LOW.end)
        }));
        for c in &self.chunks {
            match c {
                Chunk::Data { addr, bytes } => mem.write_ram(*addr, bytes),
                Chunk::Zero { addr, len } => {
                    static BLOCK: [u8; 65536] = [0; 65536];
                    let mut at = *addr;
                    let end = addr + len;
                    while at < end {
                        let n = (end - at).min(BLOCK.len() as u64) as usize;
                        mem.write_ram(at, &BLOCK[..n]);
                        at += n as u64;
                    }
                }
            }
        }
    }

    /// The value to OR into CMOS register [`CMOS_CRANE86`].
    pub fn cmos_flags(&self) -> u8 {
        CMOS_DIRECT_BOOT
    }
}

/// A memory-map entry as INT 15h E820 reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct E820Entry {
    pub base: u64,
    pub len: u64,
    /// 1 = usable RAM, 2 = reserved.
    pub kind: u32,
}

/// Where the PCI hole starts: RAM beyond it is mapped above 4 GiB (as the
/// CMOS memory bytes and the BIOS say).
const LOW_RAM_LIMIT: u64 = 0xE000_0000;

/// The memory map crane86's BIOS builds in POST for `ram_size` bytes of RAM
/// (firmware/bios/post.asm, post_e820, from the CMOS sizes the board sets
/// with `Mc146818::set_memory_size`).
pub fn bios_e820(ram_size: u64) -> Vec<E820Entry> {
    let below = ram_size.min(LOW_RAM_LIMIT);
    let above = ram_size - below;
    let e = |base, len, kind| E820Entry { base, len, kind };
    let mut map = vec![
        e(0, 0x9FC00, 1),
        e(0x9FC00, 0x400, 2),
        e(0xE0000, 0x20000, 2),
    ];
    let ext = low_ram_top(ram_size) - MIB;
    if ext > 0 {
        map.push(e(MIB, ext, 1));
    }
    map.push(e(0xFFFC_0000, 0x40000, 2));
    let high_units = (above >> 16).min(0xFF_FFFF);
    if high_units > 0 {
        map.push(e(1 << 32, high_units << 16, 1));
    }
    map
}

/// End of the usable RAM that starts at 1 MiB, as the BIOS reports it: the
/// CMOS counts 64 KiB units above 16 MiB, or KiB above 1 MiB (at most
/// 0xFFFF) for smaller machines.
pub fn low_ram_top(ram_size: u64) -> u64 {
    let below = ram_size.min(LOW_RAM_LIMIT);
    let units_16m = (below.saturating_sub(16 * MIB) >> 16).min(0xFFFF);
    if units_16m > 0 {
        16 * MIB + (units_16m << 16)
    } else {
        MIB + ((below.saturating_sub(MIB) >> 10).min(0xFFFF) << 10)
    }
}

fn align_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
}

fn mib_ceil(v: u64) -> u64 {
    v.div_ceil(MIB)
}

fn size_str(n: u64) -> String {
    if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else if n < 1024 {
        format!("{n} bytes")
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

#[cfg(test)]
mod tests;
