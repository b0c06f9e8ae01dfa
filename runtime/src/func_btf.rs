//! The BTF a program with callbacks must carry: the kernel accepts a function's address (a
//! loop body passed to `bpf_loop` or `bpf_for_each_map_elem`) only when `func_info` names every
//! function of the program, and each callback is `static`.
//!
//! The blob is the smallest that says so: a 64-bit integer, `void *`, one function prototype
//! per parameter count and one `BTF_KIND_FUNC` per function. Nothing in it describes data: the
//! programs read memory with explicit sizes and make no CO-RE relocations.

use std::io;
use std::os::fd::OwnedFd;

use ferrotrace_compiler::manifest::ProgramSpec;

use crate::sys::{self, FuncInfo};

const BTF_MAGIC: u16 = 0xeb9f;
const BTF_VERSION: u8 = 1;
const HEADER_LEN: u32 = 24;

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const INT_SIGNED: u32 = 1 << 24;
const LINKAGE_STATIC: u32 = 0;
const LINKAGE_GLOBAL: u32 = 1;

/// Type ids of the fixed types every blob starts with.
const LONG: u32 = 1;
const VOID_PTR: u32 = 2;

/// A program's function BTF, loaded, and its `func_info` records.
pub(crate) struct FunctionBtf {
    pub fd: OwnedFd,
    pub records: Vec<FuncInfo>,
}

/// Loads the BTF describing `spec`'s functions; `None` for a program without callbacks, which
/// needs none.
pub(crate) fn load(spec: &ProgramSpec) -> io::Result<Option<FunctionBtf>> {
    if spec.callbacks.is_empty() {
        return Ok(None);
    }
    let (blob, records) = describe(spec);
    let fd = sys::btf_load(&blob, None).or_else(|error| {
        // Load it again with a log, to say why.
        let mut log = vec![0u8; 16 * 1024];
        let again = sys::btf_load(&blob, Some(&mut log));
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        let text = String::from_utf8_lossy(&log[..end]);
        let reason = text.trim().lines().last().unwrap_or_default().to_string();
        again.map_err(|_| io::Error::new(error.kind(), format!("{error}: {reason}")))
    })?;
    Ok(Some(FunctionBtf { fd, records }))
}

/// The BTF blob and the `func_info` records for `spec`'s program and callbacks.
fn describe(spec: &ProgramSpec) -> (Vec<u8>, Vec<FuncInfo>) {
    let mut btf = Builder::default();
    let long_name = btf.name("long");
    let long = btf.add_type(long_name, KIND_INT << 24, 8, &[INT_SIGNED | 64]);
    let void_ptr = btf.add_type(0, KIND_PTR << 24, 0, &[]);
    debug_assert_eq!((long, void_ptr), (LONG, VOID_PTR));
    let program_proto = btf.proto(1, &["ctx"]);
    let program_name = btf.name(&spec.symbol);
    let program = btf.add_type(program_name, KIND_FUNC << 24 | LINKAGE_GLOBAL, program_proto, &[]);
    let mut records = vec![FuncInfo { insn_off: 0, type_id: program }];
    for (index, callback) in spec.callbacks.iter().enumerate() {
        let params: Vec<String> = (0..callback.params).map(|i| format!("arg{i}")).collect();
        let names: Vec<&str> = params.iter().map(String::as_str).collect();
        let proto = btf.proto(callback.params, &names);
        let name = btf.name(&format!("{}_cb{}", spec.symbol, index + 1));
        let func = btf.add_type(name, KIND_FUNC << 24 | LINKAGE_STATIC, proto, &[]);
        records.push(FuncInfo { insn_off: callback.insn, type_id: func });
    }
    (btf.finish(), records)
}

/// Types and strings as they are added.
#[derive(Default)]
struct Builder {
    types: Vec<u8>,
    strings: Vec<u8>,
    count: u32,
}

impl Builder {
    /// The offset of `name` in the string section (offset 0 is the empty name).
    fn name(&mut self, name: &str) -> u32 {
        if self.strings.is_empty() {
            self.strings.push(0);
        }
        let offset = self.strings.len() as u32;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        offset
    }

    /// Appends a `btf_type` and the words that follow it; returns its id.
    fn add_type(&mut self, name_off: u32, info: u32, size_or_type: u32, extra: &[u32]) -> u32 {
        for word in [name_off, info, size_or_type].iter().chain(extra) {
            self.types.extend_from_slice(&word.to_ne_bytes());
        }
        self.count += 1;
        self.count
    }

    /// `long (*)(long, void *, ...)`: the first parameter a `long`, the others `void *`, one
    /// named parameter per entry of `names`.
    fn proto(&mut self, params: u8, names: &[&str]) -> u32 {
        let mut words = Vec::with_capacity(usize::from(params) * 2);
        for (i, name) in names.iter().enumerate().take(usize::from(params)) {
            words.push(self.name(name));
            words.push(if i == 0 { LONG } else { VOID_PTR });
        }
        self.add_type(0, KIND_FUNC_PROTO << 24 | u32::from(params), LONG, &words)
    }

    fn finish(mut self) -> Vec<u8> {
        if self.strings.is_empty() {
            self.strings.push(0);
        }
        let mut blob = Vec::with_capacity(HEADER_LEN as usize + self.types.len() + self.strings.len());
        blob.extend_from_slice(&BTF_MAGIC.to_ne_bytes());
        blob.push(BTF_VERSION);
        blob.push(0);
        for word in [HEADER_LEN, 0, self.types.len() as u32, self.types.len() as u32, self.strings.len() as u32] {
            blob.extend_from_slice(&word.to_ne_bytes());
        }
        blob.extend_from_slice(&self.types);
        blob.extend_from_slice(&self.strings);
        blob
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrotrace_compiler::manifest::Callback;

    #[test]
    fn a_program_and_its_callbacks_each_get_a_function_record() {
        let spec = ProgramSpec {
            symbol: "p0_begin".into(),
            section: "raw_tp/begin".into(),
            program_type: ferrotrace_compiler::manifest::ProgramType::RunOnce,
            targets: Vec::new(),
            dispatch: None,
            probe_name: "begin".into(),
            attach_points: 1,
            span: ferrotrace_compiler::span::Span::DUMMY,
            insn_spans: Vec::new(),
            callbacks: vec![Callback { insn: 12, params: 2 }, Callback { insn: 30, params: 4 }],
        };
        let (blob, records) = describe(&spec);
        assert_eq!(&blob[..2], &BTF_MAGIC.to_ne_bytes());
        let offsets: Vec<u32> = records.iter().map(|r| r.insn_off).collect();
        assert_eq!(offsets, [0, 12, 30]);
        // long, void *, the program's prototype and function, then a prototype and a function
        // per callback.
        let ids: Vec<u32> = records.iter().map(|r| r.type_id).collect();
        assert_eq!(ids, [4, 6, 8]);
    }
}
