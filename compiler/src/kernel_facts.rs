//! The facts about the running kernel a compiled program depends on: where each kernel struct
//! member it reads is and how big it is, the size of each kernel type it measures, the value of
//! each enum constant it names, and the argument types of the functions and raw tracepoints it
//! attaches to. The manifest carries them, so a compiled object can be checked against, or
//! relocated to, another kernel; `-v` prints them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One fact, as read from the kernel's BTF while compiling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KernelFact {
    /// A member read: `struct task_struct.real_parent` at byte `offset`, `size` bytes; for a
    /// bitfield, its first bit within those bytes and its width.
    Member { strukt: String, member: String, offset: u32, size: u32, bitfield: Option<(u8, u8)> },
    /// `sizeof` of a kernel type.
    Size { ty: String, size: u32 },
    /// An enum constant's value.
    Enumerator { name: String, value: u64 },
    /// The arguments a probe reads as words (`rawtracepoint:vmlinux:sched_switch`, an fentry
    /// probe's function), as C types.
    Arguments { probe: String, types: Vec<String> },
    /// A member offset a builtin reads (`ppid`: `struct task_struct.real_parent`).
    Offset { strukt: String, member: String, offset: u32 },
    /// A kernel symbol's address (`kaddr`), which moves with every boot.
    Symbol { name: String, address: u64 },
    /// The id of a cgroup named by path (`cgroupid`).
    Cgroup { path: String, id: u64 },
    /// The PID namespace ferrotrace ran in, whose ids the programs report.
    PidNamespace { dev: u64, ino: u64 },
    /// Whether the kernel's `bpf_get_current_comm` zero-fills past the name, on which the
    /// programs' string handling relies.
    CommZeroPadded(bool),
}

impl fmt::Display for KernelFact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelFact::Member { strukt, member, offset, size, bitfield: None } => write!(f, "{strukt}.{member}: offset {offset}, {size} bytes"),
            KernelFact::Member { strukt, member, offset, size, bitfield: Some((bit, width)) } => {
                write!(f, "{strukt}.{member}: offset {offset}, {size} bytes, bits {bit}..{}", u16::from(*bit) + u16::from(*width))
            }
            KernelFact::Size { ty, size } => write!(f, "sizeof({ty}): {size}"),
            KernelFact::Enumerator { name, value } => write!(f, "{name}: {}", *value as i64),
            KernelFact::Arguments { probe, types } => write!(f, "{probe}({})", types.join(", ")),
            KernelFact::Offset { strukt, member, offset } => write!(f, "{strukt}.{member}: offset {offset}"),
            KernelFact::Symbol { name, address } => write!(f, "kernel symbol {name}: {address:#x}"),
            KernelFact::Cgroup { path, id } => write!(f, "cgroup {path}: id {id}"),
            KernelFact::PidNamespace { dev, ino } => write!(f, "PID namespace: device {dev}, inode {ino}"),
            KernelFact::CommZeroPadded(padded) => write!(f, "comm zero-padded: {}", if *padded { "yes" } else { "no" }),
        }
    }
}

/// Every fact a program depends on, each once, in the order first met; and the members whose
/// offset some instruction holds without a CO-RE relocation (`offsetof`, a bitfield's bytes),
/// which a pack cannot move to another kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelFacts {
    facts: Vec<KernelFact>,
    fixed: Vec<(String, String)>,
}

impl KernelFacts {
    pub fn record(&mut self, fact: KernelFact) {
        if !self.facts.contains(&fact) {
            self.facts.push(fact);
        }
    }

    /// Records that the offset of `strukt`'s `member` is compiled in where no relocation
    /// names it.
    pub fn fix(&mut self, strukt: &str, member: &str) {
        if !self.is_fixed(strukt, member) {
            self.fixed.push((strukt.to_string(), member.to_string()));
        }
    }

    /// Whether some instruction holds the offset of `strukt`'s `member` without a relocation.
    pub fn is_fixed(&self, strukt: &str, member: &str) -> bool {
        self.fixed.iter().any(|(s, m)| s == strukt && m == member)
    }

    pub fn iter(&self) -> impl Iterator<Item = &KernelFact> {
        self.facts.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }
}
