//! Wall-clock time in the local time zone, formatted by the C library's `strftime(3)` as
//! bpftrace prints it: `time(fmt)` (when the record is handled) and `strftime(fmt, nsecs)`
//! (a timestamp the probe took).

/// `format` applied to the current local time; an empty result when the format asks for more
/// than a line's worth.
pub fn wall_clock(format: &str) -> Vec<u8> {
    // SAFETY: `time(NULL)` has no preconditions.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    local_time(format, now)
}

/// A timestamp of CLOCK_BOOTTIME (or CLOCK_TAI when `tai`) nanoseconds as local time by
/// `format`, where `%f` is the microseconds (six digits).
pub fn timestamp(format: &str, nanos: u64, tai: bool) -> Vec<u8> {
    let clock = if tai { libc::CLOCK_TAI } else { libc::CLOCK_BOOTTIME };
    let realtime = i128::from(nanos) + (now(libc::CLOCK_REALTIME) - now(clock));
    let seconds = realtime.div_euclid(1_000_000_000);
    let micros = realtime.rem_euclid(1_000_000_000) / 1000;
    local_time(&with_microseconds(format, micros as u32), seconds as libc::time_t)
}

/// CLOCK_TAI minus CLOCK_BOOTTIME, in nanoseconds: the TAI reading against the middle of two
/// boot readings around it.
pub fn tai_minus_boot_ns() -> i64 {
    let before = now(libc::CLOCK_BOOTTIME);
    let tai = now(libc::CLOCK_TAI);
    let after = now(libc::CLOCK_BOOTTIME);
    (tai - (before + after) / 2) as i64
}

/// A CLOCK_TAI time as local `%H:%M:%S`.
pub fn wall_time(tai_ns: u64) -> Vec<u8> {
    local_time("%H:%M:%S", utc_seconds(tai_ns))
}

/// A CLOCK_TAI time as local `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn`, as JSON output names the start of
/// a `tseries` interval.
pub fn local_timestamp(tai_ns: u64) -> Vec<u8> {
    let mut text = local_time("%Y-%m-%dT%H:%M:%S", utc_seconds(tai_ns));
    text.extend_from_slice(format!(".{:09}", tai_ns % 1_000_000_000).as_bytes());
    text
}

/// The UTC second a CLOCK_TAI time falls in. TAI is ahead of UTC by whole seconds, so the
/// offset is rounded to them: a time on a second's boundary stays on it.
fn utc_seconds(tai_ns: u64) -> libc::time_t {
    let offset = (now(libc::CLOCK_TAI) - now(libc::CLOCK_REALTIME) + 500_000_000).div_euclid(1_000_000_000);
    (i128::from(tai_ns).div_euclid(1_000_000_000) - offset) as libc::time_t
}

/// Nanoseconds by `clock`.
fn now(clock: libc::clockid_t) -> i128 {
    // SAFETY: an all-zero `timespec` is valid, and `clock_gettime` writes the one it is given.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is valid for the call.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// `format` with each `%f` replaced by `micros` (`%%` is kept for strftime).
fn with_microseconds(format: &str, micros: u32) -> String {
    let mut out = String::with_capacity(format.len());
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        match (c, c == '%') {
            (_, true) => match chars.next() {
                Some('f') => out.push_str(&format!("{micros:06}")),
                Some(next) => {
                    out.push('%');
                    out.push(next);
                }
                None => out.push('%'),
            },
            _ => out.push(c),
        }
    }
    out
}

/// `format` applied to the local time of `seconds` since the epoch.
fn local_time(format: &str, seconds: libc::time_t) -> Vec<u8> {
    let Ok(format) = std::ffi::CString::new(format) else { return Vec::new() };
    let now = seconds;
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
    use super::{timestamp, wall_clock, with_microseconds};

    #[test]
    fn formats_the_current_time() {
        let text = String::from_utf8(wall_clock("%H:%M:%S|%%")).unwrap();
        let (time, rest) = text.split_once('|').unwrap();
        assert_eq!(rest, "%");
        assert_eq!(time.len(), 8);
        assert!(time.split(':').all(|part| part.len() == 2 && part.parse::<u32>().is_ok()), "{time}");
    }

    #[test]
    fn microseconds_replace_percent_f_only() {
        assert_eq!(with_microseconds("%H:%M:%S.%f %%f", 42), "%H:%M:%S.000042 %%f");
    }

    #[test]
    fn a_boot_timestamp_of_now_is_this_year() {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: the pointer is valid for the call.
        unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
        let boot_now = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
        assert_eq!(timestamp("%Y", boot_now, false), wall_clock("%Y"));
    }
}
