//! The entry of a program serving many `syscalls:` tracepoints through `raw_syscalls`
//! (`sema::dispatch`): it finds which target the record's syscall is, and returns at once when
//! it is none of them or a compat syscall, which no `syscalls:` tracepoint reports.

use super::builder::Arg;
use super::FnLowerer;
use crate::lir::{helper, AluOp, Cond, Insn, Mem, Operand, Size};
use crate::manifest::{MapId, RawSyscallAttachment, SyscallDispatch};
use crate::sema::hir::{self, SyscallDirection};

/// Where the syscall number sits in a `raw_syscalls` record (`long id`, read as its low half).
const RECORD_NUMBER_OFFSET: i16 = 8;

/// The dispatch map's layout: a row of `number_limit` keys per direction the program serves,
/// `sys_enter` first.
pub(super) struct DispatchLayout {
    rows: Vec<(SyscallDirection, u32)>,
    number_limit: u32,
}

impl DispatchLayout {
    pub(super) fn new(dispatch: &hir::SyscallDispatch) -> DispatchLayout {
        let rows = [(SyscallDirection::Enter, dispatch.enter_event), (SyscallDirection::Exit, dispatch.exit_event)]
            .into_iter()
            .filter_map(|(direction, event)| Some((direction, event?)))
            .collect();
        DispatchLayout { rows, number_limit: dispatch.number_limit }
    }

    /// Entries of the dispatch map.
    pub(super) fn entries(&self) -> u32 {
        self.rows.len() as u32 * self.number_limit
    }

    fn key_base(&self, direction: SyscallDirection) -> u32 {
        let row = self.rows.iter().position(|(d, _)| *d == direction).unwrap_or(0);
        row as u32 * self.number_limit
    }

    /// The manifest's view: each target's key and each `raw_syscalls` attachment.
    pub(super) fn manifest(&self, dispatch: &hir::SyscallDispatch, map: MapId) -> SyscallDispatch {
        let keys = dispatch.syscalls.iter().map(|(number, direction)| self.key_base(*direction) + number).collect();
        let attachments = self
            .rows
            .iter()
            .map(|(direction, event_id)| RawSyscallAttachment {
                name: match direction {
                    SyscallDirection::Enter => "sys_enter",
                    SyscallDirection::Exit => "sys_exit",
                }
                .to_string(),
                event_id: *event_id,
                key_base: self.key_base(*direction),
            })
            .collect();
        SyscallDispatch { map, keys, attachments }
    }
}

impl FnLowerer<'_> {
    /// Emits the dispatch at entry and keeps the fired target's probe id for `probe`.
    pub(super) fn dispatch_prologue(&mut self, dispatch: &hir::SyscallDispatch, layout: &DispatchLayout, map: MapId) {
        let exit = self.exit;
        let number = self.b.vreg();
        self.b.emit(Insn::Load { size: Size::W, dst: number, mem: Mem::Reg(self.ctx, RECORD_NUMBER_OFFSET) });
        self.b.branch(Cond::Ge, number, Operand::Imm(layout.number_limit as i32), exit);
        let key_value = match layout.rows.len() {
            1 => number,
            _ => {
                let base = self.b.call(helper::GET_ATTACH_COOKIE, &[Arg::Reg(self.ctx)]);
                let sum = self.b.copy_reg(number);
                self.b.alu(AluOp::Add, sum, Operand::Reg(base));
                sum
            }
        };
        let key = self.b.alloc(4);
        self.b.store(key, 4, key_value);
        let entry = self.b.call(helper::MAP_LOOKUP_ELEM, &[Arg::Map(map), Arg::Addr(key)]);
        self.b.branch(Cond::Eq, entry, Operand::Imm(0), exit);
        let id_plus_one = self.b.vreg();
        self.b.emit(Insn::Load { size: Size::W, dst: id_plus_one, mem: Mem::Reg(entry, 0) });
        self.b.branch(Cond::Eq, id_plus_one, Operand::Imm(0), exit);
        let task = self.b.call(helper::GET_CURRENT_TASK_BTF, &[]);
        let status = self.b.vreg();
        let compat = dispatch.compat;
        self.b.emit(Insn::Load { size: Size::W, dst: status, mem: Mem::Reg(task, compat.offset as i16) });
        self.b.branch(Cond::Set, status, Operand::Imm(compat.mask as i32), exit);
        let probe_id = self.b.copy_reg(id_plus_one);
        self.b.alu(AluOp::Sub, probe_id, Operand::Imm(1));
        self.dispatched_probe = Some(probe_id);
    }
}
