//! The BTF reader on hand-built blobs (every kind, bitfields, anonymous members, split BTF,
//! malformed data) and on this machine's vmlinux.

pub(crate) mod builder;
mod malformed;
mod vmlinux;

use std::sync::Arc;

use builder::Builder;

use super::table::{self, *};
use super::{Btf, Composite, Enumerator, Family, Kind, Linkage, Member, Param, SectionVar, Signature, TypeId};

/// One type of every kind, with the ids the tests name them by.
struct Sample {
    btf: Btf,
    int: u32,
    char: u32,
    pair: u32,
    either: u32,
    colour: u32,
    pair_t: u32,
    const_char: u32,
    proto: u32,
    func: u32,
    wide: u32,
    const_char_ptr: u32,
    tagged: u32,
}

fn sample() -> Sample {
    let mut b = Builder::new();
    let int = b.int("int", 4, 32, 0, 1);
    let char = b.int("char", 1, 8, 0, 2);
    let bool = b.int("_Bool", 1, 8, 0, 4);
    let char_ptr = b.refers("", PTR, char);
    let comm = b.add("", ARRAY, false, 0, 0, &[char, int, 16]);
    let pair = b.composite(STRUCT, "pair", 8, false, &[("a", int, 0), ("b", int, 32)]);
    let either = b.composite(UNION, "either", 4, false, &[("i", int, 0), ("c", char, 0)]);
    let colour = b.enum32("colour", 4, true, &[("RED", -1), ("GREEN", 1)]);
    let later = b.refers("later", FWD, 0);
    let pair_t = b.refers("pair_t", TYPEDEF, pair);
    let volatile_int = b.refers("", VOLATILE, int);
    let const_char = b.refers("", CONST, char);
    let restrict = b.refers("", RESTRICT, char_ptr);
    let proto = b.proto(int, &[("fmt", char_ptr), ("", 0)]);
    let func = b.add("printf_like", FUNC, false, 1, proto, &[]);
    let var = b.add("counter", VAR, false, 0, int, &[1]);
    let datasec = b.add(".data", DATASEC, false, 1, 4, &[var, 0, 4]);
    let double = b.add("double", FLOAT, false, 0, 8, &[]);
    let decl_tag = b.add("nonnull", DECL_TAG, false, 0, func, &[0]);
    let tagged = b.refers("user", TYPE_TAG, char);
    let wide = b.enum64("wide", false, &[("BIG", 1 << 40), ("TOP", u64::MAX)]);
    let maybe = b.add("maybe", FWD, true, 0, 0, &[]);
    let const_char_ptr = b.refers("", PTR, const_char);
    let btf = Btf::parse(b.finish()).unwrap();
    let expect = |id: u32, kind: Kind<'_>| assert_eq!(btf.kind(TypeId(id)).unwrap(), kind, "type {id}");
    expect(bool, Kind::Int { name: "_Bool", size: 1, bits: 8, bit_offset: 0, signed: false, char: false, bool: true });
    expect(comm, Kind::Array { elem: TypeId(char), index: TypeId(int), len: 16 });
    expect(later, Kind::Fwd { name: "later", union: false });
    expect(maybe, Kind::Fwd { name: "maybe", union: true });
    expect(volatile_int, Kind::Volatile(TypeId(int)));
    expect(restrict, Kind::Restrict(TypeId(char_ptr)));
    expect(var, Kind::Var { name: "counter", ty: TypeId(int), linkage: Linkage::Global });
    expect(
        datasec,
        Kind::Datasec { name: ".data", size: 4, vars: vec![SectionVar { var: TypeId(var), offset: 0, size: 4 }] },
    );
    expect(double, Kind::Float { name: "double", size: 8 });
    expect(decl_tag, Kind::DeclTag { name: "nonnull", target: TypeId(func), component: Some(0) });
    Sample { btf, int, char, pair, either, colour, pair_t, const_char, proto, func, wide, const_char_ptr, tagged }
}

