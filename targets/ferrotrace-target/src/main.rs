//! A small program the kernel tests and the benchmark trace: functions with known arguments
//! and return values, called a given number of times, USDT probes (one guarded by a
//! semaphore, one reading globals by symbol), and a global written a known number of times for
//! watchpoints.
//! `ferrotrace-target [PREFIX...] ACTION [N]`, where each prefix comes before the action:
//! `wait` reads a line from standard input first, so that a tracer can attach to the running
//! process (`-p`) before it acts (twice: two lines); `address` prints the addresses of the
//! watched global and of `ft_tick` in hex; `norandom` runs the program again with address
//! space randomization off, so that those addresses are the same in every run.

use std::ffi::{c_char, CStr};
use std::hint::black_box;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The global that `global N` and `watch N` write, once per time. Not zero, so that it is in
/// `.data`, which `exec` maps, not in `.bss`, which it clears: only the program writes it.
static WATCHED: AtomicU64 = AtomicU64::new(1);

/// A second global, which `watch-two` alternates with the first.
static OTHER: AtomicU64 = AtomicU64::new(1);

/// More globals than a CPU has debug registers, which `watch-many` writes in turn.
static MANY: [AtomicU64; 6] = [const { AtomicU64::new(1) }; 6];

// `ft_watch(slot, value)`, for `watch`: writes `value` through the pointer it is given, once,
// with an instruction of its own (an atomic store is a call in a debug build), so that a
// watchpoint's `ustack` is `ft_watch+5`, the instruction after the write. It starts with a
// jump, which a uprobe emulates where it would single-step most instructions: under QEMU's
// emulation (the kernel matrix) a single step sets the debug status bit of a watchpoint set
// earlier again, and the watchpoint would seem to fire at every later call.
std::arch::global_asm!(
    ".globl ft_watch",
    ".type ft_watch, @function",
    "ft_watch:",
    "    jmp 2f",
    "2:",
    "    mov qword ptr [rdi], rsi",
    "    ret",
    ".size ft_watch, . - ft_watch",
);

extern "C" {
    fn ft_watch(slot: &AtomicU64, value: u64);
}

/// `ft_watch`, which writes `value` into `slot`.
fn watch(slot: &AtomicU64, value: u64) {
    // SAFETY: `ft_watch` stores 8 bytes through its first argument, an aligned atomic's own
    // memory, as a relaxed store does, and touches nothing else.
    unsafe { ft_watch(black_box(slot), value) }
}

/// The globals the `globals` USDT probe's arguments name, read where the symbol table says they
/// are: 8 bytes at `FT_GLOBALS`, 4 signed bytes at `FT_GLOBALS+8`.
#[no_mangle]
static FT_GLOBALS: [i64; 2] = [0x1122_3344_5566_7788, -7];

// `ft_usdt_globals()`, a USDT probe `ferrotrace:globals` written by hand: the `probe` crate
// passes every argument in a register, where C compilers also write symbol-relative operands
// (`8@FT_GLOBALS(%rip)`) for globals. Its base is 0: a reader takes its address as it is.
std::arch::global_asm!(
    ".globl ft_usdt_globals",
    ".type ft_usdt_globals, @function",
    "ft_usdt_globals:",
    "990: nop",
    "    ret",
    ".size ft_usdt_globals, . - ft_usdt_globals",
    ".pushsection .note.stapsdt, \"\", @note",
    ".balign 4",
    ".4byte 992f - 991f, 994f - 993f, 3",
    "991: .asciz \"stapsdt\"",
    "992: .balign 4",
    "993: .8byte 990b",
    ".8byte 0",
    ".8byte 0",
    ".asciz \"ferrotrace\"",
    ".asciz \"globals\"",
    ".asciz \"8@FT_GLOBALS(%rip) -4@FT_GLOBALS+8(%rip)\"",
    "994: .balign 4",
    ".popsection",
    options(att_syntax),
);

extern "C" {
    fn ft_usdt_globals();
}

/// Called `N` times by `count N`.
#[no_mangle]
#[inline(never)]
pub extern "C" fn ft_tick(n: u64) -> u64 {
    black_box(n)
}

/// `add`: returns the sum of its arguments, `-3 + 10` = 7.
#[no_mangle]
#[inline(never)]
pub extern "C" fn ft_add(a: i64, b: i64) -> i64 {
    black_box(a) + black_box(b)
}

/// `many`: eight arguments, the last two passed on the stack.
#[no_mangle]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn ft_many(a: i64, b: i64, c: i64, d: i64, e: i64, f: i64, g: i64, h: i64) -> i64 {
    black_box(a + b + c + d + e + f + g + h)
}

/// `greet`: takes a user string.
#[no_mangle]
#[inline(never)]
pub extern "C" fn ft_greet(name: *const c_char) -> usize {
    // SAFETY: the callers pass a NUL-terminated string.
    unsafe { CStr::from_ptr(black_box(name)) }.to_bytes().len()
}

