//! Snapshot tests of every semantic diagnostic, rendered as the user sees it (color off): each
//! snapshot holds the script and what `compile` says about it. Syntax codes (E01xx) are tested in
//! `syntax.rs`.

mod support;

use ferrotrace_compiler::catalog::{Catalog, CatalogError, TracepointFormat};
use ferrotrace_compiler::diagnostic::{Diagnostic, Severity};
use ferrotrace_compiler::driver::{compile, compile_with, Keep};
use ferrotrace_compiler::options::CompileOptions;
use ferrotrace_compiler::render::render;

/// Compiles `source`, expecting failure; checks every diagnostic points into the source and
/// returns them rendered after the script.
fn rejected(source: &str, catalog: &dyn Catalog) -> (Vec<Diagnostic>, String) {
    rejected_with(source, catalog, &CompileOptions::default())
}

/// `rejected` for a compile with `options`.
fn rejected_with(source: &str, catalog: &dyn Catalog, options: &CompileOptions) -> (Vec<Diagnostic>, String) {
    let diagnostics = match compile_with(source, catalog, options, Keep::default()) {
        Ok(_) => panic!("expected {source:?} to be rejected"),
        Err(diagnostics) => diagnostics,
    };
    assert!(diagnostics.iter().any(Diagnostic::is_error), "rejected without an error");
    for diagnostic in &diagnostics {
        let span = diagnostic.primary_span().expect("every diagnostic has a primary span");
        assert!(span.start <= span.end && span.end as usize <= source.len(), "{span:?} outside {source:?}");
    }
    let rendered = render(&diagnostics, source, "script.bt", false);
    (diagnostics, format!("{source}\n---\n{rendered}"))
}

/// `fails!(name, "E0xxx", source)`: the script is rejected, the first diagnostic has this code;
/// the snapshot is every rendered diagnostic.
macro_rules! fails {
    ($name:ident, $code:literal, $source:expr) => {
        #[test]
        fn $name() {
            let (diagnostics, snapshot) = rejected($source, &support::FakeCatalog);
            assert_eq!(diagnostics[0].code, $code, "{snapshot}");
            insta::assert_snapshot!(stringify!($name), snapshot);
        }
    };
}

/// The options of a run with `-c /usr/bin/app`, whose process is 42.
fn under_a_command() -> CompileOptions {
    CompileOptions { child_pid: Some(42), child_program: Some(support::APP.to_string()), ..CompileOptions::default() }
}

/// `fails_under_c!(name, "E0xxx", source)`: `fails!` for a run with `-c /usr/bin/app`.
macro_rules! fails_under_c {
    ($name:ident, $code:literal, $source:expr) => {
        #[test]
        fn $name() {
            let (diagnostics, snapshot) = rejected_with($source, &support::FakeCatalog, &under_a_command());
            assert_eq!(diagnostics[0].code, $code, "{snapshot}");
            insta::assert_snapshot!(stringify!($name), snapshot);
        }
    };
}

/// `warns!(name, "W0xxx", source)`: the script compiles with exactly this warning.
macro_rules! warns {
    ($name:ident, $code:literal, $source:expr) => {
        #[test]
        fn $name() {
            let source: &str = $source;
            let compiled = match compile(source, &support::FakeCatalog) {
                Ok(compiled) => compiled,
                Err(diagnostics) => panic!("{}", render(&diagnostics, source, "script.bt", false)),
            };
            let codes: Vec<_> = compiled.warnings.iter().map(|w| (w.code, w.severity)).collect();
            assert_eq!(codes, [($code, Severity::Warning)]);
            let rendered = render(&compiled.warnings, source, "script.bt", false);
            insta::assert_snapshot!(stringify!($name), format!("{source}\n---\n{rendered}"));
        }
    };
}

// ---- E02xx: probes ----

