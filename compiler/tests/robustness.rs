//! The whole `compile` never panics: every prefix of the corpus scripts, random bytes, random
//! token soups and random well-formed programs all come back as an object or as diagnostics
//! pointing into the source.

#[path = "support/xorshift.rs"]
mod xorshift;
use xorshift::XorShift;

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use ferrotrace_compiler::driver::compile;
use ferrotrace_compiler::render::render;

/// Compiles `source`; panics (naming the input) if compiling panicked or an error came back
/// without a diagnostic whose primary span lies within the source.
fn check(source: &str) {
    let result = catch_unwind(AssertUnwindSafe(|| compile(source, &support::FakeCatalog)));
    let Ok(result) = result else { panic!("compile panicked on {source:?}") };
    let Err(diagnostics) = result else { return };
    assert!(!diagnostics.is_empty(), "an error without a diagnostic for {source:?}");
    let located = diagnostics.iter().filter_map(|d| d.primary_span()).any(|span| {
        span.start <= span.end && span.end as usize <= source.len()
    });
    assert!(located, "no diagnostic points into {source:?}: {diagnostics:?}");
    render(&diagnostics, source, "fuzz.bt", false);
}

fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut scripts = Vec::new();
    for dir in ["examples", "tests/corpus"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("corpus directory exists") {
            let path = entry.expect("readable directory entry").path();
            if path.extension().is_some_and(|e| e == "bt") {
                scripts.push(std::fs::read_to_string(&path).expect("readable script"));
            }
        }
    }
    assert!(scripts.len() >= 8, "the corpus went missing");
    scripts
}


#[test]
fn every_prefix_of_every_corpus_script() {
    for script in corpus() {
        for end in (0..=script.len()).filter(|&end| script.is_char_boundary(end)) {
            check(&script[..end]);
        }
    }
}

#[test]
fn random_bytes() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let len = rng.below(64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(&String::from_utf8_lossy(&bytes));
    }
}

/// Tokens of the language, including ones that are wrong in most places.
const TOKENS: &[&str] = &[
    "begin", "end", "BEGIN", "tracepoint:syscalls:sys_enter_openat", "t:syscalls:sys_enter_*",
    "tracepoint:sched:sched_switch", "tracepoint:raw_syscalls:sys_enter", "interval:s:1", "profile:hz:99",
    "kprobe:f", "{", "}", "(", ")", "[", "]", "/", ";", ",", ":", "?", ".", "->", "=", "+=", "<<=", "++", "--",
    "+", "-", "*", "%", "<<", ">>", "&", "|", "^", "~", "!", "&&", "||", "==", "!=", "<", ">=", "if", "else",
    "return", "let", "while", "(uint32)", "(int8)", "(bool)", "$x", "$y", "$t", "@", "@m", "@h", "@m[pid]",
    "@m[comm, 1]", "pid", "tid", "comm", "nsecs", "probe", "args", "args.filename", "args.ret",
    "args.prev_comm", "args.args", "cpu", "0", "1", "-1", "255", "4096", "0x10", "18446744073709551615",
    "1ms", "\"s\"", "\"%d\\n\"", "\"%s %d\\n\"", "printf", "print", "exit", "clear", "zero", "delete", "str",
    "count()", "sum", "hist", "lhist", "avg", "stats", "min", "max", "true", "false", ".0", ".1", "\n",
    "for", "($kv : @m)", "($i : 0..5)", "..", "unroll(3)", "break", "continue", "macro", "m($x)", "m(1)",
    "config", "= {", "max_strlen = 8", "let @d = hash(10);", "let $z: uint16", "_ =", "?:", "$1", "$#",
    "getopt(\"n\", 3)", "#define N 3\n", "#if 1\n", "#endif\n", "N", "test:t", "bench:b", "strlen",
    "strcontains", "has_key(@m, 1)", "len(@m)", "assert", "time()", "errorf", "(a = 1, b = \"x\")", ".a",
    "comptime", "if comptime", "fail(\"x %d\", 1)", "static_assert(1, \"m\")", "probetype", "tseries(1, 1s, 5)",
    "buf(\"ab\", 2)", "\"%r\"", "strerror(2)", "signal_name", "find(@m, 1, $x)", "ppid", "pcomm", "usermode",
    "debugf(\"%d\", 1)", "[0]", "(1,)", "()", "str_concat(\"a\", comm)", "memcmp(comm, \"b\", 1)", "nsecs(sw_tai)",
    "#include <errno.h>\n", "EPERM", "__NR_read", "ntop(1)", "pton(\"::1\")", "macaddr",
    "sizeof(uint32)", "sizeof($x)", "typeof($x)", "(typeof($x))", "offsetof($r, a)", "struct task_struct", "container_of($p, struct list_head, next)",
    "cgroupid(\"/sys/fs/cgroup\")", "cgroup_path(1)", "pid(init)", "tid(curr_ns)", "cpid", "has_cpid",
];

