//! A process's file mappings from `/proc/PID/maps`: which file, at which offset, each user
//! address range holds.

use std::path::PathBuf;

/// One mapping of a file into a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    /// Where in the file `start` is.
    pub offset: u64,
    pub path: PathBuf,
}

impl Mapping {
    /// The offset in the file of `address`, if this mapping holds it.
    pub fn file_offset(&self, address: u64) -> Option<u64> {
        (self.start..self.end).contains(&address).then(|| address - self.start + self.offset)
    }
}

/// The file-backed mappings of process `pid`, or `None` if it is gone.
pub fn read(pid: u32) -> Option<Vec<Mapping>> {
    std::fs::read_to_string(format!("/proc/{pid}/maps")).ok().map(|text| parse(&text))
}

/// `START-END PERMS OFFSET DEV INODE PATH` lines; mappings of no file (`[heap]`, anonymous)
/// are left out.
pub fn parse(text: &str) -> Vec<Mapping> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(6, ' ');
            let (start, end) = fields.next()?.split_once('-')?;
            let _perms = fields.next()?;
            let offset = fields.next()?;
            let _dev = fields.next()?;
            let _inode = fields.next()?;
            let path = fields.next()?.trim_start();
            if !path.starts_with('/') {
                return None;
            }
            Some(Mapping {
                start: u64::from_str_radix(start, 16).ok()?,
                end: u64::from_str_radix(end, 16).ok()?,
                offset: u64::from_str_radix(offset, 16).ok()?,
                path: PathBuf::from(path.strip_suffix(" (deleted)").unwrap_or(path)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_mappings_are_kept_with_their_offsets() {
        let text = "55d0a0000000-55d0a0001000 r--p 00000000 fd:01 123 /usr/bin/cat\n\
                    55d0a0001000-55d0a0005000 r-xp 00001000 fd:01 123 /usr/bin/cat\n\
                    55d0a1000000-55d0a1021000 rw-p 00000000 00:00 0                          [heap]\n\
                    7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n";
        let maps = parse(text);
        assert_eq!(maps.len(), 2);
        assert_eq!(maps[1].path, PathBuf::from("/usr/bin/cat"));
        assert_eq!(maps[1].file_offset(0x55d0a0001010), Some(0x1010));
        assert_eq!(maps[0].file_offset(0x55d0a0001010), None);
    }
}