fails!(unknown_probe_type_suggests_the_closest, "E0201", "tracepiont:syscalls:sys_enter_openat { }");
fails!(unknown_probe_type_lists_the_known_ones, "E0201", "frobnicate:x { }");
fails!(begin_takes_no_arguments, "E0201", "begin:now { }");
fails!(iter_probe_with_too_many_parts, "E0211", "iter:task:pin:more { }");
fails!(iter_probe_without_a_name, "E0211", "iter: { }");
fails!(iter_probe_takes_no_wildcards, "E0211", "iter:task* { }");
fails!(unknown_iterator_suggests_the_closest, "E0212", "iter:tsak { }");
fails!(iterator_runs_alone, "E0213", "iter:task { } tracepoint:syscalls:sys_enter_read { }");
fails!(iterator_runs_alone_even_beside_another, "E0213", "iter:task, iter:task_file { }");
fails!(iterator_printf_is_formatted_by_the_kernel, "E0214", "iter:task { printf(\"%5.2d\\n\", ctx.task.pid); }");
fails!(iterator_printf_prints_strings_as_strings, "E0214", "iter:task { printf(\"%s\\n\", ctx.task.pid); }");
fails!(iterator_printf_has_no_octal, "E0214", "iter:task_file { printf(\"%o\\n\", ctx.fd); }");
fails!(ctx_in_a_tracepoint, "E0536", "tracepoint:syscalls:sys_enter_read { print(ctx); }");
fails!(path_of_something_else, "E0537", "iter:task_file { print(path(ctx.fd)); }");
fails!(path_size_is_a_literal, "E0537", "iter:task_file { print(path(ctx.file.f_path, ctx.fd)); }");
fails!(path_where_the_kernel_refuses_it, "E0538", "kprobe:vfs_read { print(path(arg0)); }");
fails!(uprobe_unknown_function_suggests_the_closest, "E0219", "uprobe:/usr/bin/app:handle_requst { }");
fails!(uprobe_without_a_binary_needs_a_process, "E0217", "uprobe:handle_request { }");
fails!(uprobe_library_not_found, "E0217", "uprobe:libnosuch:f { }");
fails!(uretprobe_takes_no_offset, "E0216", "uretprobe:/usr/bin/app:main+4 { }");
fails!(uprobe_offset_past_the_function, "E0216", "uprobe:/usr/bin/app:main+64 { }");
fails!(uprobe_args_without_debug_info, "E0240", "uprobe:/usr/bin/app:main { print(args.argc); }");
fails!(uprobe_args_at_an_offset, "E0240", "uprobe:/usr/bin/app:handle_request+4 { print(args.fd); }");
fails!(uprobe_args_name_not_a_parameter_suggests_the_closest, "E0241", "uprobe:/usr/bin/app:handle_request { print(args.fb); }");
fails!(uprobe_args_floating_point_parameter, "E0242", "uprobe:/usr/bin/app:handle_request { print(args.timeout); }");
fails!(uprobe_args_struct_by_value, "E0242", "uprobe:/usr/bin/app:handle_reply { print(args.after); }");
fails!(uprobe_args_record_with_an_unreadable_parameter, "E0242", "uprobe:/usr/bin/app:handle_request { print(args); }");
fails!(uretprobe_args_are_gone, "E0243", "uretprobe:/usr/bin/app:handle_request { print(args.fd); }");
fails!(usdt_argument_past_the_end, "E0424", "usdt:/usr/bin/app:query { print(arg1); }");
fails!(usdt_unknown_probe_suggests_the_closest, "E0220", "usdt:/usr/bin/app:app:request__stat { }");
fails!(retval_in_a_usdt_probe, "E0424", "usdt:/usr/bin/app:query { print(retval); }");
fails!(len_of_a_kept_stack, "E0539", "kprobe:vfs_read { $s = kstack; @[len($s)] = count(); }");
fails!(len_of_a_number, "E0539", "kprobe:vfs_read { @[len(arg0)] = count(); }");
fails!(stack_arguments_outside_a_function_entry, "E0424", "kretprobe:vfs_read { print(sarg0); }");
fails!(an_argument_past_any_stack, "E0424", "kprobe:vfs_read { print(arg999999999); }");
fails!(usdt_symbol_the_binary_lacks, "E0221", "usdt:/usr/bin/app:rip { print(arg2); }");
fails!(watchpoint_needs_three_parts, "E0230", "watchpoint:0x10000000:8 { }");
fails!(watchpoint_address_is_a_number, "E0230", "watchpoint:0x1000z:8:w { }");
fails!(watchpoint_address_is_not_zero, "E0230", "watchpoint:0:8:w { }");
fails_under_c!(watchpoint_argument_in_a_register, "E0230", "w:handle_request+arg6:8:w { }");
fails_under_c!(watchpoint_argument_is_written_argn, "E0230", "w:handle_request+rdi:8:w { }");
fails!(watchpoint_length_is_1_2_4_or_8, "E0231", "watchpoint:0x10000000:16:w { }");
fails!(watchpoint_address_aligned_to_its_length, "E0231", "watchpoint:0x10000004:8:rw { }");
fails!(watchpoint_mode_unknown_letter, "E0232", "watchpoint:0x10000000:8:a { }");
fails!(watchpoint_mode_repeated, "E0232", "watchpoint:0x10000000:8:ww { }");
fails!(watchpoint_mode_read_alone, "E0232", "watchpoint:0x10000000:8:r { }");
fails!(watchpoint_mode_read_and_execute, "E0232", "watchpoint:0x10000000:8:rx { }");
fails!(watchpoint_on_an_argument_needs_a_process, "E0233", "watchpoint:handle_request+arg0:8:w { }");
fails!(asyncwatchpoint_needs_a_function, "E0234", "asyncwatchpoint:0x10000000:8:w { }");
fails_under_c!(watchpoint_unknown_function_suggests_the_closest, "E0219", "w:handle_requst+arg1:4:w { }");
fails!(unwatch_needs_an_address, "E0419", "watchpoint:0x10000000:8:w { unwatch(\"0x10000000\"); }");
fails!(watchpoint_has_no_func, "E0531", "watchpoint:0x10000000:8:w { @[func] = count(); }");
fails!(watchpoint_has_no_arguments, "E0424", "watchpoint:0x10000000:8:w { @[arg0] = count(); }");
fails!(tracepoint_needs_category_and_name, "E0203", "tracepoint:syscalls { }");
fails!(unknown_tracepoint_suggests_the_closest, "E0204", "tracepoint:syscalls:sys_enter_opnat { }");
fails!(unknown_tracepoint_category_suggests_the_closest, "E0204", "tracepoint:syscals:sys_enter_openat { }");
fails!(wildcard_matching_no_tracepoint, "E0204", "tracepoint:syscalls:sys_enter_nothing* { }");
fails!(kprobe_with_too_many_parts, "E0207", "kprobe:ext4:ext4_sync_fs:more { }");
fails!(kretprobe_with_an_offset, "E0207", "kretprobe:vfs_read+0x10 { }");
fails!(kprobe_wildcard_with_an_offset, "E0207", "kprobe:vfs_*+4 { }");
fails!(kprobe_offset_that_is_not_a_number, "E0207", "kprobe:vfs_read+four { }");
fails!(unknown_kernel_function_suggests_the_closest, "E0209", "kprobe:vfs_raed { }");
fails!(kprobe_wildcard_matching_no_function, "E0209", "kretprobe:nothing_* { }");
fails!(module_function_named_without_its_module, "E0209", "kprobe:ext4_sync_fs { }");
fails!(interval_rate_must_be_positive, "E0206", "interval:s:0 { }");
fails!(interval_rate_with_an_unknown_unit, "E0206", "interval:parsecs:1 { }");
fails!(profile_rate_that_is_not_a_number, "E0206", "profile:hz:fast { }");