#[test]
fn decodes_every_kind() {
    let s = sample();
    let kind = |id: u32| s.btf.kind(TypeId(id)).unwrap();
    assert_eq!(kind(0), Kind::Void);
    assert_eq!(
        kind(s.int),
        Kind::Int { name: "int", size: 4, bits: 32, bit_offset: 0, signed: true, char: false, bool: false }
    );
    assert!(matches!(kind(s.char), Kind::Int { char: true, signed: false, .. }));
    let member = |name, ty: u32, bit_offset| Member { name, ty: TypeId(ty), bit_offset, bitfield_size: None };
    let members = vec![member("a", s.int, 0), member("b", s.int, 32)];
    assert_eq!(kind(s.pair), Kind::Struct(Composite { name: "pair", size: 8, members }));
    let members = vec![member("i", s.int, 0), member("c", s.char, 0)];
    assert_eq!(kind(s.either), Kind::Union(Composite { name: "either", size: 4, members }));
    let values = vec![Enumerator { name: "RED", value: u64::MAX }, Enumerator { name: "GREEN", value: 1 }];
    assert_eq!(kind(s.colour), Kind::Enum { name: "colour", size: 4, signed: true, values });
    let values = vec![Enumerator { name: "BIG", value: 1 << 40 }, Enumerator { name: "TOP", value: u64::MAX }];
    assert_eq!(kind(s.wide), Kind::Enum { name: "wide", size: 8, signed: false, values });
    assert_eq!(kind(s.pair_t), Kind::Typedef { name: "pair_t", target: TypeId(s.pair) });
    assert_eq!(kind(s.const_char), Kind::Const(TypeId(s.char)));
    assert_eq!(kind(s.tagged), Kind::TypeTag { name: "user", target: TypeId(s.char) });
    assert_eq!(kind(s.func), Kind::Func { name: "printf_like", proto: TypeId(s.proto), linkage: Linkage::Global });
    let params = vec![Param { name: "fmt", ty: TypeId(4) }];
    assert_eq!(kind(s.proto), Kind::FuncProto(Signature { ret: TypeId(s.int), params, variadic: true }));
    assert_eq!(s.btf.kind(TypeId(s.const_char_ptr + 1)), Err(super::BtfError::NoSuchType { id: s.const_char_ptr + 1 }));
    assert_eq!(s.btf.validate(), Ok(()));
}

#[test]
fn resolves_sizes_and_alignments() {
    let s = sample();
    let btf = &s.btf;
    assert_eq!(btf.resolve(TypeId(s.pair_t)), Some(TypeId(s.pair)));
    assert_eq!(btf.resolve(TypeId(s.const_char)), Some(TypeId(s.char)));
    assert_eq!(btf.resolve(TypeId(s.tagged)), Some(TypeId(s.char)));
    assert_eq!(btf.resolve(TypeId(s.int)), Some(TypeId(s.int)));
    assert_eq!(btf.size_of(TypeId(s.pair_t)), Some(8));
    assert_eq!(btf.size_of(TypeId(s.const_char_ptr)), Some(8));
    assert_eq!(btf.size_of(TypeId(s.wide)), Some(8));
    assert_eq!(btf.size_of(TypeId(5)), Some(16), "char[16]");
    assert_eq!(btf.size_of(TypeId(s.func)), None);
    assert_eq!(btf.size_of(TypeId::VOID), None);
    assert_eq!(btf.align_of(TypeId(s.pair_t)), Some(4));
    assert_eq!(btf.align_of(TypeId(5)), Some(1));
    assert_eq!(btf.align_of(TypeId(s.const_char_ptr)), Some(8));

    let mut b = Builder::new();
    let int = b.int("int", 4, 32, 0, 1);
    let long = b.int("long", 8, 64, 0, 1);
    let row = b.add("", ARRAY, false, 0, 0, &[int, int, 3]);
    let grid = b.add("", ARRAY, false, 0, 0, &[row, int, 5]);
    let padded = b.composite(STRUCT, "padded", 16, false, &[("a", int, 0), ("b", long, 64)]);
    let packed = b.composite(STRUCT, "packed", 12, false, &[("a", int, 0), ("b", long, 32)]);
    let btf = Btf::parse(b.finish()).unwrap();
    assert_eq!(btf.size_of(TypeId(grid)), Some(60));
    assert_eq!(btf.align_of(TypeId(grid)), Some(4));
    assert_eq!(btf.align_of(TypeId(padded)), Some(8));
    assert_eq!(btf.align_of(TypeId(packed)), Some(1));
}

