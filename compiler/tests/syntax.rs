//! Snapshot tests of the syntax phase: scripts that parse (shown with `print_ast`) and scripts
//! that fail (shown as rendered diagnostics, color off). Each snapshot holds the source too.

use ferrotrace_compiler::render::render;
use ferrotrace_compiler::syntax::{parse, print_ast};

/// `parses!(name, source)`: the script parses; the snapshot is its AST.
macro_rules! parses {
    ($name:ident, $source:expr) => {
        #[test]
        fn $name() {
            let source: &str = $source;
            let program = match parse(source) {
                Ok(program) => program,
                Err(diagnostics) => panic!("{}", render(&diagnostics, source, "test.bt", false)),
            };
            insta::assert_snapshot!(stringify!($name), format!("{source}\n---\n{}", print_ast(&program)));
        }
    };
}

/// `fails!(name, source)`: the script is rejected; the snapshot is the rendered diagnostics.
macro_rules! fails {
    ($name:ident, $source:expr) => {
        #[test]
        fn $name() {
            let source: &str = $source;
            let diagnostics = match parse(source) {
                Ok(program) => panic!("expected an error, got:\n{}", print_ast(&program)),
                Err(diagnostics) => diagnostics,
            };
            assert!(!diagnostics.is_empty());
            assert!(
                diagnostics.iter().all(|d| d.primary_span().is_some()),
                "every diagnostic has a primary span"
            );
            let rendered = render(&diagnostics, source, "test.bt", false);
            insta::assert_snapshot!(stringify!($name), format!("{source}\n---\n{rendered}"));
        }
    };
}

// ---- Probes and attach points ----

parses!(
    preprocessor_lines_are_blanked,
    "#include <linux/sched.h>\n#if defined(BPFTRACE_HAVE_BTF) && 1\nbegin { }\n#else\nend { }\n#endif\n"
);
fails!(unclosed_if_group, "#ifdef BPFTRACE_HAVE_BTF\nbegin { }\n");
fails!(error_directive_taken, "#ifndef NOT_DEFINED\n#error this kernel is not supported\n#endif\nbegin { }\n");
parses!(
    macros_and_block_expressions,
    "macro add1($x) { $x + 1 }\nmacro log(@m, x) { @m = x; }\nbegin { $y = { let $b = 1; $b }; log(@l, add1($y)); }"
);
parses!(
    value_forms,
    "begin { $a = $b ?: 7; $x = if ($a) { 1 } else if ($b) { 2 } else { 3 }; _ = $x + 1; let $u: uint16 = 5; let $s: string[8]; let $z; }"
);
parses!(config_block_items, "config = { max_strlen = 64; stack_mode = perf; license = \"GPL\"; print_maps_on_exit = false; }\nbegin { }");
fails!(second_config_block, "config = { max_strlen = 64 }\nconfig = { max_map_keys = 2 }\nbegin { }");
parses!(
    loops_of_every_kind,
    "begin {\n  for ($kv : @m) { break; }\n  for ($i : 0..$n) { continue; }\n  while ($i < 3) { $i++; }\n  unroll(2) { }\n}"
);
parses!(begin_and_end_in_every_spelling, "begin { } BEGIN { } end { } END { }");
parses!(
    tracepoint_attach_points,
    "tracepoint:syscalls:sys_enter_openat, t:sched:sched_switch, tracepoint:syscalls:sys_enter_*, t:sched:*, t:s?h*:sched_* { }"
);
parses!(
    interval_and_profile_attach_points,
    "interval:s:1, interval:ms:100, interval:us:5, interval:hz:10, interval:1s, i:s:2, profile:hz:99, p:hz:49 { }"
);
parses!(generic_attach_points, "uprobe:/bin/bash:readline, kprobe:vfs_read+4, usdt:./a.out:p:q, x::y { }");
parses!(predicate_with_division, "t:syscalls:sys_enter_read /pid / 2 == 1 && comm == \"sh\"/ { }");
parses!(
    shebang_and_comments,
    "#!/usr/bin/env bpftrace\n// line comment\nbegin /* inline */ { // trailing\n  /* a\n  block */ print(1); // after\n}\n"
);

