//! What native code and Rust share while a function runs: the `Env` it is handed, and the
//! `extern "C"` slow paths it calls for what it does not do inline: helpers, map value
//! addresses, and the loads and stores its inline region check sends on (recorded memory, and
//! every access that faults).

use std::any::Any;
use std::mem::offset_of;
use std::panic::{self, AssertUnwindSafe};

use crate::error::Trap;
use crate::event::Event;
use crate::helpers;
use crate::interp;
use crate::machine::{Machine, Stop};
use crate::memory::Region;
use crate::program::Wide;

use super::JitProgram;

/// The most regions inline code indexes: a region number is 16 bits of an address.
const MAX_REGIONS: u64 = 1 << 16;

/// One function's run, as native code reads it (the fields before `machine`, at the offsets
/// below) and as the slow paths reach the machine through it.
#[repr(C)]
pub struct Env<'a> {
    regions: *const Region,
    region_count: u64,
    /// r10: the function's frame.
    frame: u64,
    /// 1 once a slow path has stopped the run; native code then returns at once.
    trapped: u64,
    /// The machine's event, whose task and clock native code reads for the helpers that
    /// return them (no helper changes the event while a program runs).
    event: *const Event,
    /// `bpf_get_attach_cookie()`.
    cookie: u64,
    machine: *mut Machine,
    program: &'a JitProgram,
    trap: Option<Trap>,
    /// A panic of a slow path, caught at the native boundary and resumed past it.
    panic: Option<Box<dyn Any + Send>>,
}

