//! `-v`: what is about to be loaded, on stderr: each program with its instruction count, each
//! map with its kind, entries and sizes, and each kernel fact the programs depend on.

use std::io::{self, Write};

use ferrotrace_compiler::driver::Compiled;
use ferrotrace_compiler::manifest::{BpfMapType, MapRole};

pub fn describe(compiled: &Compiled, out: &mut dyn Write) -> io::Result<()> {
    for (spec, program) in compiled.manifest.programs.iter().zip(&compiled.programs) {
        let targets = spec.targets.len();
        let shared = if targets > 1 { format!(" ({targets} attach points)") } else { String::new() };
        writeln!(out, "Program {}{shared}: {} instructions", spec.probe_name, program.insns.len())?;
    }
    for map in &compiled.manifest.maps {
        let name = match &map.role {
            MapRole::User(user) => user.name.clone(),
            MapRole::RingBuf => "ring buffer".to_string(),
            MapRole::Scratch => "scratch".to_string(),
            MapRole::Config => "config".to_string(),
            MapRole::Lost => "lost events".to_string(),
            MapRole::SyscallDispatch => "syscall dispatch".to_string(),
            MapRole::Zeros => "tseries zeros".to_string(),
            MapRole::Stacks { limit, build_id: false } => format!("stacks of {limit} frames"),
            MapRole::Stacks { limit, build_id: true } => format!("build-id stacks of {limit} frames"),
            MapRole::Processes => "processes seen".to_string(),
        };
        let def = &map.def;
        match def.map_type {
            BpfMapType::RingBuf => writeln!(out, "Map {name}: ringbuf, {} KiB", def.max_entries / 1024)?,
            kind => writeln!(
                out,
                "Map {name}: {}, {} entries, key {} bytes, value {} bytes",
                kind_name(kind),
                def.max_entries,
                def.key_size,
                def.value_size
            )?,
        }
    }
    for fact in compiled.manifest.kernel_facts.iter() {
        writeln!(out, "Kernel fact {fact}")?;
    }
    Ok(())
}

fn kind_name(kind: BpfMapType) -> &'static str {
    match kind {
        BpfMapType::Hash => "hash",
        BpfMapType::Array => "array",
        BpfMapType::PercpuHash => "percpu hash",
        BpfMapType::PercpuArray => "percpu array",
        BpfMapType::LruHash => "lru hash",
        BpfMapType::LruPercpuHash => "lru percpu hash",
        BpfMapType::RingBuf => "ringbuf",
        BpfMapType::StackTrace => "stack trace",
    }
}
