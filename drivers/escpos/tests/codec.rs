//! Codec tests on annotated byte fixtures: command framing across read boundaries, partial
//! commands at the end of a buffer, and a decoder that never panics.

use pos_escpos::decode::{
    Command, Decoder, Element, ModelConfig, Output, Parser, QrFunction, decode, decode_receipts,
    parser::parse_all,
};
use proptest::prelude::*;

#[test]
fn annotated_fixture_frames_every_command() {
    let stream: &[u8] = &[
        0x1B, 0x40, // ESC @            init
        0x1B, 0x74, 0x10, // ESC t 16   WPC1252
        0x1B, 0x45, 0x01, // ESC E 1    bold on
        b'H', b'i', 0x80, // "Hi€"
        0x0A, // LF
        0x1D, 0x21, 0x11, // GS ! 0x11  double size
        0x1B, 0x44, 8, 16, 0, // ESC D  tab stops 8, 16 (framed, not printed)
        0x1D, 0x6B, 0x02, b'1', b'2', 0x00, // GS k 2 "12" NUL   barcode
        0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x50, 0x30, b'Q', // GS ( k store "Q"
        0x10, 0x04, 0x04, // DLE EOT 4  paper status query
        0x1D, 0x56, 0x42, 0x30, // GS V 66 48  feed 48 dots and partial cut
    ];
    assert_eq!(
        parse_all(stream),
        vec![
            Command::Init,
            Command::CodeTable(16),
            Command::Bold(true),
            Command::Text(vec![b'H', b'i', 0x80]),
            Command::LineFeed,
            Command::CharSize(0x11),
            Command::Other(vec![0x1B, 0x44, 8, 16, 0]),
            Command::Barcode {
                kind: 2,
                data: b"12".to_vec()
            },
            Command::Qr(QrFunction::Store(b"Q".to_vec())),
            Command::StatusQuery(4),
            Command::Cut {
                partial: true,
                feed: 0x30
            },
        ],
        "every command is framed by its documented length"
    );
}

#[test]
fn partial_commands_wait_for_their_bytes() {
    // Each fixture ends in the middle of a command; nothing of it may be printed yet.
    let fixtures: &[(&str, &[u8])] = &[
        ("ESC without its code", &[0x1B]),
        ("ESC t without n", &[0x1B, 0x74]),
        ("ESC p missing t2", &[0x1B, 0x70, 0x00, 0x19]),
        ("GS k without NUL", &[0x1D, 0x6B, 0x02, b'4', b'0', b'0']),
        (
            "GS ( k short of its length",
            &[0x1D, 0x28, 0x6B, 0x05, 0x00, 0x31, 0x50],
        ),
        (
            "GS v 0 short of its data",
            &[0x1D, 0x76, 0x30, 0, 1, 0, 2, 0, 0xFF],
        ),
        ("DLE EOT without n", &[0x10, 0x04]),
    ];
    for (what, bytes) in fixtures {
        let mut p = Parser::new();
        p.push(bytes);
        assert_eq!(
            p.next_command(),
            None,
            "{what}: no command before it is complete"
        );
        assert_eq!(p.pending(), bytes.len(), "{what}: bytes are kept");
        assert_eq!(
            p.finish(),
            Some(Command::Incomplete(bytes.to_vec())),
            "{what}: at end of stream it is reported incomplete"
        );
    }
}

#[test]
fn commands_split_across_reads_decode_the_same() {
    let mut bytes = vec![0x1B, 0x40, 0x1B, 0x74, 19];
    bytes.extend(b"Caf\x82 cr\x8Ame \xD5\n");
    bytes.extend([0x1D, 0x76, 0x30, 0, 1, 0, 2, 0, 0xF0, 0x0F]);
    bytes.extend([0x1D, 0x56, 0x00]);
    let whole = decode(&bytes, ModelConfig::default());
    for split in 1..bytes.len() {
        let mut d = Decoder::new(ModelConfig::default());
        let mut out = d.push(&bytes[..split]);
        out.extend(d.push(&bytes[split..]));
        out.extend(d.finish());
        assert_eq!(
            out, whole,
            "a read boundary at byte {split} must not change the result"
        );
    }
    let Output::Receipt(r) = &whole[0] else {
        panic!("first output is the receipt: {whole:?}");
    };
    assert_eq!(r.lines(), vec!["Café crème €"]);
    assert!(matches!(&r.elements[1], Element::Image { bitmap, .. } if bitmap.height() == 2));
}

