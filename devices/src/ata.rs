//! An ATA (IDE) channel as specified by ATA/ATAPI-6 (T13/1410D), PIO only:
//! the command block registers at base..base+7 (0x1F0 on the primary
//! channel), the device control / alternate status register (0x3F6), up to
//! two ATA hard disks (device 0 "master", device 1 "slave") and the INTRQ
//! line (IRQ 14 on the primary channel).
//!
//! Implemented: IDENTIFY DEVICE, READ/WRITE SECTORS, READ/WRITE SECTORS EXT,
//! READ/WRITE MULTIPLE (and EXT), SET MULTIPLE MODE, INITIALIZE DEVICE
//! PARAMETERS, READ VERIFY, SEEK, RECALIBRATE, SET FEATURES, FLUSH CACHE
//! (EXT), EXECUTE DEVICE DIAGNOSTIC, the power-management commands, CHS,
//! LBA28 and LBA48 addressing, the 48-bit register "FIFO" read back through
//! the HOB bit, nIEN and software reset. Anything else is aborted (ABRT), as
//! is any write to a read-only disk.
//!
//! Commands complete instantly: BSY is only ever seen while SRST is held.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::{size_mask, PortDevice};

/// A disk image the channel reads and writes in whole sectors.
pub trait BlockBackend: Send {
    /// Size in bytes.
    fn len(&self) -> u64;
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()>;
    fn read_only(&self) -> bool;
    /// Make completed writes durable (FLUSH CACHE).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn read_only_error() -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, "disk is read-only")
}

fn out_of_range_error() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "access beyond end of disk")
}

fn check_range(offset: u64, len: usize, size: u64) -> io::Result<()> {
    match offset.checked_add(len as u64) {
        Some(end) if end <= size => Ok(()),
        _ => Err(out_of_range_error()),
    }
}

/// A disk image in a host file. The file never grows.
pub struct FileDisk {
    file: File,
    len: u64,
    read_only: bool,
}

impl FileDisk {
    /// Open `path`, read-write unless `read_only`.
    pub fn open(path: impl AsRef<Path>, read_only: bool) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(!read_only).open(path)?;
        Self::from_file(file, read_only)
    }

    /// Use an already open file (it must be writable unless `read_only`).
    pub fn from_file(file: File, read_only: bool) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(FileDisk {
            file,
            len,
            read_only,
        })
    }
}

impl BlockBackend for FileDisk {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.len)?;
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read_exact(buf)
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
        if self.read_only {
            return Err(read_only_error());
        }
        check_range(offset, buf.len(), self.len)?;
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.write_all(buf)
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.file.sync_data()
    }
}

/// A disk image held in memory.
pub struct MemDisk {
    data: Vec<u8>,
    read_only: bool,
}

impl MemDisk {
    pub fn new(data: Vec<u8>) -> Self {
        MemDisk {
            data,
            read_only: false,
        }
    }

    pub fn new_read_only(data: Vec<u8>) -> Self {
        MemDisk {
            data,
            read_only: true,
        }
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    pub fn into_data(self) -> Vec<u8> {
        self.data
    }
}

impl BlockBackend for MemDisk {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.len())?;
        let start = offset as usize;
        buf.copy_from_slice(&self.data[start..start + buf.len()]);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
        if self.read_only {
            return Err(read_only_error());
        }
        check_range(offset, buf.len(), self.len())?;
        let start = offset as usize;
        self.data[start..start + buf.len()].copy_from_slice(buf);
        Ok(())
    }

    fn read_only(&self) -> bool {
        self.read_only
    }
}

pub const PRIMARY_CMD_BASE: u16 = 0x1F0;
pub const PRIMARY_CTRL_PORT: u16 = 0x3F6;
pub const SECONDARY_CMD_BASE: u16 = 0x170;
pub const SECONDARY_CTRL_PORT: u16 = 0x376;

const SECTOR: usize = 512;
/// Largest block of READ/WRITE MULTIPLE we offer (IDENTIFY word 47).
const MAX_MULTIPLE: u8 = 16;

// Command block register offsets.
const REG_DATA: u16 = 0;
const REG_ERROR_FEATURES: u16 = 1;
const REG_COUNT: u16 = 2;
const REG_LBA_LOW: u16 = 3;
const REG_LBA_MID: u16 = 4;
const REG_LBA_HIGH: u16 = 5;
const REG_DEVICE: u16 = 6;
const REG_STATUS_COMMAND: u16 = 7;

// Status bits.
const ST_BSY: u8 = 0x80;
const ST_DRDY: u8 = 0x40;
const ST_DSC: u8 = 0x10;
const ST_DRQ: u8 = 0x08;
const ST_ERR: u8 = 0x01;
const ST_READY: u8 = ST_DRDY | ST_DSC;

// Error bits.
const ERR_ABRT: u8 = 0x04;
const ERR_IDNF: u8 = 0x10;
const ERR_UNC: u8 = 0x40;

// Device register bits.
const DEV_DEV1: u8 = 0x10;
const DEV_LBA: u8 = 0x40;

// Device control bits.
const CTL_NIEN: u8 = 0x02;
const CTL_SRST: u8 = 0x04;
const CTL_HOB: u8 = 0x80;

// Commands.
const CMD_READ_SECTORS: u8 = 0x20;
const CMD_READ_SECTORS_NORETRY: u8 = 0x21;
const CMD_READ_SECTORS_EXT: u8 = 0x24;
const CMD_READ_MULTIPLE_EXT: u8 = 0x29;
const CMD_WRITE_SECTORS: u8 = 0x30;
const CMD_WRITE_SECTORS_NORETRY: u8 = 0x31;
const CMD_WRITE_SECTORS_EXT: u8 = 0x34;
const CMD_WRITE_MULTIPLE_EXT: u8 = 0x39;
const CMD_READ_VERIFY: u8 = 0x40;
const CMD_READ_VERIFY_NORETRY: u8 = 0x41;
const CMD_READ_VERIFY_EXT: u8 = 0x42;
const CMD_SEEK: u8 = 0x70;
const CMD_EXECUTE_DIAGNOSTIC: u8 = 0x90;
const CMD_INITIALIZE_PARAMS: u8 = 0x91;
const CMD_READ_MULTIPLE: u8 = 0xC4;
const CMD_WRITE_MULTIPLE: u8 = 0xC5;
const CMD_SET_MULTIPLE: u8 = 0xC6;
const CMD_STANDBY_IMMEDIATE: u8 = 0xE0;
const CMD_IDLE_IMMEDIATE: u8 = 0xE1;
const CMD_STANDBY: u8 = 0xE2;
const CMD_IDLE: u8 = 0xE3;
const CMD_CHECK_POWER_MODE: u8 = 0xE5;
const CMD_SLEEP: u8 = 0xE6;
const CMD_FLUSH_CACHE: u8 = 0xE7;
const CMD_FLUSH_CACHE_EXT: u8 = 0xEA;
const CMD_IDENTIFY: u8 = 0xEC;
const CMD_SET_FEATURES: u8 = 0xEF;

/// What the data port is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transfer {
    Idle,
    /// Device-to-host data with nothing after it (IDENTIFY).
    Identify,
    /// Sectors to the host; `next` is the first sector not yet in the buffer.
    Read {
        next: u64,
        remaining: u32,
        block: u32,
        lba48: bool,
    },
    /// Sectors from the host; the buffer is destined for `lba`.
    Write {
        lba: u64,
        remaining: u32,
        block: u32,
        lba48: bool,
    },
}

/// One ATA hard disk.
struct Drive {
    backend: Box<dyn BlockBackend>,
    sectors: u64,
    default_cyls: u16,
    default_heads: u8,
    default_spt: u8,
    cur_cyls: u16,
    cur_heads: u8,
    cur_spt: u8,
    /// Sectors per DRQ block for READ/WRITE MULTIPLE; 0 = disabled.
    multiple: u8,
    status: u8,
    error: u8,
    /// INTRQ pending (cleared by reading Status or writing a command).
    intrq: bool,
    buffer: Vec<u8>,
    pos: usize,
    len: usize,
    xfer: Transfer,
    serial: String,
}

