//! The log parser on verifier logs provoked from a Linux 6.18 kernel (log levels 1, 2, 3 and
//! 1|4 as aya asks for them), one hand-assembled bad program each.

use super::{parse_log, Rejection};

fn rejection(insn: usize, reason: &str) -> Rejection {
    Rejection {
        insn: Some(insn),
        reason: reason.to_string(),
    }
}

const R2_UNINIT: &str = r#"0: R1=ctx() R10=fp0
0: (b7) r0 = 0                        ; R0=0
1: (bf) r0 = r2
R2 !read_ok
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"#;

const R0_NOT_SET: &str = r#"0: R1=ctx() R10=fp0
0: (95) exit
R0 !read_ok
verification time 10 usec
stack depth 0
processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"#;

const STACK_OUT_OF_FRAME: &str = r#"0: R1=ctx() R10=fp0
0: (7a) *(u64 *)(r10 -520) = 0
invalid write to stack R10 off=-520 size=8
processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"#;

const MISSING_NULL_CHECK: &str = r#"0: R1=ctx() R10=fp0
0: (7a) *(u64 *)(r10 -8) = 0          ; R10=fp0 fp-8=0
1: (18) r1 = 0xffff888102f8a000       ; R1=map_ptr(ks=8,vs=8)
3: (bf) r2 = r10                      ; R2=fp0 R10=fp0
4: (07) r2 += -8                      ; R2=fp-8
5: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,ks=8,vs=8)
6: (79) r1 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"#;

const MISSING_NULL_CHECK_VERBOSE: &str = r#"func#0 @0
Live regs before insn:
      0: .......... (7a) *(u64 *)(r10 -8) = 0
      1: .......... (18) r1 = 0xffff888102f8a000
      3: .1........ (bf) r2 = r10
      4: .12....... (07) r2 += -8
      5: .12....... (85) call bpf_map_lookup_elem#1
      6: 0......... (79) r1 = *(u64 *)(r0 +0)
      7: .......... (b7) r0 = 0
      8: 0......... (95) exit
0: R1=ctx() R10=fp0
0: (7a) *(u64 *)(r10 -8) = 0          ; R10=fp0 fp-8=0
1: (18) r1 = 0xffff888102f8a000       ; R1=map_ptr(ks=8,vs=8)
3: (bf) r2 = r10                      ; R2=fp0 R10=fp0
4: (07) r2 += -8                      ; R2=fp-8
5: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,ks=8,vs=8)
6: (79) r1 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"#;

const GPL_ONLY_HELPER: &str = r#"0: R1=ctx() R10=fp0
0: (85) call bpf_probe_read_kernel#113
cannot call GPL-restricted function from non-GPL compatible program
verification time 11 usec
stack depth 0
processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"#;

const UNREACHABLE: &str = r#"unreachable insn 2
verification time 5 usec
stack depth 0
processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"#;

const CONTEXT_WRITE: &str = r#"0: R1=ctx() R10=fp0
0: (7a) *(u64 *)(r1 +0) = 0
invalid bpf_context access off=0 size=8
processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"#;

const MAP_VALUE_OUT_OF_RANGE: &str = r#"0: R1=ctx() R10=fp0
0: (7a) *(u64 *)(r10 -8) = 0          ; R10=fp0 fp-8=0
1: (18) r1 = 0xffff888102f8a000       ; R1=map_ptr(ks=8,vs=8)
3: (bf) r2 = r10                      ; R2=fp0 R10=fp0
4: (07) r2 += -8                      ; R2=fp-8
5: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,ks=8,vs=8)
6: (15) if r0 == 0x0 goto pc+1        ; R0=map_value(ks=8,vs=8)
7: (79) r1 = *(u64 *)(r0 +0)          ; R0=map_value(ks=8,vs=8) R1=scalar()
8: (79) r1 = *(u64 *)(r0 +8)
invalid access to map value, value_size=8 off=8 size=8
R0 min value is outside of the allowed memory range
verification time 67 usec
stack depth 8
processed 8 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
"#;

const MAP_VALUE_OUT_OF_RANGE_VERBOSE: &str = r#"func#0 @0
Live regs before insn:
      0: .......... (7a) *(u64 *)(r10 -8) = 0
      1: .......... (18) r1 = 0xffff888102f8a000
      3: .1........ (bf) r2 = r10
      4: .12....... (07) r2 += -8
      5: .12....... (85) call bpf_map_lookup_elem#1
      6: 0......... (15) if r0 == 0x0 goto pc+1
      7: 0......... (79) r1 = *(u64 *)(r0 +0)
      8: 0......... (79) r1 = *(u64 *)(r0 +8)
      9: .......... (b7) r0 = 0
     10: 0......... (95) exit