#[test]
fn random_token_soups() {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for _ in 0..3000 {
        let len = 1 + rng.below(40);
        let soup: Vec<&str> = (0..len).map(|_| rng.pick(TOKENS)).collect();
        check(&soup.join(" "));
    }
}

/// Random programs that parse and mostly type-check, so that lowering, allocation and encoding
/// run on them: integers and strings are generated apart, every map keeps one key and value type,
/// and each probe assigns its variables before anything reads them.
struct ProgramGen {
    rng: XorShift,
    /// The integer and string fields of the probe being generated.
    int_fields: &'static [&'static str],
    str_fields: &'static [&'static str],
}

/// Attach points with their integer and string-valued `args` fields.
const PROBES: &[(&str, &[&str], &[&str])] = &[
    ("begin", &[], &[]),
    ("end", &[], &[]),
    ("interval:ms:10", &[], &[]),
    ("profile:hz:99", &[], &[]),
    ("tracepoint:syscalls:sys_enter_openat", &["args.flags", "args.dfd", "args.mode"], &["str(args.filename)", "str(args.filename, 8)"]),
    ("tracepoint:syscalls:sys_exit_openat", &["args.ret"], &[]),
    ("tracepoint:syscalls:sys_enter_read", &["args.fd", "args.count"], &["str(args.buf, 16)"]),
    ("tracepoint:sched:sched_switch", &["args.prev_pid", "args.next_prio", "args.prev_state"], &["args.prev_comm", "args.next_comm"]),
    ("tracepoint:sched:sched_process_exec", &["args.pid", "args.old_pid"], &["args.filename"]),
    ("tracepoint:syscalls:sys_enter_*", &["args.__syscall_nr"], &[]),
];
const INT_LEAVES: &[&str] =
    &["pid", "tid", "uid", "gid", "nsecs", "elapsed", "cpu", "rand", "0", "1", "7", "-3", "4096", "0xffffffff", "18446744073709551615", "$i", "$t.0", "@n", "@k[pid]", "comm[1]", "memcmp(comm, \"ab\", 2)", "strcap(comm)"];
const STR_LEAVES: &[&str] = &["comm", "\"\"", "\"a\"", "\"a longer string literal\"", "$s", "$t.1"];
const INT_OPS: &[&str] = &["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^"];
const CMP_OPS: &[&str] = &["==", "!=", "<", "<=", ">", ">="];
const AGGREGATIONS: &[&str] =
    &["@c[K] = count()", "@sum[K] = sum(E)", "@min = min(E)", "@max[K] = max(E)", "@avg = avg(E)", "@stats[pid, comm] = stats(E)", "@h = hist(E)", "@h2[K] = hist(E, 2)", "@lh = lhist(E, -10, 100, 10)", "@ts[K] = tseries(E, 100ms, 8, \"max\")"];

impl ProgramGen {
    fn int(&mut self, depth: u32) -> String {
        if depth == 0 || self.rng.below(3) == 0 {
            let pick = self.rng.below(INT_LEAVES.len() + self.int_fields.len());
            return INT_LEAVES.get(pick).copied().unwrap_or_else(|| self.int_fields[pick - INT_LEAVES.len()]).to_string();
        }
        let d = depth - 1;
        match self.rng.below(6) {
            0 | 1 => format!("({} {} {})", self.int(d), self.rng.pick(INT_OPS), self.int(d)),
            2 => format!("({} ? {} : {})", self.cond(d), self.int(d), self.int(d)),
            3 => format!("{}({})", self.rng.pick(&["-", "~", "(uint8)", "(int16)", "(uint32)", "(int64)"]), self.int(d)),
            4 => format!("@k[{}]", self.int(d)),
            _ => self.rng.pick(&["$i++", "++@n", "@k[1]--"]).to_string(),
        }
    }

    fn string(&mut self, depth: u32) -> String {
        let pick = self.rng.below(STR_LEAVES.len() + self.str_fields.len() + 1);
        match STR_LEAVES.get(pick) {
            Some(leaf) => leaf.to_string(),
            None if pick < STR_LEAVES.len() + self.str_fields.len() => self.str_fields[pick - STR_LEAVES.len()].to_string(),
            None if depth > 0 => format!("({} ? {} : {})", self.cond(depth - 1), self.string(depth - 1), self.string(depth - 1)),
            None => "comm".to_string(),
        }
    }

    fn cond(&mut self, depth: u32) -> String {
        match self.rng.below(5) {
            0 => format!("{} {} {}", self.string(depth), self.rng.pick(&["==", "!="]), self.string(depth)),
            1 => format!("({} && {})", self.cond(depth.saturating_sub(1)), self.cond(depth.saturating_sub(1))),
            2 => format!("!{}", self.int(depth)),
            3 => self.int(depth),
            _ => format!("{} {} {}", self.int(depth), self.rng.pick(CMP_OPS), self.int(depth)),
        }
    }

