//! Probe types this kernel cannot attach, refused before anything is loaded or run: the error
//! names the probe, what the kernel lacks, and what works here instead.

use ferrotrace_compiler::manifest::{Attach, ProgramSpec};

use crate::error::LoadError;
use crate::features;
use crate::tracefs::Tracefs;

/// Why `spec`'s probes cannot be attached on this kernel, if they cannot.
pub(crate) fn refusal(spec: &ProgramSpec) -> Option<LoadError> {
    let target = spec.targets.first()?;
    let missing = match &target.attach {
        Attach::Kprobe { .. } if features::kprobe_pmu().is_none() => {
            "this kernel has no kprobes (no kprobe PMU: it was built without CONFIG_KPROBES or CONFIG_KPROBE_EVENTS)"
        }
        Attach::Fentry { .. } if !features::fentry() => {
            "this kernel refuses fentry and fexit programs (it has no BPF trampolines for them, or refuses to attach them)"
        }
        Attach::Iter { .. } if !features::iterators() => {
            return Some(LoadError::Unsupported {
                probe: spec.probe_name.clone(),
                missing: "this kernel refuses iterator programs (BPF_TRACE_ITER, Linux 5.8)".to_string(),
                instead: "help: `ferrotrace --info` lists what it has".to_string(),
            });
        }
        Attach::Watchpoint { .. } if !features::breakpoints() => {
            "this kernel has no hardware breakpoints (no breakpoint PMU: it was built without CONFIG_HAVE_HW_BREAKPOINT)"
        }
        _ => return None,
    };
    Some(LoadError::Unsupported { probe: spec.probe_name.clone(), missing: missing.to_string(), instead: instead(&target.attach) })
}

/// What to use instead of a function probe on this kernel: the syscall's tracepoint when the
/// function serves one, and the probe types that work here; for a watchpoint, probes on the
/// functions that access the memory.
fn instead(attach: &Attach) -> String {
    let (function, at_return) = match attach {
        Attach::Fentry { program: Some(_), .. } => return "help: `ferrotrace --info` lists what this kernel has".to_string(),
        Attach::Kprobe { function, retprobe, .. } => (function.as_str(), *retprobe),
        Attach::Fentry { function, exit, .. } => (function.as_str(), *exit),
        Attach::Watchpoint { .. } => return "help: a uprobe or kprobe on the functions that access the memory sees their calls, not the accesses".to_string(),
        _ => return String::new(),
    };
    let mut options = Vec::new();
    if let Some(tracepoint) = syscall_tracepoint(function, at_return) {
        options.push(format!("`{tracepoint}` traces the syscall `{function}` serves"));
    }
    match attach {
        Attach::Kprobe { .. } if features::fentry() => options.push(format!("`{}:{function}` attaches to the same function", if at_return { "fexit" } else { "fentry" })),
        Attach::Fentry { .. } if features::kprobes() => options.push(format!("`{}:{function}` attaches to the same function", if at_return { "kretprobe" } else { "kprobe" })),
        _ => {}
    }
    options.push("tracepoints and raw tracepoints work on this kernel (`ferrotrace -l 'tracepoint:*'`, `ferrotrace -l 'rawtracepoint:*'`); `ferrotrace --info` lists what it has".to_string());
    format!("help: {}", options.join("; "))
}

/// `tracepoint:syscalls:sys_enter_read` for `vfs_read`, `ksys_read` or `__x64_sys_read`, when
/// this kernel has that tracepoint.
fn syscall_tracepoint(function: &str, at_return: bool) -> Option<String> {
    const PREFIXES: &[&str] = &["__x64_sys_", "__ia32_sys_", "__se_sys_", "__do_sys_", "ksys_", "do_sys_", "__sys_", "vfs_", "sys_"];
    let syscall = PREFIXES.iter().find_map(|prefix| function.strip_prefix(prefix))?;
    let name = format!("sys_{}_{syscall}", if at_return { "exit" } else { "enter" });
    let tracefs = Tracefs::find()?;
    tracefs.format("syscalls", &name).ok()?;
    Some(format!("tracepoint:syscalls:{name}"))
}
