//! Bytes to values: reads a value of a known type from a map entry or a ring buffer record,
//! following the layouts in `ferrotrace_compiler::types` (native byte order).

use ferrotrace_compiler::types::{tuple_layout, AddressKind, IntTy, Ty, BUFFER_HEADER};

use super::error::OutputError;
use super::value::Value;

/// Decodes a value of type `ty` from the start of `bytes`; `probe_names` names `probe` values.
pub fn decode(ty: &Ty, bytes: &[u8], probe_names: &[String]) -> Result<Value, OutputError> {
    decode_at(ty, bytes, 0, probe_names)
}

/// Decodes the fields of a tuple laid out by `tuple_layout`, as separate values.
pub fn decode_fields(
    fields: &[Ty],
    bytes: &[u8],
    probe_names: &[String],
) -> Result<Vec<Value>, OutputError> {
    let layout = tuple_layout(fields);
    fields
        .iter()
        .zip(&layout.offsets)
        .map(|(field, offset)| decode_at(field, bytes, *offset as usize, probe_names))
        .collect()
}

fn decode_at(
    ty: &Ty,
    bytes: &[u8],
    offset: usize,
    probe_names: &[String],
) -> Result<Value, OutputError> {
    let field = slice(ty, bytes, offset)?;
    match ty {
        Ty::Int(int) => Ok(decode_int(*int, field)),
        Ty::Enum(enumeration) => {
            let number = decode_int(enumeration.int, field);
            let bits = number.integer_bits().unwrap_or_default();
            Ok(Value::Enum { name: enumeration.constant_named(bits).map(str::to_owned), number: Box::new(number) })
        }
        Ty::Bool => Ok(Value::Bool(field[0] != 0)),
        Ty::Str(_) => Ok(decode_str(field)),
        Ty::Tuple(fields) => Ok(Value::Tuple(decode_fields(fields, field, probe_names)?)),
        Ty::Record(record) => {
            let values = decode_fields(&record.fields, field, probe_names)?;
            Ok(Value::Record(
                record.names.iter().map(|name| name.clone().into()).zip(values).collect(),
            ))
        }
        Ty::Probe => {
            let index = read_u64(field);
            let name = usize::try_from(index).ok().and_then(|i| probe_names.get(i));
            match name {
                Some(name) => Ok(Value::Probe(name.clone())),
                None => Err(OutputError::ProbeIndex {
                    index,
                    count: probe_names.len(),
                }),
            }
        }
        Ty::Ptr { .. } => Ok(Value::Pointer(read_u64(field))),
        Ty::Buffer(capacity) => {
            let header = BUFFER_HEADER as usize;
            let used = (read_uint(&field[..header]) as usize).min(*capacity as usize);
            Ok(Value::Buffer(field[header..header + used].to_vec()))
        }
        Ty::Address(kind) => Ok(Value::Str {
            bytes: address_text(*kind, field).into_bytes(),
            truncated: false,
        }),
        Ty::Stack(stack) => Ok(Value::Str {
            bytes: super::stacks::render(stack, read_u64(field)),
            truncated: false,
        }),
        Ty::Symbol(symbol) => Ok(Value::Str {
            bytes: super::symbols::render(symbol, read_u64(field)),
            truncated: false,
        }),
        Ty::Array { elem, len } => {
            let step = elem.size() as usize;
            let elements = (0..*len as usize).map(|i| decode_at(elem, field, i * step, probe_names));
            Ok(Value::Array(elements.collect::<Result<_, _>>()?))
        }
        Ty::Struct(_) | Ty::Void | Ty::Error => Err(OutputError::Unprintable { ty: ty.to_string() }),
    }
}

/// An address as it is usually written: `127.0.0.1`, `::1`, `AA:BB:CC:DD:EE:FF`.
fn address_text(kind: AddressKind, bytes: &[u8]) -> String {
    match kind {
        AddressKind::Mac => bytes
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
        AddressKind::UserSymbol => {
            let pid = read_u64(&bytes[8..16]) as u32;
            super::stacks::user_symbol(pid, read_u64(bytes), false, false)
        }
        AddressKind::Inet => {
            let family = read_uint(&bytes[..4]) as u32;
            let address = &bytes[4..];
            if family == AddressKind::AF_INET6 {
                let octets: [u8; 16] = address[..16].try_into().unwrap_or([0; 16]);
                std::net::Ipv6Addr::from(octets).to_string()
            } else {
                let octets: [u8; 4] = address[..4].try_into().unwrap_or([0; 4]);
                std::net::Ipv4Addr::from(octets).to_string()
            }
        }
    }
}

/// The `ty.size()` bytes at `offset`, or an error saying how short `bytes` is.
fn slice<'a>(ty: &Ty, bytes: &'a [u8], offset: usize) -> Result<&'a [u8], OutputError> {
    let needed = ty.size() as usize;
    offset
        .checked_add(needed)
        .and_then(|end| bytes.get(offset..end))
        .ok_or_else(|| OutputError::TooShort {
            ty: ty.to_string(),
            offset,
            needed,
            available: bytes.len().saturating_sub(offset),
        })
}

