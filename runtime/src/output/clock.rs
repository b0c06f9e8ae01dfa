//! `time(fmt)`: the wall-clock time when the record is handled, formatted by the C library's
//! `strftime(3)` in the local time zone, as bpftrace prints it.

/// `format` applied to the current local time; an empty result when the format asks for more
/// than a line's worth.
pub fn wall_clock(format: &str) -> Vec<u8> {
    let Ok(format) = std::ffi::CString::new(format) else { return Vec::new() };
    // SAFETY: `time(NULL)` has no preconditions; `localtime_r` writes the `tm` it is given.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    // SAFETY: an all-zero `tm` is a valid value to be overwritten.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&now, &mut tm) }.is_null() {
        return Vec::new();
    }
    let mut buffer = [0u8; 512];
    // SAFETY: the buffer and its length agree, the format is NUL-terminated, `tm` is initialized.
    let written = unsafe { libc::strftime(buffer.as_mut_ptr().cast(), buffer.len(), format.as_ptr(), &tm) };
    buffer[..written].to_vec()
}

#[cfg(test)]
mod tests {
    use super::wall_clock;

    #[test]
    fn formats_the_current_time() {
        let text = String::from_utf8(wall_clock("%H:%M:%S|%%")).unwrap();
        let (time, rest) = text.split_once('|').unwrap();
        assert_eq!(rest, "%");
        assert_eq!(time.len(), 8);
        assert!(time.split(':').all(|part| part.len() == 2 && part.parse::<u32>().is_ok()), "{time}");
    }
}
