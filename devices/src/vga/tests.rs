//! VGA tests: registers programmed the way a VGA BIOS sets modes 3, 12h and
//! 13h, memory written through the window, frames checked pixel by pixel.

use super::vbe::*;
use super::*;

/// One mode's register set, in the order a BIOS programs it.
struct ModeRegs {
    misc: u8,
    seq: [u8; 5],
    crtc: [u8; 25],
    gc: [u8; 9],
    ac: [u8; 21],
}

const MODE_03: ModeRegs = ModeRegs {
    misc: 0x67,
    seq: [0x03, 0x00, 0x03, 0x00, 0x02],
    crtc: [
        0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00,
        0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF,
    ],
    gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF],
    ac: [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E,
        0x3F, 0x0C, 0x00, 0x0F, 0x08, 0x00,
    ],
};

const MODE_12: ModeRegs = ModeRegs {
    misc: 0xE3,
    seq: [0x03, 0x01, 0x0F, 0x00, 0x06],
    crtc: [
        0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0x0B, 0x3E, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xEA, 0x8C, 0xDF, 0x28, 0x00, 0xE7, 0x04, 0xE3, 0xFF,
    ],
    gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0F, 0xFF],
    ac: [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E,
        0x3F, 0x01, 0x00, 0x0F, 0x00, 0x00,
    ],
};

const MODE_13: ModeRegs = ModeRegs {
    misc: 0x63,
    seq: [0x03, 0x01, 0x0F, 0x00, 0x0E],
    crtc: [
        0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF,
    ],
    gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF],
    ac: [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
        0x0F, 0x41, 0x00, 0x0F, 0x00, 0x00,
    ],
};

fn out8(v: &mut Vga, port: u16, val: u8) {
    v.port_write(port, 1, u32::from(val), 0);
}

fn in8(v: &mut Vga, port: u16) -> u8 {
    v.port_read(port, 1, 0) as u8
}

/// Clear the planes in `mask` the way a BIOS does before a mode set:
/// sequential access, write mode 0, everything else neutral.
fn clear_planes(v: &mut Vga, mask: u8) {
    seq(v, 2, mask);
    seq(v, 4, 0x06);
    for (i, r) in [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0F, 0xFF]
        .iter()
        .enumerate()
    {
        gc(v, i as u8, *r);
    }
    for a in 0..PLANE_SIZE as u64 {
        v.mem_write(a, 1, 0);
    }
}

/// Program a mode like a BIOS: clear memory (the text font in plane 2
/// is kept), then the register set.
fn set_mode(v: &mut Vga, m: &ModeRegs) {
    let text = m.ac[0x10] & 1 == 0;
    clear_planes(v, if text { 0x03 } else { 0x0F });
    out8(v, 0x3C2, m.misc);
    for (i, &r) in m.seq.iter().enumerate() {
        out8(v, 0x3C4, i as u8);
        out8(v, 0x3C5, r);
    }
    // Unlock CRTC 0-7, then the table (whose 0x11 locks them again).
    out8(v, 0x3D4, 0x11);
    out8(v, 0x3D5, m.crtc[0x11] & 0x7F);
    for (i, &r) in m.crtc.iter().enumerate() {
        out8(v, 0x3D4, i as u8);
        out8(v, 0x3D5, r);
    }
    for (i, &r) in m.gc.iter().enumerate() {
        out8(v, 0x3CE, i as u8);
        out8(v, 0x3CF, r);
    }
    in8(v, 0x3DA);
    for (i, &r) in m.ac.iter().enumerate() {
        out8(v, 0x3C0, i as u8);
        out8(v, 0x3C0, r);
    }
    out8(v, 0x3C0, 0x20);
}

fn set_dac(v: &mut Vga, index: u8, rgb: [u8; 3]) {
    out8(v, 0x3C8, index);
    for c in rgb {
        out8(v, 0x3C9, c);
    }
}

fn seq(v: &mut Vga, i: u8, val: u8) {
    out8(v, 0x3C4, i);
    out8(v, 0x3C5, val);
}

fn gc(v: &mut Vga, i: u8, val: u8) {
    out8(v, 0x3CE, i);
    out8(v, 0x3CF, val);
}

fn crtc(v: &mut Vga, i: u8, val: u8) {
    out8(v, 0x3D4, i);
    out8(v, 0x3D5, val);
}

fn plane(v: &Vga, p: usize, addr: usize) -> u8 {
    v.planes()[p * PLANE_SIZE + addr]
}

const TEXT_BASE: u64 = 0x18000;
const WHITE: u32 = 0xFFFFFF;
const BLUE: u32 = 0x0000AA;
const RED: u32 = 0xAA0000;

fn glyph_row(c: u8, row: usize) -> u8 {
    font::cp437_8x16()[usize::from(c) * 16 + row]
}

/// A glyph row that has both set and clear dots, for checking colours.
fn busy_row(c: u8) -> usize {
    (0..16)
        .find(|&r| glyph_row(c, r) != 0 && glyph_row(c, r) != 0xFF)
        .unwrap()
}

// ---- power-on and text mode ------------------------------------------

