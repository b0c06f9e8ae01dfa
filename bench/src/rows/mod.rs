//! The measurements, one module per row of the table. Each runs the tools interleaved
//! (ferrotrace, bpftrace, ferrotrace, ...) and returns its rows of the report; a failure
//! becomes an error cell, never an abort.

pub mod attach;
pub mod compile;
pub mod console;
pub mod cost;
pub mod map_walk;
pub mod printf;
pub mod replay;
pub mod startup;
pub mod uprobe;
pub mod wildcards;

use crate::load_loop::LoadLoop;
use crate::report::{Row, Target, Unit};
use crate::scratch::Scratch;
use crate::stats::Samples;
use crate::tools::{ToolKind, Tools};

/// The rows `--only` can pick, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RowName {
    /// `TOOL -e 'BEGIN { exit(); }'`: wall time and peak RSS.
    Startup,
    /// Kernel run time per event of five map workloads, and their translated instructions.
    Cost,
    /// printf lines delivered to a reader, lost events, events per second.
    Printf,
    /// `--emit-elf` of generated 100-, 1,000- and 10,000-line scripts.
    Compile,
    /// `tracepoint:syscalls:sys_enter_*` attached and detached.
    Wildcards,
    /// An `interval` probe walking a 10,000-key map with `for`.
    MapWalk,
    /// A uprobe counting a function called 1,000,000 times: the overhead per call.
    Uprobe,
    /// A block typed into `ferrotrace -i`, from Enter to attached.
    Console,
    /// Recorded getppid events replayed through `@[comm] = count()`, and the JIT's compile time.
    Replay,
}

impl RowName {
    pub const ALL: [RowName; 9] = [
        RowName::Startup,
        RowName::Cost,
        RowName::Printf,
        RowName::Compile,
        RowName::Wildcards,
        RowName::MapWalk,
        RowName::Uprobe,
        RowName::Console,
        RowName::Replay,
    ];

    /// Whether the row reads BPF run-time statistics (which must be switched on).
    pub fn needs_bpf_stats(self) -> bool {
        matches!(self, RowName::Cost | RowName::Printf | RowName::MapWalk | RowName::Uprobe | RowName::Replay)
    }
}

/// What every row needs.
pub struct Bench {
    pub tools: Tools,
    pub load: LoadLoop,
    pub scratch: Scratch,
}

/// One value for each tool.
#[derive(Debug, Default, Clone)]
pub struct PerTool<T> {
    pub ferrotrace: T,
    pub bpftrace: T,
}

impl<T> PerTool<T> {
    pub fn get(&self, kind: ToolKind) -> &T {
        match kind {
            ToolKind::Ferrotrace => &self.ferrotrace,
            ToolKind::Bpftrace => &self.bpftrace,
        }
    }

    pub fn get_mut(&mut self, kind: ToolKind) -> &mut T {
        match kind {
            ToolKind::Ferrotrace => &mut self.ferrotrace,
            ToolKind::Bpftrace => &mut self.bpftrace,
        }
    }
}

/// The two "cost per event" rows of workload `name`: its program's run time per event, at most
/// `cost_target` of bpftrace's, and its size after the verifier, at most bpftrace's.
pub fn cost_rows(name: &str, cost: &PerTool<Samples>, insns: &PerTool<Samples>, cost_target: f64) -> [Row; 2] {
    let metric = |what: &str| format!("{name}: {what}");
    [
        Row::new("cost per event", &metric("cost"), Unit::NsPerEvent, cost.ferrotrace.cell(), cost.bpftrace.cell())
            .target(Target::RatioAtMost(cost_target)),
        Row::new("cost per event", &metric("insns"), Unit::Insns, insns.ferrotrace.cell(), insns.bpftrace.cell())
            .target(Target::RatioAtMost(1.0)),
    ]
}