#[test]
fn bitfields_read_the_same_in_both_encodings() {
    let mut b = Builder::new();
    let uint = b.int("unsigned int", 4, 32, 0, 0);
    let three = b.int("unsigned int", 4, 3, 0, 0);
    let five_at_two = b.int("unsigned int", 4, 5, 2, 0);
    let flagged =
        b.composite(STRUCT, "flagged", 8, true, &[("x", uint, 3 << 24), ("y", uint, (5 << 24) | 3), ("z", uint, 32)]);
    let plain = b.composite(STRUCT, "plain", 8, false, &[("x", three, 0), ("y", five_at_two, 1), ("z", uint, 32)]);
    let btf = Btf::parse(b.finish()).unwrap();
    for strukt in [flagged, plain] {
        let member = |name| btf.member(TypeId(strukt), name).unwrap();
        assert_eq!((member("x").bit_offset, member("x").bitfield_size), (0, Some(3)));
        assert_eq!((member("y").bit_offset, member("y").bitfield_size), (3, Some(5)));
        assert_eq!((member("z").bit_offset, member("z").bitfield_size, member("z").byte_offset()), (32, None, Some(4)));
        assert_eq!(member("y").byte_offset(), None);
    }
}

#[test]
fn finds_members_inside_anonymous_structs_and_unions() {
    // struct outer { int a; union { int b; struct { int c; int d; }; }; int e; };
    let mut b = Builder::new();
    let int = b.int("int", 4, 32, 0, 1);
    let inner = b.composite(STRUCT, "", 8, false, &[("c", int, 0), ("d", int, 32)]);
    let union = b.composite(UNION, "", 8, false, &[("b", int, 0), ("", inner, 0)]);
    let outer = b.composite(STRUCT, "outer", 16, false, &[("a", int, 0), ("", union, 32), ("e", int, 96)]);
    let outer_t = b.refers("outer_t", TYPEDEF, outer);
    let btf = Btf::parse(b.finish()).unwrap();
    let at = |name| btf.member(TypeId(outer_t), name).map(|m| (m.byte_offset(), m.ty));
    assert_eq!(at("a"), Some((Some(0), TypeId(int))));
    assert_eq!(at("b"), Some((Some(4), TypeId(int))));
    assert_eq!(at("d"), Some((Some(8), TypeId(int))));
    assert_eq!(at("e"), Some((Some(12), TypeId(int))));
    assert_eq!(at("f"), None);
    assert_eq!(at(""), None);
    assert_eq!(btf.member(TypeId(int), "a"), None);
    assert_eq!(btf.type_name(TypeId(union)), "union (anonymous)");
}