#[test]
fn power_on_is_80x25_text() {
    let mut v = Vga::new();
    assert_eq!(
        v.display_mode(),
        DisplayMode::Text {
            cols: 80,
            rows: 25,
            char_width: 9,
            char_height: 16
        }
    );
    let f = v.render();
    assert_eq!((f.width, f.height), (720, 400));
    // Black but for the cursor in the top-left cell, scan lines 13-14.
    for y in 0..400 {
        for x in 0..720 {
            let cursor = x < 8 && (13..=14).contains(&y);
            assert_eq!(
                f.pixel(x, y),
                if cursor { 0xAAAAAA } else { 0 },
                "({x},{y})"
            );
        }
    }
    let text = v.text_screen().unwrap();
    assert_eq!(text.len(), 25);
    assert!(text
        .iter()
        .all(|r| r.chars().count() == 80 && r.trim().is_empty()));
}

#[test]
fn mode3_text_character_and_attribute() {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_03);
    v.mem_write(TEXT_BASE, 2, 0x1F41); // 'A', white on blue
    v.mem_write(TEXT_BASE + 160 + 2, 1, u64::from(b'Z')); // row 1, col 1
    v.mem_write(TEXT_BASE + 160 + 3, 1, 0x4E); // yellow on red
    assert_eq!(v.mem_read(TEXT_BASE, 2), 0x1F41);
    let f = v.render();
    let r = busy_row(b'A');
    let bits = glyph_row(b'A', r);
    for k in 0..8 {
        let want = if bits & (0x80 >> k) != 0 { WHITE } else { BLUE };
        assert_eq!(f.pixel(k, r as u32), want, "dot {k}");
    }
    // Ninth column is background for letters.
    assert_eq!(f.pixel(8, r as u32), BLUE);
    // Next cell is the power-on blank (grey on black).
    assert_eq!(f.pixel(9, r as u32), 0);
    let rz = busy_row(b'Z');
    let bz = glyph_row(b'Z', rz);
    let k = (0..8).find(|k| bz & (0x80 >> k) != 0).unwrap();
    assert_eq!(f.pixel(9 + k, 16 + rz as u32), 0xFFFF55);
    let k = (0..8).find(|k| bz & (0x80 >> k) == 0).unwrap();
    assert_eq!(f.pixel(9 + k, 16 + rz as u32), RED);
    let text = v.text_screen().unwrap();
    assert!(text[0].starts_with('A'));
    assert!(text[1].starts_with(" Z"));
}

#[test]
fn ninth_column_repeats_line_graphics() {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_03);
    v.mem_write(TEXT_BASE, 2, 0x07C4); // horizontal line
    v.mem_write(TEXT_BASE + 2, 2, 0x0741); // 'A'
    let f = v.render();
    let line = (0..16).find(|&r| glyph_row(0xC4, r) == 0xFF).unwrap() as u32;
    assert_eq!(f.pixel(7, line), 0xAAAAAA);
    assert_eq!(
        f.pixel(8, line),
        0xAAAAAA,
        "line continues into the 9th dot"
    );
    // Without line graphics enable, the 9th column is background.
    in8(&mut v, 0x3DA);
    out8(&mut v, 0x3C0, 0x30); // index 0x10 with PAS
    out8(&mut v, 0x3C0, 0x08);
    assert_eq!(v.render().pixel(8, line), 0);
}

#[test]
fn eight_dot_characters() {
    let mut v = Vga::new();
    seq(&mut v, 1, 0x01);
    let f = v.render();
    assert_eq!((f.width, f.height), (640, 400));
}

#[test]
fn text_80x50() {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_03);
    // 8-line character cells, as the BIOS does with the 8x8 font.
    crtc(&mut v, 0x09, 0x47);
    crtc(&mut v, 0x0A, 0x06);
    crtc(&mut v, 0x0B, 0x07);
    assert_eq!(
        v.display_mode(),
        DisplayMode::Text {
            cols: 80,
            rows: 50,
            char_width: 9,
            char_height: 8
        }
    );
    // Character on row 49.
    v.mem_write(TEXT_BASE + 49 * 160, 2, 0x0F41);
    let f = v.render();
    assert_eq!((f.width, f.height), (720, 400));
    let r = (0..8).find(|&r| glyph_row(b'A', r) != 0).unwrap();
    let bits = glyph_row(b'A', r);
    let k = (0..8).find(|k| bits & (0x80 >> k) != 0).unwrap();
    assert_eq!(f.pixel(k, 49 * 8 + r as u32), WHITE);
    assert_eq!(v.text_screen().unwrap().len(), 50);
}

#[test]
fn cursor_shape_position_and_blink() {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_03);
    // Cursor at row 2, column 3, scan lines 14-15.
    let pos = 2 * 80 + 3;
    crtc(&mut v, 0x0A, 0x0E);
    crtc(&mut v, 0x0B, 0x0F);
    crtc(&mut v, 0x0E, (pos >> 8) as u8);
    crtc(&mut v, 0x0F, pos as u8);
    assert_eq!(v.cursor_position(), Some((3, 2)));
    // The cursor takes the foreground colour of the cell under it.
    v.mem_write(TEXT_BASE + 2 * pos, 2, 0x0720);
    let f = v.render(); // frame 0: cursor on
    let (x, y) = (3 * 9, 2 * 16);
    assert_eq!(f.pixel(x, y + 14), 0xAAAAAA);
    assert_eq!(f.pixel(x + 7, y + 15), 0xAAAAAA);
    assert_eq!(f.pixel(x, y + 13), 0);
    // Eight frames later the cursor is in its off phase.
    for _ in 0..7 {
        v.render();
    }
    assert_eq!(v.render().pixel(x, y + 14), 0);
    // Disabled cursor.
    crtc(&mut v, 0x0A, 0x2D);
    assert_eq!(v.cursor_position(), None);
    for _ in 0..7 {
        v.render();
    }
    assert_eq!(v.render().pixel(x, y + 14), 0);
}

