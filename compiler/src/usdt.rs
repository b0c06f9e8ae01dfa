//! USDT argument specs as `.note.stapsdt` writes them on x86-64 (`-4@%eax`, `8@-8(%rbp)`,
//! `-4@$5`, `8@(%rax,%rbx,8)`, `4@sym+16(%rip)`), parsed into where a probe program reads each
//! argument from its `pt_regs`.

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

/// Every argument of a note's spec string (arguments are separated by blanks).
pub fn parse_arguments(specs: &str) -> Result<Vec<UsdtArgument>, SpecError> {
    specs.split_whitespace().map(parse_argument).collect()
}

/// One `SIZE@OPERAND`; a spec without `SIZE@` is an 8-byte signed value, as `sys/sdt.h`
/// writes for pointers on old compilers.
fn parse_argument(spec: &str) -> Result<UsdtArgument, SpecError> {
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
    let location = parse_operand(operand).ok_or_else(|| error("not an operand ferrotrace can read (a constant, a register or a memory reference)"))?;
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
    // `sym+16(%rip)`: a RIP-relative symbol needs the binary's address of it, which the
    // spec alone does not give.
    let displacement = if displacement.is_empty() { 0 } else { parse_int(displacement)? };
    Some(UsdtLocation::Memory { base, index, displacement })
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
        parse_arguments(spec).unwrap().remove(0)
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
        assert_eq!(parse_arguments("-8@%rax 8@%rdx -4@$-1").unwrap().len(), 3);
        assert_eq!(parse_arguments("").unwrap(), Vec::new());
    }

    #[test]
    fn unreadable_specs_say_why() {
        assert!(parse_arguments("3@%eax").is_err());
        assert!(parse_arguments("4@%xmm0").is_err());
        assert!(parse_arguments("8@sym+16(%rip)").is_err());
        assert!(parse_arguments("x@%eax").is_err());
    }
}