/// A catalog whose kernel facts cannot be read, as without tracefs.
struct UnavailableCatalog;

impl Catalog for UnavailableCatalog {
    fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
        Err(CatalogError::Unavailable("tracefs is not mounted".into()))
    }

    fn tracepoint_format(&self, _: &str, _: &str) -> Result<TracepointFormat, CatalogError> {
        Err(CatalogError::Unavailable("tracefs is not mounted".into()))
    }
}

/// Without kprobes, the catalog lists no kernel functions and says why.
#[test]
fn kernel_without_kprobes() {
    let (diagnostics, snapshot) = rejected("kprobe:vfs_read { }", &UnavailableCatalog);
    assert_eq!(diagnostics[0].code, "E0208", "{snapshot}");
    insta::assert_snapshot!("kernel_without_kprobes", snapshot);
}

#[test]
fn kernel_catalog_unavailable() {
    let (diagnostics, snapshot) = rejected("tracepoint:syscalls:sys_enter_openat { }", &UnavailableCatalog);
    assert_eq!(diagnostics[0].code, "E0205", "{snapshot}");
    insta::assert_snapshot!("kernel_catalog_unavailable", snapshot);
}

warns!(signed_and_uint64_join_as_int64, "W0409", "begin { $c = (uint64)1; $d = (int64)-1; $c = $d; print($c); }");
warns!(map_given_uint64_and_signed_values, "W0409", "begin { @c = (uint64)1; }\nend { @c = (int64)-1; }");
warns!(predicate_on_begin_is_checked_once, "W0201", "begin /pid > 1/ { printf(\"hi\\n\"); }");

// ---- E03xx: names ----

fails!(map_read_but_never_assigned, "E0301", "begin { if (@never) { exit(); } }");
fails!(unknown_identifier_suggests_a_builtin, "E0302", "begin { print(pdi); }");
fails!(unknown_identifier_without_a_close_name, "E0302", "begin { print(frobnicate); }");
fails!(variable_used_before_assignment, "E0303", "begin { print($x); }");
fails!(compound_assignment_before_assignment, "E0303", "begin { $total += 1; }");
fails!(unknown_tracepoint_field_suggests_the_closest, "E0304", "tracepoint:syscalls:sys_enter_openat { print(args.filenme); }");
fails!(unknown_function_suggests_the_closest, "E0305", "begin { prinf(\"hi\\n\"); }");

// ---- E04xx: types ----

