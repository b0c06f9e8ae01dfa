//! The JIT: each function of a program compiled by cranelift to one native function with
//! exactly the interpreter's semantics, and run on a machine.
//!
//! Native code keeps the registers in machine registers, does loads and stores inside a region
//! inline after the same checks the interpreter makes, and calls Rust (`runtime`) for helpers
//! and for every other access. It compiles only functions whose jumps all go forward inside
//! the function, so every run ends.

mod access;
mod alu;
mod frame;
mod helper_calls;
mod runtime;
mod translate;

use std::mem::ManuallyDrop;
use std::sync::OnceLock;

use cranelift_codegen::ir::{types, AbiParam, Signature};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Module};

use crate::error::{Fault, ReplayError, Trap};
use crate::machine::{Exec, Machine, Stop};
use crate::program::Program;

use runtime::{Env, Outcome};

/// A function's native code: `(env, r1, r2, r3, r4, r5) -> r0`.
type NativeFunction = unsafe extern "C" fn(*mut Env<'_>, u64, u64, u64, u64, u64) -> u64;

/// A program's functions as native code.
pub struct JitProgram {
    /// Owns the code; freed on drop.
    module: ManuallyDrop<JITModule>,
    /// The slot each function starts at, and its code.
    functions: Vec<(u32, NativeFunction)>,
}

impl JitProgram {
    /// Compiles every function of `program`; `ReplayError::Unsupported` for one the JIT does not
    /// run (a jump backwards or out of its function, an unknown instruction).
    pub fn compile(program: &Program) -> Result<JitProgram, ReplayError> {
        let failed = |error: cranelift_module::ModuleError| ReplayError::Unsupported(format!("cranelift cannot compile program {}: {error}", program.index));
        let mut jit = JitProgram { module: ManuallyDrop::new(JITModule::new(JITBuilder::with_isa(isa()?, default_libcall_names()))), functions: Vec::new() };
        let module = &mut *jit.module;
        let signature = native_signature(module);
        let mut context = module.make_context();
        let mut builder_context = FunctionBuilderContext::new();
        let mut ids = Vec::with_capacity(program.functions.len());
        for function in 0..program.functions.len() {
            context.func.signature = signature.clone();
            translate::function(&mut context.func, &mut builder_context, program, function, module.target_config())?;
            let id = module.declare_anonymous_function(&signature).map_err(failed)?;
            module.define_function(id, &mut context).map_err(failed)?;
            module.clear_context(&mut context);
            ids.push(id);
        }
        module.finalize_definitions().map_err(failed)?;
        for (&start, id) in program.functions.iter().zip(ids) {
            let code = module.get_finalized_function(id);
            // SAFETY: `code` is the finalized code of a function compiled with
            // `native_signature`, which is `NativeFunction`'s in the default call convention.
            let native = unsafe { std::mem::transmute::<*const u8, NativeFunction>(code) };
            jit.functions.push((start, native));
        }
        Ok(jit)
    }

    /// Runs the function starting at slot `start` (0 is the program itself) with `args` in
    /// r1..r5: its r0.
    pub fn run(&self, machine: &mut Machine, start: u32, args: [u64; 5]) -> Result<u64, Trap> {
        let Some(&(_, native)) = self.functions.iter().find(|(at, _)| *at == start) else {
            return Err(Trap { slot: start, fault: Fault::BadTarget(i64::from(start)) });
        };
        let frame = machine.enter().map_err(|fault| Trap { slot: start, fault })?;
        let mut env = Env::new(self, machine, frame);
        let [r1, r2, r3, r4, r5] = args;
        // SAFETY: `native` is this program's code, alive while `self` is. It reads and writes
        // memory only inside the regions of `env`'s table after checking each access against
        // it, and reaches the machine otherwise only through the slow paths, with `env`, which
        // outlives the call.
        let r0 = unsafe { native(&mut env, r1, r2, r3, r4, r5) };
        let outcome = env.outcome(r0);
        machine.leave();
        match outcome {
            Outcome::Returned(r0) => Ok(r0),
            Outcome::Trapped(trap) => Err(trap),
            Outcome::Panicked(payload) => std::panic::resume_unwind(payload),
        }
    }
}

/// Helpers call callbacks back through native code.
impl Exec for JitProgram {
    fn call(&self, machine: &mut Machine, slot: u32, args: [u64; 5]) -> Result<u64, Stop> {
        self.run(machine, slot, args).map_err(Stop::Deeper)
    }
}

impl Drop for JitProgram {
    fn drop(&mut self) {
        // SAFETY: the only pointers into the module's code are in `self.functions`, dropped
        // with it, and no run is in progress (a run borrows `self`).
        unsafe { ManuallyDrop::take(&mut self.module).free_memory() };
    }
}

/// `(env, r1, r2, r3, r4, r5) -> r0`, all 64-bit.
fn native_signature(module: &JITModule) -> Signature {
    let mut signature = module.make_signature();
    signature.params.extend([AbiParam::new(types::I64); 6]);
    signature.returns.push(AbiParam::new(types::I64));
    signature
}

/// The host's ISA with `SETTINGS`, set up once.
fn isa() -> Result<OwnedTargetIsa, ReplayError> {
    static ISA: OnceLock<Result<OwnedTargetIsa, String>> = OnceLock::new();
    ISA.get_or_init(|| {
        let mut flags = settings::builder();
        for (name, value) in SETTINGS {
            flags.set(name, value).map_err(|error| error.to_string())?;
        }
        let builder = cranelift_native::builder().map_err(str::to_string)?;
        builder.finish(settings::Flags::new(flags)).map_err(|error| error.to_string())
    })
    .clone()
    .map_err(|error| ReplayError::Unsupported(format!("cranelift cannot compile for this machine: {error}")))
}

/// Cranelift's settings, for compile speed: no optimization passes and the single-pass register
/// allocator; no IR verifier, no unwind information (no panic unwinds through native code: the
/// slow paths catch them). Measured on a 909-instruction program, in release: 4.0 ms to compile,
/// against 5.5 ms with `opt_level=speed`, 10.5 ms with the backtracking allocator and 16 ms with
/// both; `@[comm] = count()` runs within 8% of the fastest of them, its helpers taking most of
/// each event's time.
const SETTINGS: [(&str, &str); 6] = [
    ("opt_level", "none"),
    ("regalloc_algorithm", "single_pass"),
    ("enable_verifier", "false"),
    ("unwind_info", "false"),
    ("is_pic", "false"),
    ("use_colocated_libcalls", "false"),
];
