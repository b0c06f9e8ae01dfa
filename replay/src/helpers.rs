//! Every BPF helper ferrotrace's programs call, in Rust, over the machine's maps and the event.
//! Pointer arguments are checked against the memory regions (or read from recorded memory) like
//! any load; what replay cannot do (signal a process, walk a dentry) stops the program with a
//! fault naming the helper.

use ferrotrace_compiler::lir::helper as id;

use crate::error::Fault;
use crate::machine::{Exec, Machine, Stop};
use crate::memory::{self, Memory, FUNCTION_TAG, MAP_TAG};

/// `-EFAULT`: a read of memory that is not there.
const EFAULT: i64 = -14;
/// `-EEXIST`: a stack map's bucket holds another stack.
const EEXIST: i64 = -17;
/// `-E2BIG`: `bpf_loop` asked for more than `MAX_LOOPS` iterations.
const E2BIG: i64 = -7;
/// The most iterations `bpf_loop` runs, as in the kernel.
const MAX_LOOPS: u64 = 1 << 23;
/// `BPF_F_USER_STACK`, and the frames to skip in a stack helper's flags.
const USER_STACK: u64 = 1 << 8;
const SKIP_MASK: u64 = 0xff;

/// Runs helper `helper` with `args` (r1..r5); its r0. The helpers nearly every event calls
/// are small functions of their own; the rest share one large one, entered only for them.
pub fn call(machine: &mut Machine, exec: &dyn Exec, helper: u32, args: [u64; 5]) -> Result<u64, Stop> {
    match helper {
        id::MAP_LOOKUP_ELEM => Ok(map_lookup(machine, args[0], args[1])?),
        id::GET_CURRENT_COMM => Ok(current_comm(machine, args[0], args[1])?),
        id::GET_CURRENT_PID_TGID => Ok(u64::from(machine.event.pid) << 32 | u64::from(machine.event.tid)),
        id::KTIME_GET_NS => Ok(machine.event.time_ns),
        _ => other(machine, exec, helper, args),
    }
}

/// `bpf_map_lookup_elem`: the region address of the key's value, or 0.
pub(crate) fn map_lookup(machine: &mut Machine, map_arg: u64, key: u64) -> Result<u64, Fault> {
    let map = map_index(machine, "map_lookup_elem", map_arg)?;
    let key_size = u64::from(machine.maps[map].def.key_size);
    if machine.maps[map].lookup_changes() {
        copy_in(machine, key, key_size)?;
        Ok(machine.maps[map].lookup(machine.event.cpu, &machine.scratch))
    } else {
        Ok(machine.maps[map].peek(machine.event.cpu, checked(&machine.memory, key, key_size)?))
    }
}

/// `bpf_get_current_comm`: the task's name, cut to the buffer with its NUL.
pub(crate) fn current_comm(machine: &mut Machine, buffer: u64, size: u64) -> Result<u64, Fault> {
    let dst = machine.memory.slice_mut(buffer, size).map_err(|access| Fault::HelperAccess { address: buffer, size, access })?;
    // The name with its NUL made in a register, then stored at once.
    let len = dst.len().min(16);
    let kept = u128::MAX.checked_shr(8 * (17 - len as u32)).unwrap_or(0);
    let comm = (u128::from_le_bytes(machine.event.comm) & kept).to_le_bytes();
    match <&mut [u8; 16]>::try_from(&mut dst[..len]) {
        Ok(whole) => *whole = comm,
        Err(_) => dst[..len].copy_from_slice(&comm[..len]),
    }
    // Only a buffer longer than a name has more to clear (no call to `memset` otherwise).
    if dst.len() > len {
        dst[len..].fill(0);
    }
    Ok(0)
}