fails!(map_used_with_two_key_types, "E0401", "begin { @m[1] = 1; }\nend { @m[\"one\"] = 2; }");
fails!(map_used_with_and_without_a_key, "E0401", "begin { @m[pid] = 1; @m = 2; }");
fails!(map_given_two_kinds_of_value, "E0402", "begin { @m = 1; }\nend { @m = \"one\"; }");
fails!(map_given_two_aggregations, "E0402", "begin { @m = count(); @m = sum(pid); }");
fails!(variable_assigned_two_types, "E0403", "begin { $x = 1; $x = comm; }");
fails!(integers_cannot_be_indexed, "E0404", "begin { $x = 1; print($x[0]); }");
fails!(record_fields_are_named_once, "E0455", "begin { $r = (a = 1, a = 2); }");
fails!(tuple_index_must_be_constant, "E0456", "begin { $t = (1, \"a\"); $i = (uint64)1; print($t[$i]); }");
fails!(string_index_out_of_bounds, "E0457", "begin { $s = \"abc\"; print($s[4]); }");
fails!(strftime_format_is_a_literal, "E0520", "begin { $f = \"%H\"; print(strftime($f, nsecs)); }");
fails!(strftime_of_monotonic_time, "E0521", "begin { print(strftime(\"%H:%M\", nsecs(monotonic))); }");
fails!(named_numbers_print_with_percent_s, "E0504", "begin { printf(\"%d\", strerror(1)); }");
fails!(find_needs_a_declared_variable, "E0459", "begin { @m[1] = 2; if (find(@m, 1, $v)) { print($v); } }");
fails!(comptime_needs_a_constant, "E0460", "begin { $x = comptime pid; }");
fails!(static_assert_message_is_a_literal, "E0461", "begin { $m = \"no\"; static_assert(1 == 1, $m); }");
fails!(static_assert_that_fails, "E0462", "begin { static_assert(probetype == \"kprobe\", \"this script needs a kprobe\"); }");
fails!(fail_outside_a_dropped_branch, "E0462", "begin { if comptime (probetype == \"special\") { fail(\"no %s here\", \"begin\"); } }");
fails!(buf_needs_a_length, "E0464", "begin { $b = buf(\"abc\"); }");
fails!(percent_r_needs_a_buffer, "E0504", "begin { printf(\"%r\", 5); }");
fails!(task_members_need_btf, "E0465", "begin { print(ppid); }");
fails!(usermode_needs_registers, "E0466", "begin { print(usermode); }");
fails!(memcmp_count_is_a_literal, "E0467", "begin { $n = 2; print(memcmp(\"ab\", \"ac\", $n)); }");
fails!(tseries_interval_is_a_literal, "E0468", "begin { @s = tseries(1, 0, 10); }");
fails!(tseries_aggregation_is_known, "E0469", "begin { @s = tseries(1, 1s, 10, \"median\"); }");
fails!(tseries_refused_by_config, "E0470", "config = { unstable_tseries = error }\nbegin { @s = tseries(1, 1s, 10); }");
fails!(empty_tuple_in_a_map, "E0471", "begin { @m = (); }");
fails!(find_keeps_a_declared_type, "E0403", "begin { @m[1] = \"hello\"; let $v: uint64; find(@m, 1, $v); }");
fails!(assert_str_needs_a_string, "E0472", "begin { assert_str(1); }");
fails!(pton_needs_an_address, "E0473", "begin { print(pton(\"localhost\")); }");
fails!(cgroupid_of_a_variable, "E0523", "begin { $p = \"/sys/fs/cgroup\"; print(cgroupid($p)); }");
fails!(cgroupid_without_cgroups, "E0524", "begin { print(cgroupid(\"/sys/fs/cgroup/none\")); }");
fails!(cpid_without_a_command, "E0525", "begin { print(cpid); }");
fails!(pid_of_an_unknown_namespace, "E0522", "begin { print(pid(host)); }");
fails!(strftime_of_a_monotonic_variable, "E0521", "begin { $m = nsecs(monotonic); print(strftime(\"%H\", $m)); }");
fails!(records_have_only_their_fields, "E0410", "begin { $r = (a = 1); print($r.b); }");
fails!(tuples_of_different_types_do_not_compare, "E0420", "begin { if ((1, 2) == (1, \"a\")) { exit(); } }");
fails!(function_like_define_used, "E0440", "#define TWICE(x) ((x) * 2)\nbegin { $x = TWICE; }");
fails!(define_expanding_to_itself, "E0441", "#define A (B + 1)\n#define B A\nbegin { $x = A; }");
fails!(define_that_is_not_an_expression, "E0442", "#define BAD 1 +\nbegin { $x = BAD; }");
fails!(macro_uses_a_map_it_was_not_given, "E0443", "macro m(x) { @q = x; }\nbegin { m(1); }");
fails!(macro_arguments_match_no_definition, "E0444", "macro m(@a) { @a = 1; }\nbegin { m(1); }");
fails!(macro_calls_itself, "E0445", "macro a(x) { b(x) }\nmacro b(x) { a(x) }\nbegin { print(a(1)); }");
fails!(macro_defined_twice, "E0446", "macro m(x) { x }\nmacro m(y) { y }\nbegin { print(m(1)); }");
fails!(statement_macro_used_as_a_value, "E0418", "macro set($x) { $x = 1; }\nbegin { $a = 0; $b = set($a); }");
fails!(histogram_read_as_a_value, "E0406", "begin { @h = hist(1); $x = @h + 1; }");
fails!(negative_literal_too_small, "E0407", "begin { $x = -9223372036854775809; }");
fails!(strings_compared_by_order, "E0408", "begin { if (comm < \"sh\") { exit(); } }");
fails!(ternary_branches_of_different_types, "E0409", "begin { $x = pid > 1 ? 1 : \"one\"; }");
fails!(field_of_something_without_fields, "E0410", "begin { print(comm.len); }");
fails!(args_outside_a_tracepoint, "E0411", "begin { print(args.filename); }");
fails!(field_of_unsupported_type, "E0412", "tracepoint:ipi:ipi_raise { print(args.target_cpus); }");
fails!(tuple_index_on_a_non_tuple, "E0413", "begin { print(pid.0); }");
fails!(tuple_index_out_of_range, "E0414", "begin { $t = (1, \"two\"); print($t.2); }");
fails!(argument_outside_a_kprobe, "E0424", "tracepoint:syscalls:sys_enter_openat { print(arg0); }");
fails!(argument_in_a_kretprobe, "E0424", "kretprobe:vfs_read { print(arg1); }");
fails!(retval_in_a_kprobe, "E0424", "kprobe:vfs_read { print(retval); }");
fails!(string_used_as_a_condition, "E0417", "begin { if (comm) { exit(); } }");
fails!(tuple_used_as_a_predicate, "E0417", "begin { $t = (1, 2); if ($t) { exit(); } }");
fails!(action_used_as_a_value, "E0418", "begin { $x = printf(\"hi\\n\"); }");
fails!(string_negated, "E0419", "begin { $x = -comm; }");
fails!(exit_code_that_is_a_string, "E0419", "begin { exit(\"failed\"); }");
fails!(string_cast_to_integer, "E0419", "begin { $x = (uint32)comm; }");
fails!(string_used_as_a_number, "E0420", "begin { $x = comm + 1; }");
fails!(number_plus_string, "E0420", "begin { $x = 1 + comm; }");
warns!(value_computed_and_dropped, "W0405", "begin { $x = 1; $x + 1; }");
fails!(unknown_map_kind, "E0451", "let @m = btree(100);\nbegin { @m[1] = 1; }");
fails!(map_kind_that_does_not_fit, "E0453", "let @c = hash(100);\nbegin { @c[1] = count(); }");
warns!(declared_map_never_used, "W0406", "let @unused = hash(10);\nbegin { @used[1] = 1; }");
fails!(variable_declared_again, "E0447", "begin { $x = 1; if (pid > 0) { let $x = 2; } }");
fails!(variable_used_outside_its_block, "E0303", "begin { if (pid > 0) { $x = 1; } else { $x = 2; } print($x); }");
fails!(unknown_declared_type, "E0448", "begin { let $x: float = 1; }");
fails!(c_type_name_in_sizeof, "E0448", "begin { print(sizeof(int)); }");
fails!(cast_to_a_string_type, "E0474", "begin { $s = (typeof(comm))1; }");
fails!(kernel_type_the_kernel_lacks, "E0475", "begin { print(sizeof(struct no_such_struct)); }");
fails!(deref_of_an_integer, "E0476", "tracepoint:syscalls:sys_enter_read { print(*args.count); }");
fails!(member_the_struct_lacks, "E0478", "begin { print(curtask->no_such_member); }");
fails!(whole_struct_printed, "E0481", "begin { print(*curtask); }");
fails!(array_index_out_of_bounds, "E0457", "begin { print(curtask->comm[16]); }");
fails!(container_of_a_type_that_is_not_a_struct, "E0486", "begin { $p = container_of(0, typeof(1), a); }");
fails!(container_of_a_string, "E0419", "begin { print(container_of(\"s\", struct task_struct, pid)); }");
fails!(cast_of_a_string_to_an_enum, "E0419", "begin { $e = (enum pid_type)\"str\"; }");
fails!(offsetof_an_unknown_field, "E0410", "begin { $r = (a = 1, b = (c = 2)); print(offsetof($r, b.d)); }");
fails!(literal_out_of_declared_range, "E0449", "begin { let $x: uint8 = 300; }");
fails!(constant_division_by_zero, "E0422", "begin { @x = pid / 0; }");
fails!(shift_of_64_bits, "E0423", "begin { @x = pid << 64; }");

