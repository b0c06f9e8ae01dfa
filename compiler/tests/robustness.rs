//! The whole `compile` never panics: every prefix of the corpus scripts, random bytes, random
//! token soups and random well-formed programs all come back as an object or as diagnostics
//! pointing into the source.

#[path = "support/xorshift.rs"]
mod xorshift;
use xorshift::XorShift;
#[path = "support/generator.rs"]
mod generator;
use generator::{well_formed_programs, Kinds};

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

#[test]
fn random_well_formed_programs() {
    let mut compiled = 0;
    for program in well_formed_programs(2000, Kinds::Any) {
        check(&program);
        compiled += usize::from(compile(&program, &support::FakeCatalog).is_ok());
    }
    // Most must get through the whole pipeline, or this test stops exercising the back end.
    assert!(compiled > 1000, "only {compiled} of 2000 programs compiled");
}

#[test]
fn well_formed_programs_never_hit_internal_errors() {
    for program in well_formed_programs(2000, Kinds::Any) {
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
