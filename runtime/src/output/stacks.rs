//! Stacks as bpftrace 0.26 prints them: a newline, then one line per frame, innermost first.
//! The value a probe keeps is a stack id; the frames are read from the `StackFrames` installed
//! once the maps exist (the kernel's stack maps, or replay's copy of them) and named by
//! `crate::symbolize`.
//!
//! Per frame, by mode: `bpftrace` is 8 spaces then `symbol+offset`; `perf` a tab, the address
//! in hex, a space and `symbol+offset` (user frames add ` (file)`); `raw` the address in hex;
//! `build_id` the 20-byte build id in hex, ` 0x` and the offset in hex (or the address when
//! the kernel found no build id). An address with no symbol prints as `0x` and its hex. A
//! user frame's C++ name prints demangled unless `cpp_demangle` is off.

use std::fmt::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use ferrotrace_compiler::manifest::BUILD_ID_FRAME_SIZE;
use ferrotrace_compiler::types::{StackMode, StackTy};

use crate::symbolize;

/// Where the frames of a stack id are kept.
pub trait StackFrames: Send {
    /// The value stored at `id` in the stack map of `limit` frames (of build-id frames or not).
    fn frames(&self, limit: u8, build_id: bool, id: u32) -> Option<Vec<u8>>;
}

/// The stack maps of a script loaded in the kernel: limit, build-id frames, and the map.
pub struct KernelStackMaps(pub Vec<(u8, bool, OwnedFd)>);

impl StackFrames for KernelStackMaps {
    fn frames(&self, limit: u8, build_id: bool, id: u32) -> Option<Vec<u8>> {
        let (_, _, fd) = self.0.iter().find(|(l, b, _)| *l == limit && *b == build_id)?;
        let frame = if build_id { BUILD_ID_FRAME_SIZE as usize } else { 8 };
        let mut value = vec![0u8; usize::from(limit) * frame];
        crate::sys::map_lookup_elem(fd.as_fd(), &id.to_ne_bytes(), &mut value).ok()?;
        Some(value)
    }
}

fn store() -> std::sync::MutexGuard<'static, Option<Box<dyn StackFrames>>> {
    static STORE: OnceLock<Mutex<Option<Box<dyn StackFrames>>>> = OnceLock::new();
    STORE.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether user frames print C++ names demangled (`cpp_demangle`, on unless a script turns it off).
static DEMANGLE: AtomicBool = AtomicBool::new(true);

/// Sets whether user frames and `usym` print C++ names demangled.
pub fn set_demangling(on: bool) {
    DEMANGLE.store(on, Ordering::Relaxed);
}

/// Makes `frames` where stack ids are looked up.
pub fn install(frames: Box<dyn StackFrames>) {
    *store() = Some(frames);
}

/// The text of the stack `raw` names: for a user stack, the pid in the upper 32 bits and the
/// stack id in the lower; for a kernel stack, the id (negative when the kernel could not store
/// the stack, which prints as no frames).
pub fn render(stack: &StackTy, raw: u64) -> Vec<u8> {
    let (id, pid) = match stack.user {
        true => (i64::from(raw as u32 as i32), (raw >> 32) as u32),
        false => (raw as i64, 0),
    };
    let build_id = stack.user && stack.mode == StackMode::BuildId;
    let frames = u32::try_from(id).ok().and_then(|id| store().as_ref()?.frames(stack.limit, build_id, id)).unwrap_or_default();
    let mut text = String::from("\n");
    match build_id {
        true => frames.chunks_exact(BUILD_ID_FRAME_SIZE as usize).take_while(|f| status(f) != 0).for_each(|f| build_id_line(&mut text, f)),
        false => words(&frames).take_while(|&address| address != 0).for_each(|address| frame_line(&mut text, stack, pid, address)),
    }
    text.into_bytes()
}

fn words(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes.chunks_exact(8).map(|w| u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])))
}

/// One frame's line in the stack's mode.
fn frame_line(text: &mut String, stack: &StackTy, pid: u32, address: u64) {
    let perf = stack.mode == StackMode::Perf;
    let symbol = match stack.mode {
        StackMode::Raw | StackMode::BuildId => None,
        _ if stack.user => Some(user_symbol(pid, address, true, perf)),
        _ => Some(kernel_symbol(address, true)),
    };
    let _ = match (stack.mode, symbol) {
        (StackMode::Perf, Some(symbol)) => writeln!(text, "\t{address:x} {symbol}"),
        (_, Some(symbol)) => writeln!(text, "        {symbol}"),
        (_, None) => writeln!(text, "{address:x}"),
    };
}

/// `struct bpf_stack_build_id`'s status: 0 empty, 1 a build id and offset, 2 only an address.
fn status(frame: &[u8]) -> i32 {
    i32::from_ne_bytes(frame[..4].try_into().unwrap_or([0; 4]))
}

fn build_id_line(text: &mut String, frame: &[u8]) {
    let word = u64::from_ne_bytes(frame[24..32].try_into().unwrap_or([0; 8]));
    let _ = match status(frame) {
        1 => {
            let id: String = frame[4..24].iter().map(|b| format!("{b:02x}")).collect();
            writeln!(text, "{id} 0x{word:02x}")
        }
        _ => writeln!(text, "{word:x}"),
    };
}

/// `name+offset` (or `name`) of a kernel address, else `0x` and its hex.
pub fn kernel_symbol(address: u64, offset: bool) -> String {
    match symbolize::kernel(address) {
        Some((name, at)) if offset => format!("{name}+{at}"),
        Some((name, _)) => name,
        None => format!("{address:#x}"),
    }
}

/// `name+offset` (or `name`) of a user address in process `pid`, with ` (file)` in perf mode,
/// else `0x` and its hex (and ` ([unknown])` in perf mode).
pub fn user_symbol(pid: u32, address: u64, offset: bool, perf: bool) -> String {
    let frame = symbolize::user(pid, address);
    let named = frame.as_ref().and_then(|frame| frame.function.as_ref()).map(|(name, at)| {
        let demangled = DEMANGLE.load(Ordering::Relaxed).then(|| crate::userspace::demangle::printed(name)).flatten();
        (demangled.unwrap_or_else(|| name.clone()), *at)
    });
    let mut text = match named {
        Some((name, at)) if offset => format!("{name}+{at}"),
        Some((name, _)) => name,
        None => format!("{address:#x}"),
    };
    if perf {
        match &frame {
            Some(frame) if frame.function.is_some() => {
                let _ = write!(text, " ({})", frame.file.display());
            }
            _ => text.push_str(" ([unknown])"),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_the_kernel_could_not_store_prints_no_frames() {
        let stack = StackTy { user: false, mode: StackMode::Bpftrace, limit: 127 };
        assert_eq!(render(&stack, (-17i64) as u64), b"\n");
    }

    #[test]
    fn build_id_frames_print_the_id_and_offset_or_the_address() {
        let mut frame = vec![0u8; 32];
        frame[..4].copy_from_slice(&1i32.to_ne_bytes());
        frame[4..24].copy_from_slice(&[0xab; 20]);
        frame[24..].copy_from_slice(&0x1234u64.to_ne_bytes());
        let mut text = String::new();
        build_id_line(&mut text, &frame);
        assert_eq!(text, format!("{} 0x1234\n", "ab".repeat(20)));
        frame[..4].copy_from_slice(&2i32.to_ne_bytes());
        text.clear();
        build_id_line(&mut text, &frame);
        assert_eq!(text, "1234\n");
    }
}