/// Default CHS geometry for a disk of `sectors` (16 heads, 63 sectors per
/// track, up to 16383 cylinders), as BIOSes and IDENTIFY word 1/3/6 use it.
fn default_geometry(sectors: u64) -> (u16, u8, u8) {
    let cyls = (sectors / (16 * 63)).clamp(1, 16383);
    (cyls as u16, 16, 63)
}

impl Drive {
    fn new(backend: Box<dyn BlockBackend>, index: usize) -> Self {
        let sectors = backend.len() / SECTOR as u64;
        let (c, h, s) = default_geometry(sectors);
        Drive {
            backend,
            sectors,
            default_cyls: c,
            default_heads: h,
            default_spt: s,
            cur_cyls: c,
            cur_heads: h,
            cur_spt: s,
            multiple: 0,
            status: ST_READY,
            // Power-on diagnostics passed.
            error: 0x01,
            intrq: false,
            buffer: vec![0; SECTOR * usize::from(MAX_MULTIPLE)],
            pos: 0,
            len: 0,
            xfer: Transfer::Idle,
            serial: format!("CRANE86-{index:04}"),
        }
    }

    fn finish_ok(&mut self) {
        self.status = ST_READY;
        self.error = 0;
        self.xfer = Transfer::Idle;
        self.len = 0;
        self.intrq = true;
    }

    fn finish_error(&mut self, error: u8) {
        self.status = ST_READY | ST_ERR;
        self.error = error;
        self.xfer = Transfer::Idle;
        self.len = 0;
        self.intrq = true;
    }

    /// After reset or EXECUTE DEVICE DIAGNOSTIC.
    fn reset_state(&mut self) {
        self.status = ST_READY;
        self.error = 0x01;
        self.xfer = Transfer::Idle;
        self.len = 0;
        self.pos = 0;
    }

    fn identify_data(&self) -> [u16; 256] {
        let mut w = [0u16; 256];
        let put_str = |w: &mut [u16; 256], first: usize, words: usize, s: &str| {
            // Two characters per word, the first in the high byte,
            // space-padded.
            let bytes: Vec<u8> = s
                .bytes()
                .chain(std::iter::repeat(b' '))
                .take(words * 2)
                .collect();
            for i in 0..words {
                w[first + i] = u16::from_be_bytes([bytes[2 * i], bytes[2 * i + 1]]);
            }
        };
        w[0] = 0x0040; // fixed (non-removable) ATA device
        w[1] = self.default_cyls;
        w[2] = 0xC837; // no SET FEATURES spin-up needed, response complete
        w[3] = u16::from(self.default_heads);
        w[6] = u16::from(self.default_spt);
        put_str(&mut w, 10, 10, &self.serial);
        put_str(&mut w, 23, 4, env!("CARGO_PKG_VERSION"));
        put_str(&mut w, 27, 20, "CRANE86 HARDDISK");
        w[47] = 0x8000 | u16::from(MAX_MULTIPLE);
        // LBA supported, IORDY supported and may be disabled; no DMA.
        w[49] = 0x0E00;
        w[50] = 0x4000;
        w[51] = 0x0200; // PIO timing mode 2 (obsolete field)
        w[53] = 0x0003; // words 54-58 and 64-70 valid
        w[54] = self.cur_cyls;
        w[55] = u16::from(self.cur_heads);
        w[56] = u16::from(self.cur_spt);
        let chs_capacity =
            u32::from(self.cur_cyls) * u32::from(self.cur_heads) * u32::from(self.cur_spt);
        w[57] = chs_capacity as u16;
        w[58] = (chs_capacity >> 16) as u16;
        if self.multiple != 0 {
            w[59] = 0x0100 | u16::from(self.multiple);
        }
        let lba28 = self.sectors.min(0x0FFF_FFFF) as u32;
        w[60] = lba28 as u16;
        w[61] = (lba28 >> 16) as u16;
        w[64] = 0x0003; // PIO modes 3 and 4
        w[65] = 120;
        w[66] = 120;
        w[67] = 120;
        w[68] = 120;
        w[80] = 0x007E; // ATA-1 through ATA/ATAPI-6
                        // Supported / enabled command sets: NOP, write cache, power
                        // management; FLUSH CACHE (EXT) and 48-bit addressing.
        w[82] = 0x4028;
        w[83] = 0x4000 | 0x2000 | 0x1000 | 0x0400;
        w[84] = 0x4000;
        w[85] = 0x4028;
        w[86] = 0x2000 | 0x1000 | 0x0400;
        w[87] = 0x4000;
        for (i, word) in w[100..104].iter_mut().enumerate() {
            *word = (self.sectors >> (16 * i)) as u16;
        }
        // Integrity word: signature A5h, then a checksum making the sum of
        // all 512 bytes zero.
        w[255] = 0x00A5;
        let sum = w
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .fold(0u8, |a, b| a.wrapping_add(b));
        w[255] |= u16::from(sum.wrapping_neg()) << 8;
        w
    }
}

/// Which command family a transfer command belongs to.
#[derive(Clone, Copy)]
struct XferCmd {
    write: bool,
    lba48: bool,
    multiple: bool,
}

/// An ATA channel with up to two disks.
pub struct AtaChannel {
    cmd_base: u16,
    ctrl_port: u16,
    drives: [Option<Drive>; 2],
    // Task file shared by both devices (both latch every write). Each
    // register keeps its previous value for 48-bit commands: [current, HOB].
    features: [u8; 2],
    count: [u8; 2],
    lba_low: [u8; 2],
    lba_mid: [u8; 2],
    lba_high: [u8; 2],
    device: u8,
    control: u8,
}

impl AtaChannel {
    /// A channel with its command block at `cmd_base` and its device
    /// control register at `ctrl_port`, with no disks attached.
    pub fn new(cmd_base: u16, ctrl_port: u16) -> Self {
        AtaChannel {
            cmd_base,
            ctrl_port,
            drives: [None, None],
            features: [0; 2],
            count: [1, 0],
            lba_low: [1, 0],
            lba_mid: [0; 2],
            lba_high: [0; 2],
            device: 0,
            control: 0,
        }
    }

    /// The primary channel: 0x1F0-0x1F7 and 0x3F6 (IRQ 14).
    pub fn primary() -> Self {
        Self::new(PRIMARY_CMD_BASE, PRIMARY_CTRL_PORT)
    }

    /// Attach a disk as device 0 (master) or 1 (slave); other indices are
    /// ignored.
    pub fn attach(&mut self, device: usize, backend: Box<dyn BlockBackend>) {
        if let Some(slot) = self.drives.get_mut(device) {
            *slot = Some(Drive::new(backend, device));
        }
    }

    /// Remove a disk, handing back its backend.
    pub fn detach(&mut self, device: usize) -> Option<Box<dyn BlockBackend>> {
        self.drives
            .get_mut(device)
            .and_then(Option::take)
            .map(|d| d.backend)
    }

    /// Ports of the command block (8 ports from here).
    pub fn cmd_base(&self) -> u16 {
        self.cmd_base
    }

    /// Port of the device control / alternate status register.
    pub fn ctrl_port(&self) -> u16 {
        self.ctrl_port
    }

    /// Hardware reset of the channel (as at power-on or a bus reset).
    pub fn reset(&mut self) {
        self.control = 0;
        self.soft_reset_done();
        for d in self.drives.iter_mut().flatten() {
            d.multiple = 0;
            d.cur_cyls = d.default_cyls;
            d.cur_heads = d.default_heads;
            d.cur_spt = d.default_spt;
            d.intrq = false;
        }
    }

    /// Level of the INTRQ line: only the selected device drives it, and
    /// only while nIEN is clear.
    pub fn irq_level(&self) -> bool {
        self.control & CTL_NIEN == 0 && self.selected_drive().is_some_and(|d| d.intrq)
    }

    fn selected(&self) -> usize {
        usize::from(self.device & DEV_DEV1 != 0)
    }

    fn selected_drive(&self) -> Option<&Drive> {
        self.drives[self.selected()].as_ref()
    }

    fn any_drive(&self) -> bool {
        self.drives.iter().any(Option::is_some)
    }

    fn hob(&self) -> usize {
        usize::from(self.control & CTL_HOB != 0)
    }

