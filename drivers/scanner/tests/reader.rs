//! The scanner reader over a real pseudo-terminal: the test plays the scanner on the master
//! side, the reader opens the slave like a serial port.

use std::io::Write;
use std::time::{Duration, Instant};

use pos_scanner::lines::{Line, LineSplitter};
use pos_scanner::{Scanner, ScannerConfig, ScannerError};
use pos_transport::DeviceUri;
use proptest::prelude::*;

fn scanner(path: &str, config: ScannerConfig) -> Scanner<Box<dyn pos_transport::Transport>> {
    let uri: DeviceUri = format!("serial://{path}?baud=9600").parse().unwrap();
    Scanner::new(pos_transport::open(&uri).unwrap(), config)
}

#[test]
fn codes_timeouts_and_unterminated_input_over_a_pty() {
    let (mut device, path) = pos_transport::pty_pair().unwrap();
    let mut s = scanner(&path, ScannerConfig::default());

    // Nothing scanned: the wait ends with no code.
    let t = Instant::now();
    assert!(s.read_code(Duration::from_millis(200)).unwrap().is_none());
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "the wait is honoured"
    );

    device.write_all(b"4006381333931\r\n3760001\r").unwrap();
    device.flush().unwrap();
    let got = s.read_code(Duration::from_secs(5)).unwrap();
    assert_eq!(
        got.as_deref(),
        Some("4006381333931"),
        "CRLF-terminated code"
    );
    let got = s.read_code(Duration::from_secs(5)).unwrap();
    assert_eq!(got.as_deref(), Some("3760001"), "CR-terminated code");

    // A code whose terminator never comes.
    device.write_all(b"12345").unwrap();
    device.flush().unwrap();
    match s.read_code(Duration::from_secs(5)) {
        Err(ScannerError::Unterminated(p)) => assert_eq!(p, "12345"),
        other => panic!("a stalled code is reported incomplete, got {other:?}"),
    }

    // Scanners configured without a suffix: a pause ends the code. (The port is opened
    // exclusively, so the first reader closes it first.)
    drop(s);
    let mut s = scanner(
        &path,
        ScannerConfig {
            accept_unterminated: true,
            inter_char_timeout: Duration::from_millis(100),
            ..ScannerConfig::default()
        },
    );
    device.write_all(b"998877").unwrap();
    device.flush().unwrap();
    assert_eq!(
        s.read_code(Duration::from_secs(5)).unwrap().as_deref(),
        Some("998877")
    );
}

proptest! {
    #[test]
    fn splitting_reads_never_changes_the_codes(
        codes in proptest::collection::vec("[0-9A-Z]{1,20}", 0..10),
        terms in proptest::collection::vec(prop_oneof![Just("\r"), Just("\n"), Just("\r\n")], 10),
        cut in 0usize..400,
    ) {
        let stream: String = codes.iter().zip(terms.iter().cycle()).map(|(c, t)| format!("{c}{t}")).collect();
        let bytes = stream.as_bytes();
        let cut = cut.min(bytes.len());
        let mut s = LineSplitter::default();
        let mut got = s.push(&bytes[..cut]);
        got.extend(s.push(&bytes[cut..]));
        let want: Vec<Line> = codes.iter().map(|c| Line::Code(c.clone())).collect();
        prop_assert_eq!(got, want, "codes survive any read boundary");
    }

    #[test]
    fn splitter_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut s = LineSplitter::new(16);
        for l in s.push(&bytes) {
            if let Line::Code(c) = l {
                prop_assert!(c.len() <= 16 * 2 && !c.is_empty());
            }
        }
    }
}
