//! Shared test helpers: simulators on real ptys and real TCP sockets.
#![allow(dead_code)]

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use pos_payment_terminal::LinkTimeouts;
use pos_payment_terminal::sim::concert::{Flavour, Stopped, serve};
use pos_payment_terminal::sim::{Behaviour, SimEvent, caisse_ap};
use pos_transport::pty_pair;

/// Short link timeouts so failure paths finish quickly.
pub fn fast() -> LinkTimeouts {
    LinkTimeouts {
        ack: Duration::from_millis(500),
        enq_attempts: 3,
        nak_resends: 3,
        inter_char: Duration::from_millis(500),
    }
}

pub struct SerialSim {
    pub path: String,
    pub events: Receiver<SimEvent>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<std::io::Result<Stopped>>>,
}

impl SerialSim {
    /// Starts a simulated terminal on a fresh pty; clients open `path`.
    pub fn start(flavour: Flavour, behaviour: &str) -> SerialSim {
        let behaviour: Behaviour = behaviour.parse().unwrap();
        let (master, path) = pty_pair().unwrap();
        let (tx, events) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle =
            std::thread::spawn(move || serve(master, flavour, &behaviour, &fast(), &tx, &flag));
        SerialSim {
            path,
            events,
            stop,
            handle: Some(handle),
        }
    }

    /// Every event so far, waiting `settle` for late ones.
    pub fn drain(&self, settle: Duration) -> Vec<SimEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.recv_timeout(settle) {
            out.push(e);
        }
        out
    }
}

impl Drop for SerialSim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

pub struct TcpSim {
    pub port: u16,
    pub events: Receiver<SimEvent>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

impl TcpSim {
    pub fn start(behaviour: &str) -> TcpSim {
        let behaviour: Behaviour = behaviour.parse().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, events) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || caisse_ap::serve(listener, behaviour, tx, flag));
        TcpSim {
            port,
            events,
            stop,
            handle: Some(handle),
        }
    }

    pub fn drain(&self, settle: Duration) -> Vec<SimEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.recv_timeout(settle) {
            out.push(e);
        }
        out
    }
}

impl Drop for TcpSim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

pub fn requests(events: &[SimEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, SimEvent::Request { .. }))
        .count()
}
