//! The value types of the language and their byte layouts, shared by the compiler and the runtime.
//!
//! Layout rules: every type has a size and an alignment; tuples pack their fields in order with
//! natural alignment and round their size up to their alignment. Strings are fixed-size byte
//! arrays, zero-padded, so that equal strings are equal map keys.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::config::StackMode;

/// The bytes before a buffer's data: how many of them are used, a native `u32`.
pub const BUFFER_HEADER: u32 = 4;

/// An integer type: 8, 16, 32 or 64 bits, signed or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IntTy {
    pub bits: u8,
    pub signed: bool,
}

impl IntTy {
    pub const U8: IntTy = IntTy { bits: 8, signed: false };
    pub const U16: IntTy = IntTy { bits: 16, signed: false };
    pub const U32: IntTy = IntTy { bits: 32, signed: false };
    pub const U64: IntTy = IntTy { bits: 64, signed: false };
    pub const I8: IntTy = IntTy { bits: 8, signed: true };
    pub const I16: IntTy = IntTy { bits: 16, signed: true };
    pub const I32: IntTy = IntTy { bits: 32, signed: true };
    pub const I64: IntTy = IntTy { bits: 64, signed: true };

    pub fn bytes(self) -> u32 {
        u32::from(self.bits) / 8
    }
}

impl fmt::Display for IntTy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}int{}", if self.signed { "" } else { "u" }, self.bits)
    }
}

/// The type of a value the language can compute, store in a map or print.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ty {
    Int(IntTy),
    /// An integer of a C enum type: computes as its integer, prints as the name of its value
    /// (bpftrace's symbolic enums). Boxed: it carries the enum's constants.
    Enum(Box<EnumTy>),
    Bool,
    /// A fixed-size, zero-padded string buffer of this many bytes (including room for the NUL).
    Str(u32),
    Tuple(Vec<Ty>),
    /// Named fields, laid out as a tuple in the order the record was first written (boxed: a
    /// rare type should not make every `Ty` bigger).
    Record(Box<RecordTy>),
    /// `buf(...)`: up to this many bytes, after a `u32` count of those used.
    Buffer(u32),
    /// An address printed in its usual form (`ntop`, `macaddr`).
    Address(AddressKind),
    /// A number the probe computes and userspace prints by name (`strerror(n)`, `username`).
    Symbol(Symbol),
    /// `kstack` or `ustack`: a `u64` naming a stack the kernel keeps in a stack map, printed as
    /// its frames.
    Stack(StackTy),
    /// The `probe` builtin: a u64 index into the manifest's probe names, printed as the name.
    Probe,
    /// A pointer (printed in hex) to `pointee`, which is `Void` when not known (`void *`, or a
    /// tracepoint field the kernel's types do not describe). `user` says whether it points
    /// into user memory. Boxed: most values are not pointers.
    Ptr { pointee: Box<Ty>, user: bool },
    /// A C struct or union (of the kernel's types) in memory: what `*p` and `p->s` are when `s`
    /// is a struct. It is never loaded whole into the probe: its fields are read where they are.
    Struct(Box<StructRef>),
    /// A C array of `len` elements in memory (an array of `char` is a `Str`).
    Array { elem: Box<Ty>, len: u32 },
    /// The result of a statement-like call (`printf`, `exit`): no value.
    Void,
    /// Stands in after a type error so checking can go on; never reaches lowering.
    Error,
}

impl Ty {
    pub const U64: Ty = Ty::Int(IntTy::U64);
    pub const I64: Ty = Ty::Int(IntTy::I64);

    pub fn size(&self) -> u32 {
        match self {
            Ty::Int(int) => int.bytes(),
            Ty::Enum(enumeration) => enumeration.int.bytes(),
            Ty::Bool => 1,
            Ty::Str(len) => *len,
            Ty::Buffer(capacity) => BUFFER_HEADER + capacity,
            Ty::Address(kind) => kind.size(),
            Ty::Tuple(fields) => tuple_layout(fields).size,
            Ty::Record(record) => tuple_layout(&record.fields).size,
            Ty::Probe | Ty::Ptr { .. } | Ty::Symbol(_) | Ty::Stack(_) => 8,
            Ty::Struct(strukt) => strukt.size,
            Ty::Array { elem, len } => elem.size().saturating_mul(*len),
            Ty::Void | Ty::Error => 0,
        }
    }

    pub fn align(&self) -> u32 {
        match self {
            Ty::Int(int) => int.bytes(),
            Ty::Enum(enumeration) => enumeration.int.bytes(),
            Ty::Bool | Ty::Str(_) => 1,
            Ty::Buffer(_) => BUFFER_HEADER,
            Ty::Address(AddressKind::Inet) => 4,
            Ty::Address(AddressKind::Mac) => 1,
            Ty::Address(AddressKind::UserSymbol) => 8,
            Ty::Tuple(fields) => tuple_layout(fields).align,
            Ty::Record(record) => tuple_layout(&record.fields).align,
            Ty::Probe | Ty::Ptr { .. } | Ty::Symbol(_) | Ty::Stack(_) => 8,
            Ty::Struct(_) => 8,
            Ty::Array { elem, .. } => elem.align(),
            Ty::Void | Ty::Error => 1,
        }
    }

