//! Linux bzImage through the x86 boot protocol (Documentation/arch/x86/boot.rst),
//! entered through the real-mode setup code so that the kernel asks our BIOS
//! for the memory map, the video mode and the rest itself.
//!
//! Layout (protocol 2.02 and later, the "modern bzImage" one of boot.rst):
//!
//! | address | holds |
//! | --- | --- |
//! | 0x07C00 | the boot stub (sets the segments and SP, jumps to 9020:0000) |
//! | 0x90000 | the boot sector and setup code (setup_sects + 1 sectors, ≤ 32 KiB) |
//! | up to 0x9E000 | the setup heap, then its stack (heap_end_ptr = 0xDE00) |
//! | 0x9E000 | the command line, NUL-terminated, below the EBDA at 0x9FC00 |
//! | 0x100000 | the protected-mode kernel |
//! | high | the initrd, page-aligned, as high as initrd_addr_max and RAM allow |

use super::{
    align_up, low_ram_top, mib_ceil, size_str, stub, BootPlan, Chunk, Kind, LoadError, Module, MIB,
    STUB_ADDR, TOP_RESERVE,
};

/// Segment of the real-mode part (boot sector + setup code).
pub(super) const SETUP_SEG: u16 = 0x9000;
pub(super) const SETUP_ADDR: u64 = (SETUP_SEG as u64) << 4;
/// Largest setup code (boot sector included) we place.
const SETUP_MAX: usize = 0x8000;
/// Offset in the setup segment of the end of the heap/stack (the stack top).
pub(super) const HEAP_END: u16 = 0xE000;
pub(super) const CMDLINE_ADDR: u64 = SETUP_ADDR + HEAP_END as u64;
/// The EBDA starts here; the command line must end below it.
const CMDLINE_END: u64 = 0x9FC00;
/// The protected-mode kernel of a bzImage.
pub(super) const KERNEL_ADDR: u64 = 0x10_0000;

// Setup header fields (offsets in the image / the real-mode segment).
pub(super) mod hdr {
    pub const SETUP_SECTS: usize = 0x1F1;
    pub const SYSSIZE: usize = 0x1F4;
    pub const VID_MODE: usize = 0x1FA;
    pub const BOOT_FLAG: usize = 0x1FE;
    pub const HEADER: usize = 0x202;
    pub const VERSION: usize = 0x206;
    pub const TYPE_OF_LOADER: usize = 0x210;
    pub const LOADFLAGS: usize = 0x211;
    pub const RAMDISK_IMAGE: usize = 0x218;
    pub const RAMDISK_SIZE: usize = 0x21C;
    pub const HEAP_END_PTR: usize = 0x224;
    pub const EXT_LOADER_VER: usize = 0x226;
    pub const EXT_LOADER_TYPE: usize = 0x227;
    pub const CMD_LINE_PTR: usize = 0x228;
    pub const INITRD_ADDR_MAX: usize = 0x22C;
    pub const RELOCATABLE_KERNEL: usize = 0x234;
    pub const CMDLINE_SIZE: usize = 0x238;
    pub const PREF_ADDRESS: usize = 0x258;
    pub const INIT_SIZE: usize = 0x260;
    /// loadflags: the protected-mode code is loaded at 0x100000.
    pub const LOADED_HIGH: u8 = 1 << 0;
    /// loadflags: heap_end_ptr is valid.
    pub const CAN_USE_HEAP: u8 = 1 << 7;
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}
fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// The boot protocol version when `image` has a Linux setup header (boot
/// flag 0xAA55 and "HdrS"), else None.
pub(super) fn protocol(image: &[u8]) -> Option<u16> {
    if u16_at(image, hdr::BOOT_FLAG)? != 0xAA55
        || image.get(hdr::HEADER..hdr::HEADER + 4)? != b"HdrS"
    {
        return None;
    }
    u16_at(image, hdr::VERSION)
}

