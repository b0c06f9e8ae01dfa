//! The machine programs run on: the memory regions, the maps, the event being replayed, and
//! the output the programs sent. The interpreter and the JIT's code share it; helpers are in
//! `helpers.rs`.

use ferrotrace_compiler::manifest::{config_layout, Manifest};

use crate::error::{Fault, Trap};
use crate::event::{Clocks, Event};
use crate::maps::Map;
use crate::stacks::{StackMapKind, StoredStacks};
use crate::memory::{self, Memory, Slab, CONTEXT_REGION, FRAME_SIZE, HANDOFF_REGION, MAX_DEPTH, STACK_REGION};

/// Bytes a helper may hand a callback (a map key) per call depth.
pub const HANDOFF_SIZE: u32 = 4096;

/// Runs a function of the current program: what a helper taking a callback calls back into.
pub trait Exec {
    /// Runs the function starting at `slot` with `args` in r1..r5; its r0.
    fn call(&self, machine: &mut Machine, slot: u32, args: [u64; 5]) -> Result<u64, Stop>;
}

/// Why a helper stopped the program: a fault of its own, or one deeper, in a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    Here(Fault),
    Deeper(Trap),
}

impl From<Fault> for Stop {
    fn from(fault: Fault) -> Stop {
        Stop::Here(fault)
    }
}

impl Stop {
    /// The trap, placed at `slot` if it happened there.
    pub fn at(self, slot: u32) -> Trap {
        match self {
            Stop::Here(fault) => Trap { slot, fault },
            Stop::Deeper(trap) => trap,
        }
    }
}

/// Counts of what replay could not do as the kernel would have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shortfalls {
    /// Reads of memory the event did not record: zero-filled, as a faulting read is.
    pub unrecorded_reads: u64,
    /// `signal()` calls: nothing is signalled in replay.
    pub signals: u64,
}

pub struct Machine {
    pub memory: Memory,
    pub maps: Vec<Map>,
    /// Each map's kind of stack, for the stack maps.
    pub stack_kinds: Vec<Option<StackMapKind>>,
    /// The stacks stored, where the runtime prints them from.
    pub stored_stacks: StoredStacks,
    stack: Slab,
    handoff: Slab,
    context: Slab,
    /// The event the programs see.
    pub event: Event,
    /// `bpf_get_attach_cookie()` for the program running.
    pub cookie: u64,
    pub clocks: Clocks,
    /// Ring buffer records sent since they were last taken.
    pub records: Vec<Vec<u8>>,
    pub shortfalls: Shortfalls,
    /// Calls deep: 0 while nothing runs.
    depth: u32,
    random: u64,
    /// A copy of a key or value a helper works on, so it never aliases the map it changes.
    pub(crate) scratch: Vec<u8>,
}

impl Machine {
    /// A machine with `manifest`'s maps, empty, on `clocks.cpus` CPUs, and its config map
    /// written as the runtime writes it before `begin` runs.
    pub fn new(manifest: &Manifest, clocks: Clocks) -> Machine {
        let mut memory = Memory::new();
        let stack = Slab::zeroed((FRAME_SIZE * MAX_DEPTH) as usize);
        let handoff = Slab::zeroed((HANDOFF_SIZE * MAX_DEPTH) as usize);
        let context = Slab::zeroed(0);
        memory.set(STACK_REGION, &stack, true);
        memory.set(HANDOFF_REGION, &handoff, true);
        memory.set_prefix(CONTEXT_REGION, &context, 0);
        let cpus = clocks.cpus.max(1);
        let maps = manifest.maps.iter().map(|spec| Map::new(spec, cpus, &mut memory)).collect();
        let mut machine = Machine {
            memory,
            maps,
            stack_kinds: StackMapKind::of_maps(manifest),
            stored_stacks: StoredStacks::default(),
            stack,
            handoff,
            context,
            event: Event::default(),
            cookie: 0,
            clocks,
            records: Vec::new(),
            shortfalls: Shortfalls::default(),
            depth: 0,
            random: 0x9e37_79b9_7f4a_7c15,
            scratch: Vec::new(),
        };
        machine.write_config(manifest);
        machine.fill_dispatch_maps(manifest);
        machine
    }

    /// The config value: start time, CPUs, the TAI offset, the constant 1, the parameters.
    fn write_config(&mut self, manifest: &Manifest) {
        let Some(id) = manifest.config() else { return };
        let mut value = vec![0u8; config_layout::size_with(&manifest.params) as usize];
        for param in &manifest.params {
            let at = param.offset as usize;
            value[at..at + param.value.len()].copy_from_slice(&param.value);
        }
        let mut put = |at: u32, word: u64| value[at as usize..at as usize + 8].copy_from_slice(&word.to_ne_bytes());
        put(config_layout::START_NS, self.clocks.start_ns);
        put(config_layout::NCPUS, u64::from(self.clocks.cpus.max(1)));
        put(config_layout::ONE, 1);
        put(config_layout::TAI_OFFSET_NS, self.clocks.tai_minus_boot_ns as u64);
        self.maps[id.0 as usize].fill(&0u32.to_ne_bytes(), &value);
    }

    /// Each dispatched program's table: a target's probe id plus one at its key.
    fn fill_dispatch_maps(&mut self, manifest: &Manifest) {
        for spec in &manifest.programs {
            let Some(dispatch) = &spec.dispatch else { continue };
            for (target, key) in spec.targets.iter().zip(&dispatch.keys) {
                self.maps[dispatch.map.0 as usize].fill(&key.to_ne_bytes(), &(target.probe_id + 1).to_ne_bytes());
            }
        }
    }

    /// Makes `event` the one programs see, with its context as their context. Copies into
    /// buffers kept from the event before, so a replay allocates nothing per event.
    pub fn set_event(&mut self, event: &Event) {
        self.set_context(&event.context);
        self.event.copy_from(event);
    }

    /// Makes `context` the programs' context.
    pub fn set_context(&mut self, context: &[u8]) {
        if self.context.len() < context.len() {
            self.context = Slab::zeroed(context.len().next_power_of_two());
        }
        self.context.bytes_mut()[..context.len()].copy_from_slice(context);
        self.memory.set_prefix(CONTEXT_REGION, &self.context, context.len());
    }

    /// Enters a function: the address its r10 holds.
    pub fn enter(&mut self) -> Result<u64, Fault> {
        if self.depth >= MAX_DEPTH {
            return Err(Fault::TooDeep(MAX_DEPTH));
        }
        self.depth += 1;
        Ok(memory::address(STACK_REGION, (MAX_DEPTH - self.depth + 1) * FRAME_SIZE))
    }

    /// Leaves the function entered last.
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// The region address of this depth's handoff area, holding `bytes`.
    pub(crate) fn hand_off(&mut self, bytes: &[u8]) -> Result<u64, Fault> {
        if bytes.len() > HANDOFF_SIZE as usize {
            return Err(Fault::Helper(format!("for_each_map_elem with a {}-byte key", bytes.len())));
        }
        let at = (self.depth.saturating_sub(1) * HANDOFF_SIZE) as usize;
        self.handoff.bytes_mut()[at..at + bytes.len()].copy_from_slice(bytes);
        Ok(memory::address(HANDOFF_REGION, at as u32))
    }

    /// The next pseudo-random number (xorshift64*), the same sequence every replay.
    pub(crate) fn next_random(&mut self) -> u32 {
        let mut x = self.random;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.random = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    /// The stack, for tests.
    pub fn stack_bytes(&self) -> &[u8] {
        self.stack.bytes()
    }

    /// Takes the ring buffer records sent so far.
    pub fn take_records(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.records)
    }
}