    /// The integer type of an integer or an enum.
    pub fn as_int(&self) -> Option<IntTy> {
        match self {
            Ty::Int(int) => Some(*int),
            Ty::Enum(enumeration) => Some(enumeration.int),
            _ => None,
        }
    }

    /// The type as arithmetic sees it: an enum is its integer.
    pub fn decayed(self) -> Ty {
        match self {
            Ty::Enum(enumeration) => Ty::Int(enumeration.int),
            ty => ty,
        }
    }

    /// "a" or "an", as the type's name is said: "an `int8`", "a `uint8`".
    pub fn article(&self) -> &'static str {
        match self.to_string().chars().next() {
            Some('a' | 'e' | 'i' | 'o') => "an",
            _ => "a",
        }
    }

    /// The fields of a tuple or a record, in layout order.
    pub fn fields(&self) -> Option<&[Ty]> {
        match self {
            Ty::Tuple(fields) => Some(fields),
            Ty::Record(record) => Some(&record.fields),
            _ => None,
        }
    }

    /// Fits in a register: integers, bools, pointers, probe ids and stack ids.
    pub fn is_scalar(&self) -> bool {
        matches!(self, Ty::Int(_) | Ty::Enum(_) | Ty::Bool | Ty::Probe | Ty::Ptr { .. } | Ty::Symbol(_) | Ty::Stack(_))
    }

    pub fn is_error(&self) -> bool {
        match self {
            Ty::Error => true,
            Ty::Tuple(fields) => fields.iter().any(Ty::is_error),
            Ty::Record(record) => record.fields.iter().any(Ty::is_error),
            _ => false,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Int(int) => write!(f, "{int}"),
            Ty::Enum(enumeration) => f.write_str(&enumeration.name),
            Ty::Bool => f.write_str("bool"),
            Ty::Str(len) => write!(f, "string[{len}]"),
            Ty::Buffer(capacity) => write!(f, "buffer[{capacity}]"),
            Ty::Address(AddressKind::Inet) => f.write_str("inet"),
            Ty::Address(AddressKind::Mac) => f.write_str("macaddr"),
            Ty::Address(AddressKind::UserSymbol) => f.write_str("usym"),
            Ty::Stack(stack) => f.write_str(if stack.user { "ustack" } else { "kstack" }),
            Ty::Tuple(fields) => {
                f.write_str("(")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{field}")?;
                }
                f.write_str(")")
            }
            Ty::Record(record) => {
                f.write_str("record { ")?;
                for (i, (name, field)) in record.names.iter().zip(&record.fields).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}: {field}")?;
                }
                f.write_str(" }")
            }
            Ty::Probe => f.write_str("probe"),
            Ty::Symbol(symbol) => f.write_str(symbol.type_name()),
            Ty::Ptr { pointee, user } => match (&**pointee, user) {
                (Ty::Void, true) => f.write_str("user pointer"),
                (Ty::Void, false) => f.write_str("pointer"),
                (pointee, _) if matches!(pointee, Ty::Ptr { .. }) => write!(f, "{pointee}*"),
                (pointee, _) => write!(f, "{pointee} *"),
            },
            Ty::Struct(strukt) => f.write_str(&strukt.name),
            Ty::Array { elem, len } => write!(f, "{elem}[{len}]"),
            Ty::Void => f.write_str("none"),
            Ty::Error => f.write_str("{error}"),
        }
    }
}

/// The fields of a record: `names[i]` names `fields[i]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordTy {
    pub names: Vec<String>,
    pub fields: Vec<Ty>,
}

/// A C enum: how C writes its name (`enum pid_type`), its integer type and its constants
/// (name and canonical 64-bit value, as BTF gives them), which name its values when printed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnumTy {
    pub name: String,
    pub int: IntTy,
    pub constants: Vec<(String, u64)>,
}

impl EnumTy {
    /// The name of the constant whose value is `bits` (the value's bits, of any width), the
    /// first when several share it.
    pub fn constant_named(&self, bits: u64) -> Option<&str> {
        let mask = if self.int.bits >= 64 { u64::MAX } else { (1u64 << self.int.bits) - 1 };
        self.constants.iter().find(|(_, value)| value & mask == bits & mask).map(|(name, _)| name.as_str())
    }
}

/// A C struct or union by name: `name` is how C writes it (`struct task_struct`), `id` its
/// kernel type id (BTF), `size` its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StructRef {
    pub name: String,
    pub size: u32,
    pub id: u32,
}

impl Ty {
    /// A pointer to something unknown (`void *`).
    pub fn void_ptr(user: bool) -> Ty {
        Ty::Ptr { pointee: Box::new(Ty::Void), user }
    }

    /// A pointer to `pointee`.
    pub fn ptr(pointee: Ty, user: bool) -> Ty {
        Ty::Ptr { pointee: Box::new(pointee), user }
    }

