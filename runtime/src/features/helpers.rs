//! The helper trials: a helper is there when the verifier accepts a program that calls it, and
//! `bpf_get_current_comm`'s padding is seen by running it on a buffer filled with ones.

use ferrotrace_compiler::lir::helper;

use super::trial::{self, helper_available, Asm};
use super::{probe_types, Detected};
use crate::sys::{self, attach_type, prog_type, ProgLoad};

const D_PATH: u32 = 147;
const GET_FUNC_IP: u32 = 173;
const MAP_LOOKUP_PERCPU_ELEM: u32 = 195;
const KTIME_GET_TAI_NS: u32 = 208;

pub fn get_tai_ns() -> Detected {
    Detected::from_bool(helper_available(prog_type::KPROBE, KTIME_GET_TAI_NS))
}

pub fn get_func_ip() -> Detected {
    Detected::from_bool(helper_available(prog_type::KPROBE, GET_FUNC_IP))
}

pub fn lookup_percpu_elem() -> Detected {
    Detected::from_bool(helper_available(prog_type::KPROBE, MAP_LOOKUP_PERCPU_ELEM))
}

/// `bpf_d_path` is allowed only in tracing programs on a few functions: an fentry program on
/// `dentry_open` that passes its `path` argument to it must load.
pub fn dpath() -> Detected {
    let Some(target) = probe_types::function_id("dentry_open") else { return Detected::No };
    let code = Asm::new()
        .load_dw(1, 1, 0) // r1 = the first argument, `const struct path *`
        .mov(2, 10)
        .add_imm(2, -16)
        .mov_imm(3, 16)
        .call(D_PATH)
        .mov_imm(0, 0)
        .exit()
        .bytes();
    let program = ProgLoad {
        prog_type: prog_type::TRACING,
        expected_attach_type: attach_type::TRACE_FENTRY,
        attach_btf_id: target,
        attach_btf_object: None,
        attach_program: None,
        name: "ft_dpath",
        insns: &code,
        functions: None,
        license: None,
    };
    Detected::from_bool(trial::load(&program).is_ok())
}

/// Runs `bpf_get_current_comm` on a 32-byte buffer of `0xff` bytes, twice the kernel's
/// `TASK_COMM_LEN`, and returns the word at bytes 24..28, past any name: zero when the helper
/// pads, all ones when it leaves the buffer as it was.
pub fn comm_padding() -> Detected {
    let code = Asm::new()
        .mov_imm(1, -1)
        .store_dw(10, -32, 1)
        .store_dw(10, -24, 1)
        .store_dw(10, -16, 1)
        .store_dw(10, -8, 1)
        .mov(1, 10)
        .add_imm(1, -32)
        .mov_imm(2, 32)
        .call(helper::GET_CURRENT_COMM)
        .load_w(0, 10, -8)
        .exit()
        .bytes();
    let Ok(program) = trial::load(&ProgLoad::new(prog_type::RAW_TRACEPOINT, "ft_comm_pad", &code)) else {
        return Detected::No;
    };
    Detected::from_bool(matches!(sys::prog_test_run(std::os::fd::AsFd::as_fd(&program)), Ok(0)))
}
