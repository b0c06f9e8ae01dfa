//! The kernel's numbered names that scripts write and output prints: errno values with the
//! kernel's messages, signals with their descriptions, and the constants the C headers of
//! bpftrace scripts (`<errno.h>`, `<signal.h>`, `<sys/syscall.h>`, the network headers'
//! address families, `<linux/sched.h>`'s task states and clone flags, `<fcntl.h>`'s open
//! flags) would define.

use crate::syscalls::Arch;

/// `(number, name, message)` for each errno the kernel defines, by the kernel's comments.
const ERRNOS: &[(u16, &str, &str)] = &[
    (1, "EPERM", "Operation not permitted"),
    (2, "ENOENT", "No such file or directory"),
    (3, "ESRCH", "No such process"),
    (4, "EINTR", "Interrupted system call"),
    (5, "EIO", "I/O error"),
    (6, "ENXIO", "No such device or address"),
    (7, "E2BIG", "Argument list too long"),
    (8, "ENOEXEC", "Exec format error"),
    (9, "EBADF", "Bad file number"),
    (10, "ECHILD", "No child processes"),
    (11, "EAGAIN", "Try again (operation would block)"),
    (12, "ENOMEM", "Out of memory"),
    (13, "EACCES", "Permission denied"),
    (14, "EFAULT", "Bad address"),
    (15, "ENOTBLK", "Block device required"),
    (16, "EBUSY", "Device or resource busy"),
    (17, "EEXIST", "File exists"),
    (18, "EXDEV", "Cross-device link"),
    (19, "ENODEV", "No such device"),
    (20, "ENOTDIR", "Not a directory"),
    (21, "EISDIR", "Is a directory"),
    (22, "EINVAL", "Invalid argument"),
    (23, "ENFILE", "File table overflow"),
    (24, "EMFILE", "Too many open files"),
    (25, "ENOTTY", "Not a typewriter"),
    (26, "ETXTBSY", "Text file busy"),
    (27, "EFBIG", "File too large"),
    (28, "ENOSPC", "No space left on device"),
    (29, "ESPIPE", "Illegal seek"),
    (30, "EROFS", "Read-only file system"),
    (31, "EMLINK", "Too many links"),
    (32, "EPIPE", "Broken pipe"),
    (33, "EDOM", "Math argument out of domain of func"),
    (34, "ERANGE", "Math result not representable"),
    (35, "EDEADLK", "Resource deadlock would occur"),
    (36, "ENAMETOOLONG", "File name too long"),
    (37, "ENOLCK", "No record locks available"),
    (38, "ENOSYS", "Invalid system call number"),
    (39, "ENOTEMPTY", "Directory not empty"),
    (40, "ELOOP", "Too many symbolic links encountered"),
    (42, "ENOMSG", "No message of desired type"),
    (43, "EIDRM", "Identifier removed"),
    (44, "ECHRNG", "Channel number out of range"),
    (45, "EL2NSYNC", "Level 2 not synchronized"),
    (46, "EL3HLT", "Level 3 halted"),
    (47, "EL3RST", "Level 3 reset"),
    (48, "ELNRNG", "Link number out of range"),
    (49, "EUNATCH", "Protocol driver not attached"),
    (50, "ENOCSI", "No CSI structure available"),
    (51, "EL2HLT", "Level 2 halted"),
    (52, "EBADE", "Invalid exchange"),
    (53, "EBADR", "Invalid request descriptor"),
    (54, "EXFULL", "Exchange full"),
    (55, "ENOANO", "No anode"),
    (56, "EBADRQC", "Invalid request code"),
    (57, "EBADSLT", "Invalid slot"),
    (59, "EBFONT", "Bad font file format"),
    (60, "ENOSTR", "Device not a stream"),
    (61, "ENODATA", "No data available"),
    (62, "ETIME", "Timer expired"),
    (63, "ENOSR", "Out of streams resources"),
    (64, "ENONET", "Machine is not on the network"),
    (65, "ENOPKG", "Package not installed"),
    (66, "EREMOTE", "Object is remote"),
    (67, "ENOLINK", "Link has been severed"),
    (68, "EADV", "Advertise error"),
    (69, "ESRMNT", "Srmount error"),
    (70, "ECOMM", "Communication error on send"),
    (71, "EPROTO", "Protocol error"),
    (72, "EMULTIHOP", "Multihop attempted"),
    (73, "EDOTDOT", "RFS specific error"),
    (74, "EBADMSG", "Not a data message"),
    (75, "EOVERFLOW", "Value too large for defined data type"),
    (76, "ENOTUNIQ", "Name not unique on network"),
    (77, "EBADFD", "File descriptor in bad state"),
    (78, "EREMCHG", "Remote address changed"),
    (79, "ELIBACC", "Can not access a needed shared library"),
    (80, "ELIBBAD", "Accessing a corrupted shared library"),
    (81, "ELIBSCN", ".lib section in a.out corrupted"),
    (82, "ELIBMAX", "Attempting to link in too many shared libraries"),
    (83, "ELIBEXEC", "Cannot exec a shared library directly"),
    (84, "EILSEQ", "Illegal byte sequence"),
    (85, "ERESTART", "Interrupted system call should be restarted"),
    (86, "ESTRPIPE", "Streams pipe error"),
    (87, "EUSERS", "Too many users"),
    (88, "ENOTSOCK", "Socket operation on non-socket"),
    (89, "EDESTADDRREQ", "Destination address required"),
    (90, "EMSGSIZE", "Message too long"),
    (91, "EPROTOTYPE", "Protocol wrong type for socket"),
    (92, "ENOPROTOOPT", "Protocol not available"),
    (93, "EPROTONOSUPPORT", "Protocol not supported"),
    (94, "ESOCKTNOSUPPORT", "Socket type not supported"),
    (95, "EOPNOTSUPP", "Operation not supported on transport endpoint"),
    (96, "EPFNOSUPPORT", "Protocol family not supported"),
    (97, "EAFNOSUPPORT", "Address family not supported by protocol"),
    (98, "EADDRINUSE", "Address already in use"),
    (99, "EADDRNOTAVAIL", "Cannot assign requested address"),
    (100, "ENETDOWN", "Network is down"),
    (101, "ENETUNREACH", "Network is unreachable"),
    (102, "ENETRESET", "Network dropped connection because of reset"),
    (103, "ECONNABORTED", "Software caused connection abort"),
    (104, "ECONNRESET", "Connection reset by peer"),
    (105, "ENOBUFS", "No buffer space available"),
    (106, "EISCONN", "Transport endpoint is already connected"),
    (107, "ENOTCONN", "Transport endpoint is not connected"),
    (108, "ESHUTDOWN", "Cannot send after transport endpoint shutdown"),
    (109, "ETOOMANYREFS", "Too many references: cannot splice"),
    (110, "ETIMEDOUT", "Connection timed out"),
    (111, "ECONNREFUSED", "Connection refused"),
    (112, "EHOSTDOWN", "Host is down"),
    (113, "EHOSTUNREACH", "No route to host"),
    (114, "EALREADY", "Operation already in progress"),
    (115, "EINPROGRESS", "Operation now in progress"),
    (116, "ESTALE", "Stale file handle"),
    (117, "EUCLEAN", "Structure needs cleaning"),
    (118, "ENOTNAM", "Not a XENIX named type file"),
    (119, "ENAVAIL", "No XENIX semaphores available"),
    (120, "EISNAM", "Is a named type file"),
    (121, "EREMOTEIO", "Remote I/O error"),
    (122, "EDQUOT", "Quota exceeded"),
    (123, "ENOMEDIUM", "No medium found"),
    (124, "EMEDIUMTYPE", "Wrong medium type"),
    (125, "ECANCELED", "Operation Canceled"),
    (126, "ENOKEY", "Required key not available"),
    (127, "EKEYEXPIRED", "Key has expired"),
    (128, "EKEYREVOKED", "Key has been revoked"),
    (129, "EKEYREJECTED", "Key was rejected by service"),
    (130, "EOWNERDEAD", "Owner died"),
    (131, "ENOTRECOVERABLE", "State not recoverable"),
    (132, "ERFKILL", "Operation not possible due to RF-kill"),
    (133, "EHWPOISON", "Memory page has hardware error"),
];

