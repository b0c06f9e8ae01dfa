//! The command line: what ferrotrace was asked to do.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use ferrotrace_compiler::options::Mode;

/// A bpftrace-compatible tracer that compiles scripts straight to eBPF.
#[derive(Debug, Parser)]
#[command(name = "ferrotrace", version = concat!("v", env!("CARGO_PKG_VERSION")), about, disable_version_flag = true, allow_negative_numbers = true)]
pub struct Cli {
    /// The program to run, given on the command line.
    #[arg(short = 'e', value_name = "PROGRAM")]
    pub program: Option<String>,

    /// A script file to run (`-` reads the script from standard input); or a command: `recipe
    /// list|run|show|...` (the built-in recipes, `docs/recipes.md`), `record -o FILE.ftrec` (the
    /// tracepoints of `-e PROGRAM` recorded) or `replay EVENTS [SCRIPT]` (a script run over
    /// recorded or JSON-lines events, without root; without a script, what the events hold;
    /// `docs/replay.md`).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// The script's parameters: `$1`, `$2`, ... and, after `--`, `--name=value` for `getopt`.
    #[arg(value_name = "ARGS")]
    pub args: Vec<String>,

    /// List probes instead of running: those matching the PATTERN given where a script file
    /// goes (all without one), or those of the script (`-e`, or a FILE that exists); with
    /// `-v`, each tracepoint's arguments too.
    #[arg(short = 'l', long = "list")]
    pub list: bool,

    /// The interactive console: attach probe blocks as they are typed, read maps at any moment
    /// (FILE's probes attached first). `ferrotrace` on a terminal with no program starts it too.
    #[arg(short = 'i', long = "interactive", conflicts_with_all = ["program", "list", "dry_run", "emit_elf", "test", "bench", "pid", "command"])]
    pub interactive: bool,

    /// Say what is loaded: each program's instruction count, each map's kind and size.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    /// Quieter: no `Attached N probes` line.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,

    /// Output format: bpftrace's text, or one JSON object per line.
    #[arg(short = 'f', value_name = "FORMAT", value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Write the script's output to FILE (created or truncated); diagnostics stay on stderr.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// How output is buffered: `line` (written at each newline), `full` (when the buffer
    /// fills and at exit) or `none`; by default after each batch of events.
    #[arg(short = 'B', value_name = "MODE", value_enum)]
    pub buffering: Option<Buffering>,

    /// Show compiler stages on stderr (repeatable, or comma-separated; bpftrace's stage names
    /// are taken too).
    #[arg(short = 'd', long = "debug", value_name = "STAGE", value_enum, value_delimiter = ',')]
    pub debug: Vec<Stage>,

    /// Parse, load and attach, then exit without running the probes.
    #[arg(long)]
    pub dry_run: bool,

    /// Compile only: write the BPF ELF object to FILE and exit without loading it.
    #[arg(long, value_name = "FILE", conflicts_with = "dry_run")]
    pub emit_elf: Option<PathBuf>,

    /// Print the system, the build and what the running kernel supports, then exit.
    #[arg(long, conflicts_with_all = ["program", "file", "list", "dry_run", "emit_elf"])]
    pub info: bool,

    /// Run the script's `test:` probes, each once, and report which pass (gtest style).
    #[arg(long, conflicts_with_all = ["bench", "dry_run", "emit_elf"])]
    pub test: bool,

    /// Run the script's `bench:` probes, each many times, and report their average time.
    #[arg(long, conflicts_with_all = ["dry_run", "emit_elf"])]
    pub bench: bool,

    /// Allow functions that change the system: `system`, `signal`.
    #[arg(long = "unsafe")]
    pub unsafe_functions: bool,

    /// Tie the run to process PID: it ends when the process does.
    #[arg(short = 'p', long = "pid", value_name = "PID", conflicts_with = "command")]
    pub pid: Option<String>,

    /// Run COMMAND, held until the probes are attached; the run ends when it does (`cpid` is
    /// its pid).
    #[arg(short = 'c', long = "cmd", value_name = "COMMAND")]
    pub command: Option<String>,

    /// Run only the probes whose full name (as `-l` lists it) REGEX matches; `begin` and `end`
    /// always run.
    #[arg(long, value_name = "REGEX")]
    pub probe_filter: Option<String>,

