//! `posdev ports`: serial ports, with the stable `/dev/serial/by-id` names that point at them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Serialize)]
struct Port {
    path: String,
    /// `/dev/serial/by-id/...` links to this port: use these in device URIs, they survive
    /// re-plugging and re-enumeration.
    by_id: Vec<String>,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    usb: Option<Usb>,
}

#[derive(Debug, Serialize)]
struct Usb {
    vid: String,
    pid: String,
    serial_number: Option<String>,
    manufacturer: Option<String>,
    product: Option<String>,
}

const BY_ID: &str = "/dev/serial/by-id";

/// by-id link target (canonical) -> link paths.
fn by_id_links(dir: &Path) -> BTreeMap<PathBuf, Vec<String>> {
    let mut map: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_symlink()))
        {
            let link = entry.path();
            if let Ok(target) = std::fs::canonicalize(&link) {
                map.entry(target)
                    .or_default()
                    .push(link.display().to_string());
            }
        }
    }
    for links in map.values_mut() {
        links.sort();
    }
    map
}

pub fn ports(json: bool) -> anyhow::Result<()> {
    let mut links = by_id_links(Path::new(BY_ID));
    let mut out = Vec::new();
    for info in serialport::available_ports()? {
        let canonical = std::fs::canonicalize(&info.port_name)
            .unwrap_or_else(|_| PathBuf::from(&info.port_name));
        let by_id = links.remove(&canonical).unwrap_or_default();
        let (kind, usb) = match info.port_type {
            serialport::SerialPortType::UsbPort(u) => (
                "usb",
                Some(Usb {
                    vid: format!("{:04x}", u.vid),
                    pid: format!("{:04x}", u.pid),
                    serial_number: u.serial_number,
                    manufacturer: u.manufacturer,
                    product: u.product,
                }),
            ),
            serialport::SerialPortType::PciPort => ("pci", None),
            serialport::SerialPortType::BluetoothPort => ("bluetooth", None),
            serialport::SerialPortType::Unknown => ("unknown", None),
        };
        out.push(Port {
            path: info.port_name,
            by_id,
            kind: kind.into(),
            usb,
        });
    }
    // by-id links whose device the scan did not report (e.g. a USB-CDC node it skipped).
    for (target, by_id) in links {
        out.push(Port {
            path: target.display().to_string(),
            by_id,
            kind: "usb".into(),
            usb: None,
        });
    }
    if json {
        println!("{}", serde_json::to_string(&out)?);
    } else if out.is_empty() {
        println!("no serial ports found");
    } else {
        for p in &out {
            let usb = p
                .usb
                .as_ref()
                .map(|u| {
                    format!(
                        " {}:{} {}",
                        u.vid,
                        u.pid,
                        u.product.clone().unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            println!("{} ({}{usb})", p.path, p.kind);
            for l in &p.by_id {
                println!("    {l}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_id_links_are_grouped_by_their_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ttyACM7");
        std::fs::write(&target, b"").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("usb-Ingenico_A-if00")).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("usb-Ingenico_A-if01")).unwrap();
        let map = by_id_links(dir.path());
        let links = &map[&std::fs::canonicalize(&target).unwrap()];
        assert_eq!(
            links.len(),
            2,
            "both links point at the same device: {links:?}"
        );
        assert!(links[0].ends_with("usb-Ingenico_A-if00"));
    }
}