/// Where native code finds each field it reads.
pub const REGIONS: i32 = offset_of!(Env<'static>, regions) as i32;
pub const REGION_COUNT: i32 = offset_of!(Env<'static>, region_count) as i32;
pub const FRAME: i32 = offset_of!(Env<'static>, frame) as i32;
pub const TRAPPED: i32 = offset_of!(Env<'static>, trapped) as i32;
pub const EVENT: i32 = offset_of!(Env<'static>, event) as i32;
pub const COOKIE: i32 = offset_of!(Env<'static>, cookie) as i32;

/// Where native code finds each field of a region.
pub const REGION_SIZE: i64 = size_of::<Region>() as i64;
pub const REGION_BASE: i32 = offset_of!(Region, base) as i32;
pub const REGION_LEN: i32 = offset_of!(Region, len) as i32;
pub const REGION_WRITABLE: i32 = offset_of!(Region, writable) as i32;

/// How a run ended, once native code has returned.
pub enum Outcome {
    Returned(u64),
    Trapped(Trap),
    Panicked(Box<dyn Any + Send>),
}

impl<'a> Env<'a> {
    /// The env of a run of `program` on `machine` with frame `frame`. Native code reaches the
    /// machine only through it until `outcome`.
    pub fn new(program: &'a JitProgram, machine: &mut Machine, frame: u64) -> Env<'a> {
        let machine: *mut Machine = machine;
        // SAFETY: `machine` came from a live `&mut Machine` just above. The event's address is
        // taken from the raw pointer without a reference, so the slow paths' `&mut Machine`,
        // made from that same pointer, leave it valid; the shared reference made here is last
        // used before this function returns.
        let (event, machine_ref) = unsafe { (&raw const (*machine).event, &*machine) };
        Env {
            regions: machine_ref.memory.table(),
            region_count: (machine_ref.memory.count() as u64).min(MAX_REGIONS),
            frame,
            trapped: 0,
            event,
            cookie: machine_ref.cookie,
            machine,
            program,
            trap: None,
            panic: None,
        }
    }

    /// What the run came to, native code having returned `r0`.
    pub fn outcome(self, r0: u64) -> Outcome {
        match (self.panic, self.trap) {
            (Some(payload), _) => Outcome::Panicked(payload),
            (None, Some(trap)) => Outcome::Trapped(trap),
            (None, None) => Outcome::Returned(r0),
        }
    }
}

/// A slow path native code calls: its address and how many arguments it takes (all `u64`, as
/// is its result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlowPath {
    Load,
    Store,
    Helper,
    MapLookup,
    CurrentComm,
    MapValue,
}

impl SlowPath {
    pub const COUNT: usize = 6;

    pub fn address(self) -> usize {
        match self {
            SlowPath::Load => jit_load as extern "C" fn(*mut Env<'_>, u64, u64, u64) -> u64 as usize,
            SlowPath::Store => jit_store as extern "C" fn(*mut Env<'_>, u64, u64, u64, u64) -> u64 as usize,
            SlowPath::Helper => jit_helper as extern "C" fn(*mut Env<'_>, u64, u64, u64, u64, u64, u64, u64) -> u64 as usize,
            SlowPath::MapLookup => jit_map_lookup as extern "C" fn(*mut Env<'_>, u64, u64, u64) -> u64 as usize,
            SlowPath::CurrentComm => jit_current_comm as extern "C" fn(*mut Env<'_>, u64, u64, u64) -> u64 as usize,
            SlowPath::MapValue => jit_map_value as extern "C" fn(*mut Env<'_>, u64, u64) -> u64 as usize,
        }
    }

    /// Its arguments, the env first.
    pub fn arity(self) -> usize {
        match self {
            SlowPath::Load => 4,
            SlowPath::Store => 5,
            SlowPath::Helper => 8,
            SlowPath::MapLookup => 4,
            SlowPath::CurrentComm => 4,
            SlowPath::MapValue => 3,
        }
    }
}

/// Runs `work` on the env's machine for the instruction at `slot`: its value, or 0 with the run
/// stopped by its fault (or panic) recorded in the env.
fn stopping(env: *mut Env<'_>, slot: u64, work: impl FnOnce(&mut Machine, &JitProgram) -> Result<u64, Stop>) -> u64 {
    // SAFETY: native code passes the env `JitProgram::run` made, alive for the whole native
    // call, and runs nothing else while a slow path holds it.
    let env = unsafe { &mut *env };
    let program = env.program;
    // SAFETY: the env's machine is the `&mut Machine` `run` was given, which `run` does not use
    // until native code returns; this is the only reference made from it meanwhile.
    let machine = unsafe { &mut *env.machine };
    match panic::catch_unwind(AssertUnwindSafe(|| work(machine, program))) {
        Ok(Ok(value)) => value,
        Ok(Err(stop)) => {
            env.trap = Some(stop.at(slot as u32));
            env.trapped = 1;
            0
        }
        Err(payload) => {
            env.panic = Some(payload);
            env.trapped = 1;
            0
        }
    }
}

/// A load the inline check refused: `interp::load`.
extern "C" fn jit_load(env: *mut Env<'_>, address: u64, size: u64, slot: u64) -> u64 {
    stopping(env, slot, |machine, _| interp::load(machine, address, size as u8).map_err(Stop::Here))
}

/// A store the inline check refused: `interp::store`.
extern "C" fn jit_store(env: *mut Env<'_>, address: u64, size: u64, value: u64, slot: u64) -> u64 {
    stopping(env, slot, |machine, _| interp::store(&mut machine.memory, address, size as u8, value).map(|()| 0).map_err(Stop::Here))
}

/// A helper call; callbacks it makes run through the program's native code.
#[allow(clippy::too_many_arguments)] // the helper, its five arguments, the slot: as native code passes them
extern "C" fn jit_helper(env: *mut Env<'_>, helper: u64, r1: u64, r2: u64, r3: u64, r4: u64, r5: u64, slot: u64) -> u64 {
    stopping(env, slot, |machine, program| helpers::call(machine, program, helper as u32, [r1, r2, r3, r4, r5]))
}

/// `bpf_map_lookup_elem`, the helper nearly every program calls, straight to its Rust.
extern "C" fn jit_map_lookup(env: *mut Env<'_>, map: u64, key: u64, slot: u64) -> u64 {
    stopping(env, slot, |machine, _| Ok(helpers::map_lookup(machine, map, key)?))
}

/// `bpf_get_current_comm`, straight to its Rust.
extern "C" fn jit_current_comm(env: *mut Env<'_>, buffer: u64, size: u64, slot: u64) -> u64 {
    stopping(env, slot, |machine, _| Ok(helpers::current_comm(machine, buffer, size)?))
}

/// An `ld_imm64` of a place in a map's value: where it is on this machine.
extern "C" fn jit_map_value(env: *mut Env<'_>, map: u64, offset: u64) -> u64 {
    stopping(env, 0, |machine, _| Ok(interp::wide_value(machine, Wide::MapValue { map: map as u32, offset: offset as u32 })))
}