/// The highest errno the kernel defines.
pub const LAST_ERRNO: i32 = 133;
/// The numbers below it that name no errno of their own.
pub const ERRNO_HOLES: [i32; 2] = [41, 58];

/// Other names `<errno.h>` gives the same numbers.
const ERRNO_ALIASES: &[(&str, u16)] = &[("EWOULDBLOCK", 11), ("EDEADLOCK", 35), ("ENOTSUP", 95)];

/// `(number, name, description)` for the standard signals, as `strsignal(3)` describes them.
const SIGNALS: &[(u8, &str, &str)] = &[
    (1, "SIGHUP", "Hangup"),
    (2, "SIGINT", "Interrupt"),
    (3, "SIGQUIT", "Quit"),
    (4, "SIGILL", "Illegal instruction"),
    (5, "SIGTRAP", "Trace/breakpoint trap"),
    (6, "SIGABRT", "Aborted"),
    (7, "SIGBUS", "Bus error"),
    (8, "SIGFPE", "Floating point exception"),
    (9, "SIGKILL", "Killed"),
    (10, "SIGUSR1", "User defined signal 1"),
    (11, "SIGSEGV", "Segmentation fault"),
    (12, "SIGUSR2", "User defined signal 2"),
    (13, "SIGPIPE", "Broken pipe"),
    (14, "SIGALRM", "Alarm clock"),
    (15, "SIGTERM", "Terminated"),
    (16, "SIGSTKFLT", "Stack fault"),
    (17, "SIGCHLD", "Child exited"),
    (18, "SIGCONT", "Continued"),
    (19, "SIGSTOP", "Stopped (signal)"),
    (20, "SIGTSTP", "Stopped"),
    (21, "SIGTTIN", "Stopped (tty input)"),
    (22, "SIGTTOU", "Stopped (tty output)"),
    (23, "SIGURG", "Urgent I/O condition"),
    (24, "SIGXCPU", "CPU time limit exceeded"),
    (25, "SIGXFSZ", "File size limit exceeded"),
    (26, "SIGVTALRM", "Virtual timer expired"),
    (27, "SIGPROF", "Profiling timer expired"),
    (28, "SIGWINCH", "Window changed"),
    (29, "SIGIO", "I/O possible"),
    (30, "SIGPWR", "Power failure"),
    (31, "SIGSYS", "Bad system call"),
];

