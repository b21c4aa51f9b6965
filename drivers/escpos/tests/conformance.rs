//! Independent checks of the encoder: Python's codecs and our own decoder must read back exactly
//! the receipt text we meant, and the rendered PNG must hold a QR code that decodes to its data.

use std::process::Command as Process;

use pos_escpos::decode::{Command, ModelConfig, decode_receipts, parser::parse_all};
use pos_escpos::render::{RenderOptions, render};
use pos_escpos::{
    Bitmap, CodeTable, DrawerPulse, EncoderConfig, Receipt, ReceiptConfig, TableNumbers,
};

const QR_DATA: &str = "https://example.invalid/r/0001-2026-000042";

/// The lines we print and what must come out on paper for each table.
fn intended(table: CodeTable) -> (Vec<&'static str>, Vec<&'static str>) {
    let input = vec![
        "Boutique Élysée",
        "Café crème à emporter",
        "Garçon, pièce détachée",
        "Œuf cocotte, bœuf",
        "L’été – promo…",
        "Total 12,50 €",
    ];
    let printed = match table {
        CodeTable::Wpc1252 => input.clone(),
        _ => vec![
            "Boutique Élysée",
            "Café crème à emporter",
            "Garçon, pièce détachée",
            "OEuf cocotte, boeuf",
            "L'été - promo...",
            "Total 12,50 €",
        ],
    };
    (input, printed)
}

fn build(table: CodeTable, lines: &[&str]) -> Vec<u8> {
    let mut r = Receipt::new(ReceiptConfig {
        encoder: EncoderConfig {
            table,
            numbers: TableNumbers::default(),
        },
        columns: 42,
        ..ReceiptConfig::default()
    });
    r.logo(&Bitmap::from_fn(64, 32, |x, y| (x / 8 + y / 8) % 2 == 0))
        .unwrap();
    r.title(lines[0]);
    for l in &lines[1..] {
        r.line(l);
    }
    r.columns("Article", "3,50 €");
    r.ean13("400638133393").unwrap();
    r.qr(QR_DATA).unwrap();
    r.kick(DrawerPulse::default());
    r.cut();
    r.finish()
}

fn python_decode(codec: &str, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let out = Process::new("python3")
        .arg("-c")
        .arg(format!(
            "import sys; sys.stdout.buffer.write(bytes.fromhex('{hex}').decode('{codec}').encode('utf-8'))"
        ))
        .output()
        .expect("python3 must be installed for the codec conformance test");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn python_codecs_and_our_decoder_read_the_intended_text() {
    for table in [CodeTable::Wpc1252, CodeTable::Pc858] {
        let (input, printed) = intended(table);
        let bytes = build(table, &input);

        // The text bytes, as framed by our parser, decoded by Python's codec.
        let text_bytes: Vec<u8> = parse_all(&bytes)
            .into_iter()
            .flat_map(|c| match c {
                Command::Text(t) => t,
                Command::LineFeed => vec![b'\n'],
                _ => vec![],
            })
            .collect();
        let py = python_decode(table.python_codec(), &text_bytes);
        let py_lines: Vec<&str> = py.lines().collect();
        assert_eq!(
            &py_lines[..printed.len()],
            &printed[..],
            "Python's {} codec must read the intended text",
            table.python_codec()
        );

        // Our decoder, which applies init and the code table like a printer.
        let receipts = decode_receipts(&bytes, ModelConfig::default());
        assert_eq!(receipts.len(), 1, "one cut, one receipt");
        let lines = receipts[0].lines();
        assert_eq!(
            &lines[..printed.len()],
            &printed[..],
            "our decoder with {table:?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("Article")
                && l.ends_with("3,50 €")
                && l.chars().count() == 42),
            "the two-column line spans 42 columns: {lines:?}"
        );
        let text = receipts[0].text();
        assert!(text.contains("[EAN-13 4006381333931]"), "{text}");
        assert!(text.contains(&format!("[QR {QR_DATA}]")), "{text}");
        assert!(text.contains("[image 64x32]"), "{text}");
    }
}

#[test]
fn init_resets_the_code_table() {
    // A receipt that selects PC858, prints, then re-inits without selecting a table again:
    // the printer is back on PC437, where 0xD5 is not the euro sign.
    let mut bytes = vec![0x1B, 0x40, 0x1B, 0x74, 19];
    bytes.extend(CodeTable::Pc858.encode("€\n"));
    bytes.extend([0x1B, 0x40]);
    bytes.extend(CodeTable::Pc858.encode("€\n"));
    let r = decode_receipts(&bytes, ModelConfig::default());
    assert_eq!(
        r[0].lines(),
        vec!["€".to_string(), "╒".to_string()],
        "after ESC @ the same byte 0xD5 prints as PC437's ╒"
    );
}

#[test]
fn qr_code_in_the_png_decodes_back() {
    let bytes = build(CodeTable::Wpc1252, &intended(CodeTable::Wpc1252).0);
    let receipts = decode_receipts(&bytes, ModelConfig::default());
    let canvas = render(&receipts[0], RenderOptions { columns: 42 });
    // Go through the PNG file format, as a reader of the simulator's output would.
    let png_bytes = canvas.to_png();
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code on the receipt");
    let (_, content) = grids[0].decode().expect("the QR code must decode");
    assert_eq!(content, QR_DATA, "the QR code holds what was encoded");
}
