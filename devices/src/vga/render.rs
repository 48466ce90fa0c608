//! Turning video memory into pixels: the CRTC's address generation (byte,
//! word and doubleword modes, the CGA/Hercules row-scan address bits, line
//! compare), the attribute controller's colour path and the DAC.
//!
//! Frames are produced at the mode's logical resolution: 720x400 for mode 3
//! with 9-dot characters, 640x480 for mode 12h, 320x200 for mode 13h
//! (scan-line doubling and repeated rows are folded), the VBE resolution
//! in VBE modes. Blinking (cursor every 16 frames, blinking characters
//! every 32) counts calls to [`Vga::render`], which a front end makes at
//! about 60 per second.

use super::vbe::bytes_per_pixel;
use super::*;

/// A rendered screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    /// `width * height` pixels, row-major, 0x00RRGGBB.
    pub pixels: Vec<u32>,
}

impl Frame {
    fn black(width: u32, height: u32) -> Frame {
        let (width, height) = (width.max(1), height.max(1));
        Frame {
            width,
            height,
            pixels: vec![0; (width * height) as usize],
        }
    }

    /// The pixel at (`x`, `y`), black outside the frame.
    pub fn pixel(&self, x: u32, y: u32) -> u32 {
        if x >= self.width || y >= self.height {
            return 0;
        }
        self.pixels[(y * self.width + x) as usize]
    }
}

/// What the adapter currently shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayMode {
    /// Alphanumeric mode.
    Text {
        cols: u32,
        rows: u32,
        char_width: u32,
        char_height: u32,
    },
    /// 16-colour planar graphics (modes 0Dh-12h).
    Planar16 { width: u32, height: u32 },
    /// 4-colour CGA-compatible graphics (modes 4/5).
    Cga4 { width: u32, height: u32 },
    /// 256-colour graphics (mode 13h, unchained "mode X" variants).
    Graphics256 { width: u32, height: u32 },
    /// A Bochs VBE mode.
    Vbe { width: u32, height: u32, bpp: u16 },
}

/// Scan-out geometry shared by the legacy modes.
struct Geometry {
    cols: u32,
    /// Scan lines before double scanning.
    scanlines: u32,
    /// 2 with double scanning.
    dbl: u32,
    /// Scan lines per character row.
    max_scan: u32,
    /// Output lines per character-row scan line that are identical and
    /// folded into one.
    vrep: u32,
    start: u32,
    stride: u32,
}

impl Vga {
    fn geometry(&self) -> Geometry {
        let max_scan = u32::from(self.crtc[9] & 0x1F) + 1;
        let no_substitution = self.crtc[0x17] & 3 == 3;
        Geometry {
            cols: u32::from(self.crtc[1]) + 1,
            scanlines: self.vertical_display(),
            dbl: if self.crtc[9] & 0x80 != 0 { 2 } else { 1 },
            max_scan,
            vrep: if no_substitution { max_scan } else { 1 },
            start: u32::from(self.crtc[0x0C]) << 8 | u32::from(self.crtc[0x0D]),
            stride: u32::from(self.crtc[0x13]) * 2,
        }
    }

    /// The mode the registers describe.
    pub fn display_mode(&self) -> DisplayMode {
        if self.vbe.enabled() {
            return DisplayMode::Vbe {
                width: self.vbe.xres() as u32,
                height: self.vbe.yres() as u32,
                bpp: self.vbe.bpp(),
            };
        }
        let g = self.geometry();
        if self.ac[AC_MODE] & 0x01 == 0 {
            let char_height = g.max_scan;
            return DisplayMode::Text {
                cols: g.cols,
                rows: (g.scanlines / g.dbl / char_height).max(1),
                char_width: self.char_width(),
                char_height,
            };
        }
        let height = (g.scanlines / g.dbl / g.vrep).max(1);
        if self.ac[AC_MODE] & 0x40 != 0 {
            DisplayMode::Graphics256 {
                width: g.cols * 4,
                height,
            }
        } else if self.gc[GC_MODE] & 0x20 != 0 {
            DisplayMode::Cga4 {
                width: g.cols * 8,
                height,
            }
        } else {
            DisplayMode::Planar16 {
                width: g.cols * 8,
                height,
            }
        }
    }

