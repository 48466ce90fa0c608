//! The 8x16 character set the VGA's character generator (plane 2) holds at
//! power-on, in code page 437 order, as a VGA BIOS would have loaded it.
//! The glyphs come from the Spleen 8x16 font (BSD-2-Clause, Frederic
//! Cambus; the PSF file the `spleen-font` crate packages), looked up through
//! the font's Unicode table by the character each code page 437 byte
//! stands for. A guest that loads its own
//! font into plane 2 (as Linux's vgacon and DOS code page switching do)
//! replaces it.

use std::collections::HashMap;
use std::sync::OnceLock;

use spleen_font::FONT_8X16;

/// Bytes per glyph in the table (one per scan line, MSB = leftmost dot).
pub const GLYPH_HEIGHT: usize = 16;

/// The Unicode character of each code page 437 byte (0x00 and 0xFF are
/// blanks).
const CP437: [char; 256] = [
    ' ', '☺', '☻', '♥', '♦', '♣', '♠', '•', '◘', '○', '◙', '♂', '♀', '♪', '♫', '☼', //
    '►', '◄', '↕', '‼', '¶', '§', '▬', '↨', '↑', '↓', '→', '←', '∟', '↔', '▲', '▼', //
    ' ', '!', '"', '#', '$', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '@', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', '[', '\\', ']', '^', '_', //
    '`', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', '{', '|', '}', '~', '⌂', //
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐', //
    '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧', //
    '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀', //
    'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩', //
    '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', ' ', //
];

/// Characters the Spleen font lacks, drawn with the nearest glyph it has.
const STAND_INS: [(u8, char); 11] = [
    (0x10, '▶'),
    (0x11, '◀'),
    (0x1C, '└'),
    (0xE0, 'a'),
    (0xE4, 'E'),
    (0xE5, 'o'),
    (0xE7, 't'),
    (0xE9, 'Ø'),
    (0xEB, 'ð'),
    (0xED, 'ø'),
    (0xEE, 'e'),
];

/// The Unicode character a code page 437 byte shows.
pub fn cp437_char(b: u8) -> char {
    CP437[usize::from(b)]
}

/// 256 glyphs of 16 bytes, code page 437 order.
pub fn cp437_8x16() -> &'static [u8; 256 * GLYPH_HEIGHT] {
    static TABLE: OnceLock<[u8; 256 * GLYPH_HEIGHT]> = OnceLock::new();
    TABLE.get_or_init(build)
}

/// The code points each glyph of a PSF version 1 font stands for: magic
/// 0x36 0x04, a mode byte (bit 0: 512 glyphs instead of 256, bit 1: a
/// Unicode table follows the glyphs), the glyph height in bytes, the glyphs,
/// then per glyph a list of little-endian UCS-2 values ended by 0xFFFF
/// (0xFFFE starts multi-character sequences, which are skipped).
struct Psf1<'a> {
    height: usize,
    glyphs: &'a [u8],
    by_char: HashMap<u32, usize>,
}

fn parse_psf1(data: &[u8]) -> Option<Psf1<'_>> {
    if data.len() < 4 || data[0] != 0x36 || data[1] != 0x04 {
        return None;
    }
    let (mode, height) = (data[2], usize::from(data[3]));
    let count = if mode & 1 != 0 { 512 } else { 256 };
    let glyphs = data.get(4..4 + count * height)?;
    let mut by_char = HashMap::new();
    if mode & 2 != 0 {
        let table = &data[4 + count * height..];
        let (mut glyph, mut in_sequence) = (0usize, false);
        for pair in table.chunks_exact(2) {
            match u16::from_le_bytes([pair[0], pair[1]]) {
                0xFFFF => {
                    glyph += 1;
                    in_sequence = false;
                }
                0xFFFE => in_sequence = true,
                c if !in_sequence && glyph < count => {
                    by_char.entry(u32::from(c)).or_insert(glyph);
                }
                _ => {}
            }
        }
    }
    Some(Psf1 {
        height,
        glyphs,
        by_char,
    })
}

fn build() -> [u8; 256 * GLYPH_HEIGHT] {
    let mut table = [0u8; 256 * GLYPH_HEIGHT];
    let Some(font) = parse_psf1(FONT_8X16) else {
        return table;
    };
    if font.height != GLYPH_HEIGHT {
        return table;
    }
    for (i, ch) in CP437.iter().enumerate() {
        if *ch == ' ' {
            continue;
        }
        let stand_in = STAND_INS
            .iter()
            .find(|(b, _)| usize::from(*b) == i)
            .map(|(_, c)| *c);
        let glyph = font
            .by_char
            .get(&u32::from(*ch))
            .or_else(|| stand_in.and_then(|c| font.by_char.get(&u32::from(c))));
        if let Some(&g) = glyph {
            table[i * GLYPH_HEIGHT..(i + 1) * GLYPH_HEIGHT]
                .copy_from_slice(&font.glyphs[g * GLYPH_HEIGHT..(g + 1) * GLYPH_HEIGHT]);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glyph(c: u8) -> &'static [u8] {
        let t = cp437_8x16();
        &t[usize::from(c) * GLYPH_HEIGHT..(usize::from(c) + 1) * GLYPH_HEIGHT]
    }

    #[test]
    fn every_printable_cp437_character_has_a_glyph() {
        for c in 1..=254u8 {
            if c == b' ' {
                continue;
            }
            assert!(glyph(c).iter().any(|&b| b != 0), "glyph {c:#04x} is empty");
        }
        for c in [0u8, b' ', 0xFF] {
            assert!(glyph(c).iter().all(|&b| b == 0), "{c:#04x} should be blank");
        }
    }

    #[test]
    fn block_and_line_glyphs_have_their_shapes() {
        // Full block: every dot.
        assert!(glyph(0xDB).iter().all(|&b| b == 0xFF));
        // Lower half block: lower 8 rows only.
        assert!(glyph(0xDC)[..8].iter().all(|&b| b == 0));
        assert!(glyph(0xDC)[8..].iter().all(|&b| b == 0xFF));
        // Horizontal line: exactly one full row.
        assert_eq!(glyph(0xC4).iter().filter(|&&b| b == 0xFF).count(), 1);
        // Different letters differ.
        assert_ne!(glyph(b'A'), glyph(b'B'));
    }
}
