//! Functions of the standard library, run in the kernel: each result against what it must be.

use super::*;

#[test]
fn string_functions() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $s = "hello";
        printf("%d %d %d %d %d\n", strlen($s), strlen(""), strncmp($s, "help", 3), strncmp($s, "help", 4), strncmp("ab", "ab", 100));
        printf("%d %d %d %d %d\n", memcmp("abc", "abc", 3), memcmp("abc", "abd", 3), memcmp("abd", "abc", 3), memcmp($s, "help", 3), memcmp("hello world, x", "hello world, \xff", 20));
        exit();
    }"#;
    run(&["-q", "-e", program]).assert_exact(0, "5 0 0 1 0\n0 -1 1 0 121\n\n\n", "");
}

#[test]
fn integer_and_map_functions() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        @m[1, "a"] = 1;
        printf("%x %x %x %d %d\n", bswap((uint16)0x1234), bswap((uint32)0x12345678), bswap((uint8)0x12), has_key(@m, (1, "a")), has_key(@m, (2, "a")));
        exit();
    }"#;
    run(&["-q", "-e", program]).assert_exact(0, "3412 78563412 12 1 0\n\n\n@m[1, a]: 1\n", "");
}

/// `sw_tai` (boot time plus the TAI offset ferrotrace read at start) agrees with the kernel's
/// `tai` to 100 ms: a wrong offset is off by seconds, and an emulated guest's clocks, adjusted
/// while it runs, have drifted past 1 ms between the two.
#[test]
fn clocks_and_context_builtins() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $mono = nsecs(monotonic); $boot = nsecs(boot);
        $tai = nsecs(tai); $sw_tai = nsecs(sw_tai);
        $drift = $sw_tai > $tai ? $sw_tai - $tai : $tai - $sw_tai;
        printf("%d %d %d %d %d %d %d\n", $boot >= $mono, $mono > 0, jiffies > 0, cgroup > 0, numaid < 1024, __builtin_pid == pid, $drift < 100000000);
        exit();
    }"#;
    run(&["-q", "-e", program]).assert_exact(0, "1 1 1 1 1 1 1\n\n\n", "");
}

#[test]
fn substring_search() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $s = "hello world";
        $n = "o w";
        printf("%d %d %d %d %d %d\n", strcontains($s, "world"), strcontains($s, "xyz"), strstr($s, $n), strstr($s, "hello"), strstr($s, ""), strcontains($s, $s));
        exit();
    }"#;
    run(&["-q", "-e", program]).assert_exact(0, "1 0 4 0 0 1\n\n\n", "");
}

#[test]
fn map_length_cpu_count_and_wall_clock() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { @m[1] = 1; @m[2] = 2; @c[5] = count(); printf("%d %d %d|", len(@m), len(@c), ncpus > 0); time("%Y"); printf("\n"); exit(); }"#;
    let outcome = run(&["-q", "-e", program]);
    let first = outcome.stdout.lines().next().unwrap_or_default().to_string();
    let (numbers, year) = first.split_once('|').unwrap_or_default();
    assert_eq!(numbers, "2 1 1", "{}", outcome.transcript());
    assert!(year.len() == 4 && year.parse::<u32>().is_ok_and(|y| y >= 2024), "{}", outcome.transcript());
}

#[test]
fn unsafe_functions_need_the_flag() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { system("echo %s from sh", "hi"); cat("/proc/sys/kernel/ostype"); exit(); }"#;
    run(&["-q", "--unsafe", "-e", program]).assert_exact(0, "hi from sh\nLinux\n\n\n", "");
    let refused = run(&["-q", "-e", program]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stderr.contains("error[E0517]: `system` is unsafe"), "{}", refused.transcript());
}

