//! LIR: eBPF-shaped instructions over virtual registers, one function per probe program.
//!
//! Rules every pass relies on (checked by `verify`):
//! - Each `Label` is defined exactly once, and every jump targets a defined label.
//! - Jumps only go forward (no loops yet): live ranges are intervals in instruction order.
//! - Every virtual register is defined before any use on every path in instruction order.
//! - `r10` (the frame pointer) is never written; physical `r1`..`r5` are written only to pass
//!   arguments to the next `Call`, and `r0` only to set the return value before `Exit`.
//! - A `Call` with `args: n` reads `r1`..`rn`, writes `r0` and clobbers `r1`..`r5`.
//! - Stack memory is only reached through `Slot`s; a slot is live from its first to its last
//!   mention, where a register holding its address (`AddrOf`) counts as a mention until that
//!   register's last use.
//!
//! After register allocation every `Reg` is `Reg::Phys`, slots have frame offsets, and the
//! encoder turns each instruction into one eBPF instruction (two for 64-bit immediates).

use crate::manifest::MapId;
use crate::span::Span;

pub mod cfg;
pub mod dce;
pub mod operands;
pub mod print;
pub mod verify;

/// A register: virtual before allocation, physical (`r0`..`r10`) after, or pinned before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reg {
    Virt(u32),
    Phys(u8),
}

impl Reg {
    pub const R0: Reg = Reg::Phys(0);
    pub const R1: Reg = Reg::Phys(1);
    pub const R2: Reg = Reg::Phys(2);
    pub const R3: Reg = Reg::Phys(3);
    pub const R4: Reg = Reg::Phys(4);
    pub const R5: Reg = Reg::Phys(5);
    pub const FP: Reg = Reg::Phys(10);

    /// The argument register for the `i`th (0-based) helper argument.
    pub fn arg(i: usize) -> Reg {
        Reg::Phys(1 + i as u8)
    }
}

/// A right-hand side: a register or a 32-bit immediate (sign-extended for 64-bit ops).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    Reg(Reg),
    Imm(i32),
}

/// A stack object (a buffer, a spilled register): `Slot(n)` gets a frame offset at allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotInfo {
    pub size: u32,
    pub align: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(pub u32);

/// Memory operand: a base plus a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mem {
    /// `[reg + off]`
    Reg(Reg, i16),
    /// `[slot + off]`, which becomes `[r10 + slot_offset + off]`.
    Slot(Slot, i16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    B,
    H,
    W,
    DW,
}

