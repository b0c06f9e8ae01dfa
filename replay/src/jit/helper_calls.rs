//! Helper calls, as `helpers::call` defines them. The helpers that only read the task, the
//! clock or the CPU of the event are loads from it in native code; `map_lookup_elem` and
//! `get_current_comm`, which nearly every program calls, call slow paths of their own; every
//! other helper goes to `helpers::call` through the generic slow path.

use std::mem::offset_of;

use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value};
use ferrotrace_compiler::lir::helper as id;

use crate::event::Event;

use super::runtime::{SlowPath, COOKIE, EVENT};
use super::translate::Translator;

/// What a helper that only reads the event returns.
enum EventValue {
    /// A 64-bit field of the event, at this offset.
    Word(i32),
    /// A 32-bit field, zero-extended.
    Half(i32),
    /// Two 32-bit fields: the high half, then the low.
    Halves(i32, i32),
    /// The env's attach cookie.
    Cookie,
}

impl EventValue {
    fn of(helper: u32) -> Option<EventValue> {
        Some(match helper {
            id::GET_CURRENT_PID_TGID => EventValue::Halves(offset_of!(Event, pid) as i32, offset_of!(Event, tid) as i32),
            id::GET_CURRENT_UID_GID => EventValue::Halves(offset_of!(Event, gid) as i32, offset_of!(Event, uid) as i32),
            id::KTIME_GET_NS => EventValue::Word(offset_of!(Event, time_ns) as i32),
            id::GET_SMP_PROCESSOR_ID => EventValue::Half(offset_of!(Event, cpu) as i32),
            id::GET_CURRENT_CGROUP_ID => EventValue::Word(offset_of!(Event, cgroup) as i32),
            id::JIFFIES64 => EventValue::Word(offset_of!(Event, jiffies) as i32),
            id::GET_CURRENT_TASK | id::GET_CURRENT_TASK_BTF => EventValue::Word(offset_of!(Event, task) as i32),
            id::GET_ATTACH_COOKIE => EventValue::Cookie,
            _ => return None,
        })
    }
}

impl Translator<'_> {
    /// The call of `helper` at `slot`: r0 after it.
    pub fn call_helper(&mut self, helper: u32, slot: usize) -> Value {
        if let Some(value) = EventValue::of(helper) {
            return self.event_value(value);
        }
        match helper {
            id::MAP_LOOKUP_ELEM => self.two_argument_helper(SlowPath::MapLookup, slot),
            id::GET_CURRENT_COMM => self.two_argument_helper(SlowPath::CurrentComm, slot),
            _ => self.generic_helper(helper, slot),
        }
    }

    fn use_register(&mut self, number: u8) -> Value {
        let register = self.register(number);
        self.builder.use_var(register)
    }

    fn event_value(&mut self, value: EventValue) -> Value {
        let flags = MemFlagsData::trusted();
        match value {
            EventValue::Word(offset) => {
                let event = self.event_pointer();
                self.builder.ins().load(I64, flags, event, offset)
            }
            EventValue::Half(offset) => {
                let event = self.event_pointer();
                self.builder.ins().uload32(flags, event, offset)
            }
            EventValue::Halves(high, low) => {
                let event = self.event_pointer();
                let high = self.builder.ins().uload32(flags, event, high);
                let low = self.builder.ins().uload32(flags, event, low);
                let high = self.builder.ins().ishl_imm_u(high, 32);
                self.builder.ins().bor(high, low)
            }
            EventValue::Cookie => self.builder.ins().load(I64, flags, self.env, COOKIE),
        }
    }

    /// The host address of the machine's event.
    fn event_pointer(&mut self) -> Value {
        self.builder.ins().load(I64, MemFlagsData::trusted(), self.env, EVENT)
    }

    /// A helper of r1 and r2 through its own slow path, `path`.
    fn two_argument_helper(&mut self, path: SlowPath, slot: usize) -> Value {
        let (r1, r2) = (self.use_register(1), self.use_register(2));
        let slot = self.builder.ins().iconst(I64, slot as i64);
        self.call_returning(path, &[self.env, r1, r2, slot])
    }

    /// `helpers::call` of `helper` with r1..r5, through the generic slow path.
    fn generic_helper(&mut self, helper: u32, slot: usize) -> Value {
        let helper = self.builder.ins().iconst(I64, i64::from(helper));
        let slot = self.builder.ins().iconst(I64, slot as i64);
        let mut args = vec![self.env, helper];
        args.extend((1..=5).map(|number| self.use_register(number)));
        args.push(slot);
        self.call_returning(SlowPath::Helper, &args)
    }
}