// ---- E05xx: calls ----
// A map whose only assignment is an aggregation in error is also reported as never assigned (a
// known sema bug, see `a_failed_aggregation_reports_one_error`), so the scripts below assign
// each map correctly in another probe.

fails!(aggregation_used_as_a_value, "E0501", "begin { $x = count(); }");
fails!(printf_format_not_a_literal, "E0502", "begin { $f = \"%d\\n\"; printf($f, 1); }");
fails!(printf_format_with_a_bad_conversion, "E0503", "begin { printf(\"%q\\n\", 1); }");
fails!(printf_with_too_few_arguments, "E0504", "begin { printf(\"%d %s\\n\", pid); }");
fails!(printf_with_too_many_arguments, "E0504", "begin { printf(\"%d\\n\", pid, tid); }");
fails!(printf_argument_of_the_wrong_type, "E0504", "begin { printf(\"%d\\n\", comm); }");
fails!(print_top_not_a_literal, "E0505", "begin { @c[pid] = count(); print(@c, pid); }");
fails!(clear_needs_a_map, "E0506", "begin { clear(pid); }");
fails!(str_length_not_an_integer, "E0507", "tracepoint:syscalls:sys_enter_openat { print(str(args.filename, comm)); }");
fails!(str_of_something_not_a_pointer, "E0508", "begin { print(str((1, 2))); }");
fails!(aggregating_a_string, "E0509", "begin { @s = sum(pid); }\nend { @s = sum(comm); }");
fails!(hist_with_a_bad_precision, "E0510", "begin { @h = hist(pid); }\nend { @h = hist(pid, 9); }");
fails!(lhist_bounds_not_literals, "E0511", "begin { @h = lhist(pid, 0, 10, 1); }\nend { @h = lhist(pid, 0, pid, 1); }");
fails!(lhist_with_max_below_min, "E0512", "begin { @h = lhist(pid, 0, 100, 10); }\nend { @h = lhist(pid, 100, 0, 10); }");
fails!(lhist_with_too_many_buckets, "E0512", "begin { @h = lhist(pid, 0, 100, 1); }\nend { @h = lhist(pid, 0, 1000000, 1); }");
fails!(aggregation_with_the_wrong_arity, "E0513", "begin { @c = count(); }\nend { @c = count(pid); }");
fails!(builtin_called_with_arguments, "E0513", "begin { print(uid(1)); }");
fails!(exit_with_two_codes, "E0513", "begin { exit(1, 2); }");
fails!(printf_without_a_format, "E0513", "begin { printf(); }");

