//! One-bit images: logos to print and raster images decoded from a byte stream.
//!
//! Rows are packed most significant bit first, eight pixels per byte, which is exactly the
//! layout of the ESC/POS raster command (`GS v 0`), so encoding and decoding copy bytes.

use std::io::Cursor;

use thiserror::Error;

/// Why an image could not be turned into a [`Bitmap`].
#[derive(Debug, Error)]
pub enum BitmapError {
    /// The PNG data could not be decoded.
    #[error("cannot decode PNG: {0}")]
    Png(#[from] png::DecodingError),
    /// The image has no pixels or is larger than a receipt printer can take.
    #[error("image of {width}x{height} pixels is not printable (1..=65535 pixels each way)")]
    BadSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The PNG uses a layout this loader does not handle.
    #[error("unsupported PNG layout: {0}")]
    Unsupported(String),
}

/// A one-bit image; `true` pixels are printed (black).
#[derive(Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: usize,
    height: usize,
    /// `height` rows of `width_bytes()` bytes, MSB = leftmost pixel.
    rows: Vec<u8>,
}

impl std::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitmap({}x{})", self.width, self.height)
    }
}

impl Bitmap {
    /// A blank (all white) image.
    pub fn new(width: usize, height: usize) -> Bitmap {
        Bitmap {
            width,
            height,
            rows: vec![0; width.div_ceil(8) * height],
        }
    }

    /// An image whose pixel (x, y) is black when `black(x, y)` is true.
    pub fn from_fn(width: usize, height: usize, black: impl Fn(usize, usize) -> bool) -> Bitmap {
        let mut b = Bitmap::new(width, height);
        for y in 0..height {
            for x in 0..width {
                if black(x, y) {
                    b.set(x, y, true);
                }
            }
        }
        b
    }

    /// Wraps packed raster rows (`width_bytes` bytes per row, MSB first) as sent in `GS v 0`.
    /// Missing bytes are white; extra bytes are ignored.
    pub fn from_raster(width_bytes: usize, height: usize, data: &[u8]) -> Bitmap {
        let mut rows = data.get(..width_bytes * height).unwrap_or(data).to_vec();
        rows.resize(width_bytes * height, 0);
        Bitmap {
            width: width_bytes * 8,
            height,
            rows,
        }
    }

    /// Loads a PNG and thresholds it: pixels darker than `threshold` (0-255 luma, after
    /// compositing transparency on white) are black.
    pub fn from_png(data: &[u8], threshold: u8) -> Result<Bitmap, BitmapError> {
        let mut decoder = png::Decoder::new(Cursor::new(data));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info()?;
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| BitmapError::Unsupported("image too large".into()))?;
        let mut buf = vec![0; size];
        let info = reader.next_frame(&mut buf)?;
        let (w, h) = (info.width, info.height);
        if w == 0 || h == 0 || w > 65535 || h > 65535 {
            return Err(BitmapError::BadSize {
                width: w,
                height: h,
            });
        }
        let channels = match info.color_type {
            png::ColorType::Grayscale => 1,
            png::ColorType::GrayscaleAlpha => 2,
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            png::ColorType::Indexed => {
                return Err(BitmapError::Unsupported(
                    "indexed colour after expansion".into(),
                ));
            }
        };
        let (w, h) = (w as usize, h as usize);
        Ok(Bitmap::from_fn(w, h, |x, y| {
            let p = &buf[(y * w + x) * channels..][..channels];
            let (luma, alpha) = match channels {
                1 => (u32::from(p[0]), 255),
                2 => (u32::from(p[0]), u32::from(p[1])),
                3 => (luma(p), 255),
                _ => (luma(p), u32::from(p[3])),
            };
            // Composite on white paper.
            let shown = (luma * alpha + 255 * (255 - alpha)) / 255;
            shown < u32::from(threshold)
        }))
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Bytes per packed row.
    pub fn width_bytes(&self) -> usize {
        self.width.div_ceil(8)
    }

    /// The packed rows, as `GS v 0` wants them.
    pub fn raster(&self) -> &[u8] {
        &self.rows
    }

    /// Whether pixel (x, y) is black; outside the image is white.
    pub fn get(&self, x: usize, y: usize) -> bool {
        if x >= self.width || y >= self.height {
            return false;
        }
        self.rows[y * self.width_bytes() + x / 8] & (0x80 >> (x % 8)) != 0
    }

    /// Sets pixel (x, y); outside the image is ignored.
    pub fn set(&mut self, x: usize, y: usize, black: bool) {
        if x >= self.width || y >= self.height {
            return;
        }
        let i = y * self.width_bytes() + x / 8;
        let mask = 0x80 >> (x % 8);
        if black {
            self.rows[i] |= mask;
        } else {
            self.rows[i] &= !mask;
        }
    }

    /// Rows `from..to` as a new image (clamped to the image).
    pub fn band(&self, from: usize, to: usize) -> Bitmap {
        let to = to.min(self.height);
        let from = from.min(to);
        let wb = self.width_bytes();
        Bitmap {
            width: self.width,
            height: to - from,
            rows: self.rows[from * wb..to * wb].to_vec(),
        }
    }
}

fn luma(p: &[u8]) -> u32 {
    (299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_pack_msb_first() {
        let b = Bitmap::from_fn(10, 2, |x, y| x == 0 || (y == 1 && x == 9));
        assert_eq!(b.width_bytes(), 2);
        assert_eq!(
            b.raster(),
            &[0x80, 0x00, 0x80, 0x40],
            "MSB is the leftmost pixel"
        );
        assert!(b.get(9, 1) && !b.get(9, 0) && !b.get(100, 100));
    }

    #[test]
    fn png_is_thresholded() {
        // 2x1 greyscale PNG: black then white.
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 2, 1);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[0, 255]).unwrap();
        }
        let b = Bitmap::from_png(&out, 128).unwrap();
        assert!(b.get(0, 0), "a black pixel prints");
        assert!(!b.get(1, 0), "a white pixel does not print");
    }
}
