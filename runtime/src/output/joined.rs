//! `join(argv, sep)`: a count, then fixed-size NUL-padded strings, printed as one line.

/// The first `count` (from the record) of `strings` strings of `size` bytes in `args`, each
/// up to its NUL, joined by `separator`, with a newline.
pub fn joined(args: &[u8], separator: &str, strings: u32, size: u32) -> Vec<u8> {
    let count = args.get(..8).map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])));
    let mut out = Vec::new();
    for i in 0..count.min(u64::from(strings)) as usize {
        let start = 8 + i * size as usize;
        let Some(field) = args.get(start..start + size as usize) else { break };
        let text = &field[..field.iter().position(|&b| b == 0).unwrap_or(field.len())];
        if i > 0 {
            out.extend_from_slice(separator.as_bytes());
        }
        out.extend_from_slice(text);
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::joined;

    #[test]
    fn the_counted_strings_are_joined() {
        let mut record = 2u64.to_ne_bytes().to_vec();
        for word in ["ls", "-l", "unused"] {
            let mut field = word.as_bytes().to_vec();
            field.resize(4, 0);
            record.extend(field);
        }
        assert_eq!(joined(&record, " ", 3, 4), b"ls -l\n");
        assert_eq!(joined(&0u64.to_ne_bytes(), ",", 3, 4), b"\n");
    }
}
