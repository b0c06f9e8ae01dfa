//! USDT argument specs as `.note.stapsdt` writes them on x86-64 (`-4@%eax`, `8@-8(%rbp)`,
//! `-4@$5`, `8@(%rax,%rbx,8)`, `4@sym+16(%rip)`), parsed into where a probe program reads each
//! argument from its `pt_regs`. A symbol-relative operand is read at a fixed distance from the
//! probe's own address, which the binary's symbol table gives (`Sites`), so it holds wherever
//! the binary is loaded.

use std::fmt;

/// One USDT argument: its size and sign, and where it is when the probe fires.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsdtArgument {
    /// 1, 2, 4 or 8 bytes.
    pub size: u8,
    pub signed: bool,
    pub location: UsdtLocation,
}

/// Where a USDT argument is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UsdtLocation {
    /// A constant the compiler folded in (`$5`).
    Constant(i64),
    /// In a register: its `pt_regs` offset, and whether it is the register's second byte
    /// (`%ah`).
    Register { offset: u32, high_byte: bool },
    /// In user memory at `base + index * scale + displacement`, registers given by `pt_regs`
    /// offset.
    Memory { base: u32, index: Option<(u32, u8)>, displacement: i64 },
    /// In user memory `distance` bytes from the probe's own address (its `pt_regs` ip): a
    /// `sym+offset(%rip)` operand, the symbol's address in the binary minus the probe's.
    FromProbe { distance: i64 },
}

/// Each symbol a probe's `sym(%rip)` arguments name, with its address in the binary minus the
/// probe's (the symbol's distance from the probe).
pub type SymbolDistances = [(String, i64)];

/// The symbols the `sym(%rip)` operands of `specs` name, each once, as a reader of the binary
/// must find them.
pub fn rip_symbols(specs: &str) -> Vec<&str> {
    let mut names: Vec<&str> = specs
        .split_whitespace()
        .filter_map(|spec| spec.rsplit_once('@').map_or(Some(spec), |(_, operand)| Some(operand)))
        .filter_map(|operand| operand.strip_suffix("(%rip)"))
        .map(|displacement| symbol_and_offset(displacement).0)
        .filter(|symbol| !symbol.is_empty() && parse_int(symbol).is_none())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// `sym+16` as (`sym`, 16), `sym-8` as (`sym`, -8), `sym` as (`sym`, 0).
fn symbol_and_offset(text: &str) -> (&str, i64) {
    match text.rfind(['+', '-']).filter(|&at| at > 0).and_then(|at| Some((&text[..at], parse_int(text[at..].trim_start_matches('+'))?))) {
        Some((symbol, offset)) => (symbol, offset),
        None => (text, 0),
    }
}

/// The integer type an argument reads as: its size and sign.
pub fn argument_type(argument: &UsdtArgument) -> crate::types::IntTy {
    crate::types::IntTy { bits: argument.size * 8, signed: argument.signed }
}

/// Why an argument spec could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub spec: String,
    pub reason: &'static str,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "USDT argument `{}`: {}", self.spec, self.reason)
    }
}

/// One argument's spec, `SIZE@OPERAND` (a note's spec string separates them with blanks);
/// `symbols` are the distances of the symbols `sym(%rip)` operands name. A spec without
/// `SIZE@` is an 8-byte signed value, as `sys/sdt.h` writes for pointers on old compilers.
pub fn parse_argument(spec: &str, symbols: &SymbolDistances) -> Result<UsdtArgument, SpecError> {
    let error = |reason| SpecError { spec: spec.to_string(), reason };
    let (size, operand) = match spec.split_once('@') {
        Some((size, operand)) => (size.parse::<i8>().map_err(|_| error("the size before `@` is not a number"))?, operand),
        None => (-8, spec),
    };
    let signed = size < 0;
    let size = size.unsigned_abs();
    if ![1, 2, 4, 8].contains(&size) {
        return Err(error("the size is not 1, 2, 4 or 8 bytes"));
    }
    let location = match operand.strip_suffix("(%rip)") {
        Some(displacement) => from_probe(displacement, symbols).map_err(error)?,
        None => parse_operand(operand).ok_or_else(|| error("not an operand ferrotrace can read (a constant, a register or a memory reference)"))?,
    };
    Ok(UsdtArgument { size, signed, location })
}

