//! `watchpoint:address:length:mode` (`w:`) and `watchpoint:function+argN:length:mode`, with
//! `asyncwatchpoint:` (`aw:`) for the second form: hardware breakpoints on memory, as
//! `perf_event_open` makes them (`PERF_TYPE_BREAKPOINT`). With `-p` or `-c` the address is in
//! that process; without, it is a kernel address, watched on every CPU. The second form
//! watches the address a function's argument holds when it is called: a uprobe on the function
//! (`WatchSetup`) reports it, after stopping the process unless the probe is asynchronous.
//! Programs see the registers of the task that made the access.

use super::{glob_match, is_pattern, no_arguments, nothing_to_list, user_binaries, Context, Provider, ResolvedProbe, Scope, WatchSetup};
use crate::catalog::UserBinary;
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::{Attach, ProgramType, WatchMode};
use crate::syntax::ast::AttachPoint;

pub(super) const WATCHPOINT: Provider = Provider {
    name: "watchpoint",
    written: &["watchpoint", "w"],
    resolve: |ap, scope| resolve(ap, scope, false),
    list: nothing_to_list,
    arguments: no_arguments,
    program: ProgramType::PerfEvent,
    context: Context::SampleRegisters,
    at_return: false,
    user_pointers: false,
    in_traced_task: true,
    shares_programs: false,
    section: |_| "perf_event".to_string(),
};

pub(super) const ASYNCWATCHPOINT: Provider =
    Provider { name: "asyncwatchpoint", written: &["asyncwatchpoint", "aw"], resolve: |ap, scope| resolve(ap, scope, true), ..WATCHPOINT };

/// The lengths a watchpoint may have, in bytes.
const LENGTHS: [u64; 4] = [1, 2, 4, 8];

/// The modes an x86-64 CPU can watch (Intel SDM volume 3, 17.2.4): no read without write, and
/// no execute with either.
const MODES: [&str; 3] = ["rw", "w", "x"];

/// What the first part of a watchpoint names.
enum Watched<'a> {
    Address(u64),
    /// `function+argN`: the address in argument `argument` when `function` (a pattern) is called.
    Argument { function: &'a str, argument: u8 },
}

/// `watchpoint:address:length:mode`, `watchpoint:function+argN:length:mode`.
fn resolve(ap: &AttachPoint, scope: &Scope<'_>, asynchronous: bool) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let provider = if asynchronous { "asyncwatchpoint" } else { "watchpoint" };
    let [watched, length, mode] = ap.parts.as_slice() else {
        return Err(malformed(ap, provider, format!("a {provider} is written `{provider}:address:length:mode` or `{provider}:function+argN:length:mode`"), "cannot read this watchpoint"));
    };
    let watched = parse_watched(watched).map_err(|(message, label)| malformed(ap, provider, message, label))?;
    let length = parse_number(length)
        .ok_or_else(|| malformed(ap, provider, format!("`{length}` is not a length"), "the length is a number of bytes"))?;
    if !LENGTHS.contains(&length) {
        return Err(Diagnostic::error("E0231", format!("a watchpoint watches 1, 2, 4 or 8 bytes, not {length}"))
            .with_primary(ap.span, "unsupported length")
            .with_help("watch 1, 2, 4 or 8 bytes: `:8:` for a 64-bit value"));
    }
    let mode = parse_mode(ap, mode)?;
    let pid = scope.traced_pid();
    match watched {
        Watched::Address(address) => {
            if asynchronous {
                return Err(Diagnostic::error("E0234", "an asyncwatchpoint watches a function's argument, not an address")
                    .with_primary(ap.span, "no function here")
                    .with_help(format!("write `asyncwatchpoint:function+argN:{length}:{mode}`, or `watchpoint:{}:{length}:{mode}` to watch this address", ap.parts[0])));
            }
            check_address(ap, address, length, mode)?;
            let name = probe_name(provider, target(scope).as_deref(), None, address, length, mode);
            let attach = Attach::Watchpoint { address: Some(address), length: length as u8, mode, pid, asynchronous };
            Ok(vec![ResolvedProbe::new(attach, name)])
        }
        Watched::Argument { function, argument } => {
            let no_process = || {
                Diagnostic::error("E0233", format!("a {provider} on a function's argument needs a process: `-p PID` or `-c CMD`"))
                    .with_primary(ap.span, "the function of which program?")
                    .with_help("give `-p PID` or `-c CMD`: the function is one of its program's, and the address one in its memory")
            };
            let target = target(scope).ok_or_else(no_process)?;
            let binary = user_binaries::resolve(ap, None, scope, provider)?.into_iter().next().ok_or_else(no_process)?;
            let attach = Attach::Watchpoint { address: None, length: length as u8, mode, pid, asynchronous };
            let functions = matching_functions(ap, scope, &binary, function)?;
            Ok(functions
                .into_iter()
                .map(|(function, file_offset)| {
                    let uprobe = Attach::Uprobe { binary: binary.file.clone(), function: function.clone(), offset: file_offset, retprobe: false, pid };
                    let setup = WatchSetup { name: format!("uprobe:{}:{function}", binary.path), uprobe, argument, stop: !asynchronous };
                    let name = probe_name(provider, Some(&target), Some(&function), u64::from(argument), length, mode);
                    ResolvedProbe { setup: Some(setup), ..ResolvedProbe::new(attach.clone(), name) }
                })
                .collect())
        }
    }
}

