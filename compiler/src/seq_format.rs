//! printf formats as the kernel's `bpf_seq_printf` takes them: an iterator probe's printf is
//! formatted by the kernel, into the iterator's output, and the kernel formats far less than
//! ferrotrace does.

use crate::printf::{describe, ArgError, Conversion, FormatPiece, FormatSpec, LengthModifier};
use crate::types::Ty;
/// The most arguments the kernel's `bpf_seq_printf` formats (`MAX_BPRINTF_VARARGS`).
pub const SEQ_PRINTF_ARGS: usize = 12;

/// The format as the kernel's `bpf_seq_printf` takes it, NUL-terminated, for a printf in an
/// iterator probe (which writes into the iterator's output). The kernel formats far less than
/// ferrotrace does: flags `- 0 + space`, a width, `l` or `ll`, and `%d %i %u %x %X %c %s %p` of
/// integers, pointers and strings; anything else is an error naming the argument at fault.
pub fn format(pieces: &[FormatPiece], args: &[Ty]) -> Result<Vec<u8>, ArgError> {
    if args.len() > SEQ_PRINTF_ARGS {
        let message = format!("an iter probe's printf formats at most {SEQ_PRINTF_ARGS} arguments, in the kernel");
        return Err(ArgError { arg: Some(SEQ_PRINTF_ARGS), message });
    }
    let mut out = Vec::new();
    for (index, piece) in pieces.iter().enumerate() {
        if let (FormatPiece::Spec(spec @ FormatSpec { conversion: Conversion::Pointer, .. }), Some(FormatPiece::Literal(next))) = (piece, pieces.get(index + 1)) {
            if next.first().is_some_and(u8::is_ascii_alphanumeric) {
                let message = "the kernel's `bpf_seq_printf` reads `%p` and the letter or digit after it as one of its pointer formats (`%pK`, `%pI4`): put a space or punctuation after `%p`".to_string();
                return Err(ArgError { arg: Some(spec.arg), message });
            }
        }
        match piece {
            FormatPiece::Literal(text) => {
                if text.contains(&0) {
                    return Err(ArgError { arg: None, message: "an iter probe's printf format cannot hold a NUL byte".to_string() });
                }
                for &byte in text {
                    out.push(byte);
                    if byte == b'%' {
                        out.push(b'%');
                    }
                }
            }
            FormatPiece::Spec(spec) => seq_spec(spec, args.get(spec.arg), &mut out)?,
        }
    }
    out.push(0);
    Ok(out)
}

/// Appends one conversion as the kernel writes it, or says why the kernel cannot.
fn seq_spec(spec: &FormatSpec, ty: Option<&Ty>, out: &mut Vec<u8>) -> Result<(), ArgError> {
    let refuse = |what: String| Err(ArgError { arg: Some(spec.arg), message: format!("the kernel's `bpf_seq_printf`, which prints an iter probe's printf, {what}") });
    if spec.flags.alternate {
        return refuse("takes no `#` flag".to_string());
    }
    if spec.precision.is_some() {
        return refuse("takes no precision (`.N`)".to_string());
    }
    let letter = match spec.conversion {
        Conversion::Signed => b'd',
        Conversion::Unsigned => b'u',
        Conversion::HexLower => b'x',
        Conversion::HexUpper => b'X',
        Conversion::Char => b'c',
        Conversion::Pointer => b'p',
        Conversion::Str => b's',
        Conversion::Octal | Conversion::Buffer(_) => return refuse(format!("cannot print `%{}`", spec.conversion.letter())),
    };
    let plain_number = matches!(ty, Some(Ty::Int(_) | Ty::Bool | Ty::Ptr { .. }));
    match (letter, ty) {
        (b's', Some(Ty::Str(_))) => {}
        (b's', Some(ty)) => return refuse(format!("prints `%s` of strings only, and argument {} is {}", spec.arg + 1, describe(ty))),
        (_, Some(ty)) if !plain_number => return refuse(format!("prints `%{}` of numbers only, and argument {} is {}", letter as char, spec.arg + 1, describe(ty))),
        _ => {}
    }
    let length: &[u8] = match spec.length {
        LengthModifier::None => b"",
        LengthModifier::Long => b"l",
        LengthModifier::LongLong => b"ll",
        _ => return refuse("takes only the lengths `l` and `ll`".to_string()),
    };
    if !length.is_empty() && matches!(letter, b'c' | b'p' | b's') {
        return refuse(format!("takes no length before `%{}`", letter as char));
    }
    out.push(b'%');
    for (set, flag) in [(spec.flags.left, b'-'), (spec.flags.zero, b'0'), (spec.flags.plus, b'+'), (spec.flags.space, b' ')] {
        if set {
            out.push(flag);
        }
    }
    if let Some(width) = spec.width {
        out.extend_from_slice(width.to_string().as_bytes());
    }
    out.extend_from_slice(length);
    out.push(letter);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printf::parse_format;
    use crate::types::IntTy;

    fn kernel(written: &str, args: &[Ty]) -> Result<String, String> {
        let pieces = parse_format(written.as_bytes()).expect("a valid format");
        super::format(&pieces, args).map(|bytes| String::from_utf8(bytes).expect("utf-8")).map_err(|err| err.message)
    }

    #[test]
    fn flags_width_and_lengths_pass_through_nul_terminated() {
        assert_eq!(kernel("%-16s %08lx %+d %llu%%\n", &[Ty::Str(16), Ty::U64, Ty::Int(IntTy::U32), Ty::U64]).as_deref(), Ok("%-16s %08lx %+d %llu%%\n\0"));
        assert_eq!(kernel("%i\n", &[Ty::I64]).as_deref(), Ok("%d\n\0"));
    }

    #[test]
    fn what_the_kernel_cannot_format_is_refused() {
        assert!(kernel("%o", &[Ty::U64]).unwrap_err().contains("cannot print `%o`"));
        assert!(kernel("%.3d", &[Ty::U64]).unwrap_err().contains("no precision"));
        assert!(kernel("%#x", &[Ty::U64]).unwrap_err().contains("no `#` flag"));
        assert!(kernel("%hd", &[Ty::U64]).unwrap_err().contains("only the lengths"));
        assert!(kernel("%s", &[Ty::U64]).unwrap_err().contains("of strings only"));
        assert!(kernel("%d", &[Ty::Str(16)]).unwrap_err().contains("of numbers only"));
        assert!(kernel("%pK", &[Ty::U64]).unwrap_err().contains("pointer formats"));
        assert_eq!(kernel("%p.", &[Ty::U64]).as_deref(), Ok("%p.\0"));
        let thirteen = vec![Ty::U64; 13];
        assert!(kernel(&"%d".repeat(13), &thirteen).unwrap_err().contains("at most 12 arguments"));
    }
}
