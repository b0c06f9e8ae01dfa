//! A program ready to run on the backend chosen: the reference interpreter, or native code
//! from the JIT. Replay and the oracle run programs through this, never a backend directly.

use crate::error::{ReplayError, Trap};
use crate::interp::Interpreter;
use crate::jit::JitProgram;
use crate::machine::Machine;
use crate::program::Program;

/// How programs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// One instruction at a time.
    Interpreter,
    /// Compiled to native code by cranelift.
    #[default]
    Jit,
}

/// One program on its backend: it owns the program, and for the JIT its native code.
pub struct ProgramRunner {
    program: Program,
    native: Option<Box<JitProgram>>,
}

impl ProgramRunner {
    /// `program` made ready: compiled now for the JIT.
    pub fn new(program: Program, backend: Backend) -> Result<ProgramRunner, ReplayError> {
        let native = match backend {
            Backend::Interpreter => None,
            Backend::Jit => Some(Box::new(JitProgram::compile(&program)?)),
        };
        Ok(ProgramRunner { program, native })
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Runs the function starting at `start` with `args` in r1..r5: its r0.
    pub fn run(&self, machine: &mut Machine, start: u32, args: [u64; 5]) -> Result<u64, Trap> {
        match &self.native {
            Some(native) => native.run(machine, start, args),
            None => Interpreter { program: &self.program }.run(machine, start, args),
        }
    }
}