/// Other names `<signal.h>` gives the same numbers.
const SIGNAL_ALIASES: &[(&str, u8)] = &[("SIGIOT", 6), ("SIGPOLL", 29), ("SIGCLD", 17), ("SIGRTMIN", 34), ("SIGRTMAX", 64)];

/// Syscalls whose tracepoints are named after the kernel function (`newuname`) rather than the
/// syscall (`uname`).
const SYSCALL_RENAMES: &[(&str, &str)] =
    &[("newstat", "stat"), ("newfstat", "fstat"), ("newlstat", "lstat"), ("newuname", "uname"), ("sendfile64", "sendfile"), ("umount", "umount2")];

/// `strerror(n)`: the kernel's message for errno `n` (a negative `n` is negated first, as a
/// syscall's return value is).
pub fn errno_message(n: i64) -> &'static str {
    let n = n.unsigned_abs();
    if n == 0 {
        return "Success";
    }
    ERRNOS.iter().find(|(number, _, _)| u64::from(*number) == n).map_or("Unknown error", |(_, _, message)| message)
}

/// `signal_name(n)`: what signal `n` is, as `strsignal(3)` says it.
pub fn signal_description(n: i64) -> String {
    match n {
        1..=31 => SIGNALS[(n - 1) as usize].2.to_string(),
        0 | 32 | 33 => format!("Unknown signal {n}"),
        34..=64 => format!("Real-time signal {}", n - 34),
        _ => "N/A".to_string(),
    }
}

