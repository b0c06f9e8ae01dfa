//! The current task's relatives, recorded when a script reads them: `ppid` and `pcomm` read
//! `real_parent`'s `tgid` and `comm`, `leader_tid` and `leader_comm` `group_leader`'s `pid` and
//! `comm`, each through a pointer in `task_struct`. The recording program copies the pointer
//! and those members into the event (`layout`), and replay puts them back as memory at the
//! addresses the live reads went to; the member offsets go into the header, so a script replays
//! with the recording kernel's layout on any machine.

use ferrotrace_compiler::bpf::EncodedProgram;
use ferrotrace_compiler::catalog::Catalog;
use ferrotrace_compiler::co_re::Step;
use serde::{Deserialize, Serialize};

use crate::event::Chunk;

/// A relative's pointer in `task_struct`, and the members of it read: `(name, size)`.
const RELATIVES: [(&str, [(&str, u32); 2]); 2] = [("real_parent", [("tgid", 4), ("comm", 16)]), ("group_leader", [("pid", 4), ("comm", 16)])];

/// One relative recorded, with the offsets of the recording kernel's `task_struct`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relative {
    /// The pointer member: `real_parent` or `group_leader`.
    pub link: String,
    pub link_offset: u32,
    /// The members read in the relative: name, offset and size.
    pub members: Vec<(String, u32, u32)>,
}

impl Relative {
    /// Bytes of an event it takes: the pointer, then each member in 8-byte steps.
    pub fn size(&self) -> usize {
        8 + self.members.iter().map(|(_, _, size)| (*size as usize).next_multiple_of(8)).sum::<usize>()
    }

    /// Where each member's copy is, from the block's start.
    pub fn member_starts(&self) -> impl Iterator<Item = (&(String, u32, u32), usize)> + '_ {
        self.members.iter().scan(8, |at, member| {
            let start = *at;
            *at += (member.2 as usize).next_multiple_of(8);
            Some((member, start))
        })
    }

    /// The memory the block at the start of `block` stands for, in a task at `task`.
    pub fn chunks(&self, task: u64, block: &[u8], chunks: &mut Vec<Chunk>) {
        let Some(pointer) = block.get(..8).map(|bytes| u64::from_le_bytes(bytes.try_into().unwrap_or_default())) else { return };
        if task == 0 || pointer == 0 {
            return;
        }
        chunks.push(Chunk { address: task + u64::from(self.link_offset), bytes: pointer.to_le_bytes().to_vec() });
        for ((_, offset, size), start) in self.member_starts() {
            if let Some(bytes) = block.get(start..start + *size as usize) {
                chunks.push(Chunk { address: pointer + u64::from(*offset), bytes: bytes.to_vec() });
            }
        }
    }
}

/// The relatives the compiled `programs` read (through a relocated `task_struct` member), with
/// `catalog`'s offsets; none where the kernel's types do not say where they are.
pub fn read_by(programs: &[EncodedProgram], catalog: &dyn Catalog) -> Vec<Relative> {
    let links_read = |link: &str| {
        programs.iter().flat_map(|program| &program.field_relocations).any(|(_, access)| {
            access.root_name == "struct task_struct" && matches!(access.steps.first(), Some(Step::Member { name, .. }) if name == link)
        })
    };
    RELATIVES
        .iter()
        .filter(|(link, _)| links_read(link))
        .filter_map(|(link, members)| {
            let members = members.iter().map(|(name, size)| Some((name.to_string(), catalog.member_offset("task_struct", name)?, *size))).collect::<Option<Vec<_>>>()?;
            Some(Relative { link: link.to_string(), link_offset: catalog.member_offset("task_struct", link)?, members })
        })
        .collect()
}

/// The `task_struct` member offsets `relatives` were recorded with, for compiling against.
pub fn member_offsets(relatives: &[Relative]) -> Vec<(String, u32)> {
    let mut offsets: Vec<(String, u32)> = Vec::new();
    for relative in relatives {
        offsets.push((relative.link.clone(), relative.link_offset));
        offsets.extend(relative.members.iter().map(|(name, offset, _)| (name.clone(), *offset)));
    }
    offsets.sort();
    offsets.dedup();
    offsets
}