/// The probe's name as bpftrace gives it: the provider, the program of `-p` or `-c` when there
/// is one, the function, then the address (or the argument's number) in decimal unless it is
/// 0, the length and the mode. `watchpoint:/bin/prog:increment:1:4:w`.
fn probe_name(provider: &str, target: Option<&str>, function: Option<&str>, number: u64, length: u64, mode: WatchMode) -> String {
    let mut name = provider.to_string();
    for part in [target, function].into_iter().flatten() {
        name.push(':');
        name.push_str(part);
    }
    if number != 0 {
        name.push_str(&format!(":{number}"));
    }
    format!("{name}:{length}:{mode}")
}

/// The program a watchpoint is in: `-c`'s as found in `PATH`, `/proc/PID/exe` for `-p`.
fn target(scope: &Scope<'_>) -> Option<String> {
    match (scope.target_pid, scope.child) {
        (Some(pid), _) => Some(format!("/proc/{pid}/exe")),
        (None, Some((_, program))) => Some(program.to_string()),
        (None, None) => None,
    }
}

/// `0x1000`, `4096`, `010` (octal), or `function+argN`.
fn parse_watched(written: &str) -> Result<Watched<'_>, (String, &'static str)> {
    let Some((function, argument)) = written.split_once('+') else {
        return match parse_number(written) {
            Some(address) => Ok(Watched::Address(address)),
            None => Err((format!("`{written}` is not an address"), "write an address (`0x10000000`) or `function+argN`")),
        };
    };
    if function.is_empty() {
        return Err((format!("`{written}` names no function"), "write `function+argN`"));
    }
    let number = argument.strip_prefix("arg").filter(|n| !n.is_empty()).and_then(|n| n.parse::<u8>().ok());
    match number {
        Some(n) if usize::from(n) < crate::pt_regs::ARGUMENTS_IN_REGISTERS => Ok(Watched::Argument { function, argument: n }),
        Some(_) => Err((format!("`{argument}` is past the arguments x86-64 passes in registers (arg0 to arg5)"), "the argument must be in a register")),
        None => Err((format!("`{argument}` is not an argument"), "write `+arg0` to `+arg5`")),
    }
}

/// A number as C's `strtoull` with base 0 reads it, as bpftrace does: `0x` hex, a leading `0`
/// octal, else decimal.
fn parse_number(text: &str) -> Option<u64> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok();
    }
    match text.strip_prefix('0') {
        Some(octal) if !octal.is_empty() => u64::from_str_radix(octal, 8).ok(),
        _ => text.parse().ok(),
    }
}