/// The number of signal `name` (`"SIGKILL"` or `"KILL"`), as `kill -l` numbers them.
pub fn signal_number(name: &str) -> Option<u8> {
    let bare = name.strip_prefix("SIG").unwrap_or(name);
    SIGNALS.iter().find(|(_, known, _)| known[3..] == *bare).map(|(number, _, _)| *number)
}

/// `syscall_name(n)`: the name of syscall `n` on `arch`.
pub fn syscall_name(arch: Arch, n: i64) -> &'static str {
    let Ok(n) = u32::try_from(n) else { return "Unknown syscall" };
    match arch.syscalls().find(|(_, number)| *number == n) {
        Some((name, _)) => SYSCALL_RENAMES.iter().find(|(traced, _)| *traced == name).map_or(name, |(_, real)| real),
        None => "Unknown syscall",
    }
}

/// The constants a system header would define, for the headers bpftrace scripts include for
/// them: `(name, value)`; `None` for other headers.
pub fn header_constants(header: &str) -> Option<Vec<(String, String)>> {
    let constants = match header {
        "errno.h" | "linux/errno.h" | "asm/errno.h" | "asm-generic/errno.h" | "asm-generic/errno-base.h" => ERRNOS
            .iter()
            .map(|(number, name, _)| (name.to_string(), number.to_string()))
            .chain(ERRNO_ALIASES.iter().map(|(name, number)| (name.to_string(), number.to_string())))
            .collect(),
        "signal.h" | "linux/signal.h" | "asm/signal.h" | "sys/signal.h" => SIGNALS
            .iter()
            .map(|(number, name, _)| (name.to_string(), number.to_string()))
            .chain(SIGNAL_ALIASES.iter().map(|(name, number)| (name.to_string(), number.to_string())))
            .collect(),
        "sys/syscall.h" | "asm/unistd.h" | "asm/unistd_64.h" | "linux/unistd.h" => Arch::X86_64
            .syscalls()
            .flat_map(|(traced, number)| {
                let name = SYSCALL_RENAMES.iter().find(|(t, _)| *t == traced).map_or(traced, |(_, real)| real);
                [(format!("__NR_{name}"), number.to_string()), (format!("SYS_{name}"), number.to_string())]
            })
            .collect(),
        header if SOCKET_HEADERS.contains(&header) => SOCKET_CONSTANTS
            .iter()
            .flat_map(|(name, value)| {
                let family = name.strip_prefix("AF_").map(|family| (format!("PF_{family}"), value.to_string()));
                [(name.to_string(), value.to_string())].into_iter().chain(family)
            })
            .collect(),
        "linux/sched.h" | "linux/sched/signal.h" | "linux/sched/task.h" => {
            TASK_STATES.iter().chain(CLONE_FLAGS).map(|(name, value)| (name.to_string(), value.to_string())).collect()
        }
        "fcntl.h" | "linux/fcntl.h" | "asm/fcntl.h" | "asm-generic/fcntl.h" => {
            OPEN_FLAGS.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
        }
        _ => return None,
    };
    Some(constants)
}

/// The headers that define the address families (`AF_INET`) and socket types, directly or
/// through what they include, as scripts tracing the network include them.
const SOCKET_HEADERS: &[&str] = &[
    "linux/socket.h",
    "sys/socket.h",
    "bits/socket.h",
    "linux/net.h",
    "net/sock.h",
    "net/inet_sock.h",
    "net/inet_connection_sock.h",
    "net/tcp.h",
    "net/tcp_states.h",
    "net/udp.h",
    "net/ipv6.h",
    "net/af_unix.h",
    "linux/tcp.h",
    "linux/udp.h",
    "linux/in.h",
    "linux/in6.h",
    "linux/ip.h",
    "linux/ipv6.h",
    "linux/un.h",
    "linux/skbuff.h",
    "linux/netdevice.h",
    "netinet/in.h",
];

