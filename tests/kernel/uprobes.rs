//! uprobes, uretprobes and USDT probes on the test's own target program
//! (`targets/ferrotrace-target`): exact call counts under `-c` (the probes fire only in the
//! command), arguments, return values and user strings, wildcards with and without uprobe_multi
//! links, offsets, a running process under `-p`, a library found by name, USDT arguments and a
//! probe guarded by a semaphore, `-l`, and the errors for a missing binary or function. Paths
//! differ between machines, so outputs that name them are built from the target's path.

use super::*;
use crate::support::kernel_config::RunningKernel;
use crate::support::target_program;

/// The running kernel when the kernel tests can run there and it has uprobes.
fn kernel_with_uprobes() -> Option<RunningKernel> {
    if !kernel_ready() {
        return None;
    }
    let kernel = RunningKernel::read_or_skip()?;
    kernel.has_feature("uprobe").then_some(kernel)
}

/// Held by each test that attaches the semaphore-guarded probe. The kernel counts a semaphore
/// once per process, when the first uprobe on the probe reaches the process: a host-wide probe
/// of one test, attached while another test's command is loaded, would count it in the
/// mapping the dynamic loader makes read-only and leave the other test's probe uncounted.
static SEMAPHORE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn semaphore_to_ourselves() -> std::sync::MutexGuard<'static, ()> {
    SEMAPHORE.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `program` with `-c` starting the target program with `args`.
fn run_on_target(program: &str, args: &str) -> Outcome {
    run(&["-e", program, "-c", &format!("{} {args}", target_program::path())])
}

#[test]
fn uprobe_counts_every_call_of_the_command() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let outcome = run_on_target(&format!("uprobe:{target}:ft_tick {{ @ = count(); }}"), "count 1000");
    outcome.assert_exact(0, "\n\n@: 1000\n", ATTACHED_1);
}

#[test]
fn arguments_return_values_and_function_names() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let program = format!(
        "u:{target}:ft_add {{ printf(\"%d %d\\n\", arg0, arg1); }} ur:{target}:ft_add {{ printf(\"%d %s\\n\", (int64)retval, func); }}"
    );
    run_on_target(&program, "add 2").assert_exact(0, "-3 10\n7 ft_add\n-3 10\n7 ft_add\n\n\n", "Attached 2 probes\n");
}

/// Under `-c` a uretprobe fires only in the command, also where the kernel's own filter would
/// let it fire in every process returning through the function (Debian's 6.1 and 6.12).
#[test]
fn command_uretprobes_fire_only_in_the_command() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let tracer = Tracer::start(&["-e", &format!("ur:{target}:ft_add {{ @returns = count(); }}"), "-c", "sleep 1"]);
    let other = std::process::Command::new(target).args(["add", "2"]).output().expect("the target program runs");
    assert!(other.status.success(), "the target failed: {}", String::from_utf8_lossy(&other.stderr));
    tracer.finish().assert_exact(0, "\n\n@returns: 0\n", ATTACHED_1);
}

/// `arg6` and `arg7` of an eight-argument function are the caller's stack words above the
/// return address, `sarg0` and `sarg1`, and its parameters `g` and `h` by name.
#[test]
fn arguments_past_the_registers_are_read_from_the_stack() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let program = format!("uprobe:{target}:ft_many {{ printf(\"%d %d %d %d %d %d %d\\n\", arg5, arg6, arg7, sarg0, sarg1, args.g, args.h); }}");
    run_on_target(&program, "many 1").assert_exact(0, "6 7 8 7 8 7 8\n\n\n", ATTACHED_1);
}

/// `ctx` in a uprobe is the saved registers, `struct pt_regs *`: the arguments in `di` and
/// `si`, the probed instruction in `ip`.
#[test]
fn ctx_is_the_saved_registers() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let program = format!("uprobe:{target}:ft_add {{ printf(\"%d %d %d\\n\", ctx->di, ctx->si, ctx->ip == reg(\"ip\")); }}");
    run_on_target(&program, "add 2").assert_exact(0, "-3 10 1\n-3 10 1\n\n\n", ATTACHED_1);
}

#[test]
fn str_reads_a_user_string() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let program = format!("uprobe:{target}:ft_greet {{ printf(\"%s %d\\n\", str(arg0), strlen(str(arg0))); }}");
    run_on_target(&program, "greet 1").assert_exact(0, "ferrotrace 10\n\n\n", ATTACHED_1);
}

/// The target is built with debug info: its functions' parameters by name, a pointer's string
/// and the struct another points at read from user memory, `args` as a record, and a
/// uretprobe's `retval` typed as the function returns it (`i32`: negative).
#[test]
fn parameters_by_name_from_debug_info() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let program = format!("uprobe:{target}:ft_add {{ printf(\"%d %d\\n\", args.a, args.b); }}");
    run_on_target(&program, "add 2").assert_exact(0, "-3 10\n-3 10\n\n\n", ATTACHED_1);
    let program = format!("uprobe:{target}:ft_greet {{ printf(\"%s\\n\", str(args.name)); }}");
    run_on_target(&program, "greet 1").assert_exact(0, "ferrotrace\n\n\n", ATTACHED_1);
    let program = format!(
        "uprobe:{target}:ft_point {{ $p = args.point; printf(\"%d %d %s %d\\n\", $p->x, $p->y, str($p->label), args.scale); print(args.scale); }} ur:{target}:ft_point {{ print(retval); }}"
    );
    run_on_target(&program, "point 1").assert_exact(0, "3 -4 origin 2\n2\n-2\n\n\n", "Attached 2 probes\n");
}