/// `r`, `w`, `x` in any order, each once, and a combination this CPU can watch.
fn parse_mode(ap: &AttachPoint, written: &str) -> Result<WatchMode, Diagnostic> {
    let bad = |message: String, label: &str| {
        Diagnostic::error("E0232", message)
            .with_primary(ap.span, label.to_string())
            .with_note(format!("x86-64 watches the modes {}", MODES.join(", ")))
            .with_help("`w` fires on writes, `rw` on reads and writes, `x` on execution")
    };
    let mut mode = WatchMode { read: false, write: false, execute: false };
    for c in written.chars() {
        let flag = match c {
            'r' => &mut mode.read,
            'w' => &mut mode.write,
            'x' => &mut mode.execute,
            other => return Err(bad(format!("`{other}` is not a watchpoint mode: a mode is made of `r`, `w` and `x`"), "unknown mode")),
        };
        if std::mem::replace(flag, true) {
            return Err(bad(format!("watchpoint mode `{written}` names `{c}` twice"), "repeated mode"));
        }
    }
    if written.is_empty() {
        return Err(bad("a watchpoint needs a mode: a combination of `r`, `w` and `x`".into(), "no mode"));
    }
    if !MODES.contains(&mode.to_string().as_str()) {
        return Err(bad(format!("x86-64 cannot watch mode `{mode}`"), "unsupported mode"));
    }
    Ok(mode)
}

/// An absolute address must be non-zero and, for data, aligned to the length watched.
fn check_address(ap: &AttachPoint, address: u64, length: u64, mode: WatchMode) -> Result<(), Diagnostic> {
    if address == 0 {
        return Err(Diagnostic::error("E0230", "a watchpoint needs a non-zero address")
            .with_primary(ap.span, "address 0")
            .with_help("watch the address of a variable, such as `watchpoint:0x10000000:8:w`"));
    }
    if !mode.execute && !address.is_multiple_of(length) {
        let fits = LENGTHS.iter().rev().find(|&&n| address.is_multiple_of(n)).copied().unwrap_or(1);
        return Err(Diagnostic::error("E0231", format!("address {address:#x} is not a multiple of the length watched, {length}"))
            .with_primary(ap.span, "misaligned")
            .with_note("x86-64 watches 1, 2, 4 or 8 bytes aligned to their size")
            .with_help(format!("watch {fits} bytes here (`:{fits}:`), or {length} from {:#x}", address - address % length)));
    }
    Ok(())
}

/// The functions of `binary` that `pattern` names, each with its file offset: by symbol or
/// demangled name, sorted and without repeats.
fn matching_functions(ap: &AttachPoint, scope: &Scope<'_>, binary: &UserBinary, pattern: &str) -> Result<Vec<(String, u64)>, Diagnostic> {
    let functions = scope.catalog.user_functions(binary).map_err(|error| {
        Diagnostic::error("E0218", format!("cannot read the symbols of `{}`: {error}", binary.path)).with_primary(ap.span, "needed to resolve this probe")
    })?;
    let mut matched: Vec<(String, u64)> = functions
        .iter()
        .filter(|f| glob_match(pattern, &f.name) || f.demangled.as_deref().is_some_and(|d| glob_match(pattern, d)))
        .map(|f| (f.name.clone(), f.file_offset))
        .collect();
    matched.sort();
    matched.dedup_by(|a, b| a.0 == b.0);
    if !matched.is_empty() {
        return Ok(matched);
    }
    let diag = Diagnostic::error("E0219", format!("no function `{pattern}` in `{}` to watch the argument of", binary.path))
        .with_primary(ap.span, "not a function symbol of this binary");
    let names = functions.iter().flat_map(|f| std::iter::once(f.name.as_str()).chain(f.demangled.as_deref()));
    Err(match did_you_mean(&closest(pattern, names)).filter(|_| !is_pattern(pattern)) {
        Some(help) => diag.with_help(help),
        None => diag.with_note(format!("`ferrotrace -l 'uprobe:{}:*'` lists its functions", binary.path)),
    })
}

fn malformed(ap: &AttachPoint, provider: &str, message: String, label: &str) -> Diagnostic {
    Diagnostic::error("E0230", message)
        .with_primary(ap.span, label.to_string())
        .with_help(format!("for example `{provider}:0x10000000:8:w`, or `{provider}:increment+arg1:4:w` with `-p PID` or `-c CMD`"))
}

#[cfg(test)]
mod tests {
    use super::parse_number;

    #[test]
    fn numbers_are_read_as_strtoull_with_base_0() {
        assert_eq!(parse_number("0x10000000"), Some(0x1000_0000));
        assert_eq!(parse_number("4096"), Some(4096));
        assert_eq!(parse_number("010"), Some(8));
        assert_eq!(parse_number("0"), Some(0));
        assert_eq!(parse_number("8x"), None);
        assert_eq!(parse_number(""), None);
    }
}