/// Address families (each also as `PF_`) and socket types, as `<linux/socket.h>` and
/// `<linux/net.h>` number them.
const SOCKET_CONSTANTS: &[(&str, u32)] = &[
    ("AF_UNSPEC", 0),
    ("AF_UNIX", 1),
    ("AF_LOCAL", 1),
    ("AF_INET", 2),
    ("AF_AX25", 3),
    ("AF_IPX", 4),
    ("AF_APPLETALK", 5),
    ("AF_BRIDGE", 7),
    ("AF_INET6", 10),
    ("AF_KEY", 15),
    ("AF_NETLINK", 16),
    ("AF_ROUTE", 16),
    ("AF_PACKET", 17),
    ("AF_CAN", 29),
    ("AF_TIPC", 30),
    ("AF_BLUETOOTH", 31),
    ("AF_ALG", 38),
    ("AF_VSOCK", 40),
    ("AF_KCM", 41),
    ("AF_QIPCRTR", 42),
    ("AF_SMC", 43),
    ("AF_XDP", 44),
    ("AF_MCTP", 45),
    ("SOCK_STREAM", 1),
    ("SOCK_DGRAM", 2),
    ("SOCK_RAW", 3),
    ("SOCK_RDM", 4),
    ("SOCK_SEQPACKET", 5),
    ("SOCK_DCCP", 6),
    ("SOCK_PACKET", 10),
];

/// The flags of `clone(2)`, as the kernel's `<linux/sched.h>` (its user API) numbers them.
const CLONE_FLAGS: &[(&str, u32)] = &[
    ("CSIGNAL", 0xff),
    ("CLONE_VM", 0x100),
    ("CLONE_FS", 0x200),
    ("CLONE_FILES", 0x400),
    ("CLONE_SIGHAND", 0x800),
    ("CLONE_PIDFD", 0x1000),
    ("CLONE_PTRACE", 0x2000),
    ("CLONE_VFORK", 0x4000),
    ("CLONE_PARENT", 0x8000),
    ("CLONE_THREAD", 0x10000),
    ("CLONE_NEWNS", 0x20000),
    ("CLONE_SYSVSEM", 0x40000),
    ("CLONE_SETTLS", 0x80000),
    ("CLONE_PARENT_SETTID", 0x100000),
    ("CLONE_CHILD_CLEARTID", 0x200000),
    ("CLONE_DETACHED", 0x400000),
    ("CLONE_UNTRACED", 0x800000),
    ("CLONE_CHILD_SETTID", 0x1000000),
    ("CLONE_NEWCGROUP", 0x2000000),
    ("CLONE_NEWUTS", 0x4000000),
    ("CLONE_NEWIPC", 0x8000000),
    ("CLONE_NEWUSER", 0x10000000),
    ("CLONE_NEWPID", 0x20000000),
    ("CLONE_NEWNET", 0x40000000),
    ("CLONE_IO", 0x80000000),
];

/// The flags of `open(2)` on x86-64, as `<fcntl.h>` numbers them (octal in C).
const OPEN_FLAGS: &[(&str, u32)] = &[
    ("O_ACCMODE", 0o3),
    ("O_RDONLY", 0o0),
    ("O_WRONLY", 0o1),
    ("O_RDWR", 0o2),
    ("O_CREAT", 0o100),
    ("O_EXCL", 0o200),
    ("O_NOCTTY", 0o400),
    ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000),
    ("O_NONBLOCK", 0o4000),
    ("O_NDELAY", 0o4000),
    ("O_DSYNC", 0o10000),
    ("FASYNC", 0o20000),
    ("O_DIRECT", 0o40000),
    ("O_LARGEFILE", 0o100000),
    ("O_DIRECTORY", 0o200000),
    ("O_NOFOLLOW", 0o400000),
    ("O_NOATIME", 0o1000000),
    ("O_CLOEXEC", 0o2000000),
    ("O_SYNC", 0o4010000),
    ("O_PATH", 0o10000000),
    ("O_TMPFILE", 0o20200000),
];

