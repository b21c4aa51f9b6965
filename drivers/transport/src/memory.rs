//! An in-memory duplex link for unit tests: two ends, each reading what the other wrote.
//!
//! Dropping one end is a hang-up: the other end reads end-of-file once the buffered bytes are
//! consumed and gets `BrokenPipe` on write, like a TCP peer that closed.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::Transport;

#[derive(Default)]
struct PipeState {
    data: VecDeque<u8>,
    writer_gone: bool,
    reader_gone: bool,
}

/// One direction of the duplex.
#[derive(Default)]
struct Pipe {
    state: Mutex<PipeState>,
    changed: Condvar,
}

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, PipeState> {
        // A panic in another test thread must not turn every later read into a second panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One end of an in-memory duplex (see [`memory_duplex`]).
pub struct MemoryLink {
    rx: Arc<Pipe>,
    tx: Arc<Pipe>,
    timeout: Duration,
    name: &'static str,
}

/// Creates a connected pair; the default read timeout is 1 s on both ends.
pub fn memory_duplex() -> (MemoryLink, MemoryLink) {
    let a_to_b = Arc::new(Pipe::default());
    let b_to_a = Arc::new(Pipe::default());
    let a = MemoryLink {
        rx: b_to_a.clone(),
        tx: a_to_b.clone(),
        timeout: Duration::from_secs(1),
        name: "a",
    };
    let b = MemoryLink {
        rx: a_to_b,
        tx: b_to_a,
        timeout: Duration::from_secs(1),
        name: "b",
    };
    (a, b)
}

impl Read for MemoryLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let deadline = Instant::now() + self.timeout;
        let mut state = self.rx.lock();
        loop {
            if !state.data.is_empty() {
                let n = buf.len().min(state.data.len());
                for (slot, byte) in buf.iter_mut().zip(state.data.drain(..n)) {
                    *slot = byte;
                }
                return Ok(n);
            }
            if state.writer_gone {
                return Ok(0);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "memory link read timed out",
                ));
            }
            state = self
                .rx
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Write for MemoryLink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.tx.lock();
        if state.reader_gone {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "memory link peer hung up",
            ));
        }
        state.data.extend(buf);
        self.tx.changed.notify_all();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for MemoryLink {
    fn drop(&mut self) {
        self.tx.lock().writer_gone = true;
        self.tx.changed.notify_all();
        self.rx.lock().reader_gone = true;
        self.rx.changed.notify_all();
    }
}

impl Transport for MemoryLink {
    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.timeout = timeout;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("memory:{}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_cross_in_both_directions() {
        let (mut a, mut b) = memory_duplex();
        a.write_all(b"\x05").unwrap();
        b.write_all(b"\x06").unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(b.read(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], 0x05, "b reads what a wrote");
        assert_eq!(a.read(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], 0x06, "a reads what b wrote");
    }

    #[test]
    fn empty_read_times_out_with_timed_out_kind() {
        let (mut a, _b) = memory_duplex();
        a.set_read_timeout(Duration::from_millis(10)).unwrap();
        let err = a.read(&mut [0u8; 1]).unwrap_err();
        assert_eq!(
            err.kind(),
            io::ErrorKind::TimedOut,
            "the Transport contract says timeouts are TimedOut"
        );
    }

    #[test]
    fn hang_up_gives_eof_after_buffered_bytes_and_broken_pipe_on_write() {
        let (mut a, mut b) = memory_duplex();
        b.write_all(b"xy").unwrap();
        drop(b);
        let mut buf = [0u8; 8];
        assert_eq!(
            a.read(&mut buf).unwrap(),
            2,
            "bytes written before the hang-up are still delivered"
        );
        assert_eq!(a.read(&mut buf).unwrap(), 0, "then end-of-file");
        assert_eq!(
            a.write(b"z").unwrap_err().kind(),
            io::ErrorKind::BrokenPipe,
            "writing to a gone peer fails"
        );
    }

    #[test]
    fn a_blocked_reader_wakes_when_data_arrives_from_another_thread() {
        let (mut a, mut b) = memory_duplex();
        a.set_read_timeout(Duration::from_secs(10)).unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            b.write_all(b"late").unwrap();
            b
        });
        let mut buf = [0u8; 4];
        a.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"late");
        drop(writer.join().unwrap());
    }
}
