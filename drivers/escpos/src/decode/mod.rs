//! Decoding: what a printer would print from an ESC/POS byte stream.
//!
//! Two layers: [`parser`] frames bytes into commands (incrementally, across arbitrary read
//! boundaries) and [`model`] applies them to a printer state to produce [`PrintedReceipt`]s.
//! [`Decoder`] combines both for streams; [`decode`] does a whole buffer. Nothing here panics,
//! whatever the input (checked by a proptest and a fuzz target).

pub mod document;
pub mod model;
pub mod parser;

pub use document::{CutKind, Element, PrintedReceipt, Run, Style, Symbology, TextLine};
pub use model::{ModelConfig, Output, PrinterModel};
pub use parser::{Command, Parser, QrFunction};

/// Streaming decoder: push bytes as they arrive, collect outputs.
#[derive(Debug)]
pub struct Decoder {
    parser: Parser,
    model: PrinterModel,
}

impl Decoder {
    /// A decoder for a printer configured as `config`.
    pub fn new(config: ModelConfig) -> Decoder {
        Decoder {
            parser: Parser::new(),
            model: PrinterModel::new(config),
        }
    }

    /// Feeds received bytes; returns the receipts cut and the requests seen so far.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Output> {
        self.parser.push(bytes);
        let mut out = Vec::new();
        while let Some(cmd) = self.parser.next_command() {
            self.model.apply(cmd, &mut out);
        }
        out
    }

    /// Ends the stream: an unfinished command is reported as unknown bytes and the content
    /// printed since the last cut is returned as a receipt without a cut.
    pub fn finish(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if let Some(cmd) = self.parser.finish() {
            self.model.apply(cmd, &mut out);
        }
        if let Some(r) = self.model.take_pending() {
            out.push(Output::Receipt(r));
        }
        out
    }

    /// Bytes waiting for the rest of their command.
    pub fn pending_bytes(&self) -> usize {
        self.parser.pending()
    }
}

/// Decodes a whole byte stream: every receipt (the last one without a cut if the stream did
/// not end with one) and every other output, in order.
pub fn decode(bytes: &[u8], config: ModelConfig) -> Vec<Output> {
    let mut d = Decoder::new(config);
    let mut out = d.push(bytes);
    out.extend(d.finish());
    out
}

/// The receipts in a whole byte stream.
pub fn decode_receipts(bytes: &[u8], config: ModelConfig) -> Vec<PrintedReceipt> {
    decode(bytes, config)
        .into_iter()
        .filter_map(|o| match o {
            Output::Receipt(r) => Some(r),
            _ => None,
        })
        .collect()
}