    /// Do not use these kernel features even where the kernel has them (comma-separated).
    #[arg(long, value_name = "FEATURE", value_enum, value_delimiter = ',')]
    pub no_feature: Vec<Feature>,

    /// Activate USDT semaphores by file path (accepted for bpftrace's command lines; USDT
    /// probes are not supported yet).
    #[arg(long)]
    pub usdt_file_activation: bool,

    /// Accepted and ignored, as bpftrace ignores it: types always come from BTF.
    #[arg(short = 'b', long = "btf", hide = true)]
    pub btf: bool,

    /// With `replay`: run the programs in the reference interpreter instead of compiling them
    /// to native code (slower; for comparing the two).
    #[arg(long)]
    pub interpret: bool,

    /// With `record`: take every event's kernel and user stacks (127 frames each), for the
    /// scripts replayed later that print them. Without it a recording takes only the stacks
    /// of the script it was given.
    #[arg(long)]
    pub stacks: bool,

    /// Print no warnings, from the compiler or while the script runs.
    #[arg(long, conflicts_with = "warnings")]
    pub no_warnings: bool,

    /// Warn, with the place in the script, when a helper fails while the probes run (a map
    /// update, a memory read).
    #[arg(short = 'k', long = "warnings")]
    pub warnings: bool,

    /// Read the script as if it began with `#include <FILE>` (repeatable).
    #[arg(long = "include", value_name = "FILE")]
    pub include_files: Vec<String>,

    /// Also look for imports in DIR (after the importing script's own directory; repeatable).
    #[arg(short = 'I', value_name = "DIR")]
    pub include_dirs: Vec<PathBuf>,

    /// Print the script FILE (`-` for standard input) formatted, to stdout or the `-o` file,
    /// and exit.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["program", "file", "list", "info", "test", "bench", "dry_run", "emit_elf"])]
    pub fmt: Option<PathBuf>,

    /// Print the manual page (roff) and exit: `ferrotrace --man > ferrotrace.8`.
    #[arg(long, conflicts_with_all = ["program", "file", "list", "info"])]
    pub man: bool,

    /// Print a completion script for SHELL and exit.
    #[arg(long, value_name = "SHELL", value_enum, conflicts_with_all = ["program", "file", "list", "info", "man"])]
    pub completions: Option<clap_complete::Shell>,

    /// Print the version.
    #[arg(short = 'V', long = "version", action = clap::ArgAction::Version)]
    pub version: Option<bool>,
}

/// The formats `-f` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// bpftrace's text output.
    Text,
    /// Newline-delimited JSON, bpftrace's schema.
    Json,
}

/// The kernel features `--no-feature` can turn off, as bpftrace names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Feature {
    /// One link attaching a kprobe to many functions: without it, one perf event each.
    KprobeMulti,
    /// Entry and return in one kprobe program (ferrotrace does not use it).
    KprobeSession,
    /// One link attaching a uprobe to many functions of a binary: without it, one perf event each.
    UprobeMulti,
}

/// The buffering modes `-B` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Buffering {
    /// Written at each newline.
    Line,
    /// Written when the buffer fills, and at exit.
    Full,
    /// Written at once.
    None,
}

/// The stages `-d` can show, with bpftrace's names for the nearest one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Stage {
    /// The parsed syntax tree.
    #[value(alias = "parse")]
    Ast,
    /// The checked program with every type.
    #[value(alias = "types")]
    Hir,
    /// Instructions over virtual registers, before and after register allocation.
    #[value(alias = "codegen", alias = "codegen-opt")]
    Lir,
    /// The final BPF instructions, with the script line each came from.
    #[value(alias = "dis")]
    Bpf,
    /// The kernel verifier's log.
    #[value(alias = "libbpf")]
    Verifier,
    /// Every stage.
    All,
}

impl Cli {
    /// Which probes the script is compiled for.
    pub fn mode(&self) -> Mode {
        match (self.test, self.bench) {
            (true, _) => Mode::Test,
            (_, true) => Mode::Bench,
            _ => Mode::Run,
        }
    }

    pub fn shows(&self, stage: Stage) -> bool {
        self.debug.iter().any(|s| *s == stage || *s == Stage::All)
    }
}