    /// Plane offset the CRTC fetches for memory address counter `ma` on
    /// row scan line `rs`.
    fn crtc_address(&self, ma: u32, rs: u32) -> usize {
        let cr17 = self.crtc[0x17];
        let mut a = if self.crtc[0x14] & 0x40 != 0 {
            (ma << 2) | (ma >> 14 & 3)
        } else if cr17 & 0x40 == 0 {
            let top = if cr17 & 0x20 != 0 { ma >> 15 } else { ma >> 13 };
            (ma << 1) | (top & 1)
        } else {
            ma
        };
        if cr17 & 1 == 0 {
            a = (a & !0x2000) | ((rs & 1) << 13);
        }
        if cr17 & 2 == 0 {
            a = (a & !0x4000) | ((rs >> 1 & 1) << 14);
        }
        (a & 0xFFFF) as usize
    }

    /// 0x00RRGGBB of every DAC index (after the PEL mask).
    fn dac_lut(&self) -> [u32; 256] {
        let mut lut = [0u32; 256];
        let wide = self.vbe.dac_8bit();
        for (i, out) in lut.iter_mut().enumerate() {
            let [r, g, b] = self.dac[i & usize::from(self.pel_mask)];
            let x = |v: u8| -> u32 {
                if wide {
                    u32::from(v)
                } else {
                    let v = u32::from(v & 0x3F);
                    (v << 2) | (v >> 4)
                }
            };
            *out = x(r) << 16 | x(g) << 8 | x(b);
        }
        lut
    }

    /// Colours of the 16 attribute values through the palette registers,
    /// colour plane enable and colour select.
    fn attr_lut(&self, dac: &[u32; 256]) -> [u32; 16] {
        let mut lut = [0u32; 16];
        let sel = self.ac[AC_COLOR_SELECT];
        for (c, out) in lut.iter_mut().enumerate() {
            let c = c & usize::from(self.ac[AC_PLANE_ENABLE] & 0x0F);
            let p = self.ac[c];
            let mut idx = if self.ac[AC_MODE] & 0x80 != 0 {
                (p & 0x0F) | (sel & 3) << 4
            } else {
                p & 0x3F
            };
            idx |= (sel & 0x0C) << 4;
            *out = dac[usize::from(idx)];
        }
        lut
    }

    /// Draw the current screen.
    pub fn render(&mut self) -> Frame {
        let frame = self.frames;
        self.frames = self.frames.wrapping_add(1);
        let mode = self.display_mode();
        let (w, h) = match mode {
            DisplayMode::Text {
                cols,
                rows,
                char_width,
                char_height,
            } => (cols * char_width, rows * char_height),
            DisplayMode::Planar16 { width, height }
            | DisplayMode::Cga4 { width, height }
            | DisplayMode::Graphics256 { width, height }
            | DisplayMode::Vbe { width, height, .. } => (width, height),
        };
        if let DisplayMode::Vbe { .. } = mode {
            return self.render_vbe();
        }
        let blanked = self.seq[SEQ_CLOCKING] & 0x20 != 0 || self.ac_index & AC_PAS == 0;
        if blanked {
            return Frame::black(w, h);
        }
        match mode {
            DisplayMode::Text { .. } => self.render_text(frame),
            _ => self.render_graphics(mode, w, h),
        }
    }

    /// Walk the scan lines the CRTC shows, calling `line(y, ma, rs,
    /// after_split)` for each output line.
    fn scan(
        &self,
        g: &Geometry,
        fold: u32,
        out_height: u32,
        mut line: impl FnMut(u32, u32, u32, bool),
    ) {
        let lc = self.line_compare();
        let mut ma_row = g.start;
        let mut rs = 0u32;
        let mut sub = 0u32;
        let mut split = false;
        for phys in 0..g.scanlines {
            if phys == lc && phys != 0 {
                ma_row = 0;
                rs = 0;
                sub = 0;
                split = true;
            }
            if phys % fold == 0 {
                let y = phys / fold;
                if y < out_height {
                    line(y, ma_row, rs, split);
                }
            }
            sub += 1;
            if sub >= g.dbl {
                sub = 0;
                rs += 1;
                if rs >= g.max_scan {
                    rs = 0;
                    ma_row = ma_row.wrapping_add(g.stride);
                }
            }
        }
    }

