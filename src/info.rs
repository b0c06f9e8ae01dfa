//! `--info`: the system, the build, and what the running kernel can do, in bpftrace's layout
//! (sections of `name: value` entries, two to a line).

use std::io::{self, Write};

use ferrotrace_runtime::features::{Section, FEATURES};
use ferrotrace_runtime::sys;

/// The width of the first column of a two-entry line, as bpftrace pads it.
const COLUMN: usize = 35;

pub fn write(out: &mut impl Write) -> io::Result<()> {
    let uname = sys::uname()?;
    writeln!(out, "System")?;
    writeln!(out, "  OS: {} {} {}", uname.sysname, uname.release, uname.version)?;
    writeln!(out, "  Arch: {}", uname.machine)?;
    writeln!(out)?;
    writeln!(out, "Build")?;
    writeln!(out, "  version: v{}", env!("CARGO_PKG_VERSION"))?;
    writeln!(out)?;
    for section in Section::ALL {
        writeln!(out, "{}", section.title())?;
        let entries: Vec<String> = FEATURES
            .iter()
            .filter(|feature| feature.section == section)
            .map(|feature| format!("{}: {}", feature.name, feature.detect()))
            .collect();
        for pair in entries.chunks(2) {
            match pair {
                [left, right] => writeln!(out, "{:<COLUMN$}{right}", format!("  {left}"))?,
                [only] => writeln!(out, "  {only}")?,
                _ => unreachable!("chunks of two"),
            }
        }
        writeln!(out)?;
    }
    Ok(())
}
