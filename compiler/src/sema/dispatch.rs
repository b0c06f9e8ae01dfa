//! Serving many `syscalls:` tracepoints from one attachment. Each tracepoint attached on its own
//! costs a perf event, and closing the last perf event of a tracepoint waits out RCU grace
//! periods under a kernel-wide mutex: tens of milliseconds, one tracepoint at a time, so many
//! seconds for `syscalls:sys_enter_*`. A program shared by most of them is attached instead to
//! `raw_syscalls:sys_enter` (and `sys_exit`), whose records have the same layout (the number at
//! offset 8, the arguments or return value from offset 16), and finds the tracepoint that would
//! have fired by looking the syscall number up in a map.

use crate::catalog::{Catalog, SyscallAbi, TracepointField};
use crate::manifest::{Attach, Target};
use crate::syscalls::Arch;

use super::hir::{self, SyscallDirection, SyscallDispatch};

/// Whether `count` tracepoints of one direction are worth dispatching: when they cover at least
/// half the syscalls the table numbers. Measured on x86-64 (Linux 6.18, a `getppid` loop):
/// attaching each tracepoint adds about 45 ns to every syscall not traced, and 35 ms to the
/// exit per tracepoint; dispatching adds about 120 ns to every syscall not traced (the kernel
/// builds the `raw_syscalls` record and runs the program for each), and next to nothing to the
/// exit. A traced syscall costs the same either way (360 against 380 ns per `getppid` for
/// `sys_enter_*`). So a wide wildcard, which traces most syscalls anyway, is dispatched, and a
/// narrower list keeps every other syscall of the system on the cheaper path.
fn worth_dispatching(count: usize, arch: Arch) -> bool {
    count * 2 >= arch.syscall_count()
}

/// Turns the directions of a shared program that cover enough `syscalls:` tracepoints into
/// one dispatched program. Its other targets, if any, keep a copy attached the usual way.
pub fn plan(probes: Vec<hir::Probe>, catalog: &dyn Catalog) -> Vec<hir::Probe> {
    let could_be_worth = |probe: &hir::Probe| Arch::ALL.iter().any(|arch| worth_dispatching(probe.targets.len(), *arch));
    if !probes.iter().any(could_be_worth) {
        return probes;
    }
    let Some(raw) = RawSyscalls::find(catalog) else { return probes };
    let mut out = Vec::with_capacity(probes.len());
    for mut probe in probes {
        let (dispatched, others) = raw.split(&probe.targets);
        if dispatched.is_empty() {
            out.push(probe);
            continue;
        }
        if !others.is_empty() {
            out.push(hir::Probe { targets: others, ..probe.clone() });
        }
        probe.dispatch = Some(raw.dispatch(&dispatched));
        probe.targets = dispatched;
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

    /// The targets worth dispatching (each direction's syscalls, if there are enough of them),
    /// and the rest.
    fn split(&self, targets: &[Target]) -> (Vec<Target>, Vec<Target>) {
        let count = |direction| targets.iter().filter(|t| matches!(syscall_of(t, self.abi), Some((_, d)) if d == direction)).count();
        let enter = worth_dispatching(count(SyscallDirection::Enter), self.abi.arch);
        let exit = worth_dispatching(count(SyscallDirection::Exit), self.abi.arch);
        targets.iter().cloned().partition(|target| match syscall_of(target, self.abi) {
            Some((_, SyscallDirection::Enter)) => enter,
            Some((_, SyscallDirection::Exit)) => exit,
            None => false,
        })
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