#[test]
fn blinking_attribute() {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_03);
    v.mem_write(TEXT_BASE, 2, 0x9FDB); // full block, blinking white on blue
    assert_eq!(v.render().pixel(0, 0), WHITE);
    for _ in 0..15 {
        v.render();
    }
    // Off phase: the foreground shows the background colour.
    assert_eq!(v.render().pixel(0, 0), BLUE);
    // With blinking disabled bit 7 is background intensity instead.
    in8(&mut v, 0x3DA);
    out8(&mut v, 0x3C0, 0x30);
    out8(&mut v, 0x3C0, 0x04);
    v.mem_write(TEXT_BASE, 2, 0x9F20);
    let f = v.render();
    assert_eq!(f.pixel(0, 0), 0x5555FF, "bright blue background");
}

#[test]
fn start_address_scrolls_text() {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_03);
    v.mem_write(TEXT_BASE + 160, 2, 0x0742);
    crtc(&mut v, 0x0C, 0);
    crtc(&mut v, 0x0D, 80);
    assert!(v.text_screen().unwrap()[0].starts_with('B'));
}

#[test]
fn custom_font_in_plane2_is_used() {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_03);
    // Load a glyph the way a BIOS does: sequential access to plane 2.
    seq(&mut v, 2, 0x04);
    seq(&mut v, 4, 0x06);
    gc(&mut v, 4, 0x02);
    gc(&mut v, 5, 0x00);
    gc(&mut v, 6, 0x04);
    for row in 0..16 {
        v.mem_write(
            u64::from(b'A') * 32 + row,
            1,
            if row % 2 == 0 { 0xAA } else { 0 },
        );
    }
    set_mode(&mut v, &MODE_03);
    v.mem_write(TEXT_BASE, 2, 0x0741);
    let f = v.render();
    assert_eq!(f.pixel(0, 0), 0xAAAAAA);
    assert_eq!(f.pixel(1, 0), 0);
    assert_eq!(f.pixel(0, 1), 0);
}

// ---- graphics modes ----------------------------------------------------

#[test]
fn mode13h_pixels_through_the_dac() {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_13);
    assert_eq!(
        v.display_mode(),
        DisplayMode::Graphics256 {
            width: 320,
            height: 200
        }
    );
    set_dac(&mut v, 0x80, [63, 0, 32]);
    set_dac(&mut v, 0x81, [0, 63, 0]);
    v.mem_write(100 * 320 + 17, 1, 0x80);
    v.mem_write(199 * 320 + 319, 1, 0x81);
    assert_eq!(v.mem_read(100 * 320 + 17, 1), 0x80);
    // Chain-4: pixel 17 is plane 1, offset 16.
    assert_eq!(plane(&v, 1, 100 * 320 + 16), 0x80);
    let f = v.render();
    assert_eq!((f.width, f.height), (320, 200));
    assert_eq!(f.pixel(17, 100), 0xFF0082);
    assert_eq!(f.pixel(319, 199), 0x00FF00);
    assert_eq!(f.pixel(16, 100), 0);
    // The PEL mask hides index bits.
    out8(&mut v, 0x3C6, 0x7F);
    assert_eq!(v.render().pixel(17, 100), 0);
}

#[test]
fn mode12h_planar_writes() {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_12);
    assert_eq!(
        v.display_mode(),
        DisplayMode::Planar16 {
            width: 640,
            height: 480
        }
    );
    // All planes: colour 15 in the first 8 pixels of line 0.
    v.mem_write(0, 1, 0xFF);
    // Write mode 2, bit mask 0x80: pixel (0,1) colour 4 (red).
    gc(&mut v, 5, 0x02);
    gc(&mut v, 8, 0x80);
    v.mem_read(80, 1); // load latches
    v.mem_write(80, 1, 0x04);
    // Map mask 0x01 only, write mode 0: pixel 639 on the last line blue.
    gc(&mut v, 5, 0x00);
    gc(&mut v, 8, 0xFF);
    seq(&mut v, 2, 0x01);
    v.mem_write(479 * 80 + 79, 1, 0x01);
    let f = v.render();
    assert_eq!((f.width, f.height), (640, 480));
    for x in 0..8 {
        assert_eq!(f.pixel(x, 0), WHITE);
    }
    assert_eq!(f.pixel(8, 0), 0);
    assert_eq!(f.pixel(0, 1), RED);
    assert_eq!(f.pixel(1, 1), 0);
    assert_eq!(f.pixel(639, 479), BLUE);
    assert_eq!(f.pixel(638, 479), 0);
}

#[test]
fn mode12h_through_palette_registers() {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_12);
    v.mem_write(0, 1, 0xFF); // colour 15
    in8(&mut v, 0x3DA);
    out8(&mut v, 0x3C0, 0x0F); // palette 15 (PAS clear: unlocked)
    out8(&mut v, 0x3C0, 0x04); // -> DAC 4
    out8(&mut v, 0x3C0, 0x20);
    assert_eq!(v.render().pixel(0, 0), RED);
    // Colour plane enable masks plane 3 and 2: 15 -> 3 -> palette 3.
    in8(&mut v, 0x3DA);
    out8(&mut v, 0x3C0, 0x32);
    out8(&mut v, 0x3C0, 0x03);
    assert_eq!(v.render().pixel(0, 0), 0x00AAAA);
}