#[test]
fn signal_reaches_the_traced_process() {
    use std::os::unix::process::ExitStatusExt;
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(r#"tracepoint:syscalls:sys_enter_getppid /comm == "{}"/ {{ signal("SIGKILL"); exit(); }}"#, comm.name());
    let tracer = Tracer::start(&["--unsafe", "-e", &program]);
    let status = support::syscalls::run_for_status(&comm, support::syscalls::Abi::X86_64, &[(110, 0)], 0);
    tracer.finish().assert_exact(0, "\n\n", ATTACHED_1);
    assert_eq!(status.signal(), Some(9), "{status}");
}

#[test]
fn type_questions_are_constants() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { $s = "x"; printf("%d %d %d %d %d %d\n", is_integer(pid), is_unsigned_integer(-1), is_str($s), is_str(1), is_literal(1), is_literal($s)); exit(); }"#;
    run(&["-q", "-e", program]).assert_exact(0, "1 0 1 0 1 0\n\n\n", "");
}

#[test]
fn join_prints_an_argument_vector() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(r#"tracepoint:syscalls:sys_enter_execve /comm == "{}"/ {{ join(args.argv, ","); exit(); }}"#, comm.name());
    let tracer = Tracer::start(&["-e", &program]);
    comm.sh("exec /bin/true one two");
    tracer.finish().assert_exact(0, "/bin/true,one,two\n\n\n", ATTACHED_1);
}

/// Numbers the probe keeps and ferrotrace prints by name, with the constants of the headers
/// scripts include for them.
#[test]
fn errno_signal_and_syscall_names() {
    if !kernel_ready() {
        return;
    }
    let program = r#"#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
begin {
    print(strerror(EPERM));
    printf("%s|%s|%s|%s|%s\n", strerror(-EBADF), strerror(0), signal_name(SIGINT), signal_name(35), signal_name(99));
    printf("%s|%s|%s\n", syscall_name(__NR_openat), syscall_name(SYS_uname), syscall_name(100000));
    @errors[strerror(ENOENT)] = count();
    @errors[strerror(-2)] = count();
    exit();
}"#;
    let expected = "Operation not permitted\nBad file number|Success|Interrupt|Real-time signal 1|N/A\nopenat|uname|Unknown syscall\n\n\n@errors[No such file or directory]: 2\n";
    run(&["-q", "-e", program]).assert_exact(0, expected, "");
}

/// `username` names the uid as `/etc/passwd` does (the number where no user has it), and
/// `strftime` formats a probe's timestamp as the same local date `time` prints, whether it is
/// boot time or TAI, and a TAI one kept in a map too.
#[test]
fn user_names_and_timestamps() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $tai = nsecs(tai); @kept = $tai;
        printf("%s %d|%s|%s|%s|", username, uid, strftime("%Y-%m-%d %H", nsecs), strftime("%f", $tai), strftime("%Y-%m-%d %H", @kept));
        time("%Y-%m-%d %H\n"); clear(@kept); exit();
    }"#;
    let outcome = run(&["-q", "-e", program]);
    let first = outcome.stdout.lines().next().unwrap_or_default().to_string();
    let fields: Vec<&str> = first.split('|').collect();
    let [user, stamp, micros, kept, now] = fields[..] else { panic!("{}", outcome.transcript()) };
    let (name, uid) = user.split_once(' ').unwrap_or_default();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let expected_name = passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.len() > 2 && fields[2] == uid)
        .map_or(uid.to_string(), |fields| fields[0].to_string());
    assert_eq!(name, expected_name, "{}", outcome.transcript());
    assert_eq!(stamp, now, "{}", outcome.transcript());
    assert_eq!(kept, now, "{}", outcome.transcript());
    assert!(micros.len() == 6 && micros.parse::<u32>().is_ok(), "{}", outcome.transcript());
}

#[test]
fn find_reads_a_value_into_a_variable() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        @map[2] = (1, "hello");
        let $val;
        if (find(@map, 2, $val)) { print($val); }
        if (!find(@map, 3, $val)) { printf("no 3, still %s\n", $val.1); }
        @n[1, "a"] = 5;
        let $x;
        $ok = find(@n, (1, "a"), $x);
        printf("%d %d\n", $ok, $x);
        exit();
    }"#;
    let expected = "(1, hello)\nno 3, still hello\n1 5\n\n\n@map[2]: (1, hello)\n@n[1, a]: 5\n";
    run(&["-q", "-e", program]).assert_exact(0, expected, "");
}

