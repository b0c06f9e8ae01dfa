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

/// `rax`.
/// The code segment selector: its low two bits are the privilege level the CPU was in (3 for
/// user mode).
pub const CODE_SEGMENT: Register = Register { builtin: "usermode", offset: 136 };
pub const RETURN_VALUE: Register = Register { builtin: "retval", offset: 80 };

/// The register of argument `index`, if it is one passed in a register.
pub fn argument(index: usize) -> Option<Register> {
    ARGUMENTS.get(index).copied()
}

/// How many arguments are passed in registers.
pub const ARGUMENTS_IN_REGISTERS: usize = ARGUMENTS.len();