/// `wild`: the two functions a wildcard `ft_wild_*` matches.
#[no_mangle]
#[inline(never)]
pub extern "C" fn ft_wild_one() -> u64 {
    black_box(1)
}

#[no_mangle]
#[inline(never)]
pub extern "C" fn ft_wild_two() -> u64 {
    black_box(2)
}

/// A point with a label, which `ft_point` takes a pointer to.
#[repr(C)]
pub struct FtPoint {
    pub x: i32,
    pub y: i32,
    pub label: *const c_char,
}

/// Called by `point N`, with a pointer to a point.
#[no_mangle]
#[inline(never)]
pub extern "C" fn ft_point(point: *const FtPoint, scale: i32) -> i32 {
    // SAFETY: the callers pass a pointer to a live point.
    let point = unsafe { &*black_box(point) };
    (point.x + point.y) * scale
}

/// A Rust function whose symbol is mangled, found by its demangled name.
#[inline(never)]
pub fn mangled_work(n: u64) -> u64 {
    black_box(n * 2)
}

/// The actions, by name, with how many times to do them.
fn act(action: &str, times: u64) -> Result<(), String> {
    for i in 0..times {
        match action {
            "count" => {
                ft_tick(i);
            }
            "add" => {
                ft_add(-3, 10);
            }
            "many" => {
                ft_many(1, 2, 3, 4, 5, 6, 7, 8);
            }
            "greet" => {
                // Read first, so that its page is mapped when the uprobe reads it: a probe
                // cannot fault a page in.
                let name = black_box(c"ferrotrace");
                black_box(name.to_bytes().len());
                ft_greet(name.as_ptr());
            }
            "wild" => {
                ft_wild_one();
                ft_wild_two();
            }
            "point" => {
                let point = FtPoint { x: 3, y: -4, label: c"origin".as_ptr() };
                ft_point(&point, 2);
            }
            "mangled" => {
                mangled_work(i);
            }
            "getpid" => {
                black_box(std::process::id());
            }
            "global" => WATCHED.store(i, Ordering::Relaxed),
            "watch" => watch(&WATCHED, i),
            "watch-two" => {
                watch(&WATCHED, i);
                watch(&OTHER, i);
            }
            "watch-many" => MANY.iter().for_each(|slot| watch(slot, i)),
            "watch-slowly" => {
                watch(&WATCHED, i);
                std::thread::sleep(Duration::from_millis(50));
            }
            "personality" => {
                // SAFETY: personality takes a number; PER_LINUX (0) is every process's.
                unsafe { libc::personality(0) };
            }
            "usdt" => {
                probe::probe!(ferrotrace, numbers, -5i32 as isize, i as isize, 0x1234_5678_9abc_i64 as isize);
                // Its arguments are evaluated only while a tracer has it enabled (its semaphore).
                probe::probe_lazy!(ferrotrace, guarded, 42i64 as isize);
                black_box(&FT_GLOBALS);
                // SAFETY: `ft_usdt_globals` is a `nop` and a return.
                unsafe { ft_usdt_globals() };
            }
            other => return Err(format!("unknown action `{other}`")),
        }
    }
    Ok(())
}

/// Runs this program again, with the same arguments, with address space randomization off
/// (`ADDR_NO_RANDOMIZE`): returns only when it cannot, or when it is off already.
fn without_randomization() -> Result<(), String> {
    const ADDR_NO_RANDOMIZE: libc::c_ulong = 0x0040000;
    // SAFETY: personality(0xffffffff) only reads the current persona.
    let persona = unsafe { libc::personality(0xffff_ffff) };
    if persona < 0 || persona as libc::c_ulong & ADDR_NO_RANDOMIZE != 0 {
        return Ok(());
    }
    // SAFETY: personality takes a number and changes how the next exec lays memory out.
    if unsafe { libc::personality(persona as libc::c_ulong | ADDR_NO_RANDOMIZE) } < 0 {
        return Err(format!("cannot turn address randomization off: {}", std::io::Error::last_os_error()));
    }
    let error = std::os::unix::process::CommandExt::exec(std::process::Command::new("/proc/self/exe").args(std::env::args_os().skip(1)));
    Err(format!("cannot run itself again: {error}"))
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    while let Some(prefix) = args.first().filter(|first| ["wait", "address", "norandom"].contains(&first.as_str())).cloned() {
        args.remove(0);
        match prefix.as_str() {
            "wait" => {
                let mut line = String::new();
                let _ = std::io::stdin().lock().read_line(&mut line);
            }
            "address" => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{:#x} {:#x}", &WATCHED as *const AtomicU64 as usize, ft_tick as *const () as usize);
                let _ = out.flush();
            }
            _ => {
                if let Err(error) = without_randomization() {
                    eprintln!("ferrotrace-target: {error}");
                    std::process::exit(2);
                }
            }
        }
    }
    let action = args.first().cloned().unwrap_or_default();
    let times = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1);
    if let Err(error) = act(&action, times) {
        eprintln!("ferrotrace-target: {error}");
        std::process::exit(2);
    }
}