/// Every other helper.
#[inline(never)]
fn other(machine: &mut Machine, exec: &dyn Exec, helper: u32, args: [u64; 5]) -> Result<u64, Stop> {
    let [a1, a2, a3, a4, _] = args;
    let event = &machine.event;
    let value = match helper {
        id::MAP_UPDATE_ELEM => {
            let map = map_index(machine, "map_update_elem", a1)?;
            let (key_size, value_size) = (machine.maps[map].def.key_size as usize, u64::from(machine.maps[map].def.value_size));
            copy_in(machine, a2, key_size as u64)?;
            let key = std::mem::take(&mut machine.scratch);
            let value = checked(&machine.memory, a3, value_size)?.to_vec();
            let result = machine.maps[map].update(machine.event.cpu, &key, &value, a4);
            machine.scratch = key;
            result as u64
        }
        id::MAP_DELETE_ELEM => {
            let map = map_index(machine, "map_delete_elem", a1)?;
            copy_in(machine, a2, u64::from(machine.maps[map].def.key_size))?;
            machine.maps[map].delete(&machine.scratch) as u64
        }
        id::MAP_LOOKUP_PERCPU_ELEM => {
            let map = map_index(machine, "map_lookup_percpu_elem", a1)?;
            copy_in(machine, a2, u64::from(machine.maps[map].def.key_size))?;
            machine.maps[map].lookup_on(a3 as u32, &machine.scratch)
        }
        id::PROBE_READ | id::PROBE_READ_KERNEL | id::PROBE_READ_USER => read(machine, a1, a2, a3, false)?,
        id::PROBE_READ_STR | id::PROBE_READ_KERNEL_STR | id::PROBE_READ_USER_STR => read(machine, a1, a2, a3, true)?,
        id::KTIME_GET_BOOT_NS => event.time_ns.wrapping_add(machine.clocks.boot_minus_monotonic_ns),
        id::KTIME_GET_TAI_NS => event
            .time_ns
            .wrapping_add(machine.clocks.boot_minus_monotonic_ns)
            .wrapping_add(machine.clocks.tai_minus_boot_ns as u64),
        id::JIFFIES64 => event.jiffies,
        id::GET_PRANDOM_U32 => u64::from(machine.next_random()),
        id::GET_SMP_PROCESSOR_ID => u64::from(event.cpu),
        id::GET_NUMA_NODE_ID => 0,
        id::GET_NS_CURRENT_PID_TGID => {
            let info = [event.pid.to_ne_bytes(), event.tid.to_ne_bytes()].concat();
            write(machine, a3, a4.min(8), &info)?;
            0
        }
        id::GET_CURRENT_UID_GID => u64::from(event.gid) << 32 | u64::from(event.uid),
        id::GET_CURRENT_TASK | id::GET_CURRENT_TASK_BTF => event.task,
        id::GET_CURRENT_CGROUP_ID => event.cgroup,
        id::GET_ATTACH_COOKIE => machine.cookie,
        id::GET_FUNC_IP => 0,
        id::SEND_SIGNAL => {
            machine.shortfalls.signals += 1;
            0
        }
        id::RINGBUF_OUTPUT => {
            let record = checked(&machine.memory, a2, a3)?.to_vec();
            machine.records.push(record);
            0
        }
        id::TRACE_PRINTK => 0,
        id::GET_STACKID => stack_id(machine, a2, a3)?,
        id::GET_STACK => {
            let frames = stack_frames(machine, a4);
            let bytes: Vec<u8> = frames.iter().take((a3 / 8) as usize).flat_map(|frame| frame.to_ne_bytes()).collect();
            write(machine, a2, a3, &bytes)?;
            bytes.len() as u64
        }
        id::LOOP if a1 > MAX_LOOPS => E2BIG as u64,
        id::LOOP => {
            let function = function_slot(a2)?;
            let mut ran = 0;
            for index in 0..a1 {
                ran += 1;
                if exec.call(machine, function, [index, a3, 0, 0, 0])? != 0 {
                    break;
                }
            }
            ran
        }
        id::FOR_EACH_MAP_ELEM => {
            let map = map_index(machine, "for_each_map_elem", a1)?;
            let function = function_slot(a2)?;
            let mut visited = 0;
            for (key, slot) in machine.maps[map].keys() {
                visited += 1;
                let key_address = machine.hand_off(&key)?;
                let value_address = machine.maps[map].value_address(machine.event.cpu, slot);
                if exec.call(machine, function, [memory::MAP_TAG << 48 | map as u64, key_address, value_address, a3, 0])? != 0 {
                    break;
                }
            }
            visited
        }
        other => return Err(Fault::Helper(ferrotrace_compiler::lir::helper::name(other).unwrap_or("unknown").to_string()).into()),
    };
    Ok(value)
}

/// The map a helper's map argument names.
fn map_index(machine: &Machine, helper: &'static str, value: u64) -> Result<usize, Fault> {
    let index = (value & 0xffff_ffff) as usize;
    if value >> 48 != MAP_TAG || index >= machine.maps.len() {
        return Err(Fault::NotAMap { helper, value });
    }
    Ok(index)
}

