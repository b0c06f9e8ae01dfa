//! Where a probed kernel function's arguments and return value are in the `struct pt_regs` a
//! kprobe program gets as its context (x86-64): `arg0`..`arg5` are the registers the calling
//! convention passes the first six arguments in, `retval` is `rax` at the return.

/// A register of the probed function, by the builtin that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Register {
    /// The builtin's name: `arg0`, `retval`.
    pub builtin: &'static str,
    /// The register's byte offset in `struct pt_regs`.
    pub offset: u32,
}

/// `rdi`, `rsi`, `rdx`, `rcx`, `r8`, `r9`.
const ARGUMENTS: [Register; 6] = [
    Register { builtin: "arg0", offset: 112 },
    Register { builtin: "arg1", offset: 104 },
    Register { builtin: "arg2", offset: 96 },
    Register { builtin: "arg3", offset: 88 },
    Register { builtin: "arg4", offset: 72 },
    Register { builtin: "arg5", offset: 64 },
];

/// The code segment selector: its low two bits are the privilege level the CPU was in (3 for
/// user mode).
pub const CODE_SEGMENT: Register = Register { builtin: "usermode", offset: 136 };
/// `rax`.
pub const RETURN_VALUE: Register = Register { builtin: "retval", offset: 80 };
/// `rsp`: at a function's entry, the return address, with the arguments past the sixth above it.
pub const STACK_POINTER: Register = Register { builtin: "sp", offset: 152 };

/// Every register of `struct pt_regs` in its order, by the name `reg()` takes (bpftrace's
/// x86-64 names), each 8 bytes.
const NAMED: [&str; 21] = [
    "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di", "orig_ax", "ip", "cs",
    "flags", "sp", "ss",
];

/// The register `reg(name)` reads, if `name` is one.
pub fn named(name: &str) -> Option<Register> {
    let index = NAMED.iter().position(|known| *known == name)?;
    Some(Register { builtin: NAMED[index], offset: index as u32 * 8 })
}

/// The names `reg()` takes, for messages.
pub fn register_names() -> String {
    NAMED.join(", ")
}

/// The instruction pointer: where a kprobe or a profile sample interrupted the kernel.
pub const INSTRUCTION_POINTER: Register = Register { builtin: "ip", offset: 128 };

/// The register of argument `index`, if it is one passed in a register.
pub fn argument(index: usize) -> Option<Register> {
    ARGUMENTS.get(index).copied()
}

/// How many arguments are passed in registers.
pub const ARGUMENTS_IN_REGISTERS: usize = ARGUMENTS.len();

/// Every general purpose register by the names AT&T syntax gives it and its parts (`%rax`,
/// `%eax`, `%ax`, `%al`, `%r8d`): its offset in `struct pt_regs`.
const AT_AND_T: [(&[&str], u32); 17] = [
    (&["r15", "r15d", "r15w", "r15b"], 0),
    (&["r14", "r14d", "r14w", "r14b"], 8),
    (&["r13", "r13d", "r13w", "r13b"], 16),
    (&["r12", "r12d", "r12w", "r12b"], 24),
    (&["rbp", "ebp", "bp", "bpl"], 32),
    (&["rbx", "ebx", "bx", "bl", "bh"], 40),
    (&["r11", "r11d", "r11w", "r11b"], 48),
    (&["r10", "r10d", "r10w", "r10b"], 56),
    (&["r9", "r9d", "r9w", "r9b"], 64),
    (&["r8", "r8d", "r8w", "r8b"], 72),
    (&["rax", "eax", "ax", "al", "ah"], 80),
    (&["rcx", "ecx", "cx", "cl", "ch"], 88),
    (&["rdx", "edx", "dx", "dl", "dh"], 96),
    (&["rsi", "esi", "si", "sil"], 104),
    (&["rdi", "edi", "di", "dil"], 112),
    (&["rip", "eip", "ip"], 128),
    (&["rsp", "esp", "sp", "spl"], 152),
];

/// The `pt_regs` offset of the register AT&T syntax names `name` (without its `%`), and
/// whether `name` is the second byte of it (`%ah`), which is read shifted down by 8.
pub fn at_and_t(name: &str) -> Option<(u32, bool)> {
    let high_byte = matches!(name, "ah" | "bh" | "ch" | "dh");
    AT_AND_T.iter().find(|(names, _)| names.contains(&name)).map(|(_, offset)| (*offset, high_byte))
}