    /// End of a software reset: both devices post their signature and
    /// diagnostic code, and device 0 is selected.
    fn soft_reset_done(&mut self) {
        for d in self.drives.iter_mut().flatten() {
            d.reset_state();
        }
        self.set_signature();
    }

    fn set_signature(&mut self) {
        // ATA device signature: count 01h, LBA 00_00_01h, device 00h.
        self.count = [1, 0];
        self.lba_low = [1, 0];
        self.lba_mid = [0, 0];
        self.lba_high = [0, 0];
        self.device = 0;
    }

    fn read_status(&mut self, clear_irq: bool) -> u8 {
        if !self.any_drive() {
            // Nothing drives the bus.
            return 0xFF;
        }
        let sel = self.selected();
        match self.drives[sel].as_mut() {
            Some(d) => {
                if clear_irq {
                    d.intrq = false;
                }
                d.status
            }
            // Device 0 answers for an absent device 1 with 00h.
            None => 0,
        }
    }

    fn read_reg(&mut self, offset: u16) -> u8 {
        if !self.any_drive() {
            return 0xFF;
        }
        let hob = self.hob();
        match offset {
            REG_ERROR_FEATURES => {
                let sel = self.selected();
                let d = self.drives[sel].as_ref().or(self.drives[sel ^ 1].as_ref());
                d.map_or(0, |d| d.error)
            }
            REG_COUNT => self.count[hob],
            REG_LBA_LOW => self.lba_low[hob],
            REG_LBA_MID => self.lba_mid[hob],
            REG_LBA_HIGH => self.lba_high[hob],
            REG_DEVICE => self.device,
            REG_STATUS_COMMAND => self.read_status(true),
            _ => 0xFF,
        }
    }

    fn write_reg(&mut self, offset: u16, value: u8) {
        // Writing any command block register clears HOB.
        self.control &= !CTL_HOB;
        let push = |r: &mut [u8; 2]| {
            r[1] = r[0];
            r[0] = value;
        };
        match offset {
            REG_ERROR_FEATURES => push(&mut self.features),
            REG_COUNT => push(&mut self.count),
            REG_LBA_LOW => push(&mut self.lba_low),
            REG_LBA_MID => push(&mut self.lba_mid),
            REG_LBA_HIGH => push(&mut self.lba_high),
            REG_DEVICE => self.device = value,
            REG_STATUS_COMMAND => self.command(value),
            _ => {}
        }
    }

    fn write_control(&mut self, value: u8) {
        let was_reset = self.control & CTL_SRST != 0;
        self.control = value;
        let reset = value & CTL_SRST != 0;
        if reset && !was_reset {
            for d in self.drives.iter_mut().flatten() {
                d.status = ST_BSY;
                d.xfer = Transfer::Idle;
                d.len = 0;
                d.intrq = false;
            }
        } else if !reset && was_reset {
            self.soft_reset_done();
        }
    }

    /// The selected drive together with the address registers it updates.
    fn selected_with_task_file(&mut self) -> Option<(&mut Drive, TaskFile<'_>, u8)> {
        let device = self.device;
        let sel = self.selected();
        let d = self.drives[sel].as_mut()?;
        let tf = TaskFile {
            count: &mut self.count,
            low: &mut self.lba_low,
            mid: &mut self.lba_mid,
            high: &mut self.lba_high,
            device: &mut self.device,
        };
        Some((d, tf, device))
    }

    fn read_data(&mut self, bytes: usize) -> u32 {
        let mask = size_mask(bytes as u8);
        if !self.any_drive() {
            return mask;
        }
        let Some((d, mut tf, device)) = self.selected_with_task_file() else {
            return 0;
        };
        if d.status & ST_DRQ == 0 || d.xfer == Transfer::Idle {
            return mask;
        }
        // 8-bit accesses still move a whole word (16-bit interface).
        let n = bytes.max(2);
        let mut v = 0u32;
        for i in 0..n {
            let b = if d.pos < d.len { d.buffer[d.pos] } else { 0xFF };
            d.pos += 1;
            v |= u32::from(b) << (8 * i);
            if d.pos >= d.len {
                Self::read_block_done(d, device, &mut tf);
                break;
            }
        }
        v & mask
    }

    fn write_data(&mut self, bytes: usize, value: u32) {
        let Some((d, mut tf, device)) = self.selected_with_task_file() else {
            return;
        };
        if d.status & ST_DRQ == 0 || !matches!(d.xfer, Transfer::Write { .. }) {
            return;
        }
        let n = bytes.max(2);
        for i in 0..n {
            if d.pos < d.len {
                d.buffer[d.pos] = (value >> (8 * i)) as u8;
            }
            d.pos += 1;
            if d.pos >= d.len {
                Self::write_block_done(d, device, &mut tf);
                break;
            }
        }
    }

    /// The host has read the whole buffer: load the next block or finish.
    fn read_block_done(d: &mut Drive, device: u8, tf: &mut TaskFile<'_>) {
        match d.xfer {
            Transfer::Read { remaining: 0, .. } | Transfer::Identify | Transfer::Idle => {
                // Data-in commands end without another interrupt.
                d.status = ST_READY;
                d.xfer = Transfer::Idle;
                d.len = 0;
            }
            Transfer::Read { .. } => Self::load_read_block(d, device, tf),
            Transfer::Write { .. } => {}
        }
    }

    fn load_read_block(d: &mut Drive, device: u8, tf: &mut TaskFile<'_>) {
        let Transfer::Read {
            next,
            remaining,
            block,
            lba48,
        } = d.xfer
        else {
            return;
        };
        let n = block.min(remaining);
        let bytes = n as usize * SECTOR;
        if d.backend
            .read_at(next * SECTOR as u64, &mut d.buffer[..bytes])
            .is_err()
        {
            tf.set_address(d, next, lba48, device);
            d.finish_error(ERR_UNC);
            return;
        }
        d.pos = 0;
        d.len = bytes;
        let remaining = remaining - n;
        d.xfer = Transfer::Read {
            next: next + u64::from(n),
            remaining,
            block,
            lba48,
        };
        tf.set_address(d, next + u64::from(n) - 1, lba48, device);
        tf.count[0] = remaining as u8;
        d.status = ST_READY | ST_DRQ;
        d.error = 0;
        d.intrq = true;
    }

    /// The host has filled the buffer: write it out, then ask for the next
    /// block or finish.
    fn write_block_done(d: &mut Drive, device: u8, tf: &mut TaskFile<'_>) {
        let Transfer::Write {
            lba,
            remaining,
            block,
            lba48,
        } = d.xfer
        else {
            return;
        };
        let n = block.min(remaining);
        let bytes = n as usize * SECTOR;
        if d.backend
            .write_at(lba * SECTOR as u64, &d.buffer[..bytes])
            .is_err()
        {
            tf.set_address(d, lba, lba48, device);
            d.finish_error(ERR_ABRT);
            return;
        }
        let remaining = remaining - n;
        tf.set_address(d, lba + u64::from(n) - 1, lba48, device);
        tf.count[0] = remaining as u8;
        if remaining == 0 {
            d.finish_ok();
            return;
        }
        d.xfer = Transfer::Write {
            lba: lba + u64::from(n),
            remaining,
            block,
            lba48,
        };
        d.pos = 0;
        d.len = block.min(remaining) as usize * SECTOR;
        d.status = ST_READY | ST_DRQ;
        d.intrq = true;
    }

    /// Starting sector of a 28-bit command, from LBA or CHS registers.
    /// `None` for a CHS address outside the current geometry.
    fn address28(&self, d: &Drive) -> Option<u64> {
        if self.device & DEV_LBA != 0 {
            return Some(
                u64::from(self.device & 0x0F) << 24
                    | u64::from(self.lba_high[0]) << 16
                    | u64::from(self.lba_mid[0]) << 8
                    | u64::from(self.lba_low[0]),
            );
        }
        let cyl = u64::from(u16::from_le_bytes([self.lba_mid[0], self.lba_high[0]]));
        let head = u64::from(self.device & 0x0F);
        let sector = u64::from(self.lba_low[0]);
        let (cyls, heads, spt) = (
            u64::from(d.cur_cyls),
            u64::from(d.cur_heads),
            u64::from(d.cur_spt),
        );
        if sector == 0 || sector > spt || head >= heads || cyl >= cyls {
            return None;
        }
        Some((cyl * heads + head) * spt + sector - 1)
    }

