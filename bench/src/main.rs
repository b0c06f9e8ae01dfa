//! `ferrotrace-bench`: runs ferrotrace, and bpftrace when there is one, through the benchmark
//! rows and prints one table on stdout; progress goes to stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};

use ferrotrace_bench::bpf_stats::StatsSwitch;
use ferrotrace_bench::load_loop::{self, LoadLoop};
use ferrotrace_bench::rows::{self, Bench, RowName};
use ferrotrace_bench::scratch::Scratch;
use ferrotrace_bench::table;
use ferrotrace_bench::tools::Tools;

/// Benchmarks ferrotrace against bpftrace: start-up, cost per event, printf delivery, compile
/// time and wide wildcards. Run as root.
#[derive(Debug, Parser)]
#[command(name = "ferrotrace-bench", args_conflicts_with_subcommands = true)]
struct Cli {
    /// The ferrotrace binary [default: `ferrotrace` next to this binary].
    #[arg(long, value_name = "PATH")]
    ferrotrace: Option<PathBuf>,

    /// The bpftrace binary to compare with [default: `bpftrace` in PATH, if any].
    #[arg(long, value_name = "PATH", conflicts_with = "no_bpftrace")]
    bpftrace: Option<PathBuf>,

    /// Run ferrotrace alone.
    #[arg(long)]
    no_bpftrace: bool,

    /// Run only these rows.
    #[arg(long, value_name = "ROW", value_delimiter = ',', value_enum)]
    only: Vec<RowName>,

    #[command(subcommand)]
    internal: Option<Internal>,
}

/// What the benchmark runs of itself.
#[derive(Debug, Subcommand)]
enum Internal {
    /// The load loop: name this process `loop`, make CALLS getppid calls.
    #[command(name = load_loop::SUBCOMMAND, hide = true)]
    Loop { calls: u64 },
    /// Call the function the uprobe row traces CALLS times.
    #[command(name = load_loop::CALLS_SUBCOMMAND, hide = true)]
    Calls { calls: u64 },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.internal {
        Some(Internal::Loop { calls }) => {
            load_loop::run(calls).map_err(|error| anyhow::anyhow!("the load loop failed: {error}"))
        }
        Some(Internal::Calls { calls }) => {
            load_loop::run_calls(calls);
            Ok(())
        }
        None => run(cli),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ferrotrace-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        bail!("must run as root: it loads BPF programs, reads their statistics and sets kernel.bpf_stats_enabled");
    }
    let tools = Tools::find(cli.ferrotrace, cli.bpftrace, cli.no_bpftrace)?;
    let selected: Vec<RowName> =
        RowName::ALL.into_iter().filter(|row| cli.only.is_empty() || cli.only.contains(row)).collect();
    eprintln!("ferrotrace: {}", tools.ferrotrace.path.display());
    match &tools.bpftrace {
        Some(bpftrace) => eprintln!("bpftrace:   {}", bpftrace.path.display()),
        None => eprintln!("bpftrace:   none (ferrotrace runs alone; ratios show `-`)"),
    }
    let bench = Bench { tools, load: LoadLoop::current()?, scratch: Scratch::create()? };
    let _stats = if selected.iter().any(|row| row.needs_bpf_stats()) { Some(StatsSwitch::enable()?) } else { None };

    let mut report = Vec::new();
    for row in selected {
        report.extend(match row {
            RowName::Startup => rows::startup::run(&bench),
            RowName::Cost => rows::cost::run(&bench),
            RowName::Printf => rows::printf::run(&bench),
            RowName::Compile => rows::compile::run(&bench),
            RowName::Wildcards => rows::wildcards::run(&bench),
            RowName::MapWalk => rows::map_walk::run(&bench),
            RowName::Uprobe => rows::uprobe::run(&bench),
            RowName::Console => rows::console::run(&bench),
            RowName::Replay => rows::replay::run(&bench),
        });
    }
    print!("{}", table::render(&report));
    Ok(())
}
