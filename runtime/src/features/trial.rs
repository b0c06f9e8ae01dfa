//! Trying the kernel: tiny programs assembled by hand, loaded to see whether the verifier knows
//! a program type, an attach type or a helper, and the verifier log kept for the caller.

use std::os::fd::OwnedFd;

use ferrotrace_compiler::bpf::opcode::{self as op};
use ferrotrace_compiler::bpf::{to_bytes, RawInsn};

use crate::sys::{self, ProgLoad};

/// A program of a few instructions, written the way it reads.
#[derive(Debug, Default)]
pub struct Asm(Vec<RawInsn>);

impl Asm {
    pub fn new() -> Asm {
        Asm::default()
    }

    /// `dst = imm` (64-bit, sign-extended).
    pub fn mov_imm(mut self, dst: u8, imm: i32) -> Asm {
        self.0.push(RawInsn::new(op::ALU64 | op::MOV | op::K, dst, 0, 0, imm));
        self
    }

    /// `dst = src`.
    pub fn mov(mut self, dst: u8, src: u8) -> Asm {
        self.0.push(RawInsn::new(op::ALU64 | op::MOV | op::X, dst, src, 0, 0));
        self
    }

    /// `dst += imm`.
    pub fn add_imm(mut self, dst: u8, imm: i32) -> Asm {
        self.0.push(RawInsn::new(op::ALU64 | op::ADD | op::K, dst, 0, 0, imm));
        self
    }

    /// `*(u64 *)(dst + off) = src`.
    pub fn store_dw(mut self, dst: u8, off: i16, src: u8) -> Asm {
        self.0.push(RawInsn::new(op::STX | op::MEM | op::DW, dst, src, off, 0));
        self
    }

    /// `dst = *(u32 *)(src + off)`.
    pub fn load_w(mut self, dst: u8, src: u8, off: i16) -> Asm {
        self.0.push(RawInsn::new(op::LDX | op::MEM | op::W, dst, src, off, 0));
        self
    }

    /// `dst = *(u64 *)(src + off)`.
    pub fn load_dw(mut self, dst: u8, src: u8, off: i16) -> Asm {
        self.0.push(RawInsn::new(op::LDX | op::MEM | op::DW, dst, src, off, 0));
        self
    }

    /// `dst = imm` as a two-slot `ld_imm64`.
    pub fn ld_imm64(mut self, dst: u8, imm: i64) -> Asm {
        self.0.push(RawInsn::new(op::LD | op::IMM | op::DW, dst, 0, 0, imm as i32));
        self.0.push(RawInsn::new(0, 0, 0, 0, (imm >> 32) as i32));
        self
    }

    /// `call helper`.
    pub fn call(mut self, helper: u32) -> Asm {
        self.0.push(RawInsn::new(op::JMP | op::CALL, 0, 0, 0, helper as i32));
        self
    }

    pub fn exit(mut self) -> Asm {
        self.0.push(RawInsn::new(op::JMP | op::EXIT, 0, 0, 0, 0));
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        to_bytes(&self.0)
    }
}

/// `r0 = 0; exit`: a program every type accepts.
fn returns_zero() -> Vec<u8> {
    Asm::new().mov_imm(0, 0).exit().bytes()
}

/// Loads `returns_zero` as a `prog_type` program for `expected_attach_type` and, for tracing
/// programs, the kernel function whose BTF id is `attach_btf_id`.
pub fn load_returning_zero(prog_type: u32, expected_attach_type: u32, attach_btf_id: u32, name: &str) -> Loaded {
    let code = returns_zero();
    load(&ProgLoad { prog_type, expected_attach_type, attach_btf_id, attach_btf_object: None, attach_program: None, name, insns: &code, functions: None, license: None })
}

/// How a load went: the program, or the kernel's refusal with the verifier's log.
pub type Loaded = Result<OwnedFd, Refusal>;

/// The verifier's log of a program the kernel refused.
#[derive(Debug)]
pub struct Refusal {
    pub log: String,
}

/// Loads `program`, keeping the verifier's log (level 1) when the kernel refuses it.
pub fn load(program: &ProgLoad<'_>) -> Loaded {
    let mut log = vec![0u8; 64 * 1024];
    sys::prog_load(program, Some((&mut log, 1))).map_err(|_| {
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        Refusal { log: String::from_utf8_lossy(&log[..end]).into_owned() }
    })
}

/// Whether programs of `prog_type` may call `helper`: a program that only calls it is loaded,
/// and only the verifier saying it does not know the helper (or that this type may not call it)
/// is a no. A refusal with an empty log means the type itself is unknown: no as well.
pub fn helper_available(prog_type: u32, helper: u32) -> bool {
    let code = Asm::new().call(helper).exit().bytes();
    match load(&ProgLoad::new(prog_type, "ft_helper", &code)) {
        Ok(_) => true,
        Err(refusal) => {
            let unknown = ["invalid func ", "unknown func ", "program of this type cannot use helper "];
            !refusal.log.trim().is_empty() && !unknown.iter().any(|text| refusal.log.contains(text))
        }
    }
}