    fn address48(&self) -> u64 {
        let bytes = [
            self.lba_low[0],
            self.lba_mid[0],
            self.lba_high[0],
            self.lba_low[1],
            self.lba_mid[1],
            self.lba_high[1],
            0,
            0,
        ];
        u64::from_le_bytes(bytes)
    }

    fn sector_count(&self, lba48: bool) -> u32 {
        if lba48 {
            match u16::from_le_bytes([self.count[0], self.count[1]]) {
                0 => 65536,
                n => u32::from(n),
            }
        } else {
            match self.count[0] {
                0 => 256,
                n => u32::from(n),
            }
        }
    }

    /// Start address and count of a sector command, or the error to post.
    fn sector_range(&self, d: &Drive, lba48: bool) -> Result<(u64, u32), u8> {
        let count = self.sector_count(lba48);
        let lba = if lba48 {
            self.address48()
        } else {
            self.address28(d).ok_or(ERR_IDNF)?
        };
        if lba + u64::from(count) > d.sectors {
            return Err(ERR_IDNF);
        }
        Ok((lba, count))
    }

    fn command(&mut self, cmd: u8) {
        if self.control & CTL_SRST != 0 {
            return;
        }
        let sel = self.selected();
        if self.drives[sel].is_none() {
            // Device 0 executes EXECUTE DEVICE DIAGNOSTIC for the channel;
            // any other command to an absent device goes nowhere.
            if cmd == CMD_EXECUTE_DIAGNOSTIC {
                self.execute_diagnostic();
            }
            return;
        }
        {
            let d = self.drives[sel].as_mut().expect("checked above");
            if d.status & ST_BSY != 0 {
                return;
            }
            // A new command cancels any pending interrupt and transfer.
            d.intrq = false;
            d.xfer = Transfer::Idle;
            d.len = 0;
        }
        let xfer = |write, lba48, multiple| {
            Some(XferCmd {
                write,
                lba48,
                multiple,
            })
        };
        let kind = match cmd {
            CMD_READ_SECTORS | CMD_READ_SECTORS_NORETRY => xfer(false, false, false),
            CMD_READ_SECTORS_EXT => xfer(false, true, false),
            CMD_READ_MULTIPLE => xfer(false, false, true),
            CMD_READ_MULTIPLE_EXT => xfer(false, true, true),
            CMD_WRITE_SECTORS | CMD_WRITE_SECTORS_NORETRY => xfer(true, false, false),
            CMD_WRITE_SECTORS_EXT => xfer(true, true, false),
            CMD_WRITE_MULTIPLE => xfer(true, false, true),
            CMD_WRITE_MULTIPLE_EXT => xfer(true, true, true),
            _ => None,
        };
        if let Some(kind) = kind {
            self.start_transfer(kind);
            return;
        }
        match cmd {
            CMD_IDENTIFY => {
                let d = self.drives[sel].as_mut().expect("present");
                let words = d.identify_data();
                for (i, w) in words.iter().enumerate() {
                    d.buffer[2 * i..2 * i + 2].copy_from_slice(&w.to_le_bytes());
                }
                d.pos = 0;
                d.len = SECTOR;
                d.xfer = Transfer::Identify;
                d.status = ST_READY | ST_DRQ;
                d.error = 0;
                d.intrq = true;
            }
            CMD_READ_VERIFY | CMD_READ_VERIFY_NORETRY | CMD_READ_VERIFY_EXT => {
                let lba48 = cmd == CMD_READ_VERIFY_EXT;
                let d = self.drives[sel].as_ref().expect("present");
                let result = self.sector_range(d, lba48);
                let d = self.drives[sel].as_mut().expect("present");
                match result {
                    Ok(_) => d.finish_ok(),
                    Err(e) => d.finish_error(e),
                }
            }
            0x10..=0x1F => self.drives[sel].as_mut().expect("present").finish_ok(),
            CMD_SEEK => {
                let d = self.drives[sel].as_ref().expect("present");
                let ok = if self.device & DEV_LBA != 0 {
                    self.address28(d).is_some_and(|lba| lba < d.sectors)
                } else {
                    self.address28(d).is_some()
                };
                let d = self.drives[sel].as_mut().expect("present");
                if ok {
                    d.finish_ok()
                } else {
                    d.finish_error(ERR_IDNF)
                }
            }
            CMD_EXECUTE_DIAGNOSTIC => self.execute_diagnostic(),
            CMD_INITIALIZE_PARAMS => {
                let spt = self.count[0];
                let heads = (self.device & 0x0F) + 1;
                let d = self.drives[sel].as_mut().expect("present");
                if spt == 0 {
                    d.finish_error(ERR_ABRT);
                } else {
                    let per_cyl = u64::from(heads) * u64::from(spt);
                    d.cur_heads = heads;
                    d.cur_spt = spt;
                    d.cur_cyls = (d.sectors / per_cyl).min(0xFFFF) as u16;
                    d.finish_ok();
                }
            }
            CMD_SET_MULTIPLE => {
                let n = self.count[0];
                let d = self.drives[sel].as_mut().expect("present");
                if n == 0 || (n.is_power_of_two() && n <= MAX_MULTIPLE) {
                    d.multiple = n;
                    d.finish_ok();
                } else {
                    d.finish_error(ERR_ABRT);
                }
            }
            CMD_SET_FEATURES => {
                // Transfer modes, write cache, look-ahead, reverting to
                // defaults: nothing here depends on them.
                self.drives[sel].as_mut().expect("present").finish_ok();
            }
            CMD_FLUSH_CACHE | CMD_FLUSH_CACHE_EXT => {
                let d = self.drives[sel].as_mut().expect("present");
                match d.backend.flush() {
                    Ok(()) => d.finish_ok(),
                    Err(_) => d.finish_error(ERR_ABRT),
                }
            }
            CMD_CHECK_POWER_MODE => {
                // Always active/idle.
                self.count[0] = 0xFF;
                self.drives[sel].as_mut().expect("present").finish_ok();
            }
            CMD_STANDBY_IMMEDIATE | CMD_IDLE_IMMEDIATE | CMD_STANDBY | CMD_IDLE | CMD_SLEEP => {
                self.drives[sel].as_mut().expect("present").finish_ok();
            }
            // NOP (00h) always completes with ABRT; everything else is
            // unknown (including IDENTIFY PACKET DEVICE, DMA and queued
            // commands).
            _ => self.drives[sel]
                .as_mut()
                .expect("present")
                .finish_error(ERR_ABRT),
        }
    }

    fn execute_diagnostic(&mut self) {
        for d in self.drives.iter_mut().flatten() {
            d.reset_state();
            d.intrq = false;
        }
        self.set_signature();
        // Device 0 reports (and interrupts) for the channel; if only device
        // 1 exists it reports itself.
        if let Some(d) = self.drives.iter_mut().flatten().next() {
            d.intrq = true;
        }
    }

    fn start_transfer(&mut self, kind: XferCmd) {
        let sel = self.selected();
        let d = self.drives[sel].as_ref().expect("present");
        let range = self.sector_range(d, kind.lba48);
        let multiple = d.multiple;
        let read_only = d.backend.read_only();
        let Some((d, mut tf, device)) = self.selected_with_task_file() else {
            return;
        };
        if kind.multiple && multiple == 0 {
            d.finish_error(ERR_ABRT);
            return;
        }
        if kind.write && read_only {
            d.finish_error(ERR_ABRT);
            return;
        }
        let (lba, count) = match range {
            Ok(r) => r,
            Err(e) => {
                d.finish_error(e);
                return;
            }
        };
        let block = if kind.multiple {
            u32::from(multiple)
        } else {
            1
        };
        if kind.write {
            d.xfer = Transfer::Write {
                lba,
                remaining: count,
                block,
                lba48: kind.lba48,
            };
            d.pos = 0;
            d.len = block.min(count) as usize * SECTOR;
            d.status = ST_READY | ST_DRQ;
            d.error = 0;
            // No interrupt before the first block of a write.
        } else {
            d.xfer = Transfer::Read {
                next: lba,
                remaining: count,
                block,
                lba48: kind.lba48,
            };
            Self::load_read_block(d, device, &mut tf);
        }
    }

