//! Real links: pty pairs opened through serial URIs, usblp on a pty node, TCP on 127.0.0.1:0,
//! and reopening a by-id style symlink after the device behind it was replaced.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use pos_transport::{DeviceUri, SerialLink, SerialSettings, Transport, open, pty_pair};

fn read_n(link: &mut dyn Transport, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    link.read_exact(&mut out)
        .expect("expected bytes on the link");
    out
}

#[test]
fn pty_master_and_serial_client_exchange_bytes() {
    let (mut master, path) = pty_pair().unwrap();
    let uri: DeviceUri = format!("serial://{path}?baud=9600").parse().unwrap();
    let mut client = open(&uri).unwrap();
    assert_eq!(client.describe(), format!("serial://{path}"));
    // Every byte value must cross untouched: raw mode, no echo, no CR/LF translation.
    let all: Vec<u8> = (0..=255u8).collect();
    client.write_all(&all).unwrap();
    assert_eq!(
        read_n(&mut master, 256),
        all,
        "the pty must be 8-bit clean client -> master"
    );
    master.write_all(&all).unwrap();
    assert_eq!(
        read_n(&mut *client, 256),
        all,
        "the pty must be 8-bit clean master -> client"
    );
}

#[test]
fn pty_read_times_out_with_timed_out_kind() {
    let (mut master, _path) = pty_pair().unwrap();
    master.set_read_timeout(Duration::from_millis(20)).unwrap();
    let err = master.read(&mut [0u8; 1]).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::TimedOut,
        "a quiet pty master read must time out, not fail"
    );
}

#[test]
fn pty_master_survives_client_disconnect_and_serves_the_next_client() {
    let (mut master, path) = pty_pair().unwrap();
    master.set_read_timeout(Duration::from_millis(200)).unwrap();
    for round in 0..2u8 {
        let mut client = open(&format!("serial://{path}").parse().unwrap()).unwrap();
        client.write_all(&[round]).unwrap();
        assert_eq!(
            read_n(&mut master, 1),
            vec![round],
            "client {round} must reach the master"
        );
        drop(client);
    }
    // With no client attached the held slave keeps the master readable (timeout, not EIO).
    let err = master.read(&mut [0u8; 1]).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::TimedOut,
        "the master must not see EIO between clients"
    );
}

#[test]
fn usblp_link_opens_a_character_device_and_reads_with_timeout() {
    // A pty slave stands in for /dev/usb/lp0: both are character devices opened as files.
    let (mut master, path) = pty_pair().unwrap();
    let mut lp = open(&format!("usblp://{path}").parse().unwrap()).unwrap();
    lp.write_all(b"\x1b@hello").unwrap();
    assert_eq!(read_n(&mut master, 7), b"\x1b@hello");
    master.write_all(&[0x12]).unwrap();
    assert_eq!(
        read_n(&mut *lp, 1),
        vec![0x12],
        "status bytes come back through the same node"
    );
    lp.set_read_timeout(Duration::from_millis(20)).unwrap();
    assert_eq!(
        lp.read(&mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
}

#[test]
fn tcp_link_connects_and_maps_read_timeouts() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
        // Hold the connection until the client hangs up.
        let _ = s.read(&mut buf);
    });
    let mut link = open(&format!("tcp://127.0.0.1:{port}").parse().unwrap()).unwrap();
    link.write_all(b"ping").unwrap();
    assert_eq!(read_n(&mut *link, 4), b"ping");
    link.set_read_timeout(Duration::from_millis(20)).unwrap();
    let err = link.read(&mut [0u8; 1]).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::TimedOut,
        "std's WouldBlock must surface as TimedOut"
    );
    drop(link);
    server.join().unwrap();
}

#[test]
fn tcp_without_port_and_refused_connections_are_errors() {
    let err = open(&"tcp://127.0.0.1".parse().unwrap())
        .err()
        .expect("no port must fail");
    assert!(err.to_string().contains("no port"), "{err}");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port(); // closed now
    let err = open(&format!("tcp://127.0.0.1:{port}").parse().unwrap())
        .err()
        .expect("refused must fail");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "the error names the address: {err}"
    );
}

#[test]
fn missing_serial_device_error_names_the_path() {
    let err = open(&"serial:///dev/does-not-exist-ttyACM9".parse().unwrap())
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("/dev/does-not-exist-ttyACM9"),
        "{err}"
    );
}

#[test]
fn reopen_follows_a_by_id_link_to_the_re_enumerated_device() {
    let dir = tempfile::tempdir().unwrap();
    let by_id = dir.path().join("usb-Ingenico_Test_0001-if00");
    let (mut first_master, first_path) = pty_pair().unwrap();
    std::os::unix::fs::symlink(&first_path, &by_id).unwrap();

    let mut link =
        SerialLink::open(&SerialSettings::new(&by_id), Duration::from_millis(200)).unwrap();
    link.write_all(b"1").unwrap();
    assert_eq!(read_n(&mut first_master, 1), b"1");

    // "Unplug": the device node goes away and the by-id link disappears.
    drop(first_master);
    std::fs::remove_file(&by_id).unwrap();
    let replug_dir = by_id.clone();
    let replug = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        let (master, path) = pty_pair().unwrap();
        std::os::unix::fs::symlink(&path, &replug_dir).unwrap();
        master
    });
    link.reopen(Duration::from_secs(5), Duration::from_millis(10))
        .expect("reopen by the same by-id path");
    let mut second_master = replug.join().unwrap();
    link.write_all(b"2").unwrap();
    assert_eq!(
        read_n(&mut second_master, 1),
        b"2",
        "after reopen, bytes reach the new device"
    );
}

#[test]
fn reopen_gives_up_after_the_wait_with_a_clear_error() {
    let (_master, path) = pty_pair().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let by_id = dir.path().join("gone");
    std::os::unix::fs::symlink(&path, &by_id).unwrap();
    let mut link =
        SerialLink::open(&SerialSettings::new(&by_id), Duration::from_millis(50)).unwrap();
    std::fs::remove_file(&by_id).unwrap();
    let err = link
        .reopen(Duration::from_millis(50), Duration::from_millis(10))
        .unwrap_err();
    assert!(err.to_string().contains("did not come back"), "{err}");
    assert_eq!(
        link.write(b"x").unwrap_err().kind(),
        ErrorKind::NotConnected,
        "a failed reopen leaves the link closed"
    );
}