    fn render_text(&self, frame: u64) -> Frame {
        let g = self.geometry();
        let DisplayMode::Text {
            cols,
            rows,
            char_width,
            char_height,
        } = self.display_mode()
        else {
            return Frame::black(1, 1);
        };
        let (w, h) = (cols * char_width, rows * char_height);
        let mut f = Frame::black(w, h);
        let dac = self.dac_lut();
        let pal = self.attr_lut(&dac);
        let blink_enabled = self.ac[AC_MODE] & 0x08 != 0;
        let blink_visible = frame >> 4 & 1 == 0;
        let cursor_visible = frame >> 3 & 1 == 0 && self.crtc[0x0A] & 0x20 == 0;
        let cursor_ma = u32::from(self.crtc[0x0E]) << 8 | u32::from(self.crtc[0x0F]);
        let (cstart, cend) = (
            u32::from(self.crtc[0x0A] & 0x1F),
            u32::from(self.crtc[0x0B] & 0x1F),
        );
        let line_graphics = self.ac[AC_MODE] & 0x04 != 0;
        let cm = self.seq[SEQ_CHAR_MAP];
        let map_offset = |n: u8| usize::from((n & 3) * 2 + (n >> 2)) * 0x2000;
        let font_a = map_offset((cm >> 5 & 1) << 2 | (cm >> 2 & 3));
        let font_b = map_offset((cm >> 4 & 1) << 2 | (cm & 3));
        let plane2 = &self.planes[2 * PLANE_SIZE..3 * PLANE_SIZE];
        let width = w as usize;
        self.scan(&g, g.dbl, h, |y, ma_row, rs, _| {
            let row = &mut f.pixels[y as usize * width..(y as usize + 1) * width];
            for col in 0..cols {
                let ma = ma_row.wrapping_add(col);
                let addr = self.crtc_address(ma, rs);
                let ch = self.planes[addr];
                let at = self.planes[PLANE_SIZE + addr];
                let mut fg = at & 0x0F;
                let mut bg = at >> 4;
                if blink_enabled {
                    bg &= 7;
                    if at & 0x80 != 0 && !blink_visible {
                        fg = bg;
                    }
                }
                let base = if at & 0x08 != 0 { font_a } else { font_b };
                let mut bits = plane2[(base + usize::from(ch) * 32 + rs as usize) & 0xFFFF];
                if cursor_visible && ma == cursor_ma && cstart <= cend && rs >= cstart && rs <= cend
                {
                    bits = 0xFF;
                }
                let (fgc, bgc) = (pal[usize::from(fg)], pal[usize::from(bg)]);
                let x0 = (col * char_width) as usize;
                for k in 0..8 {
                    row[x0 + k] = if bits & (0x80 >> k) != 0 { fgc } else { bgc };
                }
                if char_width == 9 {
                    let ninth = line_graphics && (0xC0..=0xDF).contains(&ch) && bits & 1 != 0;
                    row[x0 + 8] = if ninth { fgc } else { bgc };
                }
            }
        });
        f
    }

    fn render_graphics(&self, mode: DisplayMode, w: u32, h: u32) -> Frame {
        let g = self.geometry();
        let mut f = Frame::black(w, h);
        let dac = self.dac_lut();
        let pal = self.attr_lut(&dac);
        let width = w as usize;
        let pan = u32::from(self.ac[AC_PANNING] & 0x0F);
        let pan_reset_on_split = self.ac[AC_MODE] & 0x20 != 0;
        let fold = g.dbl * g.vrep;
        // One extra character clock so panning can shift pixels in.
        let mut buf = vec![0u32; width + 8];
        self.scan(&g, fold, h, |y, ma_row, rs, split| {
            let shift = if split && pan_reset_on_split { 0 } else { pan };
            for col in 0..=g.cols {
                let addr = self.crtc_address(ma_row.wrapping_add(col), rs);
                let p = [
                    self.planes[addr],
                    self.planes[PLANE_SIZE + addr],
                    self.planes[2 * PLANE_SIZE + addr],
                    self.planes[3 * PLANE_SIZE + addr],
                ];
                match mode {
                    DisplayMode::Graphics256 { .. } => {
                        let x0 = col as usize * 4;
                        for (k, v) in p.iter().enumerate() {
                            if let Some(px) = buf.get_mut(x0 + k) {
                                *px = dac[usize::from(*v)];
                            }
                        }
                    }
                    DisplayMode::Cga4 { .. } => {
                        let x0 = col as usize * 8;
                        for k in 0..8 {
                            let byte = if k < 4 { p[0] } else { p[1] };
                            let c = byte >> (6 - 2 * (k % 4)) & 3;
                            if let Some(px) = buf.get_mut(x0 + k) {
                                *px = pal[usize::from(c)];
                            }
                        }
                    }
                    _ => {
                        let x0 = col as usize * 8;
                        for k in 0..8 {
                            let bit = 7 - k;
                            let c = (p[0] >> bit & 1)
                                | (p[1] >> bit & 1) << 1
                                | (p[2] >> bit & 1) << 2
                                | (p[3] >> bit & 1) << 3;
                            if let Some(px) = buf.get_mut(x0 + k) {
                                *px = pal[usize::from(c)];
                            }
                        }
                    }
                }
            }
            let off = match mode {
                DisplayMode::Graphics256 { .. } => (shift >> 1 & 3) as usize,
                _ => (shift & 7) as usize,
            };
            let row = &mut f.pixels[y as usize * width..(y as usize + 1) * width];
            row.copy_from_slice(&buf[off..off + width]);
        });
        f
    }

