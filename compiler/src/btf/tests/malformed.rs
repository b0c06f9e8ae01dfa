//! Bad BTF: errors or `None`, never a panic, never a loop without end.

use std::sync::Arc;

use super::builder::Builder;
use super::sample;
use crate::btf::table::*;
use crate::btf::{Btf, BtfError, Family, TypeId};

/// Every query on every id of `btf` (and a few past them), to show none panics or hangs.
fn ask_everything(btf: &Btf) {
    let _ = btf.validate();
    for id in (0..40).map(TypeId) {
        let _ = btf.kind(id);
        let _ = (btf.resolve(id), btf.size_of(id), btf.align_of(id), btf.type_name(id));
        let _ = (btf.member(id, "a"), btf.signature(id), btf.enumerator_name(id, 0));
    }
    for name in ["int", "pair", "printf_like", "RED", "colour", "a"] {
        for family in [Family::StructOrUnion, Family::Enum, Family::Typedef, Family::Func, Family::Number] {
            let _ = btf.find(name, family);
        }
        let _ = (btf.enumerator(name), btf.function(name), btf.raw_tracepoint(name));
    }
}

#[test]
fn bad_headers_are_errors() {
    let good = sample().btf.data.clone();
    assert_eq!(Btf::parse(good[..20].to_vec()).err(), Some(BtfError::TooShort { len: 20 }));
    assert!(matches!(Btf::parse(b"not btf at all, but long enough".to_vec()), Err(BtfError::BadMagic { .. })));
    let mut swapped = good.clone();
    swapped.swap(0, 1);
    assert_eq!(Btf::parse(swapped).err(), Some(BtfError::ForeignByteOrder));
    let mut version = good.clone();
    version[2] = 2;
    assert_eq!(Btf::parse(version).err(), Some(BtfError::UnsupportedVersion { version: 2 }));
    for field in [4, 8, 12, 16, 20] {
        let mut far = good.clone();
        far[field..field + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(matches!(Btf::parse(far), Err(BtfError::SectionOutOfBounds { .. })), "field at {field}");
    }
    assert!(matches!(Btf::parse(good[..good.len() - 1].to_vec()), Err(BtfError::SectionOutOfBounds { .. })));
}

#[test]
fn unknown_kinds_and_truncated_records_are_errors() {
    for kind in [0, 20, 31] {
        let mut b = Builder::new();
        b.int("int", 4, 32, 0, 1);
        b.add("odd", kind, false, 0, 0, &[]);
        let btf = Btf::parse(b.finish()).unwrap();
        assert_eq!(btf.validate(), Err(BtfError::UnknownKind { id: 2, kind }));
        assert_eq!(btf.kind(TypeId(1)), Err(BtfError::UnknownKind { id: 2, kind }));
        assert_eq!(btf.find("int", Family::Number), None);
        ask_everything(&btf);
    }
    let mut b = Builder::new();
    b.int("int", 4, 32, 0, 1);
    b.add("pair", STRUCT, false, 5, 8, &[0, 1, 0]);
    let btf = Btf::parse(b.finish()).unwrap();
    assert_eq!(btf.validate(), Err(BtfError::Truncated { id: 2 }));
    ask_everything(&btf);
}

#[test]
fn bad_names_and_linkages_are_errors() {
    let mut b = Builder::new();
    let int = b.int("int", 4, 32, 0, 1);
    let bad_name = b.add("", STRUCT, false, 1, 4, &[9999, int, 0]);
    let bad_linkage = b.add("f", FUNC, false, 7, 0, &[]);
    let not_utf8 = b.add("\u{fffd}", TYPEDEF, false, 0, int, &[]);
    let mut data = b.finish();
    let at = data.windows(3).position(|w| w == "\u{fffd}".as_bytes()).unwrap();
    data[at] = 0xff;
    let btf = Btf::parse(data).unwrap();
    assert_eq!(btf.kind(TypeId(bad_name)), Err(BtfError::BadString { offset: 9999 }));
    assert!(matches!(btf.kind(TypeId(bad_linkage)), Err(BtfError::Malformed { .. })));
    assert!(matches!(btf.kind(TypeId(not_utf8)), Err(BtfError::BadString { .. })));
    ask_everything(&btf);
}

#[test]
fn cycles_end() {
    let mut b = Builder::new();
    let int = b.int("int", 4, 32, 0, 1);
    // 2 -> 3 -> 2: a typedef and a const around each other.
    b.refers("loop_t", TYPEDEF, 3);
    b.refers("", CONST, 2);
    // 4: an array of itself; 5: a pointer to itself.
    b.add("", ARRAY, false, 0, 0, &[4, int, 2]);
    b.refers("", PTR, 5);
    // 6: a struct holding itself, named and anonymous, many times over.
    let members: Vec<(&str, u32, u32)> =
        (0..200).map(|i| if i % 2 == 0 { ("", 6, 0) } else { ("self", 6, 0) }).collect();
    b.composite(STRUCT, "ouroboros", 4, false, &members);
    // 7: a prototype taking itself, 200 times.
    let params: Vec<(&str, u32)> = (0..200).map(|_| ("p", 7)).collect();
    b.proto(7, &params);
    // 8: a typedef of a pointer to itself, used as a raw tracepoint.
    b.refers("", PTR, 9);
    b.refers("btf_trace_loop", TYPEDEF, 8);
    let btf = Btf::parse(b.finish()).unwrap();
    assert_eq!(btf.resolve(TypeId(2)), None);
    assert_eq!(btf.size_of(TypeId(2)), None);
    assert_eq!(btf.size_of(TypeId(4)), None);
    assert_eq!(btf.size_of(TypeId(5)), Some(8));
    assert_eq!(btf.member(TypeId(6), "missing"), None);
    assert_eq!(btf.align_of(TypeId(6)), None);
    assert!(btf.type_name(TypeId(7)).len() < 100_000);
    assert!(btf.type_name(TypeId(4)).contains("..."));
    assert_eq!(btf.raw_tracepoint("loop"), None);
    ask_everything(&btf);
}

#[test]
fn split_btf_over_a_bad_base_is_an_error() {
    let mut b = Builder::new();
    b.add("odd", 25, false, 0, 0, &[]);
    let base = Arc::new(Btf::parse(b.finish()).unwrap());
    assert!(matches!(Btf::parse_split(base, Builder::new().finish()), Err(BtfError::UnknownKind { .. })));
}

/// Every prefix of a good blob with its section lengths cut to fit, and the blob with bytes
/// changed at random.
#[test]
fn damaged_blobs_never_panic() {
    let good = sample().btf.data.clone();
    let types_len = u32::from_ne_bytes(good[12..16].try_into().unwrap()) as usize;
    for len in 24..good.len() {
        let mut cut = good[..len].to_vec();
        let types = types_len.min(len - 24) as u32;
        cut[12..16].copy_from_slice(&types.to_ne_bytes());
        cut[16..20].copy_from_slice(&types.to_ne_bytes());
        cut[20..24].copy_from_slice(&((len - 24) as u32 - types).to_ne_bytes());
        if let Ok(btf) = Btf::parse(cut) {
            ask_everything(&btf);
        }
    }
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..300 {
        let mut damaged = good.clone();
        for _ in 0..1 + random() % 4 {
            let at = 24 + (random() as usize) % (damaged.len() - 24);
            damaged[at] = random() as u8;
        }
        if let Ok(btf) = Btf::parse(damaged) {
            ask_everything(&btf);
        }
    }
}