/// `-lv` lists a function's parameters as its debug info types them; one without any lists none.
#[test]
fn listing_parameters() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let listed = format!("uprobe:{target}:ft_point\n    struct FtPoint * point\n    i32 scale\n");
    run(&["-lv", &format!("uprobe:{target}:ft_p*")]).assert_exact(0, &listed, "");
    // `ft_watch` is written in assembly: its debug info does not describe it.
    run(&["-lv", &format!("uprobe:{target}:ft_wa*")]).assert_exact(0, &format!("uprobe:{target}:ft_watch\n"), "");
}

/// One uprobe_multi link where the kernel has them (one probe as bpftrace counts it), one perf
/// event per function otherwise or with `--no-feature uprobe_multi`; `func` makes each
/// function's program its own, each with a probe of its own.
#[test]
fn wildcards_attach_every_matching_function() {
    let Some(kernel) = kernel_with_uprobes() else { return };
    let target = target_program::path();
    let program = format!("uprobe:{target}:ft_wild_* {{ @[probe] = count(); }}");
    let expected = &format!("\n\n@[uprobe:{target}:ft_wild_one]: 3\n@[uprobe:{target}:ft_wild_two]: 3\n");
    let attached = if kernel.has_feature("uprobe_multi") { ATTACHED_1 } else { "Attached 2 probes\n" };
    run_on_target(&program, "wild 3").assert_exact(0, expected, attached);
    let command = format!("{target} wild 3");
    run(&["--no-feature", "uprobe_multi", "-e", &program, "-c", &command]).assert_exact(0, expected, "Attached 2 probes\n");
    let program = format!("uprobe:{target}:ft_wild_* {{ @[func] = count(); }}");
    run_on_target(&program, "wild 3").assert_exact(0, "\n\n@[ft_wild_one]: 3\n@[ft_wild_two]: 3\n", "Attached 2 probes\n");
}

#[test]
fn offsets_and_demangled_names() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    run_on_target(&format!("uprobe:{target}:ft_add+4 {{ @ = count(); }}"), "add 5").assert_exact(0, "\n\n@: 5\n", ATTACHED_1);
    let program = format!("uprobe:{target}:\"ferrotrace_target::mangled_work\" {{ @ = sum(arg0); }}");
    run_on_target(&program, "mangled 4").assert_exact(0, "\n\n@: 6\n", ATTACHED_1);
}

/// `uprobe:libc:getpid` is the libc the dynamic linker finds, which the target maps.
#[test]
fn a_library_is_found_by_name() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    run_on_target("uprobe:libc:getpid { @ = count(); }", "getpid 7").assert_exact(0, "\n\n@: 7\n", ATTACHED_1);
}

/// A process already running: `-p` attaches to it alone, `uprobe:function` is its program's,
/// and a semaphore-guarded USDT probe fires once its semaphore is counted.
#[test]
fn a_running_process_under_p() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let _semaphore = semaphore_to_ourselves();
    for (action, program, expected) in [
        ("count 50", "uprobe:ft_tick { @ = count(); }".to_string(), "\n\n@: 50\n"),
        ("usdt 3", format!("usdt:{target}:guarded {{ @ = sum(arg0); }}"), "\n\n@: 126\n"),
    ] {
        let mut process = std::process::Command::new(target)
            .args(["wait"])
            .args(action.split(' '))
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("the target program starts");
        let pid = process.id().to_string();
        let tracer = Tracer::start(&["-p", &pid, "-e", &program]);
        let _ = std::io::Write::write_all(process.stdin.as_mut().expect("a piped stdin"), b"go\n");
        let _ = process.wait();
        tracer.finish().assert_exact(0, expected, ATTACHED_1);
    }
}

/// A binary path with wildcards is every ELF file it matches; one without the function is
/// passed over, and `-l` lists by the same pattern.
#[test]
fn a_binary_path_with_wildcards() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let (directory, _) = target.rsplit_once('/').expect("the target is a path");
    let pattern = format!("{directory}/ferrotrace-t?rget*");
    run_on_target(&format!("uprobe:{pattern}:ft_tick {{ @[probe] = count(); }}"), "count 4")
        .assert_exact(0, &format!("\n\n@[uprobe:{target}:ft_tick]: 4\n"), ATTACHED_1);
    run(&["-l", &format!("uprobe:{pattern}:ft_ti*")]).assert_exact(0, &format!("uprobe:{target}:ft_tick\n"), "");
}

