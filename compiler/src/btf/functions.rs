//! Function signatures: a kernel function's parameters and return type (fentry, fexit, `-lv`),
//! and the arguments of a raw tracepoint, which the kernel describes as a typedef.

use super::kind::{Kind, Param};
use super::names::Family;
use super::{Btf, TypeId, MAX_CHAIN};

/// A function's return type (`TypeId::VOID` for none) and parameters in order; `variadic` when
/// it ends with `...`, which is not among the parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature<'a> {
    pub ret: TypeId,
    pub params: Vec<Param<'a>>,
    pub variadic: bool,
}

/// The prefix of the typedef the kernel declares for each raw tracepoint's probe function.
const RAW_TRACEPOINT_TYPEDEF: &str = "btf_trace_";
/// The prefix of the function the kernel generates to run a raw tracepoint's programs.
const RAW_TRACEPOINT_FUNC: &str = "__bpf_trace_";
/// The prefix of the stub the kernel (6.4 on) declares for each tracepoint, named after the
/// event itself even when it belongs to a class.
const RAW_TRACEPOINT_STUB: &str = "__probestub_";

impl Btf {
    /// The signature of the function `id`: a `Func`'s prototype, a `FuncProto` itself, or a
    /// function pointer's (through typedefs, modifiers and pointers).
    pub fn signature(&self, id: TypeId) -> Option<Signature<'_>> {
        let mut id = id;
        for _ in 0..=MAX_CHAIN {
            match self.kind(self.resolve(id)?).ok()? {
                Kind::Func { proto, .. } | Kind::Ptr(proto) => id = proto,
                Kind::FuncProto(signature) => return Some(signature),
                _ => return None,
            }
        }
        None
    }

    /// The kernel function `name`'s signature.
    pub fn function(&self, name: &str) -> Option<Signature<'_>> {
        self.signature(self.find(name, Family::Func)?)
    }

    /// The signature of `name` among this blob's own functions (a module's), not its base's.
    pub fn own_function(&self, name: &str) -> Option<Signature<'_>> {
        self.signature(self.find_own(name, Family::Func)?)
    }

    /// The events whose raw tracepoints this blob itself declares (a module's own), unsorted.
    pub fn own_raw_tracepoints(&self) -> Vec<&str> {
        self.own_names(Family::Typedef).into_iter().filter_map(|name| name.strip_prefix(RAW_TRACEPOINT_TYPEDEF)).collect()
    }

    /// The arguments of the raw tracepoint `event` (`sched_switch`). The kernel declares
    /// `typedef void (*btf_trace_sched_switch)(void *, bool, ...)`, whose first parameter (the
    /// probe's data) is not an argument and is left out, and whose parameters have no names;
    /// the names come from the function it generates with the same parameters,
    /// `__bpf_trace_sched_switch(void *__data, bool preempt, ...)`, when BTF has it.
    pub fn raw_tracepoint(&self, event: &str) -> Option<Signature<'_>> {
        let mut signature = self.signature(self.find(&format!("{RAW_TRACEPOINT_TYPEDEF}{event}"), Family::Typedef)?)?;
        if signature.params.is_empty() {
            return None;
        }
        signature.params.remove(0);
        // Events of a class share its `__bpf_trace_<class>`; Linux 6.4 on also declares a
        // `__probestub_<event>` for each event, with the same parameters.
        let named = [RAW_TRACEPOINT_FUNC, RAW_TRACEPOINT_STUB]
            .iter()
            .filter_map(|prefix| self.function(&format!("{prefix}{event}")))
            .find(|named| named.params.len() == signature.params.len() + 1);
        if let Some(named) = named {
            for (param, named) in signature.params.iter_mut().zip(&named.params[1..]) {
                param.name = named.name;
            }
        }
        Some(signature)
    }
}
