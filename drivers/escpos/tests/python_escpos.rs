//! Our decoder against bytes from an independent encoder: python-escpos 3.1 (PyPI), which
//! switches code tables per character (PC437 for é, ISO-8859-7 for €, WPC1252 for œ ’ – …),
//! prints EAN-13 and native QR codes, and sends a QR code as a raster image.
//! The fixture and the script that made it are in tests/fixtures/.

use pos_escpos::decode::{Element, ModelConfig, Symbology, decode_receipts};
use pos_escpos::render::{RenderOptions, render};

const FIXTURE: &[u8] = include_bytes!("fixtures/python-escpos-receipt.bin");

#[test]
fn python_escpos_receipt_decodes_to_the_intended_text() {
    let receipts = decode_receipts(FIXTURE, ModelConfig::default());
    assert_eq!(receipts.len(), 1, "one cut, one receipt");
    let r = &receipts[0];
    assert_eq!(
        r.lines()[..4],
        [
            "Café crème",
            "Total 12,50 €",
            "Œuf, l’été – promo…",
            "Garçon, à bientôt"
        ],
        "table switches mid-line are followed character by character"
    );
    let Element::Line(title) = &r.elements[0] else {
        panic!("the title is a line");
    };
    assert!(
        title.runs[0].style.bold
            && title.runs[0].style.width == 2
            && title.runs[0].style.height == 2,
        "ESC ! 0x30 with ESC E 1: bold, double width and height: {title:?}"
    );
    assert!(
        r.elements.iter().any(|e| matches!(e, Element::Barcode { symbology: Symbology::Ean13, data, .. } if data == "4006381333931")),
        "EAN-13 decoded"
    );
    assert!(
        r.elements.iter().any(|e| matches!(e, Element::QrCode { data, .. } if data == b"https://example.invalid/native")),
        "native QR decoded"
    );
}

#[test]
fn python_escpos_image_qr_code_reads_back_from_our_rendering() {
    let receipts = decode_receipts(FIXTURE, ModelConfig::default());
    let canvas = render(&receipts[0], RenderOptions::default());
    let (w, h) = (canvas.width(), canvas.height());
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(
            w,
            h,
            |x, y| {
                if canvas.black(x, y) { 0 } else { 255 }
            },
        );
    let mut contents: Vec<String> = img
        .detect_grids()
        .iter()
        .filter_map(|g| g.decode().ok().map(|(_, c)| c))
        .collect();
    contents.sort();
    assert_eq!(
        contents,
        vec![
            "https://example.invalid/image",
            "https://example.invalid/native"
        ],
        "both the native QR code and the raster-image one are drawn readably"
    );
}

#[test]
fn python_escpos_column_and_graphics_images_read_back() {
    let bytes = include_bytes!("fixtures/python-escpos-images.bin");
    let receipts = decode_receipts(bytes, ModelConfig::default());
    assert_eq!(receipts.len(), 1);
    let r = &receipts[0];
    // Bytes: LF, ESC 3 16, five ESC * bands each followed by LF, ESC 2, LF, LF, "between"...
    // The band LFs print the bands; only the three other LFs are blank lines.
    assert_eq!(
        r.lines()[..4],
        ["", "", "", "between"],
        "the LF after each ESC * band prints the band, not a blank line"
    );
    let canvas = render(r, RenderOptions::default());
    let (w, h) = (canvas.width(), canvas.height());
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(
            w,
            h,
            |x, y| {
                if canvas.black(x, y) { 0 } else { 255 }
            },
        );
    let mut contents: Vec<String> = img
        .detect_grids()
        .iter()
        .filter_map(|g| g.decode().ok().map(|(_, c)| c))
        .collect();
    contents.sort();
    assert_eq!(
        contents,
        vec![
            "https://example.invalid/column",
            "https://example.invalid/graphics"
        ],
        "ESC * bands are stacked and GS ( L graphics drawn, both readable"
    );
}