pub(super) fn prepare(
    image: &[u8],
    protocol: u16,
    initrds: &[Module],
    cmdline: &str,
    ram_size: u64,
) -> Result<BootPlan, LoadError> {
    if protocol < 0x0202 {
        return Err(LoadError::LinuxProtocolTooOld(protocol));
    }
    let setup_sects = match image[hdr::SETUP_SECTS] {
        0 => 4,
        n => usize::from(n),
    };
    let setup_len = (setup_sects + 1) * 512;
    if setup_len > SETUP_MAX {
        return Err(LoadError::LinuxSetupTooLarge(setup_len));
    }
    if image.len() <= setup_len {
        return Err(LoadError::Truncated(format!(
            "{} bytes, but the setup code alone is {setup_len}",
            image.len()
        )));
    }
    // setup_len is at least 2.5 KiB: every header field below is in range.
    let loadflags = image[hdr::LOADFLAGS];
    if loadflags & hdr::LOADED_HIGH == 0 {
        return Err(LoadError::LinuxNotBzImage);
    }
    let pm = &image[setup_len..];
    if protocol >= 0x0204 {
        let syssize = u64::from(u32_at(image, hdr::SYSSIZE).unwrap_or(0)) * 16;
        if (pm.len() as u64) < syssize {
            return Err(LoadError::Truncated(format!(
                "the protected-mode kernel is {} bytes, the header says {syssize}",
                pm.len()
            )));
        }
    }

    // How much memory the kernel needs before it reads the memory map:
    // from 2.10 on, init_size bytes from where it runs (its preferred
    // address, or 1 MiB); before, at least its own image.
    let kernel_end = KERNEL_ADDR + pm.len() as u64;
    let mut footprint_end = kernel_end;
    if protocol >= 0x020A {
        let pref = u64_at(image, hdr::PREF_ADDRESS).unwrap_or(0);
        let init_size = u64::from(u32_at(image, hdr::INIT_SIZE).unwrap_or(0));
        footprint_end = footprint_end.max(pref.max(KERNEL_ADDR) + init_size);
    }
    let have = ram_size;
    let limit = low_ram_top(ram_size).saturating_sub(TOP_RESERVE);
    if footprint_end > limit {
        return Err(LoadError::RamTooSmall {
            what: format!(
                "it unpacks to {:#x}, and crane86 keeps the top {} MiB for the BIOS",
                footprint_end,
                TOP_RESERVE / MIB
            ),
            need_mib: mib_ceil(footprint_end + TOP_RESERVE),
            have_mib: have / MIB,
        });
    }

    // The command line.
    let max_cmdline = if protocol >= 0x0206 {
        u32_at(image, hdr::CMDLINE_SIZE).unwrap_or(255) as usize
    } else {
        255
    };
    let room = (CMDLINE_END - CMDLINE_ADDR - 1) as usize;
    if cmdline.len() > max_cmdline.min(room) {
        return Err(LoadError::CmdlineTooLong {
            len: cmdline.len(),
            limit: if max_cmdline <= room {
                format!("this kernel accepts at most {max_cmdline} (boot protocol cmdline_size)")
            } else {
                format!("crane86 passes at most {room}")
            },
        });
    }

    // The initrds, concatenated (the kernel unpacks a series of cpio
    // archives, each starting on a 4-byte boundary).
    let mut initrd = Vec::new();
    for m in initrds {
        initrd.resize(align_up(initrd.len() as u64, 4) as usize, 0);
        initrd.extend_from_slice(&m.data);
    }
    let initrd_addr = if initrd.is_empty() {
        0
    } else {
        let addr_max = if protocol >= 0x0203 {
            u64::from(u32_at(image, hdr::INITRD_ADDR_MAX).unwrap_or(0x37FF_FFFF))
        } else {
            0x37FF_FFFF
        };
        let top = (addr_max + 1).min(limit);
        let size = initrd.len() as u64;
        let room = top.saturating_sub(align_up(footprint_end, 4096));
        let what = if initrds.len() == 1 {
            "the initrd".to_string()
        } else {
            format!("the {} initrds together", initrds.len())
        };
        if size > room {
            return Err(LoadError::InitrdTooLarge {
                what,
                size,
                room: room & !0xFFF,
                where_: format!("between the kernel's end at {footprint_end:#x} and {top:#x}"),
            });
        }
        (top - size) & !0xFFF
    };

    // The real-mode part with the fields a boot loader fills in.
    let mut setup = image[..setup_len].to_vec();
    put16(&mut setup, hdr::VID_MODE, 0xFFFF); // "normal"
    setup[hdr::TYPE_OF_LOADER] = 0xFF; // no assigned loader id
    setup[hdr::LOADFLAGS] = loadflags | hdr::CAN_USE_HEAP;
    put16(&mut setup, hdr::HEAP_END_PTR, HEAP_END - 0x200);
    setup[hdr::EXT_LOADER_VER] = 0;
    setup[hdr::EXT_LOADER_TYPE] = 0;
    put32(&mut setup, hdr::CMD_LINE_PTR, CMDLINE_ADDR as u32);
    put32(&mut setup, hdr::RAMDISK_IMAGE, initrd_addr as u32);
    put32(&mut setup, hdr::RAMDISK_SIZE, initrd.len() as u32);

    let mut cmd = cmdline.as_bytes().to_vec();
    cmd.push(0);

    let summary = format!(
        "Linux bzImage (boot protocol {}.{:02}{}): setup {} at {:#x}, kernel {} at {:#x}, {}command line {} bytes",
        protocol >> 8,
        protocol & 0xFF,
        if image[hdr::RELOCATABLE_KERNEL] != 0 && protocol >= 0x0205 {
            ", relocatable"
        } else {
            ""
        },
        size_str(setup_len as u64),
        SETUP_ADDR,
        size_str(pm.len() as u64),
        KERNEL_ADDR,
        if initrd.is_empty() {
            String::new()
        } else {
            format!("initrd {} at {:#x}, ", size_str(initrd.len() as u64), initrd_addr)
        },
        cmdline.len()
    );
    let mut chunks = vec![
        Chunk::Data {
            addr: STUB_ADDR,
            bytes: stub::linux(SETUP_SEG, HEAP_END),
        },
        Chunk::Data {
            addr: SETUP_ADDR,
            bytes: setup,
        },
        Chunk::Data {
            addr: CMDLINE_ADDR,
            bytes: cmd,
        },
        Chunk::Data {
            addr: KERNEL_ADDR,
            bytes: pm.to_vec(),
        },
    ];
    if !initrd.is_empty() {
        chunks.push(Chunk::Data {
            addr: initrd_addr,
            bytes: initrd,
        });
    }
    Ok(BootPlan {
        kind: Kind::Linux { protocol },
        chunks,
        summary,
    })
}
