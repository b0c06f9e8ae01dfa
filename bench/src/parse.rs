//! Reading the tracers' text output: lost-event notices, probe counts, printed map values.
//! Both bpftrace 0.17's and ferrotrace's (bpftrace 0.26's) formats are understood.

/// The N of a `Lost N events` notice in `line`.
pub fn lost_in_line(line: &str) -> Option<u64> {
    let (_, rest) = line.split_once("Lost ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    rest[digits.len()..].starts_with(" event").then(|| digits.parse().ok()).flatten()
}

/// The sum of every `Lost N events` notice in `text`.
pub fn lost_events(text: &str) -> u64 {
    text.lines().filter_map(lost_in_line).sum()
}

/// N from `Attached N probes` (ferrotrace) or `Attaching N probes...` (bpftrace).
pub fn attached_probes(text: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("Attached ").or_else(|| line.trim().strip_prefix("Attaching "))?;
        let (count, word) = rest.split_once(' ')?;
        word.starts_with("probe").then(|| count.parse().ok()).flatten()
    })
}

/// The value printed after `key: ` on a line of its own, as in `@[loop]: 2000000`.
pub fn map_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix(':')?.trim().parse().ok())
}

/// The sum of the counts of a map keyed by stacks: the values after the `]: ` that closes each
/// multi-line key (`@[\n        frame\n]: 1708`).
pub fn stack_total(text: &str) -> Option<u64> {
    let counts: Vec<u64> = text.lines().filter_map(|line| line.strip_prefix("]: ")?.trim().parse().ok()).collect();
    (!counts.is_empty()).then(|| counts.iter().sum())
}

/// The count of a `stats()` entry: `@s[1, loop]: count 5, average ...` (bpftrace 0.17) or
/// `@s[1, loop]: { .count = 5, .average = ... }` (ferrotrace).
pub fn stats_count(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))?;
    let words: Vec<&str> =
        line.split(|c: char| c.is_whitespace() || "{}.=,".contains(c)).filter(|w| !w.is_empty()).collect();
    let at = words.iter().position(|word| *word == "count")?;
    words.get(at + 1)?.parse().ok()
}

/// The sum of the bucket counts of histogram `map` (`@h:` then lines like `[4, 8)   12 |@@ |`).
pub fn hist_total(text: &str, map: &str) -> Option<u64> {
    let mut lines = text.lines().skip_while(|line| line.trim_end() != format!("{map}:"));
    lines.next()?;
    let mut total = 0;
    for line in lines.take_while(|line| line.starts_with('[') || line.starts_with('(')) {
        let close = line.find([')', ']'])?;
        total += line[close + 1..].split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// The pid at the start of a `printf("%d %s\n", pid, comm)` line.
pub fn printf_pid(line: &[u8]) -> Option<u32> {
    let end = line.iter().position(|byte| *byte == b' ')?;
    std::str::from_utf8(&line[..end]).ok()?.parse().ok()
}

/// The pid at the start of the text of a JSON `printf` line:
/// `{"type": "printf", "data": "123 comm\n"}` (bpftrace's spacing or none).
pub fn json_printf_pid(line: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(line).ok()?;
    let rest = text.strip_prefix("{\"type\":")?.trim_start().strip_prefix("\"printf\"")?;
    let data = rest.split_once("\"data\":")?.1.trim_start().strip_prefix('"')?;
    printf_pid(data.as_bytes())
}

/// N from a JSON `lost_events` line: `{"type": "lost_events", "data": {"events": N}}`.
pub fn json_lost_events(line: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(line).ok()?;
    let rest = text.strip_prefix("{\"type\":")?.trim_start().strip_prefix("\"lost_events\"")?;
    let count = rest.split_once("\"events\":")?.1.trim_start();
    count[..count.find(|c: char| !c.is_ascii_digit())?].parse().ok()
}

/// The last `count` lines of `text`, to show with an error.
pub fn tail(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_give_their_pid_and_lost_count() {
        assert_eq!(json_printf_pid(br#"{"type": "printf", "data": "4242 getppid_loop\n"}"#), Some(4242));
        assert_eq!(json_printf_pid(br#"{"type":"printf","data":"7 x"}"#), Some(7));
        assert_eq!(json_printf_pid(br#"{"type": "time", "data": "4242 x"}"#), None);
        assert_eq!(json_lost_events(br#"{"type": "lost_events", "data": {"events": 12}}"#), Some(12));
        assert_eq!(json_lost_events(br#"{"type": "printf", "data": "12"}"#), None);
    }

    #[test]
    fn lost_notices_are_summed() {
        assert_eq!(lost_in_line("Lost 12 events"), Some(12));
        assert_eq!(lost_in_line("  Lost 1 event"), Some(1));
        assert_eq!(lost_in_line("1234 Lost"), None);
        assert_eq!(lost_in_line("Lost events"), None);
        assert_eq!(lost_in_line("12 loop"), None);
        assert_eq!(lost_events("1 loop\nLost 100 events\n2 loop\nLost 23 events\n"), 123);
        assert_eq!(lost_events(""), 0);
        // ferrotrace's total at exit repeats the notices before it: not counted twice.
        assert_eq!(lost_events("Lost 5 events\nLost 2 events\nWARNING: Total lost event count: 7\n"), 7);
    }

    #[test]
    fn probe_counts_come_from_either_tool() {
        assert_eq!(attached_probes("Attached 1 probe\n"), Some(1));
        assert_eq!(attached_probes("ERROR: couldn't set RLIMIT_MEMLOCK\nAttaching 337 probes...\n"), Some(337));
        assert_eq!(attached_probes("@[x]: 1\n"), None);
    }

    #[test]
    fn map_values_by_exact_key() {
        let output = "Attached 1 probe\n\n\n@[bash]: 96\n@[loop]: 2001000\n@a: 21\n";
        assert_eq!(map_value(output, "@[loop]"), Some(2_001_000));
        assert_eq!(map_value(output, "@a"), Some(21));
        assert_eq!(map_value(output, "@[loo]"), None);
        assert_eq!(map_value(output, "@[nobody]"), None);
    }

    #[test]
    fn stats_counts_in_both_formats() {
        let old = "@s[21097, loop]: count 2000000, average 21097, total 189873\n";
        let new = "@s[20752, loop]: { .count = 2000000, .average = 20752, .total = 20752000 }\n";
        assert_eq!(stats_count(old, "@s[21097, loop]"), Some(2_000_000));
        assert_eq!(stats_count(new, "@s[20752, loop]"), Some(2_000_000));
        assert_eq!(stats_count(new, "@s[1, loop]"), None);
    }

    #[test]
    fn histogram_totals_add_every_bucket() {
        let output = "@a: 3\n@h: \n(..., 0)   1 |@   |\n[0]   2 |@@   |\n[1K, 2K)   4 |@@@@|\n\n@l:\n[0, 16)  7 |@|\n";
        assert_eq!(hist_total(output, "@h"), Some(7));
        assert_eq!(hist_total(output, "@l"), Some(7));
        assert_eq!(hist_total(output, "@x"), None);
        assert_eq!(hist_total("@h:\n[0, 16) many |@|\n", "@h"), None);
    }

    #[test]
    fn printf_lines_start_with_the_pid() {
        assert_eq!(printf_pid(b"4242 loop"), Some(4242));
        assert_eq!(printf_pid(b"Lost 3 events"), None);
        assert_eq!(printf_pid(b"4242"), None);
        assert_eq!(printf_pid(&[0xff, b' ']), None);
    }

    #[test]
    fn tails_keep_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a\n", 5), "a");
        assert_eq!(tail("", 5), "");
    }
}