    fn render_vbe(&self) -> Frame {
        let (w, h) = (self.vbe.xres(), self.vbe.yres());
        let mut f = Frame::black(w as u32, h as u32);
        let bpp = self.vbe.bpp();
        let bytes = bytes_per_pixel(bpp);
        let stride = self.vbe.stride();
        let start = self.vbe.start();
        let dac = self.dac_lut();
        let mem = &self.lfb;
        for y in 0..h {
            let line = start + y * stride;
            let row = &mut f.pixels[y * w..(y + 1) * w];
            for (x, px) in row.iter_mut().enumerate() {
                let o = line + x * bytes;
                let Some(m) = mem.get(o..o + bytes) else {
                    continue;
                };
                *px = match bpp {
                    15 => {
                        let v = u32::from(u16::from_le_bytes([m[0], m[1]]));
                        let (r, g, b) = (v >> 10 & 31, v >> 5 & 31, v & 31);
                        (r << 3 | r >> 2) << 16 | (g << 3 | g >> 2) << 8 | (b << 3 | b >> 2)
                    }
                    16 => {
                        let v = u32::from(u16::from_le_bytes([m[0], m[1]]));
                        let (r, g, b) = (v >> 11 & 31, v >> 5 & 63, v & 31);
                        (r << 3 | r >> 2) << 16 | (g << 2 | g >> 4) << 8 | (b << 3 | b >> 2)
                    }
                    24 | 32 => u32::from(m[2]) << 16 | u32::from(m[1]) << 8 | u32::from(m[0]),
                    _ => dac[usize::from(m[0])],
                };
            }
        }
        f
    }

    /// The characters on a text-mode screen, one string per row (code page
    /// 437 shown as Unicode); `None` outside text modes.
    pub fn text_screen(&self) -> Option<Vec<String>> {
        let DisplayMode::Text { cols, rows, .. } = self.display_mode() else {
            return None;
        };
        let g = self.geometry();
        let mut out = Vec::with_capacity(rows as usize);
        for r in 0..rows {
            let ma_row = g.start.wrapping_add(r * g.stride);
            let s = (0..cols)
                .map(|c| {
                    let ch = self.planes[self.crtc_address(ma_row.wrapping_add(c), 0)];
                    font::cp437_char(ch)
                })
                .collect();
            out.push(s);
        }
        Some(out)
    }

    /// The text cursor's (column, row) when it is enabled and on screen.
    pub fn cursor_position(&self) -> Option<(u32, u32)> {
        let DisplayMode::Text { cols, rows, .. } = self.display_mode() else {
            return None;
        };
        if self.crtc[0x0A] & 0x20 != 0 {
            return None;
        }
        let g = self.geometry();
        let cursor = u32::from(self.crtc[0x0E]) << 8 | u32::from(self.crtc[0x0F]);
        let rel = cursor.checked_sub(g.start)?;
        let stride = g.stride.max(1);
        let (row, col) = (rel / stride, rel % stride);
        (row < rows && col < cols).then_some((col, row))
    }
}