    fn offset(&self, port: u16) -> Option<u16> {
        let off = port.wrapping_sub(self.cmd_base);
        (off < 8).then_some(off)
    }
}

/// Mutable view of the address registers, so a drive can post the address
/// it reached while the channel holds the drive borrowed.
struct TaskFile<'a> {
    count: &'a mut [u8; 2],
    low: &'a mut [u8; 2],
    mid: &'a mut [u8; 2],
    high: &'a mut [u8; 2],
    device: &'a mut u8,
}

impl TaskFile<'_> {
    /// Post sector `lba` in the form the command used (48-bit, LBA28 or CHS).
    fn set_address(&mut self, d: &Drive, lba: u64, lba48: bool, device: u8) {
        let b = lba.to_le_bytes();
        if lba48 {
            *self.low = [b[0], b[3]];
            *self.mid = [b[1], b[4]];
            *self.high = [b[2], b[5]];
        } else if device & DEV_LBA != 0 {
            self.low[0] = b[0];
            self.mid[0] = b[1];
            self.high[0] = b[2];
            *self.device = (device & 0xF0) | (b[3] & 0x0F);
        } else {
            let spt = u64::from(d.cur_spt.max(1));
            let heads = u64::from(d.cur_heads.max(1));
            let sector = lba % spt + 1;
            let head = (lba / spt) % heads;
            let cyl = lba / spt / heads;
            self.low[0] = sector as u8;
            self.mid[0] = cyl as u8;
            self.high[0] = (cyl >> 8) as u8;
            *self.device = (device & 0xF0) | (head as u8 & 0x0F);
        }
    }
}

impl PortDevice for AtaChannel {
    fn port_read(&mut self, port: u16, size: u8, _now_ns: u64) -> u32 {
        if port == self.ctrl_port {
            // Alternate status: same as status but leaves INTRQ alone.
            return u32::from(self.read_status(false)) | (size_mask(size) & !0xFF);
        }
        match self.offset(port) {
            Some(REG_DATA) => self.read_data(usize::from(size.clamp(1, 4))),
            Some(_) => crate::split_read(port, size, |p| match p.wrapping_sub(self.cmd_base) {
                o @ 1..=7 => self.read_reg(o),
                _ => 0xFF,
            }),
            None => size_mask(size),
        }
    }

    fn port_write(&mut self, port: u16, size: u8, value: u32, _now_ns: u64) {
        if port == self.ctrl_port {
            self.write_control(value as u8);
            return;
        }
        match self.offset(port) {
            Some(REG_DATA) => self.write_data(usize::from(size.clamp(1, 4)), value),
            Some(_) => crate::split_write(port, size, value, |p, b| {
                if let o @ 1..=7 = p.wrapping_sub(self.cmd_base) {
                    self.write_reg(o, b);
                }
            }),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const BASE: u16 = PRIMARY_CMD_BASE;
    const CTRL: u16 = PRIMARY_CTRL_PORT;

    /// A huge disk that stores only the sectors written to it.
    struct SparseDisk {
        len: u64,
        sectors: HashMap<u64, Vec<u8>>,
    }

    impl BlockBackend for SparseDisk {
        fn len(&self) -> u64 {
            self.len
        }
        fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            check_range(offset, buf.len(), self.len)?;
            for (i, chunk) in buf.chunks_mut(SECTOR).enumerate() {
                let s = offset / SECTOR as u64 + i as u64;
                match self.sectors.get(&s) {
                    Some(data) => chunk.copy_from_slice(data),
                    None => chunk.fill(0),
                }
            }
            Ok(())
        }
        fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
            for (i, chunk) in buf.chunks(SECTOR).enumerate() {
                let s = offset / SECTOR as u64 + i as u64;
                self.sectors.insert(s, chunk.to_vec());
            }
            Ok(())
        }
        fn read_only(&self) -> bool {
            false
        }
    }

    /// A disk whose writes fail with an I/O error.
    struct FailingDisk;
    impl BlockBackend for FailingDisk {
        fn len(&self) -> u64 {
            1 << 20
        }
        fn read_at(&mut self, _: u64, _: &mut [u8]) -> io::Result<()> {
            Err(io::Error::other("bad medium"))
        }
        fn write_at(&mut self, _: u64, _: &[u8]) -> io::Result<()> {
            Err(io::Error::other("bad medium"))
        }
        fn read_only(&self) -> bool {
            false
        }
    }

    /// Sector `n` filled with a recognizable pattern.
    fn pattern(n: u64) -> Vec<u8> {
        (0..SECTOR)
            .map(|i| (n as usize * 7 + i) as u8 ^ 0x5A)
            .collect()
    }

    fn mem_channel(sectors: u64) -> AtaChannel {
        let mut data = Vec::with_capacity(sectors as usize * SECTOR);
        for n in 0..sectors {
            data.extend(pattern(n));
        }
        let mut ch = AtaChannel::primary();
        ch.attach(0, Box::new(MemDisk::new(data)));
        ch
    }

    fn out8(ch: &mut AtaChannel, off: u16, v: u8) {
        ch.port_write(BASE + off, 1, u32::from(v), 0);
    }

    fn in8(ch: &mut AtaChannel, off: u16) -> u8 {
        ch.port_read(BASE + off, 1, 0) as u8
    }

    fn alt_status(ch: &mut AtaChannel) -> u8 {
        ch.port_read(CTRL, 1, 0) as u8
    }

    fn lba28_cmd(ch: &mut AtaChannel, cmd: u8, lba: u32, count: u8) {
        out8(ch, REG_COUNT, count);
        out8(ch, REG_LBA_LOW, lba as u8);
        out8(ch, REG_LBA_MID, (lba >> 8) as u8);
        out8(ch, REG_LBA_HIGH, (lba >> 16) as u8);
        out8(ch, REG_DEVICE, 0xE0 | ((lba >> 24) as u8 & 0x0F));
        out8(ch, REG_STATUS_COMMAND, cmd);
    }

    fn lba48_cmd(ch: &mut AtaChannel, cmd: u8, lba: u64, count: u16) {
        let b = lba.to_le_bytes();
        let c = count.to_le_bytes();
        out8(ch, REG_COUNT, c[1]);
        out8(ch, REG_LBA_LOW, b[3]);
        out8(ch, REG_LBA_MID, b[4]);
        out8(ch, REG_LBA_HIGH, b[5]);
        out8(ch, REG_COUNT, c[0]);
        out8(ch, REG_LBA_LOW, b[0]);
        out8(ch, REG_LBA_MID, b[1]);
        out8(ch, REG_LBA_HIGH, b[2]);
        out8(ch, REG_DEVICE, 0x40);
        out8(ch, REG_STATUS_COMMAND, cmd);
    }

    fn read_sector_words(ch: &mut AtaChannel) -> Vec<u8> {
        let mut v = Vec::new();
        for _ in 0..256 {
            v.extend((ch.port_read(BASE, 2, 0) as u16).to_le_bytes());
        }
        v
    }

    fn write_sector_words(ch: &mut AtaChannel, data: &[u8]) {
        for w in data.chunks(2) {
            ch.port_write(BASE, 2, u32::from(u16::from_le_bytes([w[0], w[1]])), 0);
        }
    }

    fn identify(ch: &mut AtaChannel) -> Vec<u16> {
        out8(ch, REG_DEVICE, 0xA0);
        out8(ch, REG_STATUS_COMMAND, CMD_IDENTIFY);
        assert!(ch.irq_level());
        assert_eq!(in8(ch, REG_STATUS_COMMAND), ST_READY | ST_DRQ);
        assert!(!ch.irq_level(), "status read acknowledges INTRQ");
        let words: Vec<u16> = (0..256).map(|_| ch.port_read(BASE, 2, 0) as u16).collect();
        assert_eq!(alt_status(ch), ST_READY, "DRQ drops after the last word");
        assert!(!ch.irq_level(), "no interrupt at the end of data-in");
        words
    }

