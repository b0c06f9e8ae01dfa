//! C definitions in scripts end to end through the compiler: layouts checked with
//! `static_assert` against what GCC lays out on x86-64 (the values were printed by a C program
//! of the same definitions), and against the kernel's own BTF for structs defined identically.

mod support;

use ferrotrace_compiler::driver::compile;
use ferrotrace_compiler::render::render;

/// Compiles `source` with the fake catalog (this machine's kernel types), panicking with the
/// rendered diagnostics when it is rejected.
fn compiles(source: &str) {
    if let Err(diagnostics) = compile(source, &support::FakeCatalog) {
        panic!("{}", render(&diagnostics, source, "script.bt", false));
    }
}

/// The error codes `source` is rejected with.
fn codes(source: &str) -> Vec<&'static str> {
    compile(source, &support::FakeCatalog).err().unwrap_or_default().iter().map(|d| d.code).collect()
}

#[test]
fn layouts_are_gccs() {
    compiles(
        r#"
struct a { struct b *p; struct c *q; };
struct b { struct a a; int x:3, :0, y:2; char z[]; };
struct bits { int a:3; int b:30; char c; unsigned long long d:4; };
struct p { char c; int i; short s; } __attribute__((packed));
struct q { char c; struct { short s; long l; } __attribute__((packed)) in; char d; };
struct al { char c; int x __attribute__((aligned(8))); };
struct al2 { char c; } __attribute__((aligned(16)));
union u { char c; int x:5; long long y; };
struct mixed { char a:4; short b:9; char c:7; long d:33; };
enum e1 { A1 = -1, B1 = 0x7fffffff };
enum e2 { A2 = 0xffffffff };
enum e3 { A3 = 0x100000000 };
typedef struct { long x; char comm[16]; } anon_t;
begin {
    static_assert(sizeof(struct b) == 24, "b");
    static_assert(sizeof(struct bits) == 16, "bits");
    static_assert(sizeof(struct p) == 7 && offsetof(struct p, s) == 5, "packed");
    static_assert(sizeof(struct q) == 12 && offsetof(struct q, in) == 1 && offsetof(struct q, d) == 11, "nested packed");
    static_assert(sizeof(struct al) == 16 && offsetof(struct al, x) == 8, "aligned member");
    static_assert(sizeof(struct al2) == 16, "aligned struct");
    static_assert(sizeof(union u) == 8, "union");
    static_assert(sizeof(struct mixed) == 8, "mixed bitfields");
    static_assert(sizeof(enum e1) == 4 && sizeof(enum e2) == 4 && sizeof(enum e3) == 8, "enum sizes");
    static_assert(sizeof(anon_t) == 24 && offsetof(anon_t, comm) == 8, "typedef");
    static_assert(A1 == -1 && A3 == 0x100000000, "enum values");
}
"#,
    );
}

#[test]
fn redefined_kernel_structs_match_the_kernels_btf() {
    if support::host_btf().is_none() {
        eprintln!("skipped: no kernel BTF");
        return;
    }
    compiles(
        r#"
struct qstr_mine { union { struct { u32 hash; u32 len; }; u64 hash_len; }; const unsigned char *name; };
struct list_head_mine { struct list_head_mine *next, *prev; };
struct path_pair { struct path first; struct path second; };
begin {
    static_assert(sizeof(struct qstr_mine) == sizeof(struct qstr), "qstr");
    static_assert(offsetof(struct qstr_mine, name) == offsetof(struct qstr, name), "qstr.name");
    static_assert(offsetof(struct qstr_mine, len) == offsetof(struct qstr, len), "qstr.len");
    static_assert(sizeof(struct list_head_mine) == sizeof(struct list_head), "list_head");
    static_assert(offsetof(struct list_head_mine, prev) == offsetof(struct list_head, prev), "list_head.prev");
    static_assert(sizeof(struct path_pair) == 2 * sizeof(struct path), "a kernel struct by value");
}
"#,
    );
}

#[test]
fn script_types_shadow_the_kernels_and_read_through_pointers() {
    // The script's `struct qstr` hides the kernel's; its members are read by offset.
    compiles(
        r#"
struct qstr { long a; long b; int c:4, d:4; };
enum colour { RED, GREEN = 5 };
kprobe:vfs_read {
    $q = (struct qstr *)arg0;
    static_assert(sizeof(struct qstr) == 24, "the script's");
    @[$q->a, $q.b, $q->c, $q->d] = count();
    if (GREEN == 5) { print(RED); }
}
"#,
    );
    assert_eq!(codes("struct s { int a; };\nbegin { $p = (struct s *)0; print($p->b); }"), ["E0478"]);
}

#[test]
fn kernel_typedefs_and_language_names_are_types() {
    if support::host_btf().is_none() {
        return;
    }
    compiles(
        r#"
struct ids { pid_t pid; size_t len; uint32 a; s64 b; _Bool flag; const char *name; };
begin { static_assert(sizeof(struct ids) == 48 && offsetof(struct ids, len) == 8, "ids"); }
"#,
    );
}