#[test]
fn graphics_panning_and_line_compare() {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_12);
    v.mem_write(0, 1, 0x80); // pixel 0 of line 0
    in8(&mut v, 0x3DA);
    out8(&mut v, 0x3C0, 0x33);
    out8(&mut v, 0x3C0, 0x01); // pan by one pixel
    let f = v.render();
    assert_eq!(f.pixel(0, 0), 0);
    // Line compare at 100: lines 100.. show memory from address 0. Bits 8
    // and 9 live in the overflow and maximum scan line registers.
    crtc(&mut v, 0x0C, 0x10);
    crtc(&mut v, 0x18, 100);
    crtc(&mut v, 0x07, 0x00);
    crtc(&mut v, 0x09, 0x00);
    assert_eq!(v.line_compare(), 100);
    let f = v.render();
    assert_eq!(f.pixel(0, 0), 0);
    // Panning still applies after the split (AC mode bit 5 clear), so
    // pixel 0 of memory line 0 appears shifted off the left edge.
    in8(&mut v, 0x3DA);
    out8(&mut v, 0x3C0, 0x33);
    out8(&mut v, 0x3C0, 0x00);
    let f = v.render();
    assert_eq!(f.pixel(0, 100), WHITE);
    assert_eq!(f.pixel(0, 101), 0);
}

#[test]
fn mode_x_unchained_256() {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_13);
    // Unchain: sequential plane access, byte mode, no doubleword.
    seq(&mut v, 4, 0x06);
    crtc(&mut v, 0x14, 0x00);
    crtc(&mut v, 0x17, 0xE3);
    seq(&mut v, 2, 0x02); // plane 1 = pixels 1, 5, 9...
    set_dac(&mut v, 9, [63, 63, 63]);
    v.mem_write(2, 1, 9); // address 2: pixels 8..11, plane 1 -> pixel 9
    let f = v.render();
    assert_eq!(f.pixel(9, 0), WHITE);
    assert_eq!(f.pixel(8, 0), 0);
}

#[test]
fn cga_four_colour_mode() {
    let mut v = Vga::new();
    // Mode 4 registers (320x200, 4 colours, odd/even, CGA row interleave).
    let m4 = ModeRegs {
        misc: 0x63,
        seq: [0x03, 0x09, 0x03, 0x00, 0x02],
        crtc: [
            0x2D, 0x27, 0x28, 0x90, 0x2B, 0x80, 0xBF, 0x1F, 0x00, 0xC1, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x14, 0x00, 0x96, 0xB9, 0xA2, 0xFF,
        ],
        gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0F, 0x00, 0xFF],
        ac: [
            0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
            0x16, 0x17, 0x01, 0x00, 0x03, 0x00, 0x00,
        ],
    };
    set_mode(&mut v, &m4);
    assert_eq!(
        v.display_mode(),
        DisplayMode::Cga4 {
            width: 320,
            height: 200
        }
    );
    // B8000: even lines; BA000: odd lines. Byte = 4 pixels of 2 bits.
    v.mem_write(0x18000, 1, 0b1100_0000); // (0,0) colour 3
    v.mem_write(0x18000 + 0x2000, 1, 0b0001_0000); // (1,1) colour 1
    let f = v.render();
    assert_eq!(f.pixel(0, 0), v_color(&v, 0x17));
    assert_eq!(f.pixel(1, 0), 0);
    assert_eq!(f.pixel(1, 1), v_color(&v, 0x13));
}

/// The 0x00RRGGBB of DAC entry `i` (6-bit DAC).
fn v_color(v: &Vga, i: u8) -> u32 {
    let (r, g, b) = v.dac_entry(i);
    let x = |c: u8| u32::from(c) << 2 | u32::from(c) >> 4;
    x(r) << 16 | x(g) << 8 | x(b)
}

// ---- memory access logic -----------------------------------------------

/// Mode 12h-style sequential planar access with a fresh register set.
fn planar() -> Vga {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_12);
    v
}

#[test]
fn write_mode0_set_reset_and_bit_mask() {
    let mut v = planar();
    gc(&mut v, 0, 0x05); // set/reset: planes 0 and 2
    gc(&mut v, 1, 0x0F); // enabled on all planes
    gc(&mut v, 8, 0x0F); // only the low 4 bits
    v.mem_read(10, 1);
    v.mem_write(10, 1, 0x00);
    assert_eq!(
        [
            plane(&v, 0, 10),
            plane(&v, 1, 10),
            plane(&v, 2, 10),
            plane(&v, 3, 10)
        ],
        [0x0F, 0x00, 0x0F, 0x00]
    );
    // Set/reset enabled on plane 0 only: the others take the CPU byte.
    gc(&mut v, 1, 0x01);
    gc(&mut v, 8, 0xFF);
    v.mem_write(11, 1, 0x3C);
    assert_eq!(
        [
            plane(&v, 0, 11),
            plane(&v, 1, 11),
            plane(&v, 2, 11),
            plane(&v, 3, 11)
        ],
        [0xFF, 0x3C, 0x3C, 0x3C]
    );
}

