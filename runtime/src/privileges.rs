//! Whether this process may load and attach BPF programs: root, or `CAP_BPF` and
//! `CAP_PERFMON` in the effective set. Checked before any work so the user never sees a raw
//! `EPERM`.

use std::fs;
use std::io;

use thiserror::Error;

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

#[derive(Debug, Error)]
pub enum PrivilegeError {
    #[error("missing {missing} in the effective capability set; run as root or grant CAP_BPF and CAP_PERFMON (e.g. `setcap cap_bpf,cap_perfmon+ep <binary>`)")]
    Missing { missing: String },
    #[error("cannot read the capabilities of this process from `/proc/self/status`: {0}")]
    Unreadable(io::Error),
}

/// Ok if this process may load and attach BPF programs.
pub fn check() -> Result<(), PrivilegeError> {
    if crate::sys::effective_uid() == 0 {
        return Ok(());
    }
    let status = fs::read_to_string("/proc/self/status").map_err(PrivilegeError::Unreadable)?;
    let effective = effective_capabilities(&status).ok_or_else(|| {
        PrivilegeError::Unreadable(io::Error::other("no parsable `CapEff:` line"))
    })?;
    evaluate(effective)
}

/// Decides from the effective capability mask (`CAP_SYS_ADMIN` alone also suffices, as on
/// kernels before 5.8).
pub fn evaluate(effective: u64) -> Result<(), PrivilegeError> {
    let has = |cap: u32| effective & (1u64 << cap) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    let missing: Vec<&str> = [(CAP_BPF, "CAP_BPF"), (CAP_PERFMON, "CAP_PERFMON")]
        .into_iter()
        .filter(|(cap, _)| !has(*cap))
        .map(|(_, name)| name)
        .collect();
    Err(PrivilegeError::Missing {
        missing: missing.join(" and "),
    })
}

/// The `CapEff:` mask of a `/proc/<pid>/status` text.
pub fn effective_capabilities(status: &str) -> Option<u64> {
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))?;
    u64::from_str_radix(line.trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::{effective_capabilities, evaluate};

    const STATUS: &str = "Name:\tcat\nCapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\n\
                          CapEff:\t000000c000000000\nCapBnd:\t000001fffeffffff\n";

    #[test]
    fn reads_the_effective_mask() {
        assert_eq!(effective_capabilities(STATUS), Some(0xc0_0000_0000));
        assert_eq!(effective_capabilities("Name:\tcat\n"), None);
    }

    #[test]
    fn bpf_and_perfmon_suffice() {
        assert!(evaluate((1 << 39) | (1 << 38)).is_ok());
        assert!(evaluate(1 << 21).is_ok());
    }

    #[test]
    fn the_error_names_what_is_missing() {
        let message = |mask| evaluate(mask).map_err(|error| error.to_string()).err();
        let only_bpf = message(1 << 39).unwrap_or_default();
        assert!(only_bpf.starts_with("missing CAP_PERFMON in"), "{only_bpf}");
        let none = message(0).unwrap_or_default();
        assert!(
            none.starts_with("missing CAP_BPF and CAP_PERFMON in"),
            "{none}"
        );
        assert!(none.contains("run as root or grant CAP_BPF and CAP_PERFMON"));
    }
}
