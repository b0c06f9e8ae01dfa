//! A small program the kernel tests and the benchmark trace: functions with known arguments
//! and return values, called a given number of times, and USDT probes (one guarded by a
//! semaphore). `ferrotrace-target ACTION [N]`; `wait ACTION [N]` first reads a line from
//! standard input, so that a tracer can attach to the running process (`-p`) before it acts.

use std::ffi::{c_char, CStr};
use std::hint::black_box;
use std::io::BufRead;

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
            "greet" => {
                ft_greet(c"ferrotrace".as_ptr());
            }
            "wild" => {
                ft_wild_one();
                ft_wild_two();
            }
            "mangled" => {
                mangled_work(i);
            }
            "getpid" => {
                black_box(std::process::id());
            }
            "usdt" => {
                probe::probe!(ferrotrace, numbers, -5i32 as isize, i as isize, 0x1234_5678_9abc_i64 as isize);
                // Its arguments are evaluated only while a tracer has it enabled (its semaphore).
                probe::probe_lazy!(ferrotrace, guarded, 42i64 as isize);
            }
            other => return Err(format!("unknown action `{other}`")),
        }
    }
    Ok(())
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|first| first == "wait") {
        args.remove(0);
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
    }
    let action = args.first().cloned().unwrap_or_default();
    let times = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1);
    if let Err(error) = act(&action, times) {
        eprintln!("ferrotrace-target: {error}");
        std::process::exit(2);
    }
}