#[test]
fn write_mode0_rotate_and_logical_functions() {
    let mut v = planar();
    v.mem_write(20, 1, 0xF0); // all planes 0xF0
    gc(&mut v, 3, 0x04); // rotate right by 4, no function
    v.mem_read(20, 1);
    v.mem_write(21, 1, 0x12);
    assert_eq!(plane(&v, 0, 21), 0x21);
    for (func, want) in [
        (0x08, 0xF0 & 0x3C),
        (0x10, 0xF0 | 0x3C),
        (0x18, 0xF0 ^ 0x3C),
    ] {
        gc(&mut v, 3, func);
        v.mem_read(20, 1); // latches = 0xF0
        v.mem_write(22, 1, 0x3C);
        assert_eq!(plane(&v, 3, 22), want, "function {func:#x}");
    }
}

#[test]
fn write_mode1_copies_latches() {
    let mut v = planar();
    gc(&mut v, 1, 0x0F);
    gc(&mut v, 0, 0x0A);
    v.mem_write(30, 1, 0); // planes 1 and 3 = 0xFF
    gc(&mut v, 1, 0x00);
    gc(&mut v, 5, 0x01);
    v.mem_read(30, 1);
    v.mem_write(31, 1, 0x55); // data ignored
    assert_eq!(
        [
            plane(&v, 0, 31),
            plane(&v, 1, 31),
            plane(&v, 2, 31),
            plane(&v, 3, 31)
        ],
        [0x00, 0xFF, 0x00, 0xFF]
    );
}

#[test]
fn write_mode3_uses_rotated_data_as_mask() {
    let mut v = planar();
    gc(&mut v, 5, 0x03);
    gc(&mut v, 0, 0x0C); // colour 12
    gc(&mut v, 8, 0xF0);
    v.mem_read(40, 1);
    v.mem_write(40, 1, 0x3C); // effective mask 0x30
    assert_eq!(
        [
            plane(&v, 0, 40),
            plane(&v, 1, 40),
            plane(&v, 2, 40),
            plane(&v, 3, 40)
        ],
        [0x00, 0x00, 0x30, 0x30]
    );
}

#[test]
fn read_mode1_colour_compare() {
    let mut v = planar();
    gc(&mut v, 5, 0x02);
    v.mem_write(50, 1, 0x05); // colour 5 in all 8 pixels
    gc(&mut v, 8, 0x0F);
    v.mem_read(50, 1);
    v.mem_write(50, 1, 0x03); // low 4 pixels colour 3
    gc(&mut v, 8, 0xFF);
    gc(&mut v, 5, 0x08); // read mode 1
    gc(&mut v, 2, 0x05);
    gc(&mut v, 7, 0x0F);
    assert_eq!(v.mem_read(50, 1), 0xF0);
    gc(&mut v, 2, 0x03);
    assert_eq!(v.mem_read(50, 1), 0x0F);
    // Only plane 0 compared: 5 and 3 both have bit 0 set.
    gc(&mut v, 7, 0x01);
    assert_eq!(v.mem_read(50, 1), 0xFF);
    // Read mode 0 returns the read map plane.
    gc(&mut v, 5, 0x00);
    gc(&mut v, 4, 0x02);
    assert_eq!(v.mem_read(50, 1), 0xF0);
}

#[test]
fn odd_even_addressing_in_text_mode() {
    let mut v = Vga::new();
    v.mem_write(TEXT_BASE + 6, 1, 0x41);
    v.mem_write(TEXT_BASE + 7, 1, 0x1E);
    assert_eq!(plane(&v, 0, 6), 0x41);
    assert_eq!(plane(&v, 1, 6), 0x1E);
    assert_eq!(plane(&v, 0, 7), 0x00);
    // The font plane is not touched by text writes.
    assert_eq!(plane(&v, 2, 6), font::cp437_8x16()[6]);
}

#[test]
fn memory_map_select_windows() {
    let mut v = Vga::new();
    // Mode 3 maps B8000-BFFFF only.
    v.mem_write(0, 1, 0x12);
    assert_eq!(v.mem_read(0, 1), 0xFF);
    assert_eq!(v.mem_read(0x10000, 1), 0xFF);
    gc(&mut v, 6, 0x0A); // B0000-B7FFF
    v.mem_write(0x10000 + 4, 1, 0x33);
    assert_eq!(plane(&v, 0, 4), 0x33);
    assert_eq!(v.mem_read(0x18000, 1), 0xFF);
    gc(&mut v, 6, 0x02); // 128 KiB at A0000
    assert_eq!(v.mem_read(4, 1), 0x33);
    assert_eq!(v.mem_read(0x10004, 1), 0x33, "wraps at 64 KiB");
    // RAM access disabled in the misc output register.
    out8(&mut v, 0x3C2, 0x65);
    assert_eq!(v.mem_read(4, 1), 0xFF);
}

#[test]
fn wide_memory_accesses_split_into_bytes() {
    let mut v = Vga::new();
    set_mode(&mut v, &MODE_13);
    v.mem_write(0, 4, 0x0403_0201);
    assert_eq!(v.mem_read(0, 4), 0x0403_0201);
    assert_eq!(v.mem_read(2, 2), 0x0403);
    assert_eq!(plane(&v, 3, 0), 4);
}

// ---- registers ---------------------------------------------------------