#[test]
fn finds_types_by_name_and_family() {
    let mut b = Builder::new();
    let int = b.int("int", 4, 32, 0, 1);
    let empty = b.composite(STRUCT, "sock", 0, false, &[]);
    let sock = b.composite(STRUCT, "sock", 4, false, &[("fd", int, 0)]);
    let sock_fn = b.proto(int, &[]);
    let sock_fn = b.add("sock", FUNC, false, 0, sock_fn, &[]);
    let sock_t = b.refers("sock", TYPEDEF, sock);
    let state = b.enum32("state", 4, false, &[("UP", 1), ("DOWN", 2), ("ALSO_UP", 1)]);
    let btf = Btf::parse(b.finish()).unwrap();
    assert_eq!(btf.find("sock", Family::StructOrUnion), Some(TypeId(sock)), "the one with members");
    assert_eq!(btf.find_all("sock", Family::StructOrUnion), vec![TypeId(empty), TypeId(sock)]);
    assert_eq!(btf.find("sock", Family::Func), Some(TypeId(sock_fn)));
    assert_eq!(btf.find("sock", Family::Typedef), Some(TypeId(sock_t)));
    assert_eq!(btf.find("int", Family::Number), Some(TypeId(int)));
    assert_eq!(btf.find("int", Family::Typedef), None);
    assert_eq!(btf.find("state", Family::Enum), Some(TypeId(state)));
    assert_eq!(btf.find("sockets", Family::StructOrUnion), None);
    assert_eq!(btf.enumerator("DOWN"), Some((TypeId(state), Enumerator { name: "DOWN", value: 2 })));
    assert_eq!(btf.enumerator("SIDEWAYS"), None);
    assert_eq!(btf.enumerator_name(TypeId(state), 1), Some("UP"));
    assert_eq!(btf.enumerator_name(TypeId(state), 3), None);
    assert_eq!(btf.enumerator_name(TypeId(int), 1), None);
    let s = sample();
    assert_eq!(s.btf.enumerator("RED").map(|(_, e)| e.value as i64), Some(-1));
    assert_eq!(s.btf.enumerator_name(TypeId(s.colour), u64::MAX), Some("RED"));
    assert_eq!(s.btf.enumerator("TOP"), Some((TypeId(s.wide), Enumerator { name: "TOP", value: u64::MAX })));
}

#[test]
fn reads_function_and_raw_tracepoint_signatures() {
    let mut b = Builder::new();
    let int = b.int("int", 4, 32, 0, 1);
    let void_ptr = b.refers("", PTR, 0);
    let task = b.composite(STRUCT, "task_struct", 8, false, &[("pid", int, 0)]);
    let task_ptr = b.refers("", PTR, task);
    let probe = b.proto(0, &[("", void_ptr), ("", task_ptr), ("", int)]);
    let probe_ptr = b.refers("", PTR, probe);
    b.refers("btf_trace_sched_thing", TYPEDEF, probe_ptr);
    b.refers("btf_trace_unnamed", TYPEDEF, probe_ptr);
    let named = b.proto(0, &[("__data", void_ptr), ("prev", task_ptr), ("cpu", int)]);
    b.add("__bpf_trace_sched_thing", FUNC, false, 0, named, &[]);
    let proto = b.proto(int, &[("task", task_ptr)]);
    let wake = b.add("wake_up", FUNC, false, 1, proto, &[]);
    b.refers("btf_trace_nothing", TYPEDEF, int);
    let btf = Btf::parse(b.finish()).unwrap();
    let args = btf.raw_tracepoint("sched_thing").unwrap();
    assert_eq!(args.params, vec![Param { name: "prev", ty: TypeId(task_ptr) }, Param { name: "cpu", ty: TypeId(int) }]);
    assert_eq!((args.ret, args.variadic), (TypeId::VOID, false));
    let unnamed = btf.raw_tracepoint("unnamed").unwrap();
    assert_eq!(unnamed.params, vec![Param { name: "", ty: TypeId(task_ptr) }, Param { name: "", ty: TypeId(int) }]);
    assert_eq!(btf.raw_tracepoint("nothing"), None);
    assert_eq!(btf.raw_tracepoint("missing"), None);
    let wake_up = btf.function("wake_up").unwrap();
    assert_eq!((wake_up.ret, wake_up.params.len()), (TypeId(int), 1));
    assert_eq!(btf.signature(TypeId(wake)), Some(wake_up));
    assert_eq!(btf.function("task_struct"), None);
    assert_eq!(btf.type_name(TypeId(probe_ptr)), "void (*)(void *, struct task_struct *, int)");
    assert_eq!(btf.type_name(TypeId(wake)), "int wake_up(struct task_struct *)");
}

