//! The interactive console (`ferrotrace -i`), driven through its standard input and, for what
//! only a terminal has (completion, continuation at the prompt, Ctrl-C, output above the
//! line being typed), through a pseudo-terminal.

use std::process::Command;
use std::time::Duration;

use expectrl::session::OsSession;
use expectrl::{ControlCode, Eof, Expect, Session};

use super::{kernel_ready, openat_program, Comm};
use crate::support::process::{run, Console};

#[test]
fn typed_blocks_count_print_detach_and_save_as_a_script_that_runs() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let mut console = Console::start(&[]);
    let hostname = " && str(args.filename) == \"/etc/hostname\"";
    console.type_line(&openat_program(&comm, hostname, "@[str(args.filename)] = count();"));
    console.wait_for_stderr_line("[1] attached tracepoint:syscalls:sys_enter_openat (1 probe, ");
    comm.open_file("/etc/hostname", 2);
    console.type_line("@");
    assert_eq!(console.wait_for_stdout_line("@["), "@[/etc/hostname]: 2\n");
    let exec_block = format!("tracepoint:syscalls:sys_enter_execve /comm == \"{}\"/ {{\n  printf(\"exec by %s\\n\", comm);\n}}", comm.name());
    console.type_line(&exec_block);
    console.wait_for_stderr_line("[2] attached tracepoint:syscalls:sys_enter_execve (1 probe, ");
    comm.sh("/bin/true");
    assert_eq!(console.wait_for_stdout_line("exec by"), format!("exec by {}\n", comm.name()));
    console.type_line(":detach 1");
    console.wait_for_stderr_line("[1] detached");
    comm.open_file("/etc/hostname", 3);
    console.type_line(":probes");
    console.wait_for_stdout_line("  id  probe");
    let row = console.wait_for_stdout_line(" [");
    assert!(row.starts_with(" [2]  tracepoint:syscalls:sys_enter_execve"), "{row}");
    console.type_line("@");
    assert_eq!(console.wait_for_stdout_line("@["), "@[/etc/hostname]: 2\n", "the detached block went on counting");
    let saved = std::env::temp_dir().join(format!("ferrotrace-repl-{}.bt", comm.name()));
    console.type_line(&format!(":save {}", saved.display()));
    console.wait_for_stderr_line("saved ");
    let outcome = console.finish();
    assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
    assert!(outcome.stdout.ends_with("\n\n@[/etc/hostname]: 2\n"), "the maps are printed at the end:\n{}", outcome.transcript());
    let script = std::fs::read_to_string(&saved).expect("the saved script");
    assert_eq!(script, format!("#!/usr/bin/env ferrotrace\n{exec_block}\n"));
    let listed = run(&["-l", saved.to_str().expect("a UTF-8 path")]);
    let _ = std::fs::remove_file(&saved);
    listed.assert_exact(0, "tracepoint:syscalls:sys_enter_execve\n", "");
}

#[test]
fn the_saved_script_prints_what_the_block_printed() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let mut console = Console::start(&[]);
    console.type_line(&openat_program(&comm, "", "printf(\"open %s\\n\", str(args.filename));"));
    console.wait_for_stderr_line("[1] attached");
    comm.open_file("/etc/hostname", 1);
    let typed = console.wait_for_stdout_line("open ");
    let saved = std::env::temp_dir().join(format!("ferrotrace-repl-{}.bt", comm.name()));
    console.type_line(&format!(":save {}", saved.display()));
    console.wait_for_stderr_line("saved ");
    console.finish();
    let script = crate::support::process::Tracer::start(&[saved.to_str().expect("a UTF-8 path")]);
    comm.open_file("/etc/hostname", 1);
    std::thread::sleep(Duration::from_millis(200));
    let outcome = script.stop(libc::SIGINT);
    let _ = std::fs::remove_file(&saved);
    assert_eq!(outcome.stdout, format!("{typed}\n\n"), "{}", outcome.transcript());
}