#[test]
fn crtc_protect_bit() {
    let mut v = Vga::new();
    assert_ne!(v.crtc[0x11] & 0x80, 0);
    crtc(&mut v, 0x01, 0x27);
    assert_eq!(v.crtc[1], 0x4F, "locked");
    crtc(&mut v, 0x07, 0x00);
    assert_eq!(v.crtc[7], 0x0F, "only line compare bit 8 writable");
    crtc(&mut v, 0x11, 0x0E);
    crtc(&mut v, 0x01, 0x27);
    assert_eq!(v.crtc[1], 0x27);
    // Registers above 7 are never locked; reads return what was written.
    crtc(&mut v, 0x11, 0x8E);
    crtc(&mut v, 0x0E, 0x12);
    out8(&mut v, 0x3D4, 0x0E);
    assert_eq!(in8(&mut v, 0x3D5), 0x12);
}

#[test]
fn crtc_moves_with_misc_io_select() {
    let mut v = Vga::new();
    out8(&mut v, 0x3D4, 0x0F);
    out8(&mut v, 0x3D5, 0x44);
    out8(&mut v, 0x3C2, 0x66); // mono I/O
    assert_eq!(in8(&mut v, 0x3D5), 0xFF);
    out8(&mut v, 0x3B4, 0x0F);
    assert_eq!(in8(&mut v, 0x3B5), 0x44);
    assert_eq!(in8(&mut v, 0x3CC), 0x66);
}

#[test]
fn attribute_flip_flop_and_palette_lock() {
    let mut v = Vga::new();
    in8(&mut v, 0x3DA);
    out8(&mut v, 0x3C0, 0x01); // index 1, PAS clear
    out8(&mut v, 0x3C0, 0x3A);
    out8(&mut v, 0x3C0, 0x01);
    assert_eq!(in8(&mut v, 0x3C0), 0x01);
    assert_eq!(in8(&mut v, 0x3C1), 0x3A);
    // Data phase now; reading 0x3DA resets to the index phase.
    in8(&mut v, 0x3DA);
    out8(&mut v, 0x3C0, 0x21); // index 1 with PAS: palette locked
    out8(&mut v, 0x3C0, 0x15);
    assert_eq!(in8(&mut v, 0x3C1), 0x3A);
    // Mode control is not locked.
    out8(&mut v, 0x3C0, 0x30);
    out8(&mut v, 0x3C0, 0x0C);
    assert_eq!(in8(&mut v, 0x3C1), 0x0C);
    // PAS clear blanks the display.
    out8(&mut v, 0x3C0, 0x00);
    v.mem_write(TEXT_BASE, 2, 0x7FDB);
    assert_eq!(v.render().pixel(0, 0), 0);
    in8(&mut v, 0x3DA);
    out8(&mut v, 0x3C0, 0x20);
    assert_eq!(v.render().pixel(0, 0), WHITE);
}

#[test]
fn dac_read_write_indices() {
    let mut v = Vga::new();
    set_dac(&mut v, 0xFE, [0x3F, 0x7F, 0x01]);
    out8(&mut v, 0x3C9, 0x10); // index 0xFF, first component only
    assert_eq!(in8(&mut v, 0x3C8), 0xFF);
    assert_eq!(in8(&mut v, 0x3C7), 0x00, "write state");
    out8(&mut v, 0x3C7, 0xFE);
    assert_eq!(in8(&mut v, 0x3C7), 0x03, "read state");
    let got: Vec<u8> = (0..6).map(|_| in8(&mut v, 0x3C9)).collect();
    // 6-bit DAC: 0x7F stored as 0x3F; entry 0xFF not yet complete.
    assert_eq!(got, vec![0x3F, 0x3F, 0x01, 0, 0, 0]);
    assert_eq!(v.dac_entry(0xFE), (0x3F, 0x3F, 0x01));
    out8(&mut v, 0x3C6, 0x0F);
    assert_eq!(in8(&mut v, 0x3C6), 0x0F);
}

#[test]
fn sequencer_and_gc_registers_read_back() {
    let mut v = Vga::new();
    v.port_write(0x3C4, 2, 0x0F02, 0); // 16-bit out: index 2, data 0x0F
    out8(&mut v, 0x3C4, 0x02);
    assert_eq!(in8(&mut v, 0x3C5), 0x0F);
    v.port_write(0x3CE, 2, 0x7708, 0);
    assert_eq!(v.port_read(0x3CE, 2, 0), 0x7708);
    out8(&mut v, 0x3CE, 0x0F);
    assert_eq!(in8(&mut v, 0x3CF), 0xFF);
    assert_eq!(in8(&mut v, 0x3C2) & 0x10, 0x10);
    out8(&mut v, 0x3DA, 0x01);
    assert_eq!(in8(&mut v, 0x3CA), 0x01);
}

#[test]
fn input_status_follows_the_frame_timing() {
    let mut v = Vga::new();
    // Mode 3: 31.78 us lines, 449 lines a frame, retrace lines 412-413.
    let line_ns = v.line_ns();
    assert!((31_700..31_850).contains(&line_ns), "{line_ns}");
    let at = |v: &mut Vga, t: u64| v.port_read(0x3DA, 1, t) as u8;
    let frame = 449 * line_ns;
    let mut t = 10 * frame;
    assert_eq!(
        at(&mut v, t + 10 * line_ns + 100) & 0x09,
        0x00,
        "active display"
    );
    t += 10 * line_ns + line_ns - 200;
    assert_eq!(at(&mut v, t) & 0x09, 0x01, "horizontal blanking");
    t = 11 * frame + 412 * line_ns + 100;
    assert_eq!(at(&mut v, t) & 0x09, 0x09, "vertical retrace");
    t = 11 * frame + 420 * line_ns + 100;
    assert_eq!(
        at(&mut v, t) & 0x09,
        0x01,
        "vertical blanking after retrace"
    );
}