#[test]
fn writes_types_as_c_does() {
    let s = sample();
    let name = |id: u32| s.btf.type_name(TypeId(id));
    assert_eq!(name(0), "void");
    assert_eq!(name(s.int), "int");
    assert_eq!(name(4), "char *");
    assert_eq!(name(5), "char[16]");
    assert_eq!(name(s.pair), "struct pair");
    assert_eq!(name(s.either), "union either");
    assert_eq!(name(s.colour), "enum colour");
    assert_eq!(name(s.pair_t), "pair_t");
    assert_eq!(name(s.const_char_ptr), "const char *");
    assert_eq!(name(13), "char *restrict");
    assert_eq!(name(s.proto), "int (char *, ...)");
    assert_eq!(name(s.func), "int printf_like(char *, ...)");
    assert_eq!(name(s.tagged), "char");
    assert_eq!(name(999), "<type 999>");

    let mut b = Builder::new();
    let char = b.int("char", 1, 8, 0, 2);
    let row = b.add("", ARRAY, false, 0, 0, &[char, char, 4]);
    let rows = b.add("", ARRAY, false, 0, 0, &[row, char, 2]);
    let rows_ptr = b.refers("", PTR, rows);
    let char_ptr = b.refers("", PTR, char);
    let const_ptr = b.refers("", CONST, char_ptr);
    let ptr_ptr = b.refers("", PTR, const_ptr);
    let btf = Btf::parse(b.finish()).unwrap();
    assert_eq!(btf.type_name(TypeId(rows)), "char[2][4]");
    assert_eq!(btf.type_name(TypeId(rows_ptr)), "char (*)[2][4]");
    assert_eq!(btf.type_name(TypeId(ptr_ptr)), "char *const *");
}

#[test]
fn split_btf_continues_its_bases_ids_and_strings() {
    let mut b = Builder::new();
    let int = b.int("int", 4, 32, 0, 1);
    let task = b.composite(STRUCT, "task_struct", 4, false, &[("pid", int, 0)]);
    let state = b.enum32("pid_type", 4, false, &[("PIDTYPE_PID", 0)]);
    let base = Arc::new(Btf::parse(b.finish()).unwrap());
    let mut m = Builder::split(&b);
    let task_ptr = m.refers("", PTR, task);
    let module = m.composite(STRUCT, "module_thing", 16, false, &[("owner", task_ptr, 0), ("", int, 64)]);
    let named_by_base = m.add("", TYPEDEF, false, 0, int, &[]);
    let mode = m.enum32("mode", 4, false, &[("MODE_ON", 7)]);
    let split = Btf::parse_split(base.clone(), m.finish()).unwrap();
    assert_eq!(task_ptr, 4);
    assert_eq!(split.validate(), Ok(()));
    assert_eq!(split.type_name(TypeId(task_ptr)), "struct task_struct *");
    assert_eq!(split.find("task_struct", Family::StructOrUnion), Some(TypeId(task)));
    assert_eq!(split.find("module_thing", Family::StructOrUnion), Some(TypeId(module)));
    assert_eq!(base.find("module_thing", Family::StructOrUnion), None);
    assert_eq!(split.member(TypeId(module), "owner").map(|m| m.ty), Some(TypeId(task_ptr)));
    assert_eq!(split.kind(TypeId(named_by_base)), Ok(Kind::Typedef { name: "", target: TypeId(int) }));
    assert_eq!(split.enumerator("PIDTYPE_PID").map(|(id, _)| id), Some(TypeId(state)));
    assert_eq!(split.enumerator("MODE_ON").map(|(id, e)| (id, e.value)), Some((TypeId(mode), 7)));
    assert!(base.kind(TypeId(module)).is_err());
    let split_again = Btf::parse_split(Arc::new(split), Builder::split(&m).finish()).unwrap();
    assert_eq!(split_again.find("module_thing", Family::StructOrUnion), Some(TypeId(module)));
    assert_eq!(split_again.find("task_struct", Family::StructOrUnion), Some(TypeId(task)));
}

