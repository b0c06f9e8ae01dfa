//! Tiny static executables that make exactly the syscalls a test lists, then exit: no libc, no
//! dynamic loader, so after `execve` the process makes no syscall the test did not ask for. A
//! 64-bit one uses `syscall`; a 32-bit one uses `int 0x80`, the compat syscalls that
//! `raw_syscalls` reports under the i386 numbers and `syscalls:` tracepoints leave out.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use super::comm::Comm;

/// A syscall number and its first argument.
pub type Call = (u32, u32);

/// Which instruction set and syscall convention the executable uses.
#[derive(Clone, Copy)]
pub enum Abi {
    /// x86-64: `mov eax, nr; mov edi, arg; syscall`, ending with `exit_group(code)` (231).
    X86_64,
    /// i386 on x86-64: `mov eax, nr; mov ebx, arg; int 0x80`, ending with `exit(code)` (1).
    I386,
}

/// Runs an executable of `abi` that makes `calls` in order, as a process named `comm`, and
/// checks that it exited with status 0.
pub fn run_as(comm: &Comm, abi: Abi, calls: &[Call]) {
    run_exiting(comm, abi, calls, 0);
}

/// `run_as`, the executable then exiting with `code` (and checked to have done so).
pub fn run_exiting(comm: &Comm, abi: Abi, calls: &[Call], code: u8) {
    let status = run_for_status(comm, abi, calls, code);
    assert_eq!(status.code(), Some(i32::from(code)), "the tiny executable failed: {status}");
}

/// Runs an executable named `comm` making `calls` then exiting with `code`; returns how it
/// ended (a signal may have ended it first).
pub fn run_for_status(comm: &Comm, abi: Abi, calls: &[Call], code: u8) -> std::process::ExitStatus {
    let dir = std::env::temp_dir().join(format!("ferrotrace-exec-{}-{}", std::process::id(), comm.name()));
    fs::create_dir_all(&dir).expect("cannot create the executable's directory");
    let path = dir.join(comm.name());
    fs::write(&path, executable(abi, calls, code)).expect("cannot write the executable");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("cannot make it executable");
    let status = run_written_executable(&path);
    let _ = fs::remove_dir_all(&dir);
    status.expect("cannot run the tiny executable")
}

/// Runs an executable just written. Another test thread that forks while the file is still open
/// for writing holds a copy of that descriptor until its child execs, and the kernel refuses to
/// run a file open for writing (`ETXTBSY`): wait for the other child to exec and try again.
fn run_written_executable(path: &std::path::Path) -> std::io::Result<std::process::ExitStatus> {
    for _ in 0..50 {
        match Command::new(path).status() {
            Err(error) if error.raw_os_error() == Some(libc::ETXTBSY) => std::thread::sleep(std::time::Duration::from_millis(20)),
            other => return other,
        }
    }
    Command::new(path).status()
}

fn executable(abi: Abi, calls: &[Call], exit_code: u8) -> Vec<u8> {
    let exit_code = u32::from(exit_code);
    match abi {
        Abi::X86_64 => elf64(&code(calls, (231, exit_code), &[0xbf], &[0x0f, 0x05])),
        Abi::I386 => elf32(&code(calls, (1, exit_code), &[0xbb], &[0xcd, 0x80])),
    }
}

/// For each call then the exit: `mov eax, nr` (`b8`), `mov <arg register>, arg`, the trap.
fn code(calls: &[Call], exit: Call, mov_arg: &[u8], trap: &[u8]) -> Vec<u8> {
    let mut code = Vec::new();
    for (number, arg) in calls.iter().chain([&exit]) {
        code.push(0xb8);
        code.extend(number.to_le_bytes());
        code.extend(mov_arg);
        code.extend(arg.to_le_bytes());
        code.extend(trap);
    }
    code
}

/// `\x7fELF`, class (1: 32-bit, 2: 64-bit), little-endian, version 1, padding.
fn ident(class: u8) -> Vec<u8> {
    let mut ident = vec![0x7f, b'E', b'L', b'F', class, 1, 1];
    ident.resize(16, 0);
    ident
}

/// An x86-64 executable: the ELF header, one loadable read-execute segment holding the whole
/// file at 0x400000, then the code.
fn elf64(code: &[u8]) -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    const HEADERS: u64 = 64 + 56;
    let size = HEADERS + code.len() as u64;
    let mut elf = ident(2);
    elf.extend(2u16.to_le_bytes()); // ET_EXEC
    elf.extend(62u16.to_le_bytes()); // EM_X86_64
    elf.extend(1u32.to_le_bytes());
    elf.extend((BASE + HEADERS).to_le_bytes()); // entry
    elf.extend(64u64.to_le_bytes()); // program headers follow the ELF header
    elf.extend(0u64.to_le_bytes()); // no section headers
    elf.extend(0u32.to_le_bytes());
    for half in [64u16, 56, 1, 64, 0, 0] {
        elf.extend(half.to_le_bytes()); // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
    }
    elf.extend(1u32.to_le_bytes()); // PT_LOAD
    elf.extend(5u32.to_le_bytes()); // PF_R | PF_X
    for word in [0, BASE, BASE, size, size, 0x1000u64] {
        elf.extend(word.to_le_bytes()); // offset, vaddr, paddr, filesz, memsz, align
    }
    elf.extend(code);
    elf
}

/// An i386 executable, laid out as `elf64` does at 0x8048000.
fn elf32(code: &[u8]) -> Vec<u8> {
    const BASE: u32 = 0x804_8000;
    const HEADERS: u32 = 52 + 32;
    let size = HEADERS + code.len() as u32;
    let mut elf = ident(1);
    elf.extend(2u16.to_le_bytes()); // ET_EXEC
    elf.extend(3u16.to_le_bytes()); // EM_386
    elf.extend(1u32.to_le_bytes());
    for word in [BASE + HEADERS, 52, 0, 0] {
        elf.extend(word.to_le_bytes()); // entry, phoff, shoff, flags
    }
    for half in [52u16, 32, 1, 40, 0, 0] {
        elf.extend(half.to_le_bytes()); // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
    }
    for word in [1, 0, BASE, BASE, size, size, 5, 0x1000u32] {
        elf.extend(word.to_le_bytes()); // PT_LOAD, offset, vaddr, paddr, filesz, memsz, PF_R|PF_X, align
    }
    elf.extend(code);
    elf
}