// ---- Statements ----

parses!(last_semicolon_is_optional, "begin { print(1); print(2) } end { print(3); }");
parses!(stray_semicolons_are_allowed, "begin { ; print(1);; if (1) { }; { }; }");
parses!(map_assignments, "begin { @ = 1; @x = 2; @y[1] = 3; @z[pid, comm] = 4; @[1] = 5; }");
parses!(variable_assignment_and_let, "begin { $x = 1; let $y; let $z = $x + 1; }");
parses!(
    sizes_offsets_and_typeof,
    "begin { $a = sizeof(uint32) + sizeof($x) + sizeof(struct task_struct) + sizeof(typeof(comm)); $b = offsetof($r, a.b) + offsetof(struct sock, sk_family); let $c: typeof($a) = (typeof($b))1; }"
);
parses!(
    compound_assignments,
    "begin { @a += 1; @b -= 1; @c *= 1; @d /= 1; @e %= 1; $f &= 1; $g |= 1; $h ^= 1; $i <<= 1; $j >>= 1; }"
);
parses!(if_else_if_else, "begin { if ($x > 1) { return; } else if ($x) { print(1) } else { print(2) } }");
parses!(nested_blocks_and_return, "begin { { $x = 1; { return } } }");

// ---- Expressions ----

parses!(precedence_arithmetic, "begin { $x = 1 + 2 * 3 - 4 / 5 % 6; }");
parses!(precedence_shift_and_compare, "begin { $x = 1 << 2 + 3 < 4 >> 1; $y = 1 <= 2 == 3 >= 4 != 5 > 6; }");
parses!(precedence_bitwise, "begin { $x = 1 | 2 ^ 3 & 4 == 5; }");
parses!(precedence_logical, "begin { $x = !a || b && c | d; }");
parses!(left_associativity, "begin { $x = 1 - 2 - 3; $y = 8 / 4 / 2; $z = 1 << 2 << 3; }");
parses!(parentheses_override_precedence, "begin { $x = (1 + 2) * 3; $y = ((4)); }");
parses!(ternary_is_right_associative, "begin { $x = a ? 1 : b ? 2 : 3; $y = a || b ? c + 1 : d; }");
parses!(
    unary_operators_and_casts,
    "begin { $x = -!~$y; $z = (uint8)$y + (int64)-1; $w = (uint32_t)(bool)1; }"
);
parses!(increment_and_decrement, "begin { $x++; $x--; ++$x; --@m; @m[1]++; $y = -$x--; }");
parses!(postfix_chains, "begin { $x = args->ptr->field.sub[2].0; $t.1.0; @m[1][2]; }");
parses!(tuples_and_parentheses, "begin { $t = (1, \"two\", (3, 4)); $one = (1); @[(1, 2)] = 1; }");
parses!(
    calls_identifiers_and_booleans,
    "begin { printf(\"%d %s\\n\", pid, comm); exit(); $b = true != false; nsecs; }"
);

// ---- Literals ----