/// `uprobe:*:function` without `-p` is every binary some process maps that has the function:
/// the target program started before ferrotrace (kept to it by its pid, since other tests run
/// the same program).
#[test]
fn uprobe_in_every_binary_of_the_host() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let mut process = std::process::Command::new(target)
        .args(["wait", "count", "5"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("the target program starts");
    let program = format!("uprobe:*:ft_tick /pid == {}/ {{ @[probe] = count(); }}", process.id());
    let tracer = Tracer::start(&["-e", &program]);
    let _ = std::io::Write::write_all(process.stdin.as_mut().expect("a piped stdin"), b"go\n");
    let _ = process.wait();
    tracer.stop(libc::SIGINT).assert_exact(0, &format!("\n\n@[uprobe:{target}:ft_tick]: 5\n"), ATTACHED_1);
}

/// `usdt:*:name` without `-p` is every binary some process maps: the target program's
/// semaphore-guarded probe fires in a process started before ferrotrace (kept to it by its
/// pid, since other tests run the same program).
#[test]
fn usdt_in_every_binary_of_the_host() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let _semaphore = semaphore_to_ourselves();
    let mut process = std::process::Command::new(target)
        .args(["wait", "usdt", "3"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("the target program starts");
    let program = format!("usdt:*:guarded /pid == {}/ {{ @[probe] = sum(arg0); }}", process.id());
    let tracer = Tracer::start(&["-e", &program]);
    let _ = std::io::Write::write_all(process.stdin.as_mut().expect("a piped stdin"), b"go\n");
    let _ = process.wait();
    tracer.stop(libc::SIGINT).assert_exact(0, &format!("\n\n@[usdt:{target}:ferrotrace:guarded]: 126\n"), ATTACHED_1);
}

#[test]
fn usdt_arguments_by_their_specs() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let program = format!("usdt:{target}:ferrotrace:numbers {{ printf(\"%d %d %ld\\n\", arg0, arg1, arg2); }}");
    run_on_target(&program, "usdt 3").assert_exact(0, "-5 0 20015998343868\n-5 1 20015998343868\n-5 2 20015998343868\n\n\n", ATTACHED_1);
}

/// A semaphore-guarded USDT probe of a command `-c` starts fires: the command is held at its
/// entry point, past the dynamic loader, for the probe to count the semaphore the program reads.
/// The target links its semaphores on the file page its RELRO segment ends on
/// (`semaphores-first.ld`), where a semaphore counted before `exec` is counted in the wrong
/// mapping. The uprobe on `main`, attached before the command was let run, fires beside it.
#[test]
fn usdt_semaphore_of_a_command() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let _semaphore = semaphore_to_ourselves();
    let program = format!("usdt:{target}:guarded {{ @guarded = sum(arg0); }} uprobe:{target}:main {{ @main = count(); }}");
    run_on_target(&program, "usdt 3").assert_exact(0, "\n\n@guarded: 126\n@main: 1\n", "Attached 2 probes\n");
}

/// `8@FT_GLOBALS(%rip)` and `-4@FT_GLOBALS+8(%rip)`: globals named by symbol, read at their
/// distance from the probe in the loaded (position-independent) program.
#[test]
fn usdt_arguments_by_symbol() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let program = format!("usdt:{target}:ferrotrace:globals {{ printf(\"%lx %d\\n\", arg0, arg1); }}");
    run_on_target(&program, "usdt 2").assert_exact(0, "1122334455667788 -7\n1122334455667788 -7\n\n\n", ATTACHED_1);
}

#[test]
fn listing_a_binary() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let target = target_program::path();
    let functions: String = ["ft_add", "ft_greet", "ft_many", "ft_point", "ft_tick", "ft_usdt_globals", "ft_watch", "ft_wild_one", "ft_wild_two"].iter().map(|f| format!("uprobe:{target}:{f}\n")).collect();
    run(&["-l", &format!("uprobe:{target}:ft_*")]).assert_exact(0, &functions, "");
    let probes = format!(
        "usdt:{target}:ferrotrace:globals\n    arg0: uint64 (8@FT_GLOBALS(%rip))\n    arg1: int32 (-4@FT_GLOBALS+8(%rip))\nusdt:{target}:ferrotrace:numbers\n    arg0: int64 (-8@%rax)\n    arg1: int64 (-8@%rcx)\n    arg2: int64 (-8@%rdx)\nusdt:{target}:ferrotrace:guarded\n    arg0: int64 (-8@%rax)\n"
    );
    run(&["-lv", &format!("U:{target}:*")]).assert_exact(0, &probes, "");
}

#[test]
fn missing_binaries_and_functions_are_errors() {
    if kernel_with_uprobes().is_none() {
        return;
    }
    let outcome = run_program("uprobe:/nonexistent/ferrotrace-target:main { }");
    assert_transcript!("uprobe:/nonexistent/ferrotrace-target:main { }", outcome);
    let target = target_program::path();
    let outcome = run_program(&format!("uprobe:{target}:ft_tik {{ }}"));
    assert_eq!(outcome.status.code(), Some(1));
    assert!(outcome.stderr.contains("error[E0219]") && outcome.stderr.contains("did you mean `ft_tick`?"), "{}", outcome.stderr);
}
