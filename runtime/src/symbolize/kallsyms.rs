//! Kernel symbols from `/proc/kallsyms`: read once, when the first kernel address is named, and
//! sorted by address.

use std::sync::OnceLock;

/// Every kernel symbol with a non-zero address, sorted by address (a stable sort: equal
/// addresses keep the file's order).
#[derive(Debug, Default)]
pub struct Kallsyms {
    symbols: Vec<(u64, String)>,
}

impl Kallsyms {
    /// Parses the text of `/proc/kallsyms`: `ADDRESS TYPE NAME [MODULE]` lines.
    pub fn parse(text: &str) -> Kallsyms {
        let mut symbols: Vec<(u64, String)> = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let address = u64::from_str_radix(fields.next()?, 16).ok()?;
                let _kind = fields.next()?;
                let name = fields.next()?;
                (address != 0).then(|| (address, name.to_string()))
            })
            .collect();
        symbols.sort_by_key(|(address, _)| *address);
        Kallsyms { symbols }
    }

    /// The symbol at or before `address` and how far past its start `address` is. Of symbols
    /// at one address the last listed wins, as in bcc's symbol cache that bpftrace uses.
    pub fn resolve(&self, address: u64) -> Option<(&str, u64)> {
        let after = self.symbols.partition_point(|(start, _)| *start <= address);
        let (start, name) = self.symbols.get(after.checked_sub(1)?)?;
        Some((name, address - start))
    }
}

/// The running kernel's symbols, read on first use (empty if `/proc/kallsyms` is unreadable).
pub fn kernel() -> &'static Kallsyms {
    static KERNEL: OnceLock<Kallsyms> = OnceLock::new();
    KERNEL.get_or_init(|| std::fs::read_to_string("/proc/kallsyms").map(|text| Kallsyms::parse(&text)).unwrap_or_default())
}

/// The address of the first symbol named `name` in `/proc/kallsyms` (what `kaddr` compiles
/// to), read without building the sorted table.
pub fn address_of(name: &str) -> Result<u64, String> {
    let text = std::fs::read_to_string("/proc/kallsyms").map_err(|error| format!("cannot read /proc/kallsyms: {error}"))?;
    let found = text.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let address = fields.next()?;
        let _kind = fields.next()?;
        (fields.next()? == name).then(|| u64::from_str_radix(address, 16).ok()).flatten()
    });
    match found {
        Some(0) => Err("its address reads as 0: kernel.kptr_restrict hides addresses from this user".to_string()),
        Some(address) => Ok(address),
        None => Err("/proc/kallsyms lists no symbol of that name".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "ffffffff81000000 T _stext\n\
                        ffffffff81000010 T do_one\n\
                        ffffffff81000010 t alias_one\n\
                        0000000000000000 A zero\n\
                        ffffffffc0000000 t mod_fn\t[mod]\n";

    #[test]
    fn addresses_name_the_symbol_at_or_before_them() {
        let syms = Kallsyms::parse(TEXT);
        assert_eq!(syms.resolve(0xffffffff81000004), Some(("_stext", 4)));
        assert_eq!(syms.resolve(0xffffffff81000012), Some(("alias_one", 2)));
        assert_eq!(syms.resolve(0xffffffffc0000001), Some(("mod_fn", 1)));
        assert_eq!(syms.resolve(0x1000), None);
    }
}
