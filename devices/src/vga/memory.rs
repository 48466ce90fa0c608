//! Host access to video memory through the legacy window: address
//! decoding (memory map select, chain-4, odd/even, sequential), the read
//! modes with the latches, and the write modes with rotate, set/reset,
//! logical function and bit mask.

use super::*;

/// How a host address reaches the planes.
struct Target {
    /// Offset inside each plane.
    addr: usize,
    /// Planes a write may touch.
    write_planes: u8,
    /// Plane a mode 0 read returns.
    read_plane: usize,
}

impl Vga {
    /// Host read of `size` bytes at `offset` from 0xA0000 (the window is
    /// 0xA0000-0xBFFFF); the bytes are separate VGA cycles, lowest first.
    pub fn mem_read(&mut self, offset: u64, size: u8) -> u64 {
        let mut v = 0u64;
        for i in 0..u64::from(size.clamp(1, 8)) {
            v |= u64::from(self.mem_read8(offset.wrapping_add(i))) << (8 * i);
        }
        v
    }

    /// Host write counterpart of [`Vga::mem_read`].
    pub fn mem_write(&mut self, offset: u64, size: u8, value: u64) {
        for i in 0..u64::from(size.clamp(1, 8)) {
            self.mem_write8(offset.wrapping_add(i), (value >> (8 * i)) as u8);
        }
    }

    /// The window the memory map select decodes: (start, length) from
    /// 0xA0000.
    fn window(&self) -> (u64, u64) {
        match self.gc[GC_MISC] >> 2 & 3 {
            0 => (0, 0x20000),
            1 => (0, 0x10000),
            2 => (0x10000, 0x8000),
            _ => (0x18000, 0x8000),
        }
    }

    fn target(&self, offset: u64, write: bool) -> Option<Target> {
        if self.misc & 0x02 == 0 {
            return None; // RAM access disabled
        }
        let (start, len) = self.window();
        let a = offset.checked_sub(start).filter(|a| *a < len)? as usize;
        let map_mask = self.seq[SEQ_MAP_MASK] & 0x0F;
        let read_map = usize::from(self.gc[GC_READ_MAP] & 3);
        if self.seq[SEQ_MEMORY_MODE] & 0x08 != 0 {
            // Chain-4: the low two address bits pick the plane.
            let plane = a & 3;
            return Some(Target {
                addr: a & 0xFFFC,
                write_planes: map_mask & (1 << plane),
                read_plane: plane,
            });
        }
        let odd_even = if write {
            self.seq[SEQ_MEMORY_MODE] & 0x04 == 0
        } else {
            self.gc[GC_MODE] & 0x10 != 0
        };
        if odd_even {
            // Even addresses go to planes 0/2, odd ones to planes 1/3.
            let odd = a & 1;
            return Some(Target {
                addr: a & 0xFFFE,
                write_planes: map_mask & if odd != 0 { 0x0A } else { 0x05 },
                read_plane: (read_map & 2) | odd,
            });
        }
        Some(Target {
            addr: a & 0xFFFF,
            write_planes: map_mask,
            read_plane: read_map,
        })
    }

    fn plane(&self, p: usize, addr: usize) -> u8 {
        self.planes[p * PLANE_SIZE + addr]
    }

    fn mem_read8(&mut self, offset: u64) -> u8 {
        if self.vbe.enabled() {
            return self.vbe_bank_read(offset);
        }
        let Some(t) = self.target(offset, false) else {
            return 0xFF;
        };
        for p in 0..4 {
            self.latch[p] = self.plane(p, t.addr);
        }
        if self.gc[GC_MODE] & 0x08 == 0 {
            return self.latch[t.read_plane];
        }
        // Read mode 1: colour compare over the planes not "don't care".
        let care = self.gc[GC_COLOR_DONT_CARE];
        let cmp = self.gc[GC_COLOR_COMPARE];
        let mut differ = 0u8;
        for p in 0..4 {
            if care >> p & 1 != 0 {
                let want = if cmp >> p & 1 != 0 { 0xFF } else { 0x00 };
                differ |= self.latch[p] ^ want;
            }
        }
        !differ
    }

    fn mem_write8(&mut self, offset: u64, v: u8) {
        if self.vbe.enabled() {
            self.vbe_bank_write(offset, v);
            return;
        }
        let Some(t) = self.target(offset, true) else {
            return;
        };
        if t.write_planes == 0 {
            return;
        }
        let rotate = self.gc[GC_DATA_ROTATE] & 7;
        let func = self.gc[GC_DATA_ROTATE] >> 3 & 3;
        let set_reset = self.gc[GC_SET_RESET];
        let enable_sr = self.gc[GC_ENABLE_SET_RESET];
        let mut bit_mask = self.gc[GC_BIT_MASK];
        let rotated = v.rotate_right(u32::from(rotate));
        let expand = |bit: u8| if bit & 1 != 0 { 0xFF } else { 0x00 };
        let mode = self.gc[GC_MODE] & 3;
        for p in 0..4 {
            if t.write_planes >> p & 1 == 0 {
                continue;
            }
            let latch = self.latch[p];
            let data = match mode {
                0 => {
                    if enable_sr >> p & 1 != 0 {
                        expand(set_reset >> p)
                    } else {
                        rotated
                    }
                }
                1 => {
                    // Latches straight back to memory.
                    self.planes[p * PLANE_SIZE + t.addr] = latch;
                    continue;
                }
                2 => expand(v >> p),
                _ => expand(set_reset >> p),
            };
            let data = match func {
                0 => data,
                1 => data & latch,
                2 => data | latch,
                _ => data ^ latch,
            };
            if mode == 3 {
                bit_mask = self.gc[GC_BIT_MASK] & rotated;
            }
            self.planes[p * PLANE_SIZE + t.addr] = (data & bit_mask) | (latch & !bit_mask);
        }
    }

    /// Raw plane memory (4 x 64 KiB, plane-major), for debugging and
    /// snapshots.
    pub fn planes(&self) -> &[u8] {
        &self.planes
    }
}
