//! The format parser against format files copied from a Linux 6.18 tracefs.

use super::{parse_format, FormatError};
use ferrotrace_compiler::catalog::FieldKind;

const SYS_ENTER_OPENAT: &str = r#"name: sys_enter_openat
ID: 782
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:int dfd;	offset:16;	size:8;	signed:0;
	field:const char * filename;	offset:24;	size:8;	signed:0;
	field:int flags;	offset:32;	size:8;	signed:0;
	field:umode_t mode;	offset:40;	size:8;	signed:0;

print fmt: "dfd: 0x%08lx, filename: 0x%08lx, flags: 0x%08lx, mode: 0x%08lx", ((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename)), ((unsigned long)(REC->flags)), ((unsigned long)(REC->mode))
"#;

const SCHED_PROCESS_EXEC: &str = r#"name: sched_process_exec
ID: 365
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:__data_loc char[] filename;	offset:8;	size:4;	signed:0;
	field:pid_t pid;	offset:12;	size:4;	signed:1;
	field:pid_t old_pid;	offset:16;	size:4;	signed:1;

print fmt: "filename=%s pid=%d old_pid=%d", __get_str(filename), REC->pid, REC->old_pid
"#;

const SCHED_SWITCH: &str = r#"name: sched_switch
ID: 372
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:char prev_comm[16];	offset:8;	size:16;	signed:0;
	field:pid_t prev_pid;	offset:24;	size:4;	signed:1;
	field:int prev_prio;	offset:28;	size:4;	signed:1;
	field:long prev_state;	offset:32;	size:8;	signed:1;
	field:char next_comm[16];	offset:40;	size:16;	signed:0;
	field:pid_t next_pid;	offset:56;	size:4;	signed:1;
	field:int next_prio;	offset:60;	size:4;	signed:1;

print fmt: "prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d", REC->prev_comm, REC->prev_pid, REC->prev_prio, (REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)) ? __print_flags(REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1), "|", { 0x00000001, "S" }, { 0x00000002, "D" }, { 0x00000004, "T" }, { 0x00000008, "t" }, { 0x00000010, "X" }, { 0x00000020, "Z" }, { 0x00000040, "P" }, { 0x00000080, "I" }) : "R", REC->prev_state & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) ? "+" : "", REC->next_comm, REC->next_pid, REC->next_prio
"#;

const RAW_SYS_ENTER: &str = r#"name: sys_enter
ID: 443
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:long id;	offset:8;	size:8;	signed:1;
	field:unsigned long args[6];	offset:16;	size:48;	signed:0;

print fmt: "NR %ld (%lx, %lx, %lx, %lx, %lx, %lx)", REC->id, REC->args[0], REC->args[1], REC->args[2], REC->args[3], REC->args[4], REC->args[5]
"#;

/// One line per field: `name: c_type @offset size signed kind`.
fn describe(text: &str) -> String {
    let format = match parse_format(text) {
        Ok(format) => format,
        Err(error) => return format!("error: {error}"),
    };
    let mut out = format!("id {}\n", format.id);
    for field in &format.fields {
        out.push_str(&format!(
            "{}: `{}` @{} size {} {} {:?}\n",
            field.name,
            field.c_type,
            field.offset,
            field.size,
            if field.signed { "signed" } else { "unsigned" },
            field.kind,
        ));
    }
    out
}

#[test]
fn syscall_enter_has_user_pointer_at_24() {
    insta::assert_snapshot!(describe(SYS_ENTER_OPENAT));
}

#[test]
fn data_loc_string_is_recognised() {
    insta::assert_snapshot!(describe(SCHED_PROCESS_EXEC));
}

#[test]
fn char_arrays_are_strings() {
    insta::assert_snapshot!(describe(SCHED_SWITCH));
}

#[test]
fn integer_arrays_are_arrays() {
    insta::assert_snapshot!(describe(RAW_SYS_ENTER));
}

#[test]
fn odd_declarations_are_classified() {
    let text = "ID: 1\n\
        \tfield:void *ptr;\toffset:8;\tsize:8;\tsigned:0;\n\
        \tfield:struct foo bar;\toffset:16;\tsize:24;\tsigned:0;\n\
        \tfield:__data_loc unsigned int[] lengths;\toffset:40;\tsize:4;\tsigned:0;\n\
        \tfield:u8 saddr[4];\toffset:44;\tsize:4;\tsigned:0;\n\
        \tfield:struct sock *socks[2];\toffset:48;\tsize:16;\tsigned:0;\n";
    let kinds: Vec<FieldKind> = match parse_format(text) {
        Ok(format) => format.fields.iter().map(|field| field.kind).collect(),
        Err(error) => panic!("{error}"),
    };
    assert_eq!(
        kinds,
        [
            FieldKind::Pointer,
            FieldKind::Other,
            FieldKind::Other,
            FieldKind::IntArray(4),
            FieldKind::Other
        ]
    );
}

#[test]
fn a_format_without_id_is_an_error() {
    assert_eq!(
        parse_format("name: x\nformat:\n"),
        Err(FormatError::MissingId)
    );
}

#[test]
fn a_broken_field_line_is_an_error() {
    let text = "ID: 3\n\tfield:int;\toffset:8;\tsize:4;\tsigned:1;\n";
    assert_eq!(
        parse_format(text),
        Err(FormatError::BadField {
            line: 2,
            text: "field:int;\toffset:8;\tsize:4;\tsigned:1;".to_string()
        })
    );
}
