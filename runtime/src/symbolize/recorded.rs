//! Names taken elsewhere: a replay names addresses only as its recording named them on the
//! machine that ran the probes, never with this machine's kernel or files.

use std::collections::HashMap;

use super::UserFrame;

/// The names a recording holds, by address (and process, for user addresses). An address it
/// does not name has no name, as one the recording machine could not name had none.
#[derive(Debug, Default)]
pub struct RecordedNames {
    kernel: HashMap<u64, (String, u64)>,
    user: HashMap<(u32, u64), UserFrame>,
}

impl RecordedNames {
    pub fn kernel(&self, address: u64) -> Option<(String, u64)> {
        self.kernel.get(&address).cloned()
    }

    pub fn user(&self, pid: u32, address: u64) -> Option<UserFrame> {
        self.user.get(&(pid, address)).cloned()
    }

    pub fn add_kernel(&mut self, address: u64, name: String, offset: u64) {
        self.kernel.insert(address, (name, offset));
    }

    pub fn add_user(&mut self, pid: u32, address: u64, frame: UserFrame) {
        self.user.insert((pid, address), frame);
    }
}
