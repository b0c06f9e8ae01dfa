//! Readable names for mangled symbols: Rust's (legacy `_ZN...17h<hash>E` and v0 `_R`) with
//! `rustc-demangle`, without the hash; C++'s (`_Z`) with `cpp_demangle`, without the argument
//! list, which bpftrace matches patterns against unless the pattern has one.

use cpp_demangle::{DemangleOptions, Symbol};

/// `name` demangled, or `None` when it is not a mangled name.
pub(super) fn demangle(name: &str) -> Option<String> {
    if !name.starts_with("_Z") && !name.starts_with("_R") {
        return None;
    }
    if let Ok(rust) = rustc_demangle::try_demangle(name) {
        let (full, short) = (rust.to_string(), format!("{rust:#}"));
        if full != short || name.starts_with("_R") {
            return Some(short);
        }
    }
    let symbol = Symbol::new(name).ok()?;
    symbol.demangle(&DemangleOptions::new().no_params().no_return_type()).ok()
}

/// `name` as bpftrace prints a user frame's C++ symbol: a `_Z` name demangled whole, argument
/// list included, as the C++ runtime's `__cxa_demangle` writes it (a Rust legacy name, being
/// one, keeps its hash); `None` for any other name.
pub(crate) fn printed(name: &str) -> Option<String> {
    if !name.starts_with("_Z") {
        return None;
    }
    Symbol::new(name).ok()?.demangle(&DemangleOptions::new()).ok()
}

#[cfg(test)]
mod tests {
    use super::{demangle, printed};

    #[test]
    fn printed_names_keep_their_argument_lists() {
        assert_eq!(printed("_Z3addii").as_deref(), Some("add(int, int)"));
        assert_eq!(printed("_ZN3foo3barEv").as_deref(), Some("foo::bar()"));
        assert_eq!(printed("_ZN3foo3bar17h05af221e174051e9E").as_deref(), Some("foo::bar::h05af221e174051e9"));
        assert_eq!(printed("main"), None);
        assert_eq!(printed("_RNvC3foo3bar"), None);
    }

    #[test]
    fn names_lose_hashes_and_argument_lists() {
        assert_eq!(demangle("_ZN3foo3bar17h05af221e174051e9E").as_deref(), Some("foo::bar"));
        assert_eq!(demangle("_ZN3foo3barEv").as_deref(), Some("foo::bar"));
        assert_eq!(demangle("_Z3addii").as_deref(), Some("add"));
        assert_eq!(demangle("main"), None);
    }
}
