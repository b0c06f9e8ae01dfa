//! What can go wrong replaying: a program that cannot be run here, and a run that faulted.

use thiserror::Error;

use crate::memory::AccessFault;

#[derive(Debug, Error)]
pub enum ReplayError {
    #[error("cannot read the compiled object: {0}")]
    Object(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Input(String),
    /// A program did what the kernel's verifier would not have let it (a bad access), or
    /// what replay cannot do (a helper it does not have). `span` is the script text of the
    /// instruction.
    #[error("`{probe}` stopped: {fault}")]
    Fault { probe: String, span: ferrotrace_compiler::span::Span, fault: Fault },
    #[error(transparent)]
    Run(#[from] ferrotrace_runtime::run::RunError),
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}

/// Why one instruction could not run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Fault {
    #[error("{}-byte {} at {address:#x}: {}", size, if *store { "store" } else { "load" }, describe(*access))]
    Access { address: u64, size: u8, store: bool, access: AccessFault },
    #[error("helper {0} cannot run in replay")]
    Helper(String),
    #[error("a helper was handed a bad pointer {address:#x} for {size} bytes: {}", describe(*access))]
    HelperAccess { address: u64, size: u64, access: AccessFault },
    #[error("helper {helper} was handed {value:#x}, which is not a map")]
    NotAMap { helper: &'static str, value: u64 },
    #[error("callbacks nest deeper than {0} calls")]
    TooDeep(u32),
    #[error("the program ran more than {0} instructions")]
    TooLong(u64),
    #[error("unknown instruction {code:#04x}")]
    BadInstruction { code: u8 },
    #[error("instruction {code:#04x} is {why}, which ferrotrace never emits")]
    Unsupported { code: u8, why: &'static str },
    #[error("a jump or call to slot {0}, outside the program")]
    BadTarget(i64),
}

fn describe(access: AccessFault) -> String {
    match access {
        AccessFault::Unmapped => "no stack, context, map value or recorded memory is there".to_string(),
        AccessFault::OutOfBounds { len } => format!("past the end of a {len}-byte area"),
        AccessFault::ReadOnly => "the area is read-only".to_string(),
    }
}

/// A fault with the slot it happened at (the instruction index, as `insn_spans` counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    pub slot: u32,
    pub fault: Fault,
}