/// `comptime`, `if comptime`, `static_assert` and the constants they decide on, and the
/// string functions that build new strings.
#[test]
fn compile_time_choices_and_new_strings() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        if comptime (probetype == "special") { printf("%s %s %d\n", probetype, __builtin_arch, __builtin_safe_mode); }
        else { fail("not reached: %s", "dropped"); }
        static_assert(is_str("a") && 2 * 3 == 6, "holds");
        assert_str(comm);
        $n = comptime (3 * 4);
        $s = str_concat("hello ", "world");
        printf("%d %s %d %d\n", $n, $s, strcap($s), strlen($s));
        @joined[str_concat("a", "b")] = count();
        @joined[str_concat("a", "b")] = count();
        exit();
    }"#;
    let expected = format!("special {} 1\n12 hello world 12 11\n\n\n@joined[ab]: 2\n", std::env::consts::ARCH);
    run(&["-q", "-e", program]).assert_exact(0, &expected, "");
}

/// `debugf` writes to the kernel's trace buffer, with a warning that it is for debugging.
/// Removing a kprobe event clears that buffer, and other tests remove theirs at any time: the
/// line is looked for after each of a few runs.
#[test]
fn debugf_writes_to_the_trace_buffer() {
    if !kernel_ready() {
        return;
    }
    let mut attempts = Vec::new();
    for attempt in 0..5 {
        let token = format!("{}-{attempt}", std::process::id());
        let program = format!(r#"begin {{ debugf("ferrotrace-debugf %s %s %x", "{token}", "text", 255); exit(); }}"#);
        let outcome = run(&["-q", "-e", &program]);
        assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
        assert!(outcome.stderr.contains("warning[W0407]"), "{}", outcome.transcript());
        let trace = ["/sys/kernel/tracing/trace", "/sys/kernel/debug/tracing/trace"]
            .iter()
            .find_map(|path| std::fs::read_to_string(path).ok())
            .expect("tracefs is mounted once ferrotrace has run");
        let line = format!("ferrotrace-debugf {token} text ff");
        if trace.lines().any(|l| l.ends_with(&line)) {
            return;
        }
        attempts.push(trace.lines().rev().take(3).map(str::to_string).collect::<Vec<_>>());
    }
    panic!("no run's line reached the trace buffer; each time it ended {attempts:?}");
}

/// `buf` reads bytes of a string or of memory; `%r`, `%rx` and `%rh` print them.
#[test]
fn buffers_print_their_bytes() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $s = "ab\ncd\x01";
        $n = 3;
        printf("%r|%rx|%rh|%r|%r\n", buf($s, 6), buf($s, 2), buf("xyz", 3), buf($s, $n), buf($s, 0));
        print(buf("hi", 2));
        @b[buf("k", 1)] = count();
        @b[buf("k", 1)] = count();
        exit();
    }"#;
    let expected = "ab\\x0acd\\x01|\\x61\\x62|78 79 7a|ab\\x0a|\nhi\n\n\n@b[k]: 2\n";
    run(&["-q", "-e", program]).assert_exact(0, expected, "");
}

/// `ppid`, `pcomm`, `leader_tid` and `leader_comm` read the task's relatives through BTF
/// offsets: here a named thread of this test process, whose leader is the process itself.
#[test]
fn parent_and_leader_of_the_current_task() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let body = r#"printf("%d %s %d %s\n", ppid, pcomm, leader_tid, leader_comm); exit();"#;
    let program = openat_program(&comm, "", body);
    let tracer = Tracer::start(&["-e", &program]);
    comm.open_file("/dev/null", 1);
    let outcome = tracer.finish();
    let own_comm = |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim_end().to_string();
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() } as u32;
    let leader = std::process::id();
    let expected = format!("{parent} {} {leader} {}\n\n\n", own_comm(parent), own_comm(leader));
    outcome.assert_exact(0, &expected, ATTACHED_1);
}

