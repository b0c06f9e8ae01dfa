//! Serving many `syscalls:` tracepoints from one attachment. Each tracepoint attached on its own
//! costs a perf event, and closing the last perf event of a tracepoint waits out RCU grace
//! periods under a kernel-wide mutex: tens of milliseconds, one tracepoint at a time, so many
//! seconds for `syscalls:sys_enter_*`. A program shared by at least `MIN_SYSCALLS` of them is
//! attached instead to `raw_syscalls:sys_enter` (and `sys_exit`), whose records have the same
//! layout (the number at offset 8, the arguments or return value from offset 16), and finds the
//! tracepoint that would have fired by looking the syscall number up in a map.

use crate::catalog::{Catalog, TracepointField, SyscallAbi};
use crate::manifest::{Attach, Target};

use super::hir::{self, SyscallDirection, SyscallDispatch};

/// The fewest `syscalls:` tracepoints a program must serve to be dispatched. Below it, attaching
/// each costs less than running a program on every syscall of the system.
pub const MIN_SYSCALLS: usize = 16;

/// Turns every program shared by enough `syscalls:` tracepoints into a dispatched one. Its
/// other targets, if any, keep a copy of the program attached the usual way.
pub fn plan(probes: Vec<hir::Probe>, catalog: &dyn Catalog) -> Vec<hir::Probe> {
    if !probes.iter().any(|probe| probe.targets.len() >= MIN_SYSCALLS) {
        return probes;
    }
    let Some(raw) = RawSyscalls::find(catalog) else { return probes };
    let mut out = Vec::with_capacity(probes.len());
    for mut probe in probes {
        let (syscalls, others): (Vec<_>, Vec<_>) =
            probe.targets.iter().cloned().partition(|target| syscall_of(target, raw.abi).is_some());
        if syscalls.len() < MIN_SYSCALLS {
            out.push(probe);
            continue;
        }
        if !others.is_empty() {
            out.push(hir::Probe { targets: others, ..probe.clone() });
        }
        probe.dispatch = Some(raw.dispatch(&syscalls));
        probe.targets = syscalls;
        out.push(probe);
    }
    out
}

/// What dispatching needs from the kernel: its syscall ABI and the `raw_syscalls` event ids.
#[derive(Clone, Copy)]
struct RawSyscalls {
    abi: SyscallAbi,
    enter_event: u32,
    exit_event: u32,
}

impl RawSyscalls {
    /// The facts, if the kernel has them all and the records are laid out as dispatching needs.
    fn find(catalog: &dyn Catalog) -> Option<RawSyscalls> {
        let abi = catalog.syscall_abi()?;
        // The prologue reads the compat mark with one load, whose offset is 16 bits.
        i16::try_from(abi.compat.offset).ok()?;
        let enter = catalog.tracepoint_format("raw_syscalls", "sys_enter").ok()?;
        let exit = catalog.tracepoint_format("raw_syscalls", "sys_exit").ok()?;
        let at = |fields: &[TracepointField], name: &str, offset: u32, size: u32| {
            fields.iter().any(|f| f.name == name && f.offset == offset && f.size == size)
        };
        let laid_out = at(&enter.fields, "id", 8, 8)
            && at(&enter.fields, "args", 16, 48)
            && at(&exit.fields, "id", 8, 8)
            && at(&exit.fields, "ret", 16, 8);
        laid_out.then_some(RawSyscalls { abi, enter_event: enter.id, exit_event: exit.id })
    }

    fn dispatch(&self, targets: &[Target]) -> SyscallDispatch {
        let syscalls: Vec<(u32, SyscallDirection)> = targets.iter().filter_map(|target| syscall_of(target, self.abi)).collect();
        let has = |direction| syscalls.iter().any(|(_, d)| *d == direction);
        SyscallDispatch {
            enter_event: has(SyscallDirection::Enter).then_some(self.enter_event),
            exit_event: has(SyscallDirection::Exit).then_some(self.exit_event),
            syscalls,
            number_limit: self.abi.arch.number_limit(),
            compat: self.abi.compat,
        }
    }
}

/// The syscall number and direction of a `syscalls:sys_enter_NAME` or `sys_exit_NAME` target
/// whose number the ABI's table knows.
fn syscall_of(target: &Target, abi: SyscallAbi) -> Option<(u32, SyscallDirection)> {
    let Attach::Tracepoint { category, name, .. } = &target.attach else { return None };
    if category != "syscalls" {
        return None;
    }
    let (direction, syscall) = match (name.strip_prefix("sys_enter_"), name.strip_prefix("sys_exit_")) {
        (Some(syscall), _) => (SyscallDirection::Enter, syscall),
        (_, Some(syscall)) => (SyscallDirection::Exit, syscall),
        _ => return None,
    };
    Some((abi.arch.number(syscall)?, direction))
}