    fn stmt(&mut self, depth: u32) -> String {
        match self.rng.below(if depth == 0 { 10 } else { 13 }) {
            0 => format!("$i = {}", self.int(2)),
            1 => format!("$s = {}", self.string(2)),
            2 => format!("@n = {}", self.int(2)),
            3 => format!("@k[{}] = {}", self.int(1), self.int(2)),
            4 => {
                let agg = self.rng.pick(AGGREGATIONS).replace('K', &self.int(1));
                agg.replace('E', &self.int(2))
            }
            5 => format!("printf(\"%d %s %x\\n\", {}, {}, {})", self.int(2), self.string(1), self.int(1)),
            6 => format!("print({})", self.rng.pick(&["@c", "@h", "@k", "$t", "comm", "probe", "$i"])),
            7 => format!("$t = ({}, comm)", self.int(1)),
            8 => self.rng.pick(&["clear(@k)", "zero(@c)", "delete(@k, 1)", "delete(@k[pid])", "$i += 3", "@n <<= 1", "exit()"]).to_string(),
            9 => format!("$s = str({})", self.int(1)),
            10 => format!("if ({}) {{ {} }} else {{ {} }}", self.cond(1), self.stmt(depth - 1), self.stmt(depth - 1)),
            11 => format!("if ({}) {{ {}; return }}", self.cond(1), self.stmt(depth - 1)),
            _ => format!("{{ {}; {} }}", self.stmt(depth - 1), self.stmt(depth - 1)),
        }
    }

    fn probe(&mut self) -> String {
        let (attach, ints, strs) = PROBES[self.rng.below(PROBES.len())];
        (self.int_fields, self.str_fields) = (ints, strs);
        let predicate = if self.rng.below(3) == 0 { format!(" /{}/", self.cond(1)) } else { String::new() };
        let stmts: Vec<String> = (0..1 + self.rng.below(5)).map(|_| self.stmt(2)).collect();
        format!("{attach}{predicate} {{ $i = 1; $s = comm; $t = (1, comm); {} }}\n", stmts.join("; "))
    }

    /// Assigns every plain map once so that reads type-check, then adds random probes.
    fn program(&mut self) -> String {
        let mut out = String::from("begin { @n = 0; @k[0] = 0; @c[0] = count(); @h = hist(0); }\n");
        for _ in 0..1 + self.rng.below(3) {
            out.push_str(&self.probe());
        }
        out
    }
}

fn well_formed_programs(count: usize) -> impl Iterator<Item = String> {
    let mut generator = ProgramGen { rng: XorShift(0x853c_49e6_748f_ea9b), int_fields: &[], str_fields: &[] };
    (0..count).map(move |_| generator.program())
}

#[test]
fn random_well_formed_programs() {
    let mut compiled = 0;
    for program in well_formed_programs(2000) {
        check(&program);
        compiled += usize::from(compile(&program, &support::FakeCatalog).is_ok());
    }
    // Most must get through the whole pipeline, or this test stops exercising the back end.
    assert!(compiled > 1000, "only {compiled} of 2000 programs compiled");
}

#[test]
fn well_formed_programs_never_hit_internal_errors() {
    for program in well_formed_programs(2000) {
        if let Err(diagnostics) = compile(&program, &support::FakeCatalog) {
            let internal = diagnostics.iter().find(|d| d.code == "E0901");
            assert!(internal.is_none(), "{}", render(&diagnostics, &program, "fuzz.bt", false));
        }
    }
}

/// Random C definitions before a probe that uses them: the C parser and the layout never panic,
/// also on deep nesting.
#[test]
fn random_c_definitions() {
    const C_TOKENS: &[&str] = &[
        "struct", "union", "enum", "typedef", "s", "t", "x", "A", "B", "{", "}", "{", "}", ";", ";", ",", "int", "unsigned",
        "long", "char", "_Bool", "void", "double", "const", "u32", "pid_t", "uint64", "struct s", "struct task_struct",
        "*", "[", "]", "4", "0", "0xffffffffffffffff", ":", "3", "65", "=", "-", "<<", "/", "(", ")", "(*f)(int)",
        "__attribute__((packed))", "__attribute__((aligned(8)))", "__attribute__((x))", "\n",
    ];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let len = 1 + rng.below(30);
        let soup: Vec<&str> = (0..len).map(|_| rng.pick(C_TOKENS)).collect();
        check(&format!("{}\nbegin {{ print(sizeof(struct s)); print(A); $p = (struct s *)0; print($p->x); }}", soup.join(" ")));
    }
    check(&format!("{}int x;{}; begin {{ }}", "struct a { ".repeat(300), "};".repeat(300)));
    check(&format!("enum e {{ A = {}1{} }}; begin {{ }}", "(".repeat(300), ")".repeat(300)));
    check(&format!("enum e {{ A = {}1 }}; begin {{ }}", "-".repeat(300)));
}