#[test]
fn oversized_blocks_are_skipped_not_buffered() {
    // GS ( L with a 4-byte length of 16 MiB (GS 8 L): the data is dropped as it streams.
    let header = [0x1D, 0x38, 0x4C, 0x00, 0x00, 0x00, 0x01, 0x30, 0x70];
    let mut d = Decoder::new(ModelConfig::default());
    d.push(&header[..7]);
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..16 {
        d.push(&chunk);
        assert!(
            d.pending_bytes() < 1 << 20,
            "skipped data is not accumulated"
        );
    }
    d.push(b"after\n");
    let out = d.finish();
    let texts: Vec<String> = out
        .iter()
        .filter_map(|o| match o {
            Output::Receipt(r) => Some(r.lines().join("|")),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        vec!["after".to_string()],
        "printing resumes after the block"
    );
}

#[test]
fn unknown_commands_do_not_print_their_parameters() {
    // ESC ~ is no ESC/POS command: the printer ignores ESC and '~'; known-length commands we
    // do not interpret (ESC 3 n line spacing) swallow their parameter.
    let r = decode_receipts(b"\x1b3\x41A\x1b~B\n", ModelConfig::default());
    assert_eq!(
        r[0].lines(),
        vec!["AB"],
        "0x41 is ESC 3's parameter, not text"
    );
}

#[test]
fn lines_wrap_at_the_paper_width() {
    let mut bytes = b"\x1b@".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 50));
    bytes.extend(b"\n\x1d!\x10");
    bytes.extend(std::iter::repeat_n(b'y', 25));
    bytes.push(b'\n');
    let r = decode_receipts(&bytes, ModelConfig::default());
    let lines = r[0].lines();
    assert_eq!(lines[0].len(), 48, "48 columns of normal text");
    assert_eq!(lines[1].len(), 2);
    assert_eq!(lines[2].len(), 24, "double width halves the columns");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), split in 0usize..512) {
        let split = split.min(bytes.len());
        let mut d = Decoder::new(ModelConfig::default());
        let _ = d.push(&bytes[..split]);
        let _ = d.push(&bytes[split..]);
        let _ = d.finish();
        let outs = decode(&bytes, ModelConfig::default());
        for o in outs {
            if let Output::Receipt(r) = o {
                let _ = r.text();
                let _ = pos_escpos::render::render(&r, Default::default());
            }
        }
    }

    #[test]
    fn escpos_shaped_input_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(vec![0x1B]), Just(vec![0x1D]), Just(vec![0x10]), Just(vec![0x1C]),
                Just(vec![0x1D, 0x28, 0x6B]), Just(vec![0x1D, 0x76, 0x30]), Just(vec![0x1D, 0x6B]),
                Just(vec![0x1B, 0x26]), Just(vec![0x1C, 0x71]), Just(vec![0x0A]),
                Just(vec![0x1D, 0x28, 0x4C]), Just(vec![0x1D, 0x38, 0x4C]), Just(vec![0x1B, 0x2A]),
                Just(vec![0x30, 0x70, 0x30]),
                proptest::collection::vec(any::<u8>(), 0..8),
            ],
            0..64,
        )
    ) {
        let bytes: Vec<u8> = parts.concat();
        for o in decode(&bytes, ModelConfig::default()) {
            if let Output::Receipt(r) = o {
                let _ = pos_escpos::render::render(&r, Default::default());
            }
        }
    }
}

#[test]
fn a_code_128_reads_back_as_the_text_it_carries() {
    let mut receipt = pos_escpos::Receipt::new(pos_escpos::ReceiptConfig::default());
    receipt.line("Avoir");
    receipt.code128("AV12345678901234567890").unwrap();
    receipt.cut();
    let bytes = receipt.finish();
    let printed = decode_receipts(&bytes, ModelConfig::default());
    let barcode = printed[0].elements.iter().find_map(|e| match e {
        Element::Barcode {
            symbology: pos_escpos::decode::Symbology::Code128,
            data,
            ..
        } => Some(data.clone()),
        _ => None,
    });
    assert_eq!(
        barcode.as_deref(),
        Some("AV12345678901234567890"),
        "the letters in code set B and the digits two by two in code set C decode to the number"
    );
    assert!(
        pos_escpos::encoder::Encoder::new(Default::default())
            .code128("{not}")
            .is_err(),
        "`{{` switches code sets: it is refused in the text"
    );
}