parses!(
    integer_literals,
    "begin { print((0, 42, 0x1F, 0X1f, 017, 1_000_000, 2e3, 10U, 10L, 10UL, 10LL, 10ULL, 18446744073709551615)); }"
);
parses!(duration_literals, "begin { print((5ns, 5us, 5ms, 5s, 5m, 5h, 5d, 1_500ms)); }");
parses!(string_escapes, r#"begin { print(("a\nb\tc\rd", "\\ \"", "\0\012\101", "\x41\x4a\x7", "")); }"#);

// ---- Errors: tokens ----

fails!(expression_missing_after_operator, "begin { @x = 1 + ; }");
fails!(expression_missing_after_operator_and_comment, "begin { $x = 2 * /* later */ ; }");
fails!(nested_too_deeply, &format!("begin {{ $x = {}1; }}", "1 ? 2 : ".repeat(300)));
fails!(brackets_nested_too_deeply, &format!("begin {{ $x = {}1{}; }}", "(".repeat(130), ")".repeat(130)));
fails!(expression_missing_after_assignment, "begin {\n  $x =\n}");
fails!(missing_semicolon_between_statements, "begin {\n  @x = 1\n  @y = 2\n}");
fails!(missing_block_after_attach_point, "begin");
fails!(probe_without_attach_point, "{ print(1); }");
fails!(predicate_not_closed, "begin /pid == 1 { }");
fails!(ternary_missing_else, "begin { $x = 1 ? 2; }");
fails!(let_needs_a_variable, "begin { let x = 1; }");
fails!(else_needs_a_block, "begin { if (1) { } else print(1); }");
fails!(if_needs_parentheses, "begin { if $x > 1 { } }");
parses!(return_with_a_value, "test:t { return 1; } begin { return; }");
fails!(field_name_missing, "begin { $x = args.; }");
fails!(empty_map_key, "begin { @x[] = 1; }");
fails!(cast_without_operand, "begin { (uint8); }");

// ---- Errors: delimiters, strings, comments ----

fails!(unclosed_probe_block, "begin {\n  print(1);\n");
fails!(unclosed_nested_block, "begin {\n  if (1) {\n    print(1);\n}\n");
fails!(unclosed_parenthesis, "begin { print(1; }");
fails!(mismatched_bracket, "begin { @x[1) = 1; }");
fails!(closer_without_opener, "begin { }\n}");
fails!(unclosed_string, "begin {\n  printf(\"hello\n}");
fails!(unclosed_block_comment, "begin { } /* never closed");

// ---- Errors: literals ----

fails!(unknown_escape, r#"begin { print("a\qb\x"); }"#);
fails!(octal_escape_too_large, r#"begin { print("\777"); }"#);
fails!(octal_literal_with_bad_digit, "begin { $x = 019; }");
fails!(integer_literal_bad_suffix, "begin { $x = 10kb; }");
fails!(integer_literal_too_large, "begin { $x = 18446744073709551616; $y = 0xFFFFFFFFFFFFFFFFF; }");
fails!(duration_too_large, "begin { $x = 300000d; $y = 1e30; }");
fails!(hex_literal_without_digits, "begin { $x = 0x; }");
fails!(tuple_index_too_large, "begin { $t.99999999999; }");

// ---- Errors: unsupported and invalid constructs ----

fails!(unsupported_keywords_are_named, "config = { max_map_keys = 2 }\nbegin {\n  import \"lib.bt\";\n}");
fails!(import_is_unsupported, "import \"lib\";\nbegin { }");
fails!(increment_needs_variable_or_map, "begin { 1++; --pid; }");
fails!(several_errors_reported_together, "begin { $x = 08; $y = \"\\q\"; import \"x\"; }");

// ---- C definitions ----

parses!(
    c_definitions_of_every_kind,
    "struct cfs_rq_partial {\n        struct load_weight load;\n        unsigned int nr_running, h_nr_running;\n};\n\
     union u { char c[4]; const volatile int *const p; unsigned long long x:3, :0, y:60; };\n\
     enum state { IDLE, BUSY = 1 << 3, DONE, LAST = DONE * 2 };\n\
     typedef struct { union { u32 a; uint64 b; }; void (*cb)(int, char *); char grid[2][3]; } __attribute__((packed)) pair_t, *pair_p;\n\
     struct later;\n\
     begin { }"
);
fails!(c_definition_without_its_semicolon, "struct point { int x; int y; }\nbegin { }");
fails!(c_member_without_its_semicolon, "struct point { int x int y; };");
fails!(c_definition_never_closed, "struct point { int x;");
fails!(c_variable_is_refused, "struct point { int x; } origin;");
fails!(c_unknown_attribute_is_refused, "struct point { int x; } __attribute__((deprecated));");
fails!(c_constant_that_is_not_one, "enum e { A = B + 1 };");
fails!(c_division_by_zero_in_a_constant, "struct s { char data[4 / 0]; };");
fails!(c_typedef_without_a_name, "typedef unsigned int;");
fails!(c_empty_enum, "enum e { };");