// ---- E06xx: resources ----

/// Nine locals of 64 bytes each: 576 bytes, more than the 512 the kernel gives a program.
fn nine_large_locals() -> String {
    let mut body = String::new();
    for name in 'a'..='i' {
        body.push_str(&format!("  ${name} = str(args.filename, 64);\n"));
    }
    format!("tracepoint:syscalls:sys_enter_openat {{\n{body}  printf(\"%s%s%s%s%s%s%s%s%s\\n\", $a, $b, $c, $d, $e, $f, $g, $h, $i);\n}}")
}

fails!(probe_needs_too_much_stack, "E0601", &nine_large_locals());

// ---- One run reports every problem ----

fails!(
    several_errors_in_one_run,
    "E0204",
    "tracepoint:syscalls:sys_enter_opnat { }\nbegin {\n  $x = pdi;\n  @m[1] = 1;\n  @m[comm] = 2;\n  prinf(\"%d\\n\", $x);\n}"
);

// ---- Mistakes that once slipped through or cascaded ----

/// The codes `compile` reports for `source`, or an empty list when it compiles.
fn codes(source: &str) -> Vec<&'static str> {
    match compile(source, &support::FakeCatalog) {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics.iter().map(|d| d.code).collect(),
    }
}

#[test]
fn a_failed_assignment_reports_one_error() {
    assert_eq!(codes("begin { $x = pdi; print($x); }"), ["E0302"]);
    assert_eq!(codes("begin { @x = pdi; print(@x); }"), ["E0302"]);
}

#[test]
fn a_failed_aggregation_reports_one_error() {
    assert_eq!(codes("begin { @s = sum(comm); }"), ["E0509"]);
    assert_eq!(codes("begin { @c = count(pid); }"), ["E0513"]);
    assert_eq!(codes("begin { @h = lhist(pid, 10, 0, 1); }"), ["E0512"]);
}

#[test]
fn compound_assignment_to_an_aggregation_is_rejected() {
    assert_eq!(codes("begin { @c = count(); @c += 1; }"), ["E0406"]);
}

#[test]
fn user_mistakes_are_not_internal_errors() {
    let scripts = [
        "begin { @x = 1 / 0; }",
        "begin { @x = pid % 0; }",
        "begin { @x = pid << 64; }",
        "begin { @x = pid >> -3; }",
        "begin { exit(); print(1); }",
        "begin { return; print(1); }",
        "begin { $x = \"a\" == \"\" ? 1 : 2; }",
        "interval:s:1 /$x == 1/ { $x = 1; }",
    ];
    for source in scripts {
        assert!(!codes(source).contains(&"E0901"), "{source}");
    }
}

#[test]
fn missing_field_under_a_wildcard_names_the_tracepoint() {
    let source = "tracepoint:syscalls:sys_enter_* { print(args.filename); }";
    let diagnostics = compile(source, &support::FakeCatalog).expect_err("sys_enter_getppid has no filename");
    assert!(diagnostics[0].message.contains("sys_enter_getppid"), "{}", diagnostics[0].message);
}

// ---- docs/errors.md ----

/// Each `### CODE: title` section of `docs/errors.md` with the first ``` block under it.
fn documented_examples() -> Vec<(String, Option<String>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/errors.md");
    let text = std::fs::read_to_string(path).expect("docs/errors.md is readable");
    text.split("\n### ")
        .skip(1)
        .map(|section| {
            let code = section.split(':').next().unwrap_or_default().to_string();
            let example = section.split("```\n").nth(1).map(str::to_string);
            (code, example)
        })
        .collect()
}

/// Every example in the error documentation reports the code it illustrates, first. E0205 needs
/// a kernel without tracefs, E0208 one without kprobes, E0254 one that lists no BPF programs,
/// E0435 a wrong option value (tested below), and E0415 is caught earlier by the parser as E0109.
#[test]
fn documented_examples_report_their_code() {
    let examples = documented_examples();
    assert!(examples.len() >= 55, "docs/errors.md lost sections: {}", examples.len());
    for (code, example) in examples {
        let Some(source) = example else { continue };
        // Imports are read as the CLI reads them, from a file system of one file that imports
        // itself.
        // The formatter's own codes come from formatting, not compiling.
        if code == "E0114" {
            let refused = ferrotrace_compiler::syntax::format::format(&source).err().unwrap_or_default();
            assert_eq!(refused.first().map(|d| d.code), Some("E0114"), "the example of {code}:\n{source}");
            continue;
        }
        let reported: Vec<&str> = match ferrotrace_compiler::sources::assemble("script.bt", &source, &SelfImporting) {
            Err(failure) => vec![failure.0.code],
            Ok((text, _)) => match compile(&text, &support::FakeCatalog) {
                Ok(compiled) => compiled.warnings.iter().map(|w| w.code).collect(),
                Err(diagnostics) => diagnostics.iter().map(|d| d.code).collect(),
            },
        };
        let expected = match code.as_str() {
            "E0205" | "E0208" | "E0210" | "E0254" | "E0435" | "E0480" => vec![],
            // Refused for lacking `--unsafe` before the probe and signal are looked at.
            "E0518" | "E0519" => vec!["E0517"],
            "E0415" => vec!["E0109"],
            _ => vec![code.as_str()],
        };
        assert_eq!(reported.first(), expected.first(), "the example of {code}:\n{source}");
    }
}