/// Task states as `<linux/sched.h>` numbers them (`task_struct.__state`), Linux 5.19 on;
/// the bits have not moved since 4.14.
const TASK_STATES: &[(&str, u32)] = &[
    ("TASK_RUNNING", 0x0),
    ("TASK_INTERRUPTIBLE", 0x1),
    ("TASK_UNINTERRUPTIBLE", 0x2),
    ("__TASK_STOPPED", 0x4),
    ("__TASK_TRACED", 0x8),
    ("EXIT_DEAD", 0x10),
    ("EXIT_ZOMBIE", 0x20),
    ("EXIT_TRACE", 0x30),
    ("TASK_PARKED", 0x40),
    ("TASK_DEAD", 0x80),
    ("TASK_WAKEKILL", 0x100),
    ("TASK_WAKING", 0x200),
    ("TASK_NOLOAD", 0x400),
    ("TASK_NEW", 0x800),
    ("TASK_KILLABLE", 0x102),
    ("TASK_STOPPED", 0x104),
    ("TASK_TRACED", 0x8),
    ("TASK_IDLE", 0x402),
    ("TASK_NORMAL", 0x3),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_messages_are_the_kernels() {
        assert_eq!(errno_message(0), "Success");
        assert_eq!(errno_message(1), "Operation not permitted");
        assert_eq!(errno_message(-9), "Bad file number");
        assert_eq!(errno_message(125), "Operation Canceled");
        assert_eq!(errno_message(41), "Unknown error");
        assert_eq!(errno_message(134), "Unknown error");
    }

    #[test]
    fn errno_table_is_in_order_without_gaps_but_the_kernels() {
        let numbers: Vec<u16> = ERRNOS.iter().map(|(n, _, _)| *n).collect();
        let expected: Vec<u16> = (1..=LAST_ERRNO as u16).filter(|n| !ERRNO_HOLES.contains(&i32::from(*n))).collect();
        assert_eq!(numbers, expected);
    }

    #[test]
    fn signals_have_descriptions_and_numbers() {
        assert_eq!(signal_description(2), "Interrupt");
        assert_eq!(signal_description(31), "Bad system call");
        assert_eq!(signal_description(32), "Unknown signal 32");
        assert_eq!(signal_description(35), "Real-time signal 1");
        assert_eq!(signal_description(65), "N/A");
        assert_eq!(signal_description(-1), "N/A");
        assert_eq!(signal_number("SIGKILL"), Some(9));
        assert_eq!(signal_number("TERM"), Some(15));
        assert_eq!(signal_number("SIGNOPE"), None);
    }

    #[test]
    fn syscall_names_are_the_syscalls_not_the_tracepoints() {
        assert_eq!(syscall_name(Arch::X86_64, 0), "read");
        assert_eq!(syscall_name(Arch::X86_64, 63), "uname");
        assert_eq!(syscall_name(Arch::X86_64, 262), "newfstatat");
        assert_eq!(syscall_name(Arch::X86_64, 9999), "Unknown syscall");
        assert_eq!(syscall_name(Arch::X86_64, -1), "Unknown syscall");
    }

    #[test]
    fn network_and_scheduler_headers_define_their_constants() {
        let sock = header_constants("net/sock.h").unwrap();
        assert!(sock.contains(&("AF_INET6".to_string(), "10".to_string())));
        assert!(sock.contains(&("PF_INET".to_string(), "2".to_string())));
        let sched = header_constants("linux/sched.h").unwrap();
        assert!(sched.contains(&("TASK_RUNNING".to_string(), "0".to_string())));
        assert!(sched.contains(&("CLONE_THREAD".to_string(), "65536".to_string())));
        let fcntl = header_constants("fcntl.h").unwrap();
        assert!(fcntl.contains(&("O_CREAT".to_string(), "64".to_string())));
    }

    #[test]
    fn headers_define_their_constants() {
        let errno = header_constants("errno.h").unwrap();
        assert!(errno.contains(&("EPERM".to_string(), "1".to_string())));
        assert!(errno.contains(&("EWOULDBLOCK".to_string(), "11".to_string())));
        let syscalls = header_constants("sys/syscall.h").unwrap();
        assert!(syscalls.contains(&("__NR_read".to_string(), "0".to_string())));
        assert!(syscalls.contains(&("SYS_uname".to_string(), "63".to_string())));
        assert!(header_constants("linux/fs.h").is_none());
    }
}