impl Size {
    pub fn bytes(self) -> u32 {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    pub fn from_bytes(bytes: u32) -> Option<Size> {
        match bytes {
            1 => Some(Size::B),
            2 => Some(Size::H),
            4 => Some(Size::W),
            8 => Some(Size::DW),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AluOp {
    Add,
    Sub,
    Mul,
    /// Unsigned division.
    Div,
    Or,
    And,
    Lsh,
    /// Logical right shift.
    Rsh,
    /// Arithmetic right shift.
    Arsh,
    /// Unsigned remainder.
    Mod,
    Xor,
    Mov,
    /// Negation: `src` is ignored (`Imm(0)` by convention).
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    Eq,
    Ne,
    /// Unsigned `>`, `>=`, `<`, `<=`.
    Gt,
    Ge,
    Lt,
    Le,
    /// Signed `>`, `>=`, `<`, `<=`.
    SGt,
    SGe,
    SLt,
    SLe,
    /// `dst & src != 0`
    Set,
}

impl Cond {
    /// The condition that holds exactly when `self` does not.
    pub fn negate(self) -> Cond {
        match self {
            Cond::Eq => Cond::Ne,
            Cond::Ne => Cond::Eq,
            Cond::Gt => Cond::Le,
            Cond::Ge => Cond::Lt,
            Cond::Lt => Cond::Ge,
            Cond::Le => Cond::Gt,
            Cond::SGt => Cond::SLe,
            Cond::SGe => Cond::SLt,
            Cond::SLt => Cond::SGe,
            Cond::SLe => Cond::SGt,
            Cond::Set => panic!("`Set` has no negation; branch around it instead"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Insn {
    /// `dst = dst op src` on 64 bits.
    Alu64 { op: AluOp, dst: Reg, src: Operand },
    /// `dst = dst op src` on the low 32 bits, zero-extending the result.
    Alu32 { op: AluOp, dst: Reg, src: Operand },
    /// `dst = *(size *)mem`, zero-extended.
    Load { size: Size, dst: Reg, mem: Mem },
    /// `dst = *(size *)mem`, sign-extended (`ldsx`, cpu v4).
    LoadSigned { size: Size, dst: Reg, mem: Mem },
    /// `*(size *)mem = src`
    Store { size: Size, mem: Mem, src: Reg },
    /// `*(size *)mem = imm`
    StoreImm { size: Size, mem: Mem, imm: i32 },
    /// `dst = imm` for a full 64-bit constant (`ld_imm64`, two instruction slots).
    LoadImm64 { dst: Reg, imm: i64 },
    /// `dst = &map` (`ld_imm64` with a map relocation, two instruction slots).
    LoadMap { dst: Reg, map: MapId },
    /// `dst = &value + offset`: a pointer into the single value of the array map `map`
    /// (`ld_imm64` with `BPF_PSEUDO_MAP_VALUE` and a map relocation, two slots), read and
    /// written without a lookup.
    LoadMapValue { dst: Reg, map: MapId, offset: u32 },
    /// `dst = &function`: the address of another function of the same program, a callback for
    /// `bpf_loop` or `bpf_for_each_map_elem` (`ld_imm64` with `BPF_PSEUDO_FUNC`, two slots).
    /// `func` indexes the program's functions; 0 is the program itself.
    LoadFunc { dst: Reg, func: u32 },
    /// `dst = r10 + slot_offset + off`: the address of stack memory.
    AddrOf { dst: Reg, slot: Slot, off: i16 },
    /// Unconditional jump.
    Jump { target: Label },
    /// `if lhs cond rhs goto target` on 64 bits.
    Branch { cond: Cond, lhs: Reg, rhs: Operand, target: Label },
    /// Call helper `helper` (a `bpf_func_id`) with `args` arguments in `r1`..`r{args}`.
    Call { helper: u32, args: u8 },
    /// Return `r0`.
    Exit,
    /// A jump target; emits nothing.
    Label(Label),
}

/// An instruction and the script span it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inst {
    pub insn: Insn,
    pub span: Span,
    /// The kernel struct member whose offset the instruction holds (a load's offset, an
    /// `add`'s immediate), for a CO-RE relocation record (`co_re`).
    pub field: Option<Box<crate::co_re::FieldAccess>>,
}

/// One function of a probe program in LIR: the program itself, or a callback it passes to a
/// helper (a loop body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The program's name (its ELF symbol), or the callback's.
    pub name: String,
    /// How many argument registers (`r1`..) hold values at entry: 1 for a program (its context),
    /// up to 5 for a callback.
    pub params: u8,
    pub insts: Vec<Inst>,
    /// Indexed by `Slot`.
    pub slots: Vec<SlotInfo>,
    /// How many virtual registers (`Reg::Virt(0..vregs)`) exist.
    pub vregs: u32,
    /// How many labels (`Label(0..labels)`) exist.
    pub labels: u32,
    /// After allocation: the frame offset (negative, from r10) of every slot.
    pub frame: Option<Vec<i16>>,
}

impl Default for Function {
    fn default() -> Function {
        Function { name: String::new(), params: 1, insts: Vec::new(), slots: Vec::new(), vregs: 0, labels: 0, frame: None }
    }
}

/// BPF helper ids (`enum bpf_func_id`) the compiler calls.
pub mod helper {
    pub const MAP_LOOKUP_ELEM: u32 = 1;
    pub const MAP_UPDATE_ELEM: u32 = 2;
    pub const MAP_DELETE_ELEM: u32 = 3;
    pub const PROBE_READ: u32 = 4;
    pub const KTIME_GET_NS: u32 = 5;
    pub const TRACE_PRINTK: u32 = 6;
    pub const GET_PRANDOM_U32: u32 = 7;
    pub const GET_SMP_PROCESSOR_ID: u32 = 8;
    pub const GET_CURRENT_PID_TGID: u32 = 14;
    pub const GET_CURRENT_UID_GID: u32 = 15;
    pub const GET_CURRENT_COMM: u32 = 16;
    pub const GET_CURRENT_TASK: u32 = 35;
    pub const PROBE_READ_STR: u32 = 45;
    pub const GET_NS_CURRENT_PID_TGID: u32 = 120;
    pub const KTIME_GET_BOOT_NS: u32 = 125;
    pub const RINGBUF_OUTPUT: u32 = 130;
    pub const GET_NUMA_NODE_ID: u32 = 42;
    pub const GET_CURRENT_CGROUP_ID: u32 = 80;
    pub const SEND_SIGNAL: u32 = 109;
    pub const JIFFIES64: u32 = 118;
    pub const GET_CURRENT_TASK_BTF: u32 = 158;
    pub const KTIME_GET_TAI_NS: u32 = 208;
    pub const FOR_EACH_MAP_ELEM: u32 = 164;
    pub const LOOP: u32 = 181;
    pub const MAP_LOOKUP_PERCPU_ELEM: u32 = 195;
    pub const GET_ATTACH_COOKIE: u32 = 174;
    pub const PROBE_READ_USER: u32 = 112;
    pub const PROBE_READ_KERNEL: u32 = 113;
    pub const PROBE_READ_USER_STR: u32 = 114;
    pub const PROBE_READ_KERNEL_STR: u32 = 115;
    pub const GET_STACKID: u32 = 27;
    pub const GET_STACK: u32 = 67;
    pub const GET_FUNC_IP: u32 = 173;
    pub const SEQ_PRINTF: u32 = 126;
    pub const D_PATH: u32 = 147;

    /// The helper's name for disassembly (`bpf_` prefix dropped), if known.
    pub fn name(id: u32) -> Option<&'static str> {
        Some(match id {
            MAP_LOOKUP_ELEM => "map_lookup_elem",
            MAP_UPDATE_ELEM => "map_update_elem",
            MAP_DELETE_ELEM => "map_delete_elem",
            PROBE_READ => "probe_read",
            KTIME_GET_NS => "ktime_get_ns",
            TRACE_PRINTK => "trace_printk",
            GET_PRANDOM_U32 => "get_prandom_u32",
            GET_SMP_PROCESSOR_ID => "get_smp_processor_id",
            GET_CURRENT_PID_TGID => "get_current_pid_tgid",
            GET_NS_CURRENT_PID_TGID => "get_ns_current_pid_tgid",
            GET_CURRENT_UID_GID => "get_current_uid_gid",
            GET_CURRENT_COMM => "get_current_comm",
            GET_CURRENT_TASK => "get_current_task",
            PROBE_READ_STR => "probe_read_str",
            KTIME_GET_BOOT_NS => "ktime_get_boot_ns",
            RINGBUF_OUTPUT => "ringbuf_output",
            GET_CURRENT_TASK_BTF => "get_current_task_btf",
            GET_NUMA_NODE_ID => "get_numa_node_id",
            GET_CURRENT_CGROUP_ID => "get_current_cgroup_id",
            JIFFIES64 => "jiffies64",
            SEND_SIGNAL => "send_signal",
            KTIME_GET_TAI_NS => "ktime_get_tai_ns",
            FOR_EACH_MAP_ELEM => "for_each_map_elem",
            LOOP => "loop",
            MAP_LOOKUP_PERCPU_ELEM => "map_lookup_percpu_elem",
            GET_ATTACH_COOKIE => "get_attach_cookie",
            PROBE_READ_USER => "probe_read_user",
            PROBE_READ_KERNEL => "probe_read_kernel",
            PROBE_READ_USER_STR => "probe_read_user_str",
            PROBE_READ_KERNEL_STR => "probe_read_kernel_str",
            GET_STACKID => "get_stackid",
            GET_STACK => "get_stack",
            GET_FUNC_IP => "get_func_ip",
            SEQ_PRINTF => "seq_printf",
            D_PATH => "d_path",
            _ => return None,
        })
    }
}