/// Every code the compiler and the CLI can emit has a section in `docs/errors.md`.
#[test]
fn every_code_is_documented() {
    let documented: Vec<String> = documented_examples().into_iter().map(|(code, _)| code).collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut emitted = emitted_codes(&root.join("src"));
    emitted.extend(emitted_codes(&root.join("../src")));
    assert!(emitted.len() >= 50, "the code scan found too few codes: {emitted:?}");
    let mut missing = Vec::new();
    for code in emitted {
        if !documented.contains(&code) {
            missing.push(code);
        }
    }
    assert!(missing.is_empty(), "undocumented codes: {missing:?}");
}

/// The string literals shaped like `"E0123"` or `"W0123"` in the sources under `dir`.
fn emitted_codes(dir: &std::path::Path) -> Vec<String> {
    let mut codes = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("readable directory entry").path();
        if path.is_dir() {
            codes.extend(emitted_codes(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("readable source");
            for (at, _) in text.match_indices(['E', 'W']) {
                let literal = text.get(at.saturating_sub(1)..at + 6).unwrap_or_default().as_bytes();
                let quoted = literal.len() == 7 && literal[0] == b'"' && literal[6] == b'"';
                if quoted && literal[2..6].iter().all(u8::is_ascii_digit) {
                    codes.push(text[at..at + 5].to_string());
                }
            }
        }
    }
    codes.sort();
    codes.dedup();
    codes
}

/// An option value that does not fit its `getopt` default is reported at the `getopt`.
#[test]
fn option_values_must_fit_their_default() {
    use ferrotrace_compiler::driver::{compile_with, Keep};
    use ferrotrace_compiler::options::{CompileOptions, Params};
    let source = r#"begin { printf("%d %d\n", getopt("n", 3), getopt("b")); }"#;
    for (args, ok) in [(&["--n=many"][..], false), (&["--b=maybe"], false), (&["--n"], false), (&["--n=0x10", "--b=0"], true)] {
        let options = CompileOptions { params: Params::from_args(args), ..CompileOptions::default() };
        let result = compile_with(source, &support::FakeCatalog, &options, Keep::default());
        match result {
            Ok(_) => assert!(ok, "{args:?} was accepted"),
            Err(diagnostics) => {
                assert!(!ok, "{args:?} was refused: {diagnostics:?}");
                assert_eq!(diagnostics[0].code, "E0435");
            }
        }
    }
}

/// Compiled for load-time parameters, an option is a read of its place in the config value,
/// listed in the manifest with its value (a string with room for a longer one); an option
/// needed while compiling (`if comptime`) fails the compile, for the caller to compile again
/// without.
#[test]
fn options_read_at_load_are_config_words_listed_in_the_manifest() {
    use ferrotrace_compiler::manifest::{LoadParam, LoadParamKind};
    use ferrotrace_compiler::options::Params;
    let options = CompileOptions { params: Params::from_args(&["--n=12"]), params_at_load: true, ..CompileOptions::default() };
    let source = r#"begin { printf("%d %d %s %d\n", getopt("n", 3), getopt("b"), getopt("s", "x"), getopt("n", 3) + 1); }"#;
    let compiled = compile_with(source, &support::FakeCatalog, &options, Keep::ALL).expect("compiles");
    let expected = [
        LoadParam { name: "n".into(), kind: LoadParamKind::Int { signed: false }, offset: 32, value: 12u64.to_ne_bytes().to_vec() },
        LoadParam { name: "b".into(), kind: LoadParamKind::Bool, offset: 40, value: vec![0; 8] },
        LoadParam { name: "s".into(), kind: LoadParamKind::Str { capacity: 64 }, offset: 48, value: [&b"x"[..], &[0; 63]].concat() },
    ];
    assert_eq!(compiled.manifest.params, expected);
    let hir = ferrotrace_compiler::sema::print::print_hir(compiled.hir.as_ref().expect("kept"));
    assert!(hir.contains("param[0]") && hir.contains("param[1]") && hir.contains("param[2]"), "{hir}");
    let needed = r#"begin { if comptime (getopt("b")) { print(1); } }"#;
    assert!(compile_with(needed, &support::FakeCatalog, &options, Keep::default()).is_err());
}

/// A file system holding only `self.bt`, which imports itself.
struct SelfImporting;

impl ferrotrace_compiler::sources::Loader for SelfImporting {
    fn load(&self, _: &str, path: &str) -> Result<Vec<(String, String)>, String> {
        match path {
            "self.bt" => Ok(vec![("self.bt".to_string(), "import \"self.bt\";\n".to_string())]),
            _ => Err("not found".to_string()),
        }
    }
}

/// Uprobes expand over symbols and demangled names, by address and library name; usdt
/// arguments are typed by their specs; `func` is the function's name.
#[test]
fn userspace_probes_expand_and_type_their_arguments() {
    let source = r#"
uprobe:/usr/bin/app:handle_* { @[func] = count(); }
uretprobe:libapp:main { @r = sum(retval); }
uprobe:/usr/bin/app:"server::start", uprobe:/usr/bin/app:0x401100, u:/usr/bin/app:main+8 { @s = count(); }
usdt:/usr/bin/app:app:request__start { @a = sum(arg0 + arg1 + arg2); $x = str(arg1); }
"#;
    let compiled = compile(source, &support::FakeCatalog).expect("the userspace probes compile");
    let names: Vec<&str> = compiled.manifest.probe_names.iter().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "uprobe:/usr/bin/app:handle_reply",
            "uprobe:/usr/bin/app:handle_request",
            "uretprobe:/usr/bin/app:main",
            "uprobe:/usr/bin/app:_ZN6server5startEv",
            "uprobe:/usr/bin/app:0x401100",
            "uprobe:/usr/bin/app:main+8",
            "usdt:/usr/bin/app:app:request__start",
        ]
    );
}

