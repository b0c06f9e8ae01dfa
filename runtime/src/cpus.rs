//! Which CPUs exist: the possible ones (per-CPU map values have one slot each) and the online
//! ones (profile probes attach to each), read from sysfs cpu lists such as `0-3,6`.

use std::fs;
use std::io;
use std::path::PathBuf;

use thiserror::Error;

const POSSIBLE: &str = "/sys/devices/system/cpu/possible";
const ONLINE: &str = "/sys/devices/system/cpu/online";

#[derive(Debug, Error)]
pub enum CpuListError {
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("`{path}` holds `{text}`, which is not a cpu list")]
    Malformed { path: PathBuf, text: String },
}

/// The ids of every possible CPU, in order.
pub fn possible() -> Result<Vec<u32>, CpuListError> {
    read_list(POSSIBLE)
}

/// The ids of the CPUs online now, in order.
pub fn online() -> Result<Vec<u32>, CpuListError> {
    read_list(ONLINE)
}

fn read_list(path: &str) -> Result<Vec<u32>, CpuListError> {
    let text = fs::read_to_string(path).map_err(|source| CpuListError::Read {
        path: PathBuf::from(path),
        source,
    })?;
    parse_list(&text).ok_or_else(|| CpuListError::Malformed {
        path: PathBuf::from(path),
        text: text.trim().to_string(),
    })
}

/// Parses a kernel cpu list (`0`, `0-3`, `0-3,6,8-9`); `None` if it is malformed.
pub fn parse_list(text: &str) -> Option<Vec<u32>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut cpus = Vec::new();
    for range in text.split(',') {
        let (first, last) = match range.split_once('-') {
            Some((first, last)) => (first.parse::<u32>().ok()?, last.parse::<u32>().ok()?),
            None => {
                let cpu = range.parse::<u32>().ok()?;
                (cpu, cpu)
            }
        };
        if last < first {
            return None;
        }
        cpus.extend(first..=last);
    }
    Some(cpus)
}

#[cfg(test)]
mod tests {
    use super::parse_list;

    #[test]
    fn parses_single_ranges_and_lists() {
        assert_eq!(parse_list("0\n"), Some(vec![0]));
        assert_eq!(parse_list("0-3\n"), Some(vec![0, 1, 2, 3]));
        assert_eq!(parse_list("0-1,4,6-7"), Some(vec![0, 1, 4, 6, 7]));
    }

    #[test]
    fn rejects_malformed_lists() {
        assert_eq!(parse_list(""), None);
        assert_eq!(parse_list("3-1"), None);
        assert_eq!(parse_list("a-b"), None);
        assert_eq!(parse_list("0,,1"), None);
    }
}
