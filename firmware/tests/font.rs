//! The BIOS's text font, `bios/font8x16.bin` (256 glyphs x 16 bytes, code
//! page 437 order, one byte per scan line, MSB = leftmost dot), must be the
//! character set crane86's VGA model holds in plane 2 at power-on: the
//! Spleen 8x16 font (BSD-2-Clause) as `devices/src/vga/font.rs` maps it
//! onto code page 437. The BIOS `incbin`s the file and loads it into
//! plane 2 on every text-mode set, so a text screen looks the same before
//! and after a graphics mode, on crane86 and on QEMU alike.
//!
//! Regenerate the file after a change to the VGA model's font with
//!
//!     CRANE86_WRITE_FONT=1 cargo test -p crane86-firmware --test font
//!
//! then run scripts/build-firmware.sh and commit both.

use std::path::PathBuf;

use crane86_devices::vga::PLANE_SIZE;
use crane86_devices::Vga;

const GLYPHS: usize = 256;
const HEIGHT: usize = 16;
/// Plane 2 holds one glyph per 32 bytes (the VGA's maximum cell height).
const SLOT: usize = 32;

/// The font, read out of plane 2 of a freshly powered-on VGA.
fn vga_power_on_font() -> Vec<u8> {
    let vga = Vga::new();
    let plane2 = &vga.planes()[2 * PLANE_SIZE..3 * PLANE_SIZE];
    (0..GLYPHS)
        .flat_map(|c| plane2[c * SLOT..c * SLOT + HEIGHT].iter().copied())
        .collect()
}

fn font_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bios/font8x16.bin")
}

#[test]
fn committed_font_is_the_vga_models_font() {
    let fresh = vga_power_on_font();
    assert_eq!(fresh.len(), GLYPHS * HEIGHT);
    // A real font, not an empty table: letters have dots, the full block
    // is solid.
    assert!(fresh[usize::from(b'A') * HEIGHT..][..HEIGHT]
        .iter()
        .any(|&b| b != 0));
    assert!(fresh[0xDB * HEIGHT..][..HEIGHT].iter().all(|&b| b == 0xFF));
    if std::env::var_os("CRANE86_WRITE_FONT").is_some() {
        std::fs::write(font_path(), &fresh).expect("writing bios/font8x16.bin");
        eprintln!("wrote {}", font_path().display());
        return;
    }
    let stored = std::fs::read(font_path()).expect("reading bios/font8x16.bin");
    assert!(
        stored == fresh,
        "firmware/bios/font8x16.bin differs from the VGA model's font; regenerate it with \
         CRANE86_WRITE_FONT=1 cargo test -p crane86-firmware --test font, then run \
         scripts/build-firmware.sh"
    );
}

#[test]
fn bios_rom_holds_the_font() {
    let font = std::fs::read(font_path()).expect("reading bios/font8x16.bin");
    let bios = crane86_firmware::BIOS;
    let at = bios
        .windows(font.len())
        .position(|w| w == font.as_slice())
        .expect("the BIOS image does not contain bios/font8x16.bin");
    // INT 10h AX=1130h hands out F000:offset; glyph tables sit on a
    // paragraph boundary.
    assert_eq!(at % 16, 0, "font at ROM offset {at:#x}");
}