#[test]
fn statements_run_once_and_expressions_print() {
    if !kernel_ready() {
        return;
    }
    let mut console = Console::start(&[]);
    console.type_line("printf(\"%d\\n\", 6 * 7)");
    assert_eq!(console.wait_for_stdout_line("4"), "42\n");
    console.type_line("@x = 5; @y[\"a\"] = 1;");
    console.type_line("@x");
    assert_eq!(console.wait_for_stdout_line("@x"), "@x: 5\n");
    console.type_line("1 << 10");
    assert_eq!(console.wait_for_stdout_line("1"), "1024\n");
    console.type_line(":type @y");
    assert_eq!(console.wait_for_stdout_line("@y"), "@y: [string[2]] -> int64\n");
    let outcome = console.finish();
    assert!(outcome.stdout.ends_with("@y: [string[2]] -> int64\n\n\n@x: 5\n@y[a]: 1\n"), "{}", outcome.transcript());
    assert_eq!(outcome.stderr, "");
}

#[test]
fn a_clash_with_a_running_block_is_a_diagnostic_and_the_block_keeps_running() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let mut console = Console::start(&[]);
    console.type_line(&openat_program(&comm, "", "@opens = count();"));
    console.wait_for_stderr_line("[1] attached");
    console.type_line("tracepoint:syscalls:sys_enter_close { @opens = 1; }");
    console.wait_for_stderr_line("error[E0402]");
    console.type_line("tracepoint:syscalls:sys_enter_close { @[comm] = count(); }");
    console.wait_for_stderr_line("[2] attached");
    console.type_line(&openat_program(&comm, "", "@[str(args.filename, 40)] = count();"));
    console.wait_for_stderr_line("error[E0801]");
    comm.open_file("/etc/hostname", 3);
    console.type_line("@opens");
    assert_eq!(console.wait_for_stdout_line("@opens"), "@opens: 3\n");
    console.type_line("begin { printf(\"%d\\n\", @nothing); }");
    console.wait_for_stderr_line("error[E0301]");
    console.type_line(":probes");
    console.wait_for_stdout_line(" [1]");
    console.wait_for_stdout_line(" [2]");
    console.type_line("interval:s:1 { @later = count(); }");
    console.wait_for_stderr_line("[3] attached");
    console.finish();
}

#[test]
fn a_file_given_to_i_attaches_first_and_exit_in_a_probe_ends_the_session() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let script = std::env::temp_dir().join(format!("ferrotrace-repl-{}.bt", comm.name()));
    std::fs::write(&script, "#!/usr/bin/env ferrotrace\nbegin { @started = 1; }\ninterval:ms:20 { @ticks = count(); }\n").expect("the script");
    let mut console = Console::start(&[script.to_str().expect("a UTF-8 path")]);
    console.wait_for_stderr_line("[1] attached begin, interval:ms:20 (2 probes, ");
    console.type_line("interval:ms:300 { exit(); }");
    console.wait_for_stderr_line("[2] attached interval:ms:300");
    let outcome = console.wait_for_exit();
    let _ = std::fs::remove_file(&script);
    assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
    assert!(outcome.stdout.starts_with("\n\n@started: 1\n@ticks: "), "the maps are printed at exit:\n{}", outcome.transcript());
}

#[test]
fn the_history_keeps_a_block_of_several_lines_as_one_entry() {
    if !kernel_ready() {
        return;
    }
    let mut session = terminal();
    session.send_line("begin {").expect("typing");
    session.send_line("  printf(\"two %s\\n\", \"lines\");").expect("typing");
    session.send_line("}").expect("typing");
    session.expect("two lines").expect("the block ran");
    session.expect(EMPTY_PROMPT).expect("the prompt");
    quit(session);
    let history = std::fs::read_to_string(history_dir().join("ferrotrace/history")).expect("the history file");
    assert!(history.contains("begin {\\n  printf(\"two %s\\\\n\", \"lines\");\\n}\n"), "{history}");
    let mut session = terminal();
    session.send("\x1b[A").expect("Up");
    session.expect("printf(\"two %s\\n\", \"lines\");").expect("the block back whole");
    session.send("\r").expect("Enter");
    session.expect("two lines").expect("the block ran again");
    session.expect(EMPTY_PROMPT).expect("the prompt");
    quit(session);
}