    fn ata_string(words: &[u16]) -> String {
        words
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .map(char::from)
            .collect()
    }

    #[test]
    fn identify_device_words() {
        let mut ch = mem_channel(16384); // 8 MiB
        let w = identify(&mut ch);
        assert_eq!(w[0], 0x0040);
        assert_eq!((w[1], w[3], w[6]), (16, 16, 63));
        assert_eq!(
            ata_string(&w[27..47]),
            format!("{:<40}", "CRANE86 HARDDISK")
        );
        assert!(ata_string(&w[10..20]).starts_with("CRANE86-0000"));
        assert_eq!(w[47], 0x8000 | 16);
        assert_ne!(w[49] & 0x0200, 0, "LBA supported");
        assert_eq!(w[49] & 0x0100, 0, "no DMA claimed");
        assert_eq!(w[53] & 0x0001, 1);
        assert_eq!((w[54], w[55], w[56]), (16, 16, 63));
        assert_eq!(u32::from(w[57]) | u32::from(w[58]) << 16, 16 * 16 * 63);
        assert_eq!(w[59], 0, "multiple mode off");
        assert_eq!(u32::from(w[60]) | u32::from(w[61]) << 16, 16384);
        assert_ne!(w[83] & 0x0400, 0, "48-bit address feature set");
        assert_ne!(w[86] & 0x0400, 0);
        assert_eq!(w[83] & 0xC000, 0x4000);
        assert_eq!(w[100], 16384);
        assert_eq!((w[101], w[102], w[103]), (0, 0, 0));
        // Integrity word.
        assert_eq!(w[255] & 0xFF, 0xA5);
        let sum = w
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .fold(0u8, |a, b| a.wrapping_add(b));
        assert_eq!(sum, 0);
    }

    #[test]
    fn identify_capacity_beyond_lba28() {
        let sectors: u64 = (1 << 29) + 5;
        let mut ch = AtaChannel::primary();
        ch.attach(
            0,
            Box::new(SparseDisk {
                len: sectors * SECTOR as u64,
                sectors: HashMap::new(),
            }),
        );
        let w = identify(&mut ch);
        assert_eq!((w[1], w[3], w[6]), (16383, 16, 63));
        assert_eq!(u32::from(w[60]) | u32::from(w[61]) << 16, 0x0FFF_FFFF);
        let cap = (0..4).fold(0u64, |a, i| a | u64::from(w[100 + i]) << (16 * i));
        assert_eq!(cap, sectors);
    }

