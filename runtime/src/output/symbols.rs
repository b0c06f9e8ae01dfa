//! Numbers printed by name (`Ty::Symbol`): an errno's message, a signal's description, a
//! syscall's name, a user's name, a timestamp's local time, a cgroup's paths, a kernel
//! address's symbol.

use std::collections::HashMap;
use std::sync::OnceLock;

use ferrotrace_compiler::names;
use ferrotrace_compiler::syscalls::Arch;
use ferrotrace_compiler::types::Symbol;

use super::clock;

/// The text `raw` stands for as a number of kind `symbol`.
pub fn render(symbol: &Symbol, raw: u64) -> Vec<u8> {
    // Errnos, signals and syscall numbers are C `int`s: the low 32 bits, signed.
    let int = i64::from(raw as u32 as i32);
    match symbol {
        Symbol::Errno => names::errno_message(int).as_bytes().to_vec(),
        Symbol::Signal => names::signal_description(int).into_bytes(),
        Symbol::Syscall => names::syscall_name(Arch::X86_64, int).as_bytes().to_vec(),
        Symbol::User => user_name(raw as u32).into_bytes(),
        Symbol::Time(time) => clock::timestamp(&time.format, raw, time.tai),
        Symbol::CgroupPath(filter) => crate::cgroups::paths_of(raw, filter).into_bytes(),
        Symbol::KernelSymbol => super::stacks::kernel_symbol(raw, false).into_bytes(),
    }
}

/// The name `/etc/passwd` gives `uid`, or the number when it names no user.
fn user_name(uid: u32) -> String {
    static USERS: OnceLock<HashMap<u32, String>> = OnceLock::new();
    let users = USERS.get_or_init(|| std::fs::read_to_string("/etc/passwd").map(|text| parse_passwd(&text)).unwrap_or_default());
    users.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
}

/// `name:password:uid:...` lines to names by uid (the first line of a uid wins).
fn parse_passwd(text: &str) -> HashMap<u32, String> {
    let mut users = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(uid)) = (fields.next(), fields.next(), fields.next()) else { continue };
        if let Ok(uid) = uid.parse() {
            users.entry(uid).or_insert_with(|| name.to_string());
        }
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_render_as_their_names() {
        assert_eq!(render(&Symbol::Errno, 2), b"No such file or directory");
        assert_eq!(render(&Symbol::Errno, (-9i64) as u64), b"Bad file number");
        assert_eq!(render(&Symbol::Signal, 9), b"Killed");
        assert_eq!(render(&Symbol::Syscall, 257), b"openat");
    }

    #[test]
    fn passwd_lines_name_uids() {
        let users = parse_passwd("root:x:0:0:root:/root:/bin/sh\n# comment\nbad\nnobody:x:65534:65534::/:/bin/false\ntoor:x:0:0::/:/bin/sh\n");
        assert_eq!(users.get(&0).map(String::as_str), Some("root"));
        assert_eq!(users.get(&65534).map(String::as_str), Some("nobody"));
        assert_eq!(users.len(), 2);
    }

    #[test]
    fn unknown_uids_print_as_numbers() {
        assert_eq!(user_name(4_000_000_000), "4000000000");
    }
}