/// A kernel watchpoint is named with its address in decimal; one on a function's argument
/// (under `-c`) with the program, the function and the argument's number (none for `arg0`),
/// and a uprobe on the function (the program `Attached N probes` counts) reports the address.
/// A wildcard watches the argument of every function it matches.
#[test]
fn watchpoints_are_named_as_bpftrace_names_them() {
    use ferrotrace_compiler::manifest::{Action, Attach, WatchMode};
    let compiled = compile("w:0x10000000:8:wr { @ = count(); }", &support::FakeCatalog).expect("a kernel watchpoint compiles");
    assert_eq!(compiled.manifest.probe_names, ["watchpoint:268435456:8:rw"]);
    let mode = WatchMode { read: true, write: true, execute: false };
    let watchpoint = Attach::Watchpoint { address: Some(0x1000_0000), length: 8, mode, pid: None, asynchronous: false };
    assert_eq!(compiled.manifest.programs[0].targets[0].attach, watchpoint);
    assert_eq!(compiled.manifest.programs[0].section, "perf_event");

    let source = "watchpoint:handle_request+arg1:4:w, aw:handle_*+arg0:2:w { @[probe] = count(); }";
    let compiled = compile_with(source, &support::FakeCatalog, &under_a_command(), Keep::default()).expect("function watchpoints compile under -c");
    assert_eq!(
        compiled.manifest.probe_names,
        [
            "watchpoint:/usr/bin/app:handle_request:1:4:w",
            "asyncwatchpoint:/usr/bin/app:handle_reply:2:w",
            "asyncwatchpoint:/usr/bin/app:handle_request:2:w",
        ]
    );
    let programs: Vec<(&str, &Attach, u32)> =
        compiled.manifest.programs.iter().map(|p| (p.probe_name.as_str(), &p.targets[0].attach, p.targets[0].probe_id)).collect();
    let write = WatchMode { read: false, write: true, execute: false };
    assert_eq!(programs[0].1, &Attach::Watchpoint { address: None, length: 4, mode: write, pid: Some(42), asynchronous: false });
    // The uprobe carries its watchpoint's probe id: it is no probe of the script's.
    let uprobe = Attach::Uprobe { binary: support::APP.to_string(), function: "handle_request".to_string(), offset: 0x1100, retprobe: false, pid: Some(42) };
    assert_eq!(programs[3], ("uprobe:/usr/bin/app:handle_request", &uprobe, 0));
    assert_eq!(programs.len(), 6);
    let watches: Vec<&Action> = compiled.manifest.actions.iter().filter(|a| matches!(a, Action::Watch { .. })).collect();
    assert_eq!(watches, [&Action::Watch { probe_id: 0, resume: true }, &Action::Watch { probe_id: 1, resume: false }, &Action::Watch { probe_id: 2, resume: false }]);
}

// ---- C definitions ----

fails!(c_type_defined_twice, "E0482", "struct point { int x; };\nstruct point { long x; };\nbegin { }");
fails!(c_enum_constant_defined_twice, "E0482", "enum a { ON };\nenum b { ON };\nbegin { }");
fails!(c_struct_inside_itself, "E0483", "struct node { int value; struct node next; };\nbegin { }");
fails!(c_struct_used_before_its_definition, "E0483", "struct a { struct b b; };\nstruct b { int x; };\nbegin { }");
fails!(c_bitfield_wider_than_its_type, "E0484", "struct flags { unsigned char mode:9; };\nbegin { }");
fails!(c_bitfield_of_a_pointer, "E0484", "struct flags { char *p:3; };\nbegin { }");
fails!(c_member_named_twice, "E0485", "struct pair { int first; long first; };\nbegin { }");
fails!(c_unknown_type_in_a_definition, "E0475", "struct s { no_such_type_t x; };\nbegin { }");