/// The prompt with nothing typed after it, as the line editor draws it (the cursor is then put
/// after it): a redraw of a line being typed has the text after the prompt instead.
const EMPTY_PROMPT: &str = "ferrotrace> \r";

/// Where the pseudo-terminal tests keep their history: `XDG_STATE_HOME`, one per test
/// thread, so that tests running at once do not share it.
fn history_dir() -> std::path::PathBuf {
    let thread = format!("{:?}", std::thread::current().id()).chars().filter(char::is_ascii_digit).collect::<String>();
    std::env::temp_dir().join(format!("ferrotrace-repl-state-{}-{thread}", std::process::id()))
}

/// What the editor writes as it starts reading a line (it turns bracketed paste on): after
/// Ctrl-C, keys sent before it are lost with the line, and a prompt drawn again under probe
/// output is no sign that the editor has read the Ctrl-C yet.
const READING: &str = "\x1b[?2004h";

/// `ferrotrace` on a pseudo-terminal, color off, with its own history file.
fn terminal() -> OsSession {
    let state = history_dir();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferrotrace"));
    command.env("NO_COLOR", "1").env("TERM", "xterm").env("XDG_STATE_HOME", &state).env_remove("RUST_BACKTRACE");
    let mut session = Session::spawn(command).expect("cannot start ferrotrace on a pseudo-terminal");
    session.set_expect_timeout(Some(crate::support::process::deadline()));
    session.expect("ferrotrace> ").expect("the prompt");
    session
}

/// Types `line` and waits for `answer` and the prompt after it: keys typed before the editor
/// reads again go to the terminal in its ordinary mode, where Ctrl-C and Ctrl-D are not keys.
fn answer(session: &mut OsSession, line: &str, answer: &str) {
    session.send_line(line).expect("typing");
    session.expect(answer).unwrap_or_else(|error| panic!("no `{answer}` after `{line}`: {error}"));
    session.expect(EMPTY_PROMPT).unwrap_or_else(|error| panic!("no prompt after `{line}`: {error}"));
}

/// Ends the session with Ctrl-D (typed at an empty prompt) and waits for the end of its
/// output.
fn quit(mut session: OsSession) {
    session.send(ControlCode::EndOfTransmission).expect("Ctrl-D");
    session.expect(Eof).expect("the console ends on Ctrl-D");
}

#[test]
fn tab_completes_tracepoints_and_the_fields_of_the_probe_being_typed() {
    if !kernel_ready() {
        return;
    }
    let mut session = terminal();
    session.send("tracepoint:syscalls:sys_enter_opena\t").expect("typing");
    session.expect("sys_enter_openat").expect("completed to the common prefix");
    session.send("\t\t").expect("tab");
    session.expect("tracepoint:syscalls:sys_enter_openat2").expect("both tracepoints listed");
    session.send(" { @[args.\t\t").expect("typing");
    session.expect("dfd").expect("the fields of sys_enter_openat");
    session.expect("filename").expect("the fields of sys_enter_openat");
    session.send(ControlCode::EndOfText).expect("Ctrl-C");
    session.expect(READING).expect("a new line read");
    session.send(":det\t").expect("typing");
    session.expect("detach").expect("the command completed");
    session.send(ControlCode::EndOfText).expect("Ctrl-C");
    session.expect(READING).expect("a new line read");
    quit(session);
}