/// `usermode` tells samples of a shell's arithmetic loop (user code) apart by the saved `cs`.
#[test]
fn usermode_sees_user_code_running() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(r#"profile:hz:997 /comm == "{}"/ {{ @[usermode] = count(); }}"#, comm.name());
    let tracer = Tracer::start(&["-e", &program]);
    comm.sh("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done");
    let outcome = tracer.stop(libc::SIGINT);
    assert!(outcome.stdout.contains("@[1]: "), "no sample in user mode:\n{}", outcome.transcript());
}

/// `ntop` prints integers and 4- or 16-byte buffers as IP addresses, `pton` makes those bytes,
/// `macaddr` prints six of them.
#[test]
fn network_addresses() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        printf("%s %s %s %s\n", ntop(0x0100007f), ntop(pton("10.1.2.3")), ntop(10, pton("fe80::1")), ntop(2, 0x0101a8c0));
        print(macaddr(buf("\x18\xc0\x4d\x08\x2e\xbb", 6)));
        @[ntop(pton("1.1.1.1"))] = count();
        exit();
    }"#;
    let expected = "127.0.0.1 10.1.2.3 fe80::1 192.168.1.1\n18:C0:4D:08:2E:BB\n\n\n@[1.1.1.1]: 1\n";
    run(&["-q", "-e", program]).assert_exact(0, expected, "");
}

/// `pid` and `tid` are seen from ferrotrace's PID namespace by default and from the initial
/// one with `init`: in a new namespace ferrotrace itself, which runs `begin`, is 1.
#[test]
fn pid_and_tid_are_seen_from_ferrotraces_namespace() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { printf("%d %d %d %d\n", pid, tid(curr_ns), pid(init), tid(init)); exit(); }"#;
    let host = run(&["-q", "-e", program]);
    let ids: Vec<&str> = host.stdout.split_whitespace().collect();
    assert!(ids.len() == 4 && ids.iter().all(|id| *id == ids[0]) && ids[0] != "1", "{}", host.transcript());
    let inner = run_in_new_pid_namespace(&["-q", "-e", program]);
    let ids: Vec<&str> = inner.stdout.split_whitespace().collect();
    let [pid, tid, init_pid, init_tid] = ids[..] else { panic!("{}", inner.transcript()) };
    assert_eq!((pid, tid), ("1", "1"), "{}", inner.transcript());
    assert!(init_pid == init_tid && init_pid.parse::<u32>().is_ok_and(|id| id > 1), "{}", inner.transcript());
}


/// `cgroupid` reads a cgroup directory's id while compiling, the same id `cgroup` gives in the
/// probe, and `cgroup_path` prints an id as its path in each matching hierarchy. A guest
/// without cgroup v2 mounted gets it mounted at `/sys/fs/cgroup`.
#[test]
fn cgroup_ids_and_paths() {
    if !kernel_ready() {
        return;
    }
    let v2_roots = || -> Vec<String> {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        mounts.lines().filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() > 2 && fields[2] == "cgroup2").then(|| fields[1].to_string())
        }).collect()
    };
    if v2_roots().is_empty() {
        let status = std::process::Command::new("mount").args(["-t", "cgroup2", "none", "/sys/fs/cgroup"]).status();
        assert!(status.is_ok_and(|s| s.success()), "cannot mount cgroup v2 at /sys/fs/cgroup");
    }
    let roots = v2_roots();
    let root = &roots[0];
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let own = own.lines().find_map(|line| line.strip_prefix("0::")).unwrap_or("/").to_string();
    let child = format!("ferrotrace-test-{}", std::process::id());
    let child_dir = format!("{root}/{child}");
    std::fs::create_dir(&child_dir).expect("cannot make a cgroup");
    let own_dir = format!("{root}{}", if own == "/" { String::new() } else { own.clone() });
    let program = format!(
        r#"begin {{ printf("%d|%s|%s\n", cgroupid("{own_dir}") == cgroup, cgroup_path(cgroupid("{child_dir}"), "unified"), cgroup_path(cgroup, "no-such-hierarchy")); exit(); }}"#
    );
    let outcome = run(&["-q", "-e", &program]);
    let _ = std::fs::remove_dir(&child_dir);
    let each_root = vec![format!("unified:/{child}"); roots.len()].join(",");
    outcome.assert_exact(0, &format!("1|{each_root}|\n\n\n"), "");
}