#[test]
fn input_status_toggles_without_clock_progress() {
    let mut v = Vga::new();
    let mut seen = [false; 2];
    for _ in 0..20_000 {
        let s = v.port_read(0x3DA, 1, 0) as u8;
        seen[usize::from(s >> 3 & 1)] = true;
    }
    assert_eq!(seen, [true, true]);
}

// ---- VBE ------------------------------------------------------------------

fn vbe_w(v: &mut Vga, index: u16, val: u16) {
    v.port_write(VBE_INDEX_PORT, 2, u32::from(index), 0);
    v.port_write(VBE_DATA_PORT, 2, u32::from(val), 0);
}

fn vbe_r(v: &mut Vga, index: u16) -> u16 {
    v.port_write(VBE_INDEX_PORT, 2, u32::from(index), 0);
    v.port_read(VBE_DATA_PORT, 2, 0) as u16
}

fn vbe_mode(v: &mut Vga, x: u16, y: u16, bpp: u16, flags: u16) {
    vbe_w(v, VBE_DISPI_INDEX_ENABLE, 0);
    vbe_w(v, VBE_DISPI_INDEX_XRES, x);
    vbe_w(v, VBE_DISPI_INDEX_YRES, y);
    vbe_w(v, VBE_DISPI_INDEX_BPP, bpp);
    vbe_w(v, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | flags);
}

#[test]
fn vbe_identification_and_caps() {
    let mut v = Vga::new();
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_ID), 0xB0C5);
    vbe_w(&mut v, VBE_DISPI_INDEX_ID, 0xB0C2);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_ID), 0xB0C2);
    vbe_w(&mut v, VBE_DISPI_INDEX_ID, 0x1234);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_ID), 0xB0C2);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_VIDEO_MEMORY_64K), 256);
    vbe_w(&mut v, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_GETCAPS);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_XRES), VBE_MAX_XRES);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_YRES), VBE_MAX_YRES);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_BPP), 32);
    vbe_w(&mut v, VBE_DISPI_INDEX_ENABLE, 0);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_XRES), 640);
    assert_eq!(
        v.port_read(VBE_INDEX_PORT, 2, 0),
        u32::from(VBE_DISPI_INDEX_XRES)
    );
}

#[test]
fn vbe_rejects_bad_values() {
    let mut v = Vga::new();
    vbe_w(&mut v, VBE_DISPI_INDEX_XRES, 801); // not a multiple of 8
    vbe_w(&mut v, VBE_DISPI_INDEX_YRES, 5000);
    vbe_w(&mut v, VBE_DISPI_INDEX_BPP, 12);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_XRES), 640);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_YRES), 480);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_BPP), 8);
    // While enabled, geometry is frozen.
    vbe_mode(&mut v, 800, 600, 32, VBE_DISPI_LFB_ENABLED);
    vbe_w(&mut v, VBE_DISPI_INDEX_XRES, 1024);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_XRES), 800);
    // An empty mode does not enable.
    vbe_mode(&mut v, 640, 0, 32, 0);
    assert!(!v.vbe_enabled());
    // The largest mode fits in memory.
    vbe_mode(&mut v, 2560, 1600, 32, 0);
    assert!(v.vbe_enabled());
}

#[test]
fn vbe_32bpp_linear_framebuffer() {
    let mut v = Vga::new();
    vbe_mode(&mut v, 1024, 768, 32, VBE_DISPI_LFB_ENABLED);
    assert!(v.vbe_enabled());
    assert_eq!(
        v.display_mode(),
        DisplayMode::Vbe {
            width: 1024,
            height: 768,
            bpp: 32
        }
    );
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_VIRT_WIDTH), 1024);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_VIRT_HEIGHT), 4096);
    v.lfb_write((767 * 1024 + 1023) * 4, 4, 0x0012_3456);
    v.lfb_write(4, 4, 0x00FF_0000);
    assert_eq!(v.lfb_read(4, 4), 0x00FF_0000);
    let f = v.render();
    assert_eq!((f.width, f.height), (1024, 768));
    assert_eq!(f.pixel(1023, 767), 0x123456);
    assert_eq!(f.pixel(1, 0), 0xFF0000);
    assert_eq!(f.pixel(0, 0), 0);
    // Out of range LFB access.
    assert_eq!(v.lfb_read(VBE_MEMORY_SIZE as u64, 2), 0xFFFF);
    v.lfb_write(u64::MAX, 8, 0);
}

