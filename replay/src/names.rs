//! Names of code addresses, taken while recording and replayed instead of the replaying
//! machine's: the kernel symbol (and offset) of each kernel stack frame and of each 8-byte
//! integer field holding a kernel address (`ksym(args.call_site)`), and the function, offset
//! and file of each user stack frame in its process. A recording writes the names of an
//! event's addresses before the event (`recording`, frame kind 4), each address once.

use std::collections::HashSet;
use std::path::PathBuf;

use ferrotrace_compiler::catalog::FieldKind;
use ferrotrace_runtime::symbolize::{self, UserFrame};
use serde::{Deserialize, Serialize};

use crate::recording::RecordedProbe;

/// The lowest kernel address on 64-bit machines: integers below it are not named.
const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;

/// Names of code addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    #[serde(default)]
    pub kernel: Vec<KernelName>,
    #[serde(default)]
    pub user: Vec<UserName>,
}

/// A kernel address: `offset` bytes into `symbol`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelName {
    pub address: u64,
    pub symbol: String,
    pub offset: u64,
}

/// A user address of process `pid`: `offset` bytes into `symbol`, in `file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserName {
    pub pid: u32,
    pub address: u64,
    pub symbol: String,
    pub offset: u64,
    pub file: PathBuf,
}

impl Names {
    pub fn is_empty(&self) -> bool {
        self.kernel.is_empty() && self.user.is_empty()
    }

    pub fn extend(&mut self, more: Names) {
        self.kernel.extend(more.kernel);
        self.user.extend(more.user);
    }

    /// Makes these the names the runtime prints addresses with.
    pub fn publish(self) {
        for name in self.kernel {
            symbolize::name_recorded_kernel(name.address, name.symbol, name.offset);
        }
        for name in self.user {
            let frame = UserFrame { function: Some((name.symbol, name.offset)), file: name.file };
            symbolize::name_recorded_user(name.pid, name.address, frame);
        }
    }
}

/// Names the addresses of recorded events with this machine's kernel symbols and processes,
/// each address once.
#[derive(Debug, Default)]
pub struct Namer {
    kernel: HashSet<u64>,
    user: HashSet<(u32, u64)>,
}

impl Namer {
    /// The names of the addresses in `record` (an event of `probe` as the recording program
    /// wrote it) not named before.
    pub fn learn(&mut self, probe: &RecordedProbe, record: &[u8]) -> Names {
        let mut names = Names::default();
        let word = |at: usize| record.get(at..at + 8).map_or(0, |bytes| u64::from_le_bytes(bytes.try_into().unwrap_or_default()));
        let context = crate::recording::layout::CONTEXT;
        let integers = probe.format.fields.iter().filter(|field| field.kind == FieldKind::Int && field.size == 8);
        let kernel_words = integers.map(|field| word(context + field.offset as usize)).filter(|&value| value >= KERNEL_HALF);
        for address in kernel_words.chain(crate::recording::stack(record, probe.kernel_stack_start(), probe.kernel_stack)) {
            if !self.kernel.insert(address) {
                continue;
            }
            if let Some((symbol, offset)) = symbolize::kernel(address) {
                names.kernel.push(KernelName { address, symbol, offset });
            }
        }
        let pid = (word(crate::recording::layout::PID_TGID) >> 32) as u32;
        for address in crate::recording::stack(record, probe.user_stack_start(), probe.user_stack) {
            if !self.user.insert((pid, address)) {
                continue;
            }
            if let Some(UserFrame { function: Some((symbol, offset)), file }) = symbolize::user(pid, address) {
                names.user.push(UserName { pid, address, symbol, offset, file });
            }
        }
        names
    }
}
