//! `-screenshot PATH.png`: the guest's screen as a PNG file.

use anyhow::{Context, Result};
use std::path::Path;

/// Writes `pixels` (0x00RRGGBB, row-major) as an 8-bit RGB PNG.
pub fn write_png(path: &Path, width: usize, height: usize, pixels: &[u32]) -> Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("-screenshot {}: cannot create", path.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width as u32, height as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc
        .write_header()
        .with_context(|| format!("-screenshot {}: cannot write", path.display()))?;
    let mut rgb = Vec::with_capacity(width * height * 3);
    for p in pixels.iter().take(width * height) {
        rgb.extend_from_slice(&[(p >> 16) as u8, (p >> 8) as u8, *p as u8]);
    }
    w.write_image_data(&rgb)
        .with_context(|| format!("-screenshot {}: cannot write", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_pixels() {
        let dir = std::env::temp_dir().join(format!("crane86-shot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.png");
        let px = [
            0x00FF_0000,
            0x0000_FF00,
            0x0000_00FF,
            0x00FF_FFFF,
            0,
            0x0012_3456,
        ];
        write_png(&p, 3, 2, &px).unwrap();
        let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&p).unwrap()));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(&buf[..6], &[0xFF, 0, 0, 0, 0xFF, 0]);
        assert_eq!(&buf[15..18], &[0x12, 0x34, 0x56]);
    }

    #[test]
    fn unwritable_path_is_an_error_not_a_panic() {
        let e = write_png(Path::new("/nonexistent-dir/x.png"), 1, 1, &[0]).unwrap_err();
        assert!(format!("{e:#}").contains("/nonexistent-dir/x.png"));
    }
}