    pub fn record(names: Vec<String>, fields: Vec<Ty>) -> Ty {
        Ty::Record(Box::new(RecordTy { names, fields }))
    }
}

/// Which address a `Ty::Address` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AddressKind {
    /// `ntop`: a `u32` address family (`AF_INET` 2 or `AF_INET6` 10), then 16 bytes of which
    /// an IPv4 address uses the first 4, in network order.
    Inet,
    /// `macaddr`: 6 bytes.
    Mac,
    /// `usym`: a user address (`u64`) and the pid (`u64`) of the process it belongs to,
    /// printed as the name of the function there.
    UserSymbol,
}

impl AddressKind {
    pub const AF_INET: u32 = 2;
    pub const AF_INET6: u32 = 10;

    pub fn size(self) -> u32 {
        match self {
            AddressKind::Inet => 4 + 16,
            AddressKind::Mac => 6,
            AddressKind::UserSymbol => 16,
        }
    }
}

/// What a `Ty::Symbol` number names, and so how it is printed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Symbol {
    /// An errno value, printed as the kernel's message for it (`strerror`).
    Errno,
    /// A signal number, printed as its description (`signal_name`).
    Signal,
    /// A syscall number, printed as the syscall's name (`syscall_name`).
    Syscall,
    /// A user id, printed as the user's name (`username`).
    User,
    /// Nanoseconds since boot (or by CLOCK_TAI), printed as local wall-clock time by a
    /// `strftime(3)` format with `%f` for microseconds (`strftime`).
    Time(Box<TimeFormat>),
    /// A cgroup id, printed as its path in each mounted hierarchy whose name matches the
    /// wildcard (`cgroup_path`).
    CgroupPath(Box<String>),
    /// A kernel address, printed as the name of the kernel function or object there (`ksym`,
    /// `func` in a kprobe).
    KernelSymbol,
}

/// How a timestamp prints: its clock (TAI, or boot time) and its `strftime(3)` format.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeFormat {
    pub format: String,
    pub tai: bool,
}

impl Symbol {
    /// The type's name in messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Symbol::Errno => "strerror",
            Symbol::Signal => "signal_name",
            Symbol::Syscall => "syscall_name",
            Symbol::User => "username",
            Symbol::Time(_) => "timestamp",
            Symbol::CgroupPath(_) => "cgroup_path",
            Symbol::KernelSymbol => "ksym",
        }
    }
}

/// A stack as `kstack(mode, limit)` or `ustack(mode, limit)` takes it.
///
/// In the probe it is the `u64` that `bpf_get_stackid` returns for the stack map of its limit
/// (negative when the kernel could not store the stack); a user stack carries the pid in the
/// upper 32 bits, since its addresses mean something only in that process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StackTy {
    /// `ustack`, not `kstack`.
    pub user: bool,
    pub mode: StackMode,
    /// The most frames kept, innermost first (1 to `MAX_STACK_FRAMES`).
    pub limit: u8,
}

/// The deepest stack a stack map holds: Linux's default `kernel.perf_event_max_stack`, and
/// bpftrace's default limit.
pub const MAX_STACK_FRAMES: u8 = 127;

/// Where each field of a tuple (or a packed record) lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub offsets: Vec<u32>,
    pub size: u32,
    pub align: u32,
}

/// Packs `fields` in order with natural alignment.
pub fn tuple_layout(fields: &[Ty]) -> Layout {
    let mut offsets = Vec::with_capacity(fields.len());
    let mut offset = 0;
    let mut align = 1;
    for field in fields {
        let a = field.align();
        offset = align_up(offset, a);
        offsets.push(offset);
        offset += field.size();
        align = align.max(a);
    }
    Layout { offsets, size: align_up(offset, align), align }
}

pub fn align_up(value: u32, align: u32) -> u32 {
    value.div_ceil(align) * align
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every checked expression carries a `Ty`: rare types are boxed to keep it small.
    #[test]
    fn types_stay_three_words() {
        assert_eq!(std::mem::size_of::<Ty>(), 24);
    }

    /// An enum's value names its constant whatever width it was stored in: a signed enum's
    /// `-1` is found from 32 sign-extended bits or from 64.
    #[test]
    fn enum_values_name_their_constants() {
        let colour = EnumTy {
            name: "enum colour".into(),
            int: IntTy::I32,
            constants: vec![("RED".into(), u64::MAX), ("GREEN".into(), 1), ("LIME".into(), 1)],
        };
        assert_eq!(colour.constant_named(0xffff_ffff), Some("RED"));
        assert_eq!(colour.constant_named(u64::MAX), Some("RED"));
        assert_eq!(colour.constant_named(1), Some("GREEN"));
        assert_eq!(colour.constant_named(2), None);
    }

    #[test]
    fn tuple_fields_are_naturally_aligned() {
        let layout = tuple_layout(&[Ty::Int(IntTy::U8), Ty::U64, Ty::Str(3)]);
        assert_eq!(layout.offsets, vec![0, 8, 16]);
        assert_eq!(layout.size, 24);
        assert_eq!(layout.align, 8);
    }
}