/// The slot a callback argument names.
fn function_slot(value: u64) -> Result<u32, Fault> {
    if value >> 48 != FUNCTION_TAG {
        return Err(Fault::Helper(format!("a callback argument {value:#x} that is not a function")));
    }
    Ok(value as u32)
}

/// `size` bytes at region address `address`, checked.
fn checked(memory: &Memory, address: u64, size: u64) -> Result<&[u8], Fault> {
    memory.slice(address, size).map_err(|access| Fault::HelperAccess { address, size, access })
}

/// Copies `size` bytes at region address `address` into the machine's scratch.
fn copy_in(machine: &mut Machine, address: u64, size: u64) -> Result<(), Fault> {
    let bytes = checked(&machine.memory, address, size)?;
    machine.scratch.clear();
    machine.scratch.extend_from_slice(bytes);
    Ok(())
}

/// Writes `bytes` at region address `address`, zero-padded to `size`.
fn write(machine: &mut Machine, address: u64, size: u64, bytes: &[u8]) -> Result<(), Fault> {
    let dst = machine.memory.slice_mut(address, size).map_err(|access| Fault::HelperAccess { address, size, access })?;
    let len = bytes.len().min(dst.len());
    dst[..len].copy_from_slice(&bytes[..len]);
    dst[len..].fill(0);
    Ok(())
}

/// The `probe_read` family: `size` bytes (or a string of at most `size` with its NUL) from
/// `src` into `dst`. `src` is a region address or recorded memory; memory the event did not
/// record reads as a faulting read does: zeroes and `-EFAULT`.
fn read(machine: &mut Machine, dst: u64, size: u64, src: u64, string: bool) -> Result<u64, Fault> {
    let source: Option<Vec<u8>> = if Memory::is_region(src) {
        let available = (1..=size).rev().find(|&len| machine.memory.slice(src, len).is_ok()).unwrap_or(0);
        machine.memory.slice(src, available).ok().map(<[u8]>::to_vec)
    } else {
        machine.event.read(src, size as usize).map(<[u8]>::to_vec)
    };
    if string && size == 0 {
        return Ok(0);
    }
    let Some(mut bytes) = source.filter(|bytes| string || bytes.len() as u64 == size) else {
        if src != 0 && !machine.event.faulted.contains(&src) {
            machine.shortfalls.unrecorded_reads += 1;
        }
        write(machine, dst, size, &[])?;
        return Ok(EFAULT as u64);
    };
    if !string {
        write(machine, dst, size, &bytes)?;
        return Ok(0);
    }
    let end = bytes.iter().position(|&byte| byte == 0).unwrap_or(bytes.len()).min(size.saturating_sub(1) as usize);
    bytes.truncate(end);
    bytes.push(0);
    write(machine, dst, size, &bytes)?;
    Ok(bytes.len() as u64)
}

/// The frames a stack helper's flags ask for: the user or kernel stack, first frames skipped.
fn stack_frames(machine: &Machine, flags: u64) -> Vec<u64> {
    let stack = if flags & USER_STACK != 0 { &machine.event.user_stack } else { &machine.event.kernel_stack };
    stack.iter().skip((flags & SKIP_MASK) as usize).copied().collect()
}

/// `bpf_get_stackid`: the stack stored in the stack map under the kernel's hash of its frames,
/// and kept where the runtime prints stacks from.
fn stack_id(machine: &mut Machine, map_arg: u64, flags: u64) -> Result<u64, Fault> {
    let map = map_index(machine, "get_stackid", map_arg)?;
    let Some(kind) = machine.stack_kinds.get(map).copied().flatten() else {
        return Err(Fault::Helper("get_stackid on a map that is not a stack map".to_string()));
    };
    let frames = stack_frames(machine, flags);
    let frames = &frames[..frames.len().min(usize::from(kind.limit))];
    let def = machine.maps[map].def;
    let id = crate::stacks::stack_id(frames, def.max_entries);
    let value = kind.value(frames);
    let cpu = machine.event.cpu;
    let key = id.to_ne_bytes();
    let existing = machine.maps[map].lookup(cpu, &key);
    if existing != 0 {
        let same = machine.memory.slice(existing, u64::from(def.value_size)).is_ok_and(|held| held == value.as_slice());
        return Ok(if same { u64::from(id) } else { EEXIST as u64 });
    }
    machine.maps[map].update(cpu, &key, &value, 0);
    machine.stored_stacks.store(kind, id, &value);
    Ok(u64::from(id))
}