#[test]
fn an_open_block_continues_on_the_next_line_and_output_comes_above_the_prompt() {
    if !kernel_ready() {
        return;
    }
    let mut session = terminal();
    session.send_line("interval:ms:100 {").expect("typing");
    session.send_line("  printf(\"tick %d\\n\", 7);").expect("typing");
    session.send_line("}").expect("typing");
    session.expect("[1] attached interval:ms:100").expect("the block attached once whole");
    session.send("@half_typ").expect("typing");
    session.expect("tick 7").expect("probe output while a line is being typed");
    session.expect("@half_typ").expect("the line being typed drawn again");
    session.send(ControlCode::EndOfText).expect("Ctrl-C clears the line");
    session.expect(READING).expect("a new line read");
    answer(&mut session, ":detach 1", "[1] detached");
    quit(session);
}

#[test]
fn the_prompt_answers_while_probes_print_as_fast_as_they_can() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let mut session = terminal();
    session.send_line(format!("tracepoint:syscalls:sys_enter_getppid /comm == \"{}\"/ {{ printf(\"flood %d\\n\", pid); @floods = count(); }}", comm.name())).expect("typing");
    session.expect("[1] attached").expect("attached");
    let flooding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let still = std::sync::Arc::clone(&flooding);
    let flood = std::thread::Builder::new()
        .name(comm.name().to_string())
        .spawn(move || {
            while still.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: getppid has no preconditions.
                unsafe { libc::getppid() };
            }
        })
        .expect("the flooding thread");
    session.expect("flood ").expect("the flood is printed");
    session.send_line("@floods").expect("typing");
    session.expect("@floods: ").expect("the map, while the probe floods the screen");
    flooding.store(false, std::sync::atomic::Ordering::Relaxed);
    flood.join().expect("the flooding thread");
    answer(&mut session, ":detach 1", "[1] detached");
    quit(session);
}

#[test]
fn ctrl_c_cancels_a_watch_and_never_ends_the_session() {
    if !kernel_ready() {
        return;
    }
    let mut session = terminal();
    session.send_line("interval:ms:50 { @ticks = count(); }").expect("typing");
    session.expect("[1] attached").expect("attached");
    session.send_line(":watch @ticks 200ms").expect("typing");
    session.expect("change over the last 200ms").expect("a second frame, of deltas");
    session.send(ControlCode::EndOfText).expect("Ctrl-C");
    session.expect(READING).expect("a new line read");
    session.send(ControlCode::EndOfText).expect("Ctrl-C at the prompt");
    session.expect(READING).expect("a new line read");
    answer(&mut session, "1 + 1", "2\r\n");
    answer(&mut session, ":probes", "[1]  interval:ms:50");
    quit(session);
}

#[test]
fn mistakes_at_the_prompt_are_named_and_change_nothing() {
    if !kernel_ready() {
        return;
    }
    let mut console = Console::start(&[]);
    console.type_line(":zork");
    assert_eq!(console.wait_for_stderr_line("ERROR"), "ERROR: unknown command `:zork` (did you mean `:zero`?); `:help` lists them\n");
    console.type_line(":detach 9");
    assert_eq!(console.wait_for_stderr_line("ERROR"), "ERROR: no block [9] is attached; `:probes` lists them\n");
    console.type_line("config = { max_probes = 2 }");
    console.wait_for_stderr_line("[1] defined");
    console.type_line("interval:s:1 { @a = count(); }");
    console.wait_for_stderr_line("[2] attached");
    console.type_line("interval:s:2, interval:s:3 { @b = count(); }");
    assert_eq!(
        console.wait_for_stderr_line("ERROR"),
        "ERROR: this block attaches 2 probes, and with the 1 attached already that is more than the 2 BPFTRACE_MAX_PROBES allows (`config = { max_probes = N }` raises it)\n"
    );
    console.type_line(":probes");
    console.wait_for_stdout_line(" [2]");
    console.finish();
}
