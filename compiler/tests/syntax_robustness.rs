//! `parse` never panics: every prefix of realistic scripts, random bytes, random token soups and
//! pathological nesting all come back as an AST or as diagnostics that render.

#[path = "support/xorshift.rs"]
mod xorshift;
use xorshift::XorShift;

use ferrotrace_compiler::render::render;
use ferrotrace_compiler::syntax::{parse, print_ast};

const SCRIPTS: &[&str] = &[
    r#"#!/usr/bin/env bpftrace
// Count syscalls by process, print every second.
tracepoint:raw_syscalls:sys_enter /pid != 0 && comm != "bpftrace"/ {
  @syscalls[comm, pid] = count();
  @bytes = sum(args.id * 2 + 1);
}
interval:s:1 { print(@syscalls); clear(@syscalls); }
end { printf("done\n"); }
"#,
    r#"t:syscalls:sys_enter_openat { @start[tid] = nsecs; $f = str(args.filename); }
t:syscalls:sys_exit_openat /@start[tid]/ {
  $ms = (nsecs - @start[tid]) / 1000000;
  if ($ms > 10) { printf("%s %d\t\x41\0\n", comm, $ms); } else if ($ms == 0) { return; } else { @fast++; }
  $t = (1, "two", $ms); @last = $t.0 ? $t.1 : "none";
  let $x = -(uint32)~$ms << 2 >> 1 | 0x1F & 017 ^ 1_000 % 2e3;
  $x += 1ms; $x <<= 2; --$x; delete(@start[tid]);
}
/* trailing comment */"#,
    "begin { $a = (1 ? 2 : 3) + ((((4)))) * -5 / !6; @[1, 2] = @x[3].field->ptr[4]; exit(); }",
    r#"#include <errno.h>
#define LIMIT 0x10 // límite
config = { max_strlen = 64; str_trunc_trailer = "…" }
let @m = lruhash(1_000);
macro twice(x) { x * 2 }
begin {
  $r = (a = (uint8)1, b = (c = "é", d = 2)); $t = (1,); $e = ();
  let $y: typeof($r.a) = (typeof($r.a))sizeof(uint32) + offsetof($r, b.d) + sizeof(typeof(comm));
  $z = comptime (LIMIT * 2); if comptime (1 > 0) { $z = twice($z); }
  $w = if ($z > 1) { { let $q = 1; $q } } else { 2 }; $v = $z ?: 3;
  for ($i : 0..5) { continue; } for ($kv : @m) { print($kv.0); }
  printf("%s %d\n", strerror(EPERM), pid(init)); _ = delete(@m, 1);
}
"#,
];

/// Parses `source` and, on failure, checks the diagnostics are well formed and render.
fn check(source: &str) {
    match parse(source) {
        Ok(program) => {
            print_ast(&program);
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty(), "an error without a diagnostic for {source:?}");
            for diagnostic in &diagnostics {
                let span = diagnostic.primary_span().expect("every diagnostic has a primary span");
                assert!(
                    span.start <= span.end && span.end as usize <= source.len(),
                    "{span:?} in {source:?}"
                );
            }
            render(&diagnostics, source, "fuzz.bt", false);
        }
    }
}


#[test]
fn realistic_scripts_parse() {
    for script in SCRIPTS {
        if let Err(diagnostics) = parse(script) {
            panic!("{}", render(&diagnostics, script, "script.bt", false));
        }
    }
}

#[test]
fn every_prefix_of_realistic_scripts() {
    for script in SCRIPTS {
        for end in (0..=script.len()).filter(|&end| script.is_char_boundary(end)) {
            check(&script[..end]);
        }
    }
}

/// The formatter never panics either: every prefix of the realistic scripts is formatted or
/// refused with diagnostics.
#[test]
fn every_prefix_formats_or_is_refused() {
    for script in SCRIPTS {
        for end in (0..=script.len()).filter(|&end| script.is_char_boundary(end)) {
            if let Err(diagnostics) = ferrotrace_compiler::syntax::format::format(&script[..end]) {
                assert!(!diagnostics.is_empty(), "an error without a diagnostic for {:?}", &script[..end]);
            }
        }
    }
}

#[test]
fn multibyte_text_next_to_an_error() {
    for source in ["begin { $x = 1 /*é*/+ ; }", "begin { é }", "é", "begin { $x = \"é\" é; }", "t:é:x { }"]
    {
        check(source);
    }
}

#[test]
fn random_bytes() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let len = rng.below(64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn random_token_soup() {
    const TOKENS: &[&str] = &[
        "begin", "t:a:b", "i:s:1", "{", "}", "(", ")", "[", "]", "/", "*", "+", "-", "++", "--", "?", ":",
        ";", ",", ".", "->", "=", "+=", "<<=", "==", "&&", "||", "!", "~", "<", ">>", "$x", "@m", "@", "pid",
        "f(", "if", "else", "let", "return", "while", "sizeof", "(uint8)", "1", "0x1F", "09", "5ms", "1e99",
        "\"s\"", "\"\\q\"", "\"", "/*", "*/", "//", "\n", " ", "é", "0.1", ".0", "true",
    ];
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    for _ in 0..4000 {
        let len = rng.below(24);
        let source: String = (0..len).map(|_| TOKENS[rng.below(TOKENS.len())]).collect::<Vec<_>>().join(" ");
        check(&source);
        check(&format!("begin {{ {source} }}"));
    }
}

#[test]
fn pathological_nesting_is_an_error_not_a_crash() {
    for depth in [150, 1_000, 20_000] {
        check(&format!("begin {{ $x = {}1{}; }}", "(".repeat(depth), ")".repeat(depth)));
        check(&format!("begin {{ $x = {}1; }}", "1 ? 2 : ".repeat(depth)));
        check(&format!("begin {{ if (1) {{ }} {} }}", "else if (1) { } ".repeat(depth)));
        check(&format!("begin {{ $x = {}1; }}", "- ".repeat(depth)));
        check(&format!("begin {{ $x = 1{}; }}", " + 1".repeat(depth)));
        check(&format!("begin {{ $x = $y{}; }}", ".a".repeat(depth)));
    }
}