/// Reads a native-endian integer of `bytes.len()` (1, 2, 4 or 8) bytes, zero-extended.
pub(crate) fn read_uint(bytes: &[u8]) -> u64 {
    let mut buffer = [0u8; 8];
    let len = bytes.len().min(8);
    if cfg!(target_endian = "little") {
        buffer[..len].copy_from_slice(&bytes[..len]);
    } else {
        buffer[8 - len..].copy_from_slice(&bytes[..len]);
    }
    u64::from_ne_bytes(buffer)
}

fn read_u64(bytes: &[u8]) -> u64 {
    read_uint(&bytes[..8])
}

fn decode_int(int: IntTy, bytes: &[u8]) -> Value {
    let raw = read_uint(bytes);
    if int.signed {
        let unused = 64 - u32::from(int.bits);
        Value::Int(((raw << unused) as i64) >> unused)
    } else {
        Value::UInt(raw)
    }
}

/// The size of the strings `str()` reads (`max_strlen`), set once when a script starts.
static READ_SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Sets the size of the strings `str()` reads (the first call wins).
pub fn set_string_read_size(max_strlen: u32) {
    let _ = READ_SIZE.set(max_strlen as usize);
}

/// A string up to its NUL. It was cut, as bpftrace judges, when it fills its buffer without a
/// NUL (a `char[N]` field) or up to the NUL of a `max_strlen` buffer (a `str()` read that
/// stopped there).
fn decode_str(buffer: &[u8]) -> Value {
    match buffer.iter().position(|&b| b == 0) {
        Some(len) => Value::Str {
            bytes: buffer[..len].to_vec(),
            truncated: len + 1 == buffer.len() && READ_SIZE.get() == Some(&buffer.len()),
        },
        None => Value::Str {
            bytes: buffer.to_vec(),
            truncated: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec![
            "begin".to_string(),
            "tracepoint:syscalls:sys_enter_read".to_string(),
        ]
    }

    #[test]
    fn integers_follow_width_and_sign() {
        let bytes = (-2i32).to_ne_bytes();
        assert_eq!(
            decode(&Ty::Int(IntTy::I32), &bytes, &[]),
            Ok(Value::Int(-2))
        );
        assert_eq!(
            decode(&Ty::Int(IntTy::U32), &bytes, &[]),
            Ok(Value::UInt(0xffff_fffe))
        );
        assert_eq!(
            decode(&Ty::Int(IntTy::I8), &[0x80], &[]),
            Ok(Value::Int(-128))
        );
        let max = u64::MAX.to_ne_bytes();
        assert_eq!(decode(&Ty::U64, &max, &[]), Ok(Value::UInt(u64::MAX)));
    }

    #[test]
    fn strings_stop_at_nul_and_mark_full_buffers_truncated() {
        let short = decode(&Ty::Str(6), b"abc\0\0\0", &[]);
        assert_eq!(
            short,
            Ok(Value::Str {
                bytes: b"abc".to_vec(),
                truncated: false
            })
        );
        let full = decode(&Ty::Str(3), b"abc", &[]);
        assert_eq!(
            full,
            Ok(Value::Str {
                bytes: b"abc".to_vec(),
                truncated: true
            })
        );
    }

    #[test]
    fn tuples_use_natural_alignment() {
        let ty = Ty::Tuple(vec![Ty::Bool, Ty::U64, Ty::Str(2)]);
        let mut bytes = vec![1u8, 0, 0, 0, 0, 0, 0, 0];
        bytes.extend(7u64.to_ne_bytes());
        bytes.extend(b"x\0\0\0\0\0\0\0");
        let str_x = Value::Str {
            bytes: b"x".to_vec(),
            truncated: false,
        };
        let expected = Value::Tuple(vec![Value::Bool(true), Value::UInt(7), str_x]);
        assert_eq!(decode(&ty, &bytes, &[]), Ok(expected));
    }

    #[test]
    fn probes_print_as_their_names() {
        let value = decode(&Ty::Probe, &1u64.to_ne_bytes(), &names());
        assert_eq!(
            value,
            Ok(Value::Probe(
                "tracepoint:syscalls:sys_enter_read".to_string()
            ))
        );
        let error = decode(&Ty::Probe, &9u64.to_ne_bytes(), &names());
        assert_eq!(error, Err(OutputError::ProbeIndex { index: 9, count: 2 }));
    }

    #[test]
    fn short_input_is_an_error_not_a_panic() {
        let error = decode(&Ty::Tuple(vec![Ty::U64, Ty::U64]), &[0; 12], &[]);
        let expected = OutputError::TooShort {
            ty: "(uint64, uint64)".to_string(),
            offset: 0,
            needed: 16,
            available: 12,
        };
        assert_eq!(error, Err(expected));
        assert!(decode(&Ty::Void, &[], &[]).is_err());
    }
}