    #[test]
    fn read_sectors_lba28_with_16_and_32_bit_data_reads() {
        let mut ch = mem_channel(64);
        lba28_cmd(&mut ch, CMD_READ_SECTORS, 5, 2);
        assert!(ch.irq_level());
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY | ST_DRQ);
        assert_eq!(read_sector_words(&mut ch), pattern(5));
        // Next sector: DRQ again, with a new interrupt.
        assert!(ch.irq_level());
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY | ST_DRQ);
        let mut v = Vec::new();
        for _ in 0..128 {
            v.extend(ch.port_read(BASE, 4, 0).to_le_bytes());
        }
        assert_eq!(v, pattern(6));
        assert_eq!(alt_status(&mut ch), ST_READY);
        // The address registers point at the last sector transferred.
        assert_eq!(in8(&mut ch, REG_LBA_LOW), 6);
        assert_eq!(in8(&mut ch, REG_COUNT), 0);
    }

    #[test]
    fn write_then_read_round_trip() {
        let mut ch = mem_channel(64);
        lba28_cmd(&mut ch, CMD_WRITE_SECTORS, 10, 3);
        assert!(!ch.irq_level(), "no interrupt before the first block");
        assert_eq!(alt_status(&mut ch), ST_READY | ST_DRQ);
        for n in 0..3u64 {
            write_sector_words(&mut ch, &pattern(100 + n));
            assert!(ch.irq_level(), "interrupt after each block");
            let st = in8(&mut ch, REG_STATUS_COMMAND);
            if n < 2 {
                assert_eq!(st, ST_READY | ST_DRQ);
            } else {
                assert_eq!(st, ST_READY);
            }
        }
        lba28_cmd(&mut ch, CMD_READ_SECTORS, 10, 3);
        for n in 0..3u64 {
            assert_eq!(read_sector_words(&mut ch), pattern(100 + n));
        }
        // Neighbours untouched.
        lba28_cmd(&mut ch, CMD_READ_SECTORS, 9, 1);
        assert_eq!(read_sector_words(&mut ch), pattern(9));
        lba28_cmd(&mut ch, CMD_READ_SECTORS, 13, 1);
        assert_eq!(read_sector_words(&mut ch), pattern(13));
        // 32-bit writes work too.
        lba28_cmd(&mut ch, CMD_WRITE_SECTORS, 20, 1);
        for d in pattern(200).chunks(4) {
            ch.port_write(BASE, 4, u32::from_le_bytes([d[0], d[1], d[2], d[3]]), 0);
        }
        assert_eq!(alt_status(&mut ch), ST_READY);
        let disk = ch.detach(0).unwrap();
        let mut buf = vec![0; SECTOR];
        let mut disk = disk;
        disk.read_at(20 * SECTOR as u64, &mut buf).unwrap();
        assert_eq!(buf, pattern(200));
    }

    #[test]
    fn lba48_read_write_and_hob_readback() {
        let sectors: u64 = 1 << 33;
        let mut ch = AtaChannel::primary();
        ch.attach(
            0,
            Box::new(SparseDisk {
                len: sectors * SECTOR as u64,
                sectors: HashMap::new(),
            }),
        );
        let lba: u64 = 0x1_2345_6789;
        lba48_cmd(&mut ch, CMD_WRITE_SECTORS_EXT, lba, 2);
        write_sector_words(&mut ch, &pattern(1));
        write_sector_words(&mut ch, &pattern(2));
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY);
        lba48_cmd(&mut ch, CMD_READ_SECTORS_EXT, lba + 1, 1);
        assert_eq!(read_sector_words(&mut ch), pattern(2));
        lba48_cmd(&mut ch, CMD_READ_SECTORS_EXT, lba, 1);
        assert_eq!(read_sector_words(&mut ch), pattern(1));
        // Address posted in both halves; HOB selects the previous bytes.
        assert_eq!(in8(&mut ch, REG_LBA_LOW), 0x89);
        assert_eq!(in8(&mut ch, REG_LBA_HIGH), 0x45);
        ch.port_write(CTRL, 1, u32::from(CTL_HOB), 0);
        assert_eq!(in8(&mut ch, REG_LBA_LOW), 0x23);
        assert_eq!(in8(&mut ch, REG_LBA_MID), 0x01);
        // Any command block write clears HOB.
        out8(&mut ch, REG_FEATURES_FOR_TEST, 0);
        assert_eq!(in8(&mut ch, REG_LBA_LOW), 0x89);
    }

    const REG_FEATURES_FOR_TEST: u16 = REG_ERROR_FEATURES;

    #[test]
    fn register_fifo_keeps_previous_value() {
        let mut ch = mem_channel(8);
        out8(&mut ch, REG_COUNT, 0x12);
        out8(&mut ch, REG_COUNT, 0x34);
        assert_eq!(in8(&mut ch, REG_COUNT), 0x34);
        ch.port_write(CTRL, 1, 0x80, 0);
        assert_eq!(in8(&mut ch, REG_COUNT), 0x12);
    }

    #[test]
    fn lba48_count_zero_means_65536() {
        let mut ch = mem_channel(64);
        lba48_cmd(&mut ch, CMD_READ_SECTORS_EXT, 0, 0);
        // 65536 sectors do not fit on a 64-sector disk.
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY | ST_ERR);
        assert_eq!(in8(&mut ch, REG_ERROR_FEATURES), ERR_IDNF);
    }

    #[test]
    fn read_only_disk_aborts_writes() {
        let mut data = Vec::new();
        for n in 0..16 {
            data.extend(pattern(n));
        }
        let mut ch = AtaChannel::primary();
        ch.attach(0, Box::new(MemDisk::new_read_only(data)));
        for cmd in [CMD_WRITE_SECTORS, CMD_WRITE_SECTORS_EXT] {
            if cmd == CMD_WRITE_SECTORS_EXT {
                lba48_cmd(&mut ch, cmd, 1, 1);
            } else {
                lba28_cmd(&mut ch, cmd, 1, 1);
            }
            assert!(ch.irq_level());
            assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY | ST_ERR);
            assert_eq!(in8(&mut ch, REG_ERROR_FEATURES), ERR_ABRT);
            // No data phase: writes to the data port go nowhere.
            write_sector_words(&mut ch, &[0u8; SECTOR]);
        }
        lba28_cmd(&mut ch, CMD_READ_SECTORS, 1, 1);
        assert_eq!(read_sector_words(&mut ch), pattern(1));
    }

    #[test]
    fn io_errors_are_reported() {
        let mut ch = AtaChannel::primary();
        ch.attach(0, Box::new(FailingDisk));
        lba28_cmd(&mut ch, CMD_READ_SECTORS, 3, 1);
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY | ST_ERR);
        assert_eq!(in8(&mut ch, REG_ERROR_FEATURES), ERR_UNC);
        lba28_cmd(&mut ch, CMD_WRITE_SECTORS, 3, 1);
        write_sector_words(&mut ch, &[0u8; SECTOR]);
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY | ST_ERR);
        assert_eq!(in8(&mut ch, REG_ERROR_FEATURES), ERR_ABRT);
    }

    #[test]
    fn out_of_range_is_idnf() {
        let mut ch = mem_channel(64);
        lba28_cmd(&mut ch, CMD_READ_SECTORS, 63, 2);
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY | ST_ERR);
        assert_eq!(in8(&mut ch, REG_ERROR_FEATURES), ERR_IDNF);
        lba28_cmd(&mut ch, CMD_READ_SECTORS, 63, 1);
        assert_eq!(read_sector_words(&mut ch), pattern(63));
        lba28_cmd(&mut ch, CMD_READ_VERIFY, 60, 10);
        assert_eq!(in8(&mut ch, REG_ERROR_FEATURES), ERR_IDNF);
        lba28_cmd(&mut ch, CMD_READ_VERIFY, 60, 4);
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY);
    }

    #[test]
    fn chs_addressing_and_initialize_device_parameters() {
        let mut ch = mem_channel(16 * 63 * 4);
        // C=1 H=2 S=3 with the default 16 heads x 63 sectors.
        out8(&mut ch, REG_COUNT, 1);
        out8(&mut ch, REG_LBA_LOW, 3);
        out8(&mut ch, REG_LBA_MID, 1);
        out8(&mut ch, REG_LBA_HIGH, 0);
        out8(&mut ch, REG_DEVICE, 0xA0 | 2);
        out8(&mut ch, REG_STATUS_COMMAND, CMD_READ_SECTORS);
        assert_eq!(read_sector_words(&mut ch), pattern((16 + 2) * 63 + 2));
        // Sector 0 does not exist in CHS.
        out8(&mut ch, REG_LBA_LOW, 0);
        out8(&mut ch, REG_STATUS_COMMAND, CMD_READ_SECTORS);
        assert_eq!(in8(&mut ch, REG_ERROR_FEATURES), ERR_IDNF);

        // Switch to 4 heads x 17 sectors.
        out8(&mut ch, REG_COUNT, 17);
        out8(&mut ch, REG_DEVICE, 0xA0 | 3);
        out8(&mut ch, REG_STATUS_COMMAND, CMD_INITIALIZE_PARAMS);
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY);
        let w = identify(&mut ch);
        assert_eq!((w[55], w[56]), (4, 17));
        assert_eq!(w[54], (16 * 63 * 4 / (4 * 17)) as u16);
        assert_eq!((w[3], w[6]), (16, 63), "default geometry unchanged");
        // C=2 H=3 S=17 -> (2*4+3)*17+16.
        out8(&mut ch, REG_COUNT, 1);
        out8(&mut ch, REG_LBA_LOW, 17);
        out8(&mut ch, REG_LBA_MID, 2);
        out8(&mut ch, REG_LBA_HIGH, 0);
        out8(&mut ch, REG_DEVICE, 0xA0 | 3);
        out8(&mut ch, REG_STATUS_COMMAND, CMD_READ_SECTORS);
        assert_eq!(read_sector_words(&mut ch), pattern((2 * 4 + 3) * 17 + 16));
        // Head 4 is outside the geometry now.
        out8(&mut ch, REG_DEVICE, 0xA0 | 4);
        out8(&mut ch, REG_STATUS_COMMAND, CMD_READ_SECTORS);
        assert_eq!(in8(&mut ch, REG_ERROR_FEATURES), ERR_IDNF);
        // Zero sectors per track is refused.
        out8(&mut ch, REG_COUNT, 0);
        out8(&mut ch, REG_STATUS_COMMAND, CMD_INITIALIZE_PARAMS);
        assert_eq!(in8(&mut ch, REG_ERROR_FEATURES), ERR_ABRT);
    }

    #[test]
    fn chs_address_posted_after_transfer() {
        let mut ch = mem_channel(16 * 63 * 2);
        // C=0 H=0 S=63, two sectors: the second is C=0 H=1 S=1.
        out8(&mut ch, REG_COUNT, 2);
        out8(&mut ch, REG_LBA_LOW, 63);
        out8(&mut ch, REG_LBA_MID, 0);
        out8(&mut ch, REG_LBA_HIGH, 0);
        out8(&mut ch, REG_DEVICE, 0xA0);
        out8(&mut ch, REG_STATUS_COMMAND, CMD_READ_SECTORS);
        read_sector_words(&mut ch);
        assert_eq!(read_sector_words(&mut ch), pattern(63));
        assert_eq!(in8(&mut ch, REG_LBA_LOW), 1);
        assert_eq!(in8(&mut ch, REG_DEVICE), 0xA1);
    }

    #[test]
    fn read_write_multiple() {
        let mut ch = mem_channel(64);
        lba28_cmd(&mut ch, CMD_READ_MULTIPLE, 0, 4);
        assert_eq!(
            in8(&mut ch, REG_ERROR_FEATURES),
            ERR_ABRT,
            "multiple mode off"
        );
        for bad in [3u8, 32] {
            out8(&mut ch, REG_COUNT, bad);
            out8(&mut ch, REG_STATUS_COMMAND, CMD_SET_MULTIPLE);
            assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY | ST_ERR);
        }
        out8(&mut ch, REG_COUNT, 4);
        out8(&mut ch, REG_STATUS_COMMAND, CMD_SET_MULTIPLE);
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY);
        assert_eq!(identify(&mut ch)[59], 0x0104);

        // 10 sectors: blocks of 4, 4, 2, one interrupt per block.
        lba28_cmd(&mut ch, CMD_READ_MULTIPLE, 20, 10);
        let mut got = Vec::new();
        for block in [4, 4, 2] {
            assert!(ch.irq_level());
            assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY | ST_DRQ);
            for _ in 0..block {
                got.extend(read_sector_words(&mut ch));
            }
        }
        assert!(!ch.irq_level());
        assert_eq!(alt_status(&mut ch), ST_READY);
        let want: Vec<u8> = (20..30).flat_map(pattern).collect();
        assert_eq!(got, want);

        lba28_cmd(&mut ch, CMD_WRITE_MULTIPLE, 40, 6);
        assert!(!ch.irq_level());
        for n in 0..4 {
            write_sector_words(&mut ch, &pattern(300 + n));
        }
        assert!(ch.irq_level());
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY | ST_DRQ);
        for n in 4..6 {
            write_sector_words(&mut ch, &pattern(300 + n));
        }
        assert!(ch.irq_level());
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY);
        lba48_cmd(&mut ch, CMD_READ_MULTIPLE_EXT, 40, 6);
        let got: Vec<u8> = (0..6).flat_map(|_| read_sector_words(&mut ch)).collect();
        let want: Vec<u8> = (300..306).flat_map(pattern).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn nien_masks_intrq_without_losing_it() {
        let mut ch = mem_channel(8);
        ch.port_write(CTRL, 1, u32::from(CTL_NIEN), 0);
        lba28_cmd(&mut ch, CMD_READ_SECTORS, 0, 1);
        assert!(!ch.irq_level());
        ch.port_write(CTRL, 1, 0, 0);
        assert!(ch.irq_level());
        // Alternate status does not acknowledge; status does.
        alt_status(&mut ch);
        assert!(ch.irq_level());
        in8(&mut ch, REG_STATUS_COMMAND);
        assert!(!ch.irq_level());
    }

    #[test]
    fn software_reset_posts_signature() {
        let mut ch = mem_channel(8);
        lba28_cmd(&mut ch, CMD_READ_SECTORS, 2, 1);
        out8(&mut ch, REG_DEVICE, 0xE5);
        ch.port_write(CTRL, 1, u32::from(CTL_SRST), 0);
        assert_eq!(alt_status(&mut ch), ST_BSY);
        assert!(!ch.irq_level());
        // Commands are ignored while reset is held.
        out8(&mut ch, REG_STATUS_COMMAND, CMD_IDENTIFY);
        assert_eq!(alt_status(&mut ch), ST_BSY);
        ch.port_write(CTRL, 1, 0, 0);
        assert_eq!(alt_status(&mut ch), ST_READY);
        assert_eq!(in8(&mut ch, REG_ERROR_FEATURES), 0x01);
        assert_eq!(in8(&mut ch, REG_COUNT), 1);
        assert_eq!(in8(&mut ch, REG_LBA_LOW), 1);
        assert_eq!(in8(&mut ch, REG_LBA_MID), 0);
        assert_eq!(in8(&mut ch, REG_LBA_HIGH), 0);
        assert_eq!(in8(&mut ch, REG_DEVICE), 0);
        // The interrupted transfer is gone.
        assert_eq!(ch.port_read(BASE, 2, 0), 0xFFFF);
    }

    #[test]
    fn execute_device_diagnostic() {
        let mut ch = mem_channel(8);
        out8(&mut ch, REG_DEVICE, 0xB0); // even with device 1 (absent) selected
        out8(&mut ch, REG_STATUS_COMMAND, CMD_EXECUTE_DIAGNOSTIC);
        assert!(ch.irq_level());
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY);
        assert_eq!(in8(&mut ch, REG_ERROR_FEATURES), 0x01);
        assert_eq!(in8(&mut ch, REG_DEVICE), 0);
    }

    #[test]
    fn absent_slave_and_empty_channel() {
        let mut ch = mem_channel(8);
        out8(&mut ch, REG_DEVICE, 0xB0);
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), 0);
        assert_eq!(alt_status(&mut ch), 0);
        // Registers are still shadowed by device 0 (drivers probe this way).
        out8(&mut ch, REG_COUNT, 0x55);
        out8(&mut ch, REG_LBA_LOW, 0xAA);
        assert_eq!(in8(&mut ch, REG_COUNT), 0x55);
        assert_eq!(in8(&mut ch, REG_LBA_LOW), 0xAA);
        out8(&mut ch, REG_STATUS_COMMAND, CMD_IDENTIFY);
        assert!(!ch.irq_level());
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), 0);
        // Device 0 is unaffected.
        out8(&mut ch, REG_DEVICE, 0xA0);
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY);

        let mut empty = AtaChannel::primary();
        assert_eq!(in8(&mut empty, REG_STATUS_COMMAND), 0xFF);
        assert_eq!(alt_status(&mut empty), 0xFF);
        assert_eq!(in8(&mut empty, REG_COUNT), 0xFF);
        assert_eq!(empty.port_read(BASE, 2, 0), 0xFFFF);
        out8(&mut empty, REG_STATUS_COMMAND, CMD_IDENTIFY);
        assert!(!empty.irq_level());
    }

    #[test]
    fn slave_disk_is_independent() {
        let mut ch = mem_channel(8);
        let mut data = Vec::new();
        for n in 50..58 {
            data.extend(pattern(n));
        }
        ch.attach(1, Box::new(MemDisk::new(data)));
        out8(&mut ch, REG_COUNT, 1);
        out8(&mut ch, REG_LBA_LOW, 0);
        out8(&mut ch, REG_LBA_MID, 0);
        out8(&mut ch, REG_LBA_HIGH, 0);
        out8(&mut ch, REG_DEVICE, 0xF0);
        out8(&mut ch, REG_STATUS_COMMAND, CMD_READ_SECTORS);
        assert!(ch.irq_level());
        assert_eq!(read_sector_words(&mut ch), pattern(50));
        // Selecting device 0 hides device 1's INTRQ.
        assert!(ch.irq_level());
        out8(&mut ch, REG_DEVICE, 0xE0);
        assert!(!ch.irq_level());
        assert!(identify(&mut ch)[10..20] != [0u16; 10]);
    }

    #[test]
    fn unknown_commands_and_nop_abort() {
        let mut ch = mem_channel(8);
        for cmd in [0x00, 0xA1, 0xC8, 0xCA, 0x08, 0xFF] {
            out8(&mut ch, REG_DEVICE, 0xA0);
            out8(&mut ch, REG_STATUS_COMMAND, cmd);
            assert!(ch.irq_level(), "cmd {cmd:#x}");
            assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY | ST_ERR);
            assert_eq!(in8(&mut ch, REG_ERROR_FEATURES), ERR_ABRT);
        }
        // Accepted housekeeping commands.
        for cmd in [
            CMD_SET_FEATURES,
            CMD_FLUSH_CACHE,
            CMD_FLUSH_CACHE_EXT,
            0x10,
            CMD_IDLE_IMMEDIATE,
            CMD_STANDBY_IMMEDIATE,
        ] {
            out8(&mut ch, REG_STATUS_COMMAND, cmd);
            assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY, "cmd {cmd:#x}");
        }
        out8(&mut ch, REG_STATUS_COMMAND, CMD_CHECK_POWER_MODE);
        assert_eq!(in8(&mut ch, REG_COUNT), 0xFF);
    }

    #[test]
    fn file_disk_round_trip() {
        let path = std::env::temp_dir().join(format!("crane86-ata-{}.img", std::process::id()));
        std::fs::write(&path, vec![0u8; 8 * SECTOR]).unwrap();
        let mut ch = AtaChannel::primary();
        ch.attach(0, Box::new(FileDisk::open(&path, false).unwrap()));
        lba28_cmd(&mut ch, CMD_WRITE_SECTORS, 7, 1);
        write_sector_words(&mut ch, &pattern(7));
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY);
        out8(&mut ch, REG_STATUS_COMMAND, CMD_FLUSH_CACHE);
        assert_eq!(in8(&mut ch, REG_STATUS_COMMAND), ST_READY);
        drop(ch);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[7 * SECTOR..], &pattern(7)[..]);
        assert_eq!(bytes.len(), 8 * SECTOR, "file never grows");

        let mut ro = AtaChannel::primary();
        ro.attach(0, Box::new(FileDisk::open(&path, true).unwrap()));
        lba28_cmd(&mut ro, CMD_WRITE_SECTORS, 0, 1);
        assert_eq!(in8(&mut ro, REG_ERROR_FEATURES), ERR_ABRT);
        lba28_cmd(&mut ro, CMD_READ_SECTORS, 7, 1);
        assert_eq!(read_sector_words(&mut ro), pattern(7));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn stray_accesses_do_not_panic() {
        let mut ch = mem_channel(8);
        for port in [BASE, BASE + 1, BASE + 7, CTRL, 0x3F7, 0x1234] {
            for size in [0u8, 1, 2, 3, 4, 200] {
                let _ = ch.port_read(port, size, 0);
            }
        }
        // Data port writes without a command, odd sizes.
        ch.port_write(BASE, 1, 0xFF, 0);
        ch.port_write(BASE + 6, 4, 0xFFFF_FFFF, 0);
        ch.port_write(0x1234, 4, 0, 0);
        // Byte reads of the data port move a word at a time.
        lba28_cmd(&mut ch, CMD_READ_SECTORS, 0, 1);
        let p = pattern(0);
        assert_eq!(ch.port_read(BASE, 1, 0), u32::from(p[0]));
        assert_eq!(ch.port_read(BASE, 1, 0), u32::from(p[2]));
    }
}