#[test]
fn vbe_16_15_24_and_8_bpp() {
    let mut v = Vga::new();
    vbe_mode(&mut v, 640, 480, 16, VBE_DISPI_LFB_ENABLED);
    v.lfb_write(0, 2, 0xF800); // pure red in RGB565
    v.lfb_write(2, 2, 0x07E0); // green
    let f = v.render();
    assert_eq!(f.pixel(0, 0), 0xFF0000);
    assert_eq!(f.pixel(1, 0), 0x00FF00);

    vbe_mode(&mut v, 640, 480, 15, VBE_DISPI_LFB_ENABLED);
    v.lfb_write(0, 2, 0x001F); // blue in RGB555
    assert_eq!(v.render().pixel(0, 0), 0x0000FF);

    vbe_mode(&mut v, 320, 200, 24, VBE_DISPI_LFB_ENABLED);
    v.lfb_write(3, 3, 0x00AB_CDEF);
    assert_eq!(v.render().pixel(1, 0), 0xABCDEF);

    vbe_mode(&mut v, 320, 200, 8, VBE_DISPI_LFB_ENABLED);
    set_dac(&mut v, 7, [63, 0, 0]);
    v.lfb_write(320 + 5, 1, 7);
    assert_eq!(v.render().pixel(5, 1), 0xFF0000);
    // 8-bit DAC: entries are stored and shown at full width.
    vbe_mode(
        &mut v,
        320,
        200,
        8,
        VBE_DISPI_LFB_ENABLED | VBE_DISPI_8BIT_DAC,
    );
    set_dac(&mut v, 7, [0x80, 0x40, 0xFF]);
    v.lfb_write(0, 1, 7);
    assert_eq!(v.render().pixel(0, 0), 0x8040FF);
}

#[test]
fn vbe_enable_clears_memory_unless_asked_not_to() {
    let mut v = Vga::new();
    vbe_mode(&mut v, 640, 480, 32, VBE_DISPI_LFB_ENABLED);
    v.lfb_write(0, 4, 0xFFFFFF);
    vbe_mode(
        &mut v,
        640,
        480,
        32,
        VBE_DISPI_LFB_ENABLED | VBE_DISPI_NOCLEARMEM,
    );
    assert_eq!(v.lfb_read(0, 4), 0xFFFFFF);
    vbe_mode(&mut v, 640, 480, 32, VBE_DISPI_LFB_ENABLED);
    assert_eq!(v.lfb_read(0, 4), 0);
}

#[test]
fn vbe_banked_window() {
    let mut v = Vga::new();
    vbe_mode(&mut v, 640, 480, 32, 0);
    vbe_w(&mut v, VBE_DISPI_INDEX_BANK, 3);
    v.mem_write(0x10, 4, 0x00C0FFEE);
    assert_eq!(v.lfb_read(3 * 0x10000 + 0x10, 4), 0x00C0FFEE);
    assert_eq!(v.mem_read(0x10, 4), 0x00C0FFEE);
    // B0000-BFFFF is not decoded while VBE is on.
    assert_eq!(v.mem_read(0x18000, 1), 0xFF);
    // Bank beyond memory is refused.
    vbe_w(&mut v, VBE_DISPI_INDEX_BANK, 256);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_BANK), 3);
}

#[test]
fn vbe_virtual_width_and_offsets() {
    let mut v = Vga::new();
    vbe_mode(&mut v, 640, 480, 32, VBE_DISPI_LFB_ENABLED);
    vbe_w(&mut v, VBE_DISPI_INDEX_VIRT_WIDTH, 1024);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_VIRT_WIDTH), 1024);
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_VIRT_HEIGHT), 4096);
    vbe_w(&mut v, VBE_DISPI_INDEX_VIRT_WIDTH, 320); // narrower than XRES
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_VIRT_WIDTH), 1024);
    // Pixel (10, 500) in memory shown at (0, 0) after panning.
    v.lfb_write((500 * 1024 + 10) * 4, 4, 0x00ABCDEF);
    vbe_w(&mut v, VBE_DISPI_INDEX_X_OFFSET, 10);
    vbe_w(&mut v, VBE_DISPI_INDEX_Y_OFFSET, 500);
    assert_eq!(v.render().pixel(0, 0), 0xABCDEF);
}

#[test]
fn vbe_disable_returns_to_vga() {
    let mut v = Vga::new();
    vbe_mode(&mut v, 800, 600, 32, VBE_DISPI_LFB_ENABLED);
    vbe_w(&mut v, VBE_DISPI_INDEX_ENABLE, 0);
    assert!(!v.vbe_enabled());
    assert!(matches!(v.display_mode(), DisplayMode::Text { .. }));
    v.reset();
    assert_eq!(vbe_r(&mut v, VBE_DISPI_INDEX_ENABLE), 0);
}

// ---- robustness --------------------------------------------------------

#[test]
fn random_register_and_memory_traffic_never_panics() {
    let mut v = Vga::new();
    let mut x: u64 = 0x1234_5678_9ABC_DEF0;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let ports = [
        0x3C0, 0x3C1, 0x3C2, 0x3C4, 0x3C5, 0x3C6, 0x3C7, 0x3C8, 0x3C9, 0x3CE, 0x3CF, 0x3D4, 0x3D5,
        0x3DA, 0x3B4, 0x3B5, 0x3BA, 0x1CE, 0x1CF,
    ];
    for round in 0..200 {
        for _ in 0..200 {
            let r = next();
            let port = ports[(r % ports.len() as u64) as usize];
            let size = [1u8, 2, 4][(r >> 8) as usize % 3];
            if r >> 20 & 1 == 0 {
                v.port_write(port, size, (r >> 32) as u32, r >> 40);
            } else {
                v.port_read(port, size, r >> 40);
            }
            let off = (r >> 24) % LEGACY_WINDOW_LEN;
            v.mem_write(off, 1, r >> 48);
            v.mem_read(off, 2);
        }
        let f = v.render();
        assert_eq!(
            f.pixels.len(),
            (f.width * f.height) as usize,
            "round {round}"
        );
        let _ = v.text_screen();
    }
}