#[test]
fn kind_numbers_match_the_spec() {
    let numbered = [INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC];
    assert!(numbered.iter().enumerate().all(|(i, &kind)| kind as usize == i + 1));
    let later = [FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, table::ENUM64];
    assert!(later.iter().enumerate().all(|(i, &kind)| kind as usize == i + 13));
}

#[test]
fn written_btf_reads_back_and_an_overlay_hides_its_bases_names() {
    use super::{Writer, WrittenMember};
    let mut b = Builder::new();
    let int = b.int("int", 4, 32, 0, 1);
    let kernel_pair = b.composite(STRUCT, "pair", 8, false, &[("a", int, 0), ("b", int, 32)]);
    b.enum32("mode", 4, false, &[("ON", 1)]);
    let base = Arc::new(Btf::parse(b.finish()).unwrap());

    let mut w = Writer::new(Some(&base)).unwrap();
    let pair = w.reserve().unwrap();
    let uint = w.int("unsigned int", 4, false, false, false).unwrap();
    let ptr = w.pointer(pair).unwrap();
    let members = [
        WrittenMember { name: "next", ty: ptr, bit_offset: 0, bitfield_size: None },
        WrittenMember { name: "flags", ty: uint, bit_offset: 64, bitfield_size: Some(3) },
        WrittenMember { name: "kernel", ty: TypeId(kernel_pair), bit_offset: 96, bitfield_size: None },
    ];
    w.composite(pair, false, "pair", 24, &members).unwrap();
    w.enumeration("mine", 8, true, &[("ON", u64::MAX), ("BIG", 1 << 40)]).unwrap();
    let overlay = Btf::parse_overlay(base.clone(), w.finish()).unwrap();
    assert_eq!(overlay.validate(), Ok(()));
    assert_eq!(overlay.find("pair", Family::StructOrUnion), Some(pair), "the overlay's own first");
    assert_eq!(overlay.find_all("pair", Family::StructOrUnion), [pair, TypeId(kernel_pair)]);
    assert_eq!(overlay.enumerator("ON").map(|(_, e)| e.value), Some(u64::MAX));
    assert_eq!(overlay.enumerator("BIG").map(|(_, e)| e.value), Some(1 << 40));
    assert_eq!(overlay.size_of(pair), Some(24));
    let flags = overlay.member(pair, "flags").unwrap();
    assert_eq!((flags.bit_offset, flags.bitfield_size), (64, Some(3)));
    assert_eq!(overlay.type_name(overlay.member(pair, "next").unwrap().ty), "struct pair *");
    assert_eq!(overlay.member(pair, "kernel").map(|m| overlay.size_of(m.ty)), Some(Some(8)));
    assert!(overlay.owns(pair) && !overlay.owns(TypeId(kernel_pair)));

    let mut alone = Writer::new(None).unwrap();
    let int = alone.int("int", 4, true, false, false).unwrap();
    let alone = Btf::parse(alone.finish()).unwrap();
    assert_eq!(alone.validate(), Ok(()));
    assert_eq!(alone.type_name(int), "int");
}

#[test]
fn a_written_function_reads_back_with_its_parameters() {
    use super::Writer;
    let mut w = Writer::new(None).unwrap();
    let char = w.int("char", 1, true, true, false).unwrap();
    let constant = w.qualified(char, false).unwrap();
    let string = w.pointer(constant).unwrap();
    let long = w.int("long", 8, true, false, false).unwrap();
    let proto = w.prototype(long, &[("name", string), ("", long)], true).unwrap();
    w.function("greet", proto).unwrap();
    let btf = Btf::parse(w.finish()).unwrap();
    assert_eq!(btf.validate(), Ok(()));
    let signature = btf.function("greet").unwrap();
    assert_eq!((signature.ret, signature.variadic, signature.params.len()), (long, true, 2));
    assert_eq!((signature.params[0].name, btf.type_name(signature.params[0].ty).as_str()), ("name", "const char *"));
    assert_eq!(signature.params[1].name, "");
}