0: R1=ctx() R10=fp0
0: (7a) *(u64 *)(r10 -8) = 0          ; R10=fp0 fp-8=0
1: (18) r1 = 0xffff888102f8a000       ; R1=map_ptr(ks=8,vs=8)
3: (bf) r2 = r10                      ; R2=fp0 R10=fp0
4: (07) r2 += -8                      ; R2=fp-8
5: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,ks=8,vs=8)
6: (15) if r0 == 0x0 goto pc+1        ; R0=map_value(ks=8,vs=8)
7: (79) r1 = *(u64 *)(r0 +0)          ; R0=map_value(ks=8,vs=8) R1=scalar()
8: (79) r1 = *(u64 *)(r0 +8)
invalid access to map value, value_size=8 off=8 size=8
R0 min value is outside of the allowed memory range
processed 8 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
"#;

const INFINITE_LOOP: &str = r#"0: R1=ctx() R10=fp0
0: (b7) r0 = 0                        ; R0=0
1: (55) if r0 != 0x1 goto pc-2        ; R0=0
0: (b7) r0 = 0                        ; R0=0
1: (55) if r0 != 0x1 goto pc-2        ; R0=0
0: (b7) r0 = 0                        ; R0=0
1: (55) if r0 != 0x1 goto pc-2        ; R0=0
0: (b7) r0 = 0                        ; R0=0
1: (55) if r0 != 0x1 goto pc-2        ; R0=0
0: (b7) r0 = 0
infinite loop detected at insn 1
cur state: R0=0 R1=ctx() R10=fp0
old state: R0=P0 R1=ctx() R10=fp0
verification time 31 usec
stack depth 0
processed 10 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
"#;

const JUMP_OUT_OF_RANGE: &str = r#"jump out of range from insn 1 to 7
verification time 2 usec
stack depth 0
processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"#;

const UNKNOWN_HELPER: &str = r#"0: R1=ctx() R10=fp0
0: (85) call unknown#9999
invalid func unknown#9999
verification time 11 usec
stack depth 0
processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"#;

#[test]
fn r2_uninit() {
    assert_eq!(parse_log(R2_UNINIT), rejection(1, "R2 !read_ok"));
}

#[test]
fn r0_not_set() {
    assert_eq!(parse_log(R0_NOT_SET), rejection(0, "R0 !read_ok"));
}

#[test]
fn stack_out_of_frame() {
    assert_eq!(
        parse_log(STACK_OUT_OF_FRAME),
        rejection(0, "invalid write to stack R10 off=-520 size=8")
    );
}

#[test]
fn missing_null_check() {
    assert_eq!(
        parse_log(MISSING_NULL_CHECK),
        rejection(6, "R0 invalid mem access 'map_value_or_null'")
    );
}

#[test]
fn missing_null_check_verbose() {
    assert_eq!(
        parse_log(MISSING_NULL_CHECK_VERBOSE),
        rejection(6, "R0 invalid mem access 'map_value_or_null'")
    );
}

#[test]
fn gpl_only_helper() {
    assert_eq!(
        parse_log(GPL_ONLY_HELPER),
        rejection(
            0,
            "cannot call GPL-restricted function from non-GPL compatible program"
        )
    );
}

#[test]
fn unreachable() {
    assert_eq!(parse_log(UNREACHABLE), rejection(2, "unreachable insn 2"));
}

#[test]
fn context_write() {
    assert_eq!(
        parse_log(CONTEXT_WRITE),
        rejection(0, "invalid bpf_context access off=0 size=8")
    );
}

#[test]
fn map_value_out_of_range() {
    assert_eq!(
        parse_log(MAP_VALUE_OUT_OF_RANGE),
        rejection(8, "invalid access to map value, value_size=8 off=8 size=8")
    );
}

#[test]
fn map_value_out_of_range_verbose() {
    assert_eq!(
        parse_log(MAP_VALUE_OUT_OF_RANGE_VERBOSE),
        rejection(8, "invalid access to map value, value_size=8 off=8 size=8")
    );
}

#[test]
fn infinite_loop() {
    assert_eq!(
        parse_log(INFINITE_LOOP),
        rejection(1, "infinite loop detected at insn 1")
    );
}

#[test]
fn jump_out_of_range() {
    assert_eq!(
        parse_log(JUMP_OUT_OF_RANGE),
        rejection(1, "jump out of range from insn 1 to 7")
    );
}

#[test]
fn unknown_helper() {
    assert_eq!(
        parse_log(UNKNOWN_HELPER),
        rejection(0, "invalid func unknown#9999")
    );
}

#[test]
fn an_empty_log_still_gives_a_reason() {
    let rejection = parse_log("");
    assert_eq!(rejection.insn, None);
    assert_eq!(
        rejection.reason,
        "the verifier rejected the program without saying why"
    );
}
