//! eBPF opcode fields (`include/uapi/linux/bpf_common.h`, `bpf.h`): class, size, mode, source
//! and operation bits that combine into an instruction's `code` byte.

/// Instruction classes: the low three bits of `code`.
pub const CLASS_MASK: u8 = 0x07;
pub const LD: u8 = 0x00;
pub const LDX: u8 = 0x01;
pub const ST: u8 = 0x02;
pub const STX: u8 = 0x03;
pub const ALU: u8 = 0x04;
pub const JMP: u8 = 0x05;
pub const JMP32: u8 = 0x06;
pub const ALU64: u8 = 0x07;

/// Access sizes for load and store classes.
pub const SIZE_MASK: u8 = 0x18;
pub const W: u8 = 0x00;
pub const H: u8 = 0x08;
pub const B: u8 = 0x10;
pub const DW: u8 = 0x18;

/// Addressing modes for load and store classes.
pub const MODE_MASK: u8 = 0xe0;
pub const IMM: u8 = 0x00;
pub const MEM: u8 = 0x60;
/// Sign-extending load (cpu v4).
pub const MEMSX: u8 = 0x80;

/// Operand source for ALU and jump classes: the immediate (`K`) or the `src` register (`X`).
pub const SRC_MASK: u8 = 0x08;
pub const K: u8 = 0x00;
pub const X: u8 = 0x08;

/// Operations for ALU classes: the high four bits of `code`.
pub const OP_MASK: u8 = 0xf0;
pub const ADD: u8 = 0x00;
pub const SUB: u8 = 0x10;
pub const MUL: u8 = 0x20;
pub const DIV: u8 = 0x30;
pub const OR: u8 = 0x40;
pub const AND: u8 = 0x50;
pub const LSH: u8 = 0x60;
pub const RSH: u8 = 0x70;
pub const NEG: u8 = 0x80;
pub const MOD: u8 = 0x90;
pub const XOR: u8 = 0xa0;
pub const MOV: u8 = 0xb0;
pub const ARSH: u8 = 0xc0;

/// Operations for jump classes.
pub const JA: u8 = 0x00;
pub const JEQ: u8 = 0x10;
pub const JGT: u8 = 0x20;
pub const JGE: u8 = 0x30;
pub const JSET: u8 = 0x40;
pub const JNE: u8 = 0x50;
pub const JSGT: u8 = 0x60;
pub const JSGE: u8 = 0x70;
pub const CALL: u8 = 0x80;
pub const EXIT: u8 = 0x90;
pub const JLT: u8 = 0xa0;
pub const JLE: u8 = 0xb0;
pub const JSLT: u8 = 0xc0;
pub const JSLE: u8 = 0xd0;

/// `off` of a `DIV`/`MOD` that makes it signed (`sdiv`/`smod`, cpu v4).
pub const OFF_SIGNED: i16 = 1;

/// `src` of an `ld_imm64` whose immediate is a map file descriptor, patched in by the loader.
pub const PSEUDO_MAP_FD: u8 = 1;
/// `ld_imm64` source: the first `imm` is an array map's fd, the second an offset into its value.
pub const PSEUDO_MAP_VALUE: u8 = 2;
/// `ld_imm64` source register meaning "imm is the distance to a function of this program".
pub const PSEUDO_FUNC: u8 = 4;

/// `code` of the first slot of a 64-bit immediate load (`ld_imm64`).
pub const LD_IMM64: u8 = LD | IMM | DW;

/// The frame pointer register, read-only.
pub const FRAME_POINTER: u8 = 10;
