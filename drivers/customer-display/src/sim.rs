//! A customer display simulator: decodes DM-D bytes from a link and reports the screen each
//! time it changes (after the bytes of one update have arrived).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pos_transport::Transport;

use crate::decode::DisplayModel;
use crate::encoder::{COLUMNS, ROWS};

/// Serves `link` until it closes or `stop` is set, calling `on_change` with the two lines
/// whenever the screen changed and no byte arrived for `settle` (so one update is reported
/// once, not character by character).
pub fn serve_link<T: Transport>(
    mut link: T,
    stop: &AtomicBool,
    settle: Duration,
    mut on_change: impl FnMut(&[String; ROWS]),
) -> io::Result<()> {
    link.set_read_timeout(settle)?;
    let mut model = DisplayModel::default();
    let mut dirty = false;
    let mut buf = [0u8; 256];
    while !stop.load(Ordering::Relaxed) {
        match link.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => dirty |= model.push(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) =>
            {
                if dirty {
                    on_change(&model.lines());
                    dirty = false;
                }
            }
            Err(e) => return Err(e),
        }
    }
    if dirty {
        on_change(&model.lines());
    }
    Ok(())
}

/// Draws the screen in a box, as the simulator prints it.
pub fn framed(lines: &[String; ROWS]) -> String {
    let rule = format!("+{}+", "-".repeat(COLUMNS));
    format!("{rule}\n|{}|\n|{}|\n{rule}", lines[0], lines[1])
}
