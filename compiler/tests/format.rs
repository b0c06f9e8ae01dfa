//! The formatter (`--fmt`): one layout, comments and directives kept, idempotent, and the
//! same program before and after.

mod support;

use std::path::{Path, PathBuf};

use ferrotrace_compiler::bpf::disassemble;
use ferrotrace_compiler::driver::compile;
use ferrotrace_compiler::syntax::format::format;

/// A script written every which way, with comments and directives in awkward places.
const MESSY: &str = r#"#!/usr/bin/env ferrotrace
#include <linux/sched.h>
#define LIMIT 0x10
// leading comment
config = { max_strlen=64; print_maps_on_exit = true }
let @m = lruhash(1_000);
macro add1($x){$x+1}


tracepoint:syscalls:sys_enter_openat,tracepoint:syscalls:sys_enter_open/pid>1&&comm!="x"/{ // opens
  @opens[comm,pid]=count();   // trailing
  $a=(1+2)*3-(4-5); $b = -(-1); $n = 1 - (2 - 3);
      if($a>LIMIT){printf("big %d\n",$a);} else if ($a == 2) { printf("two\n") } else {
    /* block comment */
    @m[1] = 1ms;
  }
  for($kv:@opens){ print($kv.0); }
  $t = ($a,); $r = (x = 1, y = "s"); $s = $r.x + $t.0;
  $c = $a ?: 3; $d = $a > 1 ? 1 : 0; $e = if ($a > 1) { 1 } else { 2 };
  $f = { let $q = 1; $q }; let $g: uint16 = (uint16)sizeof($a) + offsetof($r, y);
  $h = args->filename; $k = container_of( $h ,struct  task_struct,tasks.next ); @x++; --@y; _ = delete(@m, 1);
  unroll(2) { @u = 1; }
  if comptime (1 > 0) { exit(); }
}
end{ print(@opens, 10, 2); } // done
"#;

#[test]
fn a_messy_script_in_one_layout() {
    let formatted = format(MESSY).unwrap_or_else(|d| panic!("{d:?}"));
    insta::assert_snapshot!(formatted);
    assert_eq!(format(&formatted).ok().as_deref(), Some(formatted.as_str()), "formatting twice changes nothing");
}

fn scripts(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("the directory exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "bt"))
        .collect();
    files.sort();
    files
}

/// The examples are kept formatted: CI fails when one is not.
#[test]
fn every_example_is_formatted() {
    for path in scripts("examples") {
        let source = std::fs::read_to_string(&path).expect("readable script");
        let formatted = format(&source).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
        assert_eq!(formatted, source, "{} is not formatted: run `ferrotrace --fmt {0} -o {0}`", path.display());
    }
}

/// Every corpus script formats to the same compiled programs, and formatting is idempotent.
#[test]
fn formatting_keeps_every_corpus_program() {
    for path in scripts("tests/corpus").into_iter().chain(scripts("examples")) {
        let source = std::fs::read_to_string(&path).expect("readable script");
        let formatted = format(&source).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
        assert_eq!(format(&formatted).ok().as_deref(), Some(formatted.as_str()), "{} formats differently twice", path.display());
        assert_eq!(programs(&formatted), programs(&source), "{} compiles differently once formatted", path.display());
    }
}

/// The instructions of every program, without source lines.
fn programs(source: &str) -> Vec<String> {
    let compiled = compile(source, &support::FakeCatalog).unwrap_or_else(|d| panic!("{d:?}"));
    compiled.programs.iter().map(|program| disassemble(program, &|m| format!("map#{}", m.0), None)).collect()
}

#[test]
fn code_in_a_branch_not_taken_is_refused() {
    let error = format("#if 0\nbegin { }\n#endif\nend { }\n").expect_err("cannot keep the dropped probe");
    assert_eq!(error[0].code, "E0114");
    assert_eq!(format("begin { $x = ; }").expect_err("a parse error")[0].code, "E0101");
}

/// Cases a review found: each formats, or is refused, without losing or moving code.
#[test]
fn awkward_scripts_format_or_are_refused_whole() {
    let refused = |source: &str| format(source).expect_err("refused")[0].code;
    assert_eq!(refused("#if 0\n/* old */ begin { printf(\"debug\\n\"); }\n#endif\nend { }\n"), "E0114");
    assert_eq!(refused("begin {\n  printf(\"%d\\n\",\n#ifdef BPFTRACE_HAVE_BTF\n    1\n#endif\n  );\n}"), "E0114");
    let kept = [
        "#define LONG 1 + \\\n  2\nbegin {\n    $x = LONG;\n}\n",
        "#if 0\n/*\n  old note\n*/\n#endif\nend { }\n",
        "import \"a.bt\";\nbegin { }\n",
        "#include <€.h>\nbegin {\n    $y = \"€\";\n}\n",
        "begin {\n    $x = (typeof(struct task_struct))1;\n}\n",
        "#define iface 1\nbegin {\n    $x = iface ? 1 : 2;\n}\n",
        "config = {\n    max_strlen = 64;  // {}\n    // x\n}\n\nbegin { }\n",
        "kprobe:f {\n    $t = (struct task_struct *)arg0;\n}\n",
        "struct s {\n  int a;  // the a {\n  /* b; */ long b;\n};  // after\n\n// before\nenum e { A };\n\nbegin { }\n",
    ];
    for source in kept {
        let formatted = format(source).unwrap_or_else(|d| panic!("{source}: {d:?}"));
        assert_eq!(format(&formatted).ok().as_deref(), Some(formatted.as_str()), "{source}");
        if !source.contains("#if 0") {
            assert_eq!(formatted, source);
        }
    }
    let declared = format("let @a = hash(1_000 /* c */);\nbegin { @a[1] = 1; }\n").expect("formats");
    assert_eq!(format(&declared).ok().as_deref(), Some(declared.as_str()), "a comment in a declaration is written once");
}