fn parse_operand(operand: &str) -> Option<UsdtLocation> {
    if let Some(constant) = operand.strip_prefix('$') {
        return parse_int(constant).map(UsdtLocation::Constant);
    }
    if let Some(name) = operand.strip_prefix('%') {
        let (offset, high_byte) = crate::pt_regs::at_and_t(name)?;
        return Some(UsdtLocation::Register { offset, high_byte });
    }
    let (displacement, rest) = operand.split_once('(')?;
    let inside = rest.strip_suffix(')')?;
    let mut registers = inside.split(',').map(str::trim);
    let base = register_offset(registers.next()?)?;
    let index = match (registers.next(), registers.next()) {
        (None, _) => None,
        (Some(index), scale) => {
            let scale = scale.map_or(Some(1), |s| s.parse::<u8>().ok())?;
            Some((register_offset(index)?, scale))
        }
    };
    if registers.next().is_some() {
        return None;
    }
    let displacement = if displacement.is_empty() { 0 } else { parse_int(displacement)? };
    Some(UsdtLocation::Memory { base, index, displacement })
}

/// `sym+offset` of a `sym+offset(%rip)` operand, at its symbol's distance from the probe.
/// Without a symbol the displacement would be from an instruction the note does not name.
fn from_probe(displacement: &str, symbols: &SymbolDistances) -> Result<UsdtLocation, &'static str> {
    let (symbol, offset) = symbol_and_offset(displacement);
    if symbol.is_empty() || parse_int(symbol).is_some() {
        return Err("a %rip-relative operand without a symbol");
    }
    let (_, distance) = symbols.iter().find(|(name, _)| name == symbol).ok_or("its symbol is in neither of the binary's symbol tables")?;
    Ok(UsdtLocation::FromProbe { distance: distance.wrapping_add(offset) })
}

/// A full 64-bit register: memory operands use only those.
fn register_offset(text: &str) -> Option<u32> {
    let (offset, high_byte) = crate::pt_regs::at_and_t(text.strip_prefix('%')?)?;
    (!high_byte).then_some(offset)
}

/// `5`, `-8`, `0x10`, `-0x10`.
fn parse_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let value = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<u64>().ok()?,
    } as i64;
    Some(if negative { value.wrapping_neg() } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> UsdtArgument {
        parse_argument(spec, &[]).unwrap()
    }

    #[test]
    fn the_forms_x86_64_notes_use() {
        assert_eq!(one("-4@%eax"), UsdtArgument { size: 4, signed: true, location: UsdtLocation::Register { offset: 80, high_byte: false } });
        assert_eq!(one("8@-8(%rbp)"), UsdtArgument { size: 8, signed: false, location: UsdtLocation::Memory { base: 32, index: None, displacement: -8 } });
        assert_eq!(one("-4@$5"), UsdtArgument { size: 4, signed: true, location: UsdtLocation::Constant(5) });
        assert_eq!(one("1@%ah").location, UsdtLocation::Register { offset: 80, high_byte: true });
        assert_eq!(
            one("8@0x10(%rax,%rbx,8)").location,
            UsdtLocation::Memory { base: 80, index: Some((40, 8)), displacement: 16 }
        );
        assert_eq!(one("2@(%rsp)").location, UsdtLocation::Memory { base: 152, index: None, displacement: 0 });
        assert_eq!(one("-4@$-1").location, UsdtLocation::Constant(-1));
    }

    #[test]
    fn symbol_relative_operands_are_read_at_the_symbols_distance_from_the_probe() {
        let symbols = [("counter.1".to_string(), 0x2000), ("table".to_string(), -0x40)];
        let specs = ["8@counter.1(%rip)", "-4@table+8(%rip)", "2@table-0x10(%rip)"];
        let distances: Vec<UsdtLocation> = specs.iter().map(|spec| parse_argument(spec, &symbols).unwrap().location).collect();
        assert_eq!(
            distances,
            [UsdtLocation::FromProbe { distance: 0x2000 }, UsdtLocation::FromProbe { distance: -0x38 }, UsdtLocation::FromProbe { distance: -0x50 }]
        );
        assert_eq!(rip_symbols("8@counter.1(%rip) -4@table+8(%rip) 2@table-0x10(%rip) -4@%eax 8@16(%rip)"), ["counter.1", "table"]);
    }

    #[test]
    fn unreadable_specs_say_why() {
        let reason = |spec: &str| parse_argument(spec, &[]).unwrap_err().reason;
        assert_eq!(reason("3@%eax"), "the size is not 1, 2, 4 or 8 bytes");
        assert_eq!(reason("4@%xmm0"), "not an operand ferrotrace can read (a constant, a register or a memory reference)");
        assert_eq!(reason("8@sym+16(%rip)"), "its symbol is in neither of the binary's symbol tables");
        assert_eq!(reason("8@16(%rip)"), "a %rip-relative operand without a symbol");
        assert_eq!(reason("x@%eax"), "the size before `@` is not a number");
    }
}
