//! What a `Runner` reads and changes besides its output: a script's maps, and the live probes a
//! record may act on. The kernel's `Session` is one such state; replay's user-space machine
//! (the `ferrotrace-replay` crate) is another, so both print through the same code.

use ferrotrace_compiler::manifest::MapId;

use crate::entry::RawEntry;
use crate::maps::MapError;
use crate::session::Session;

/// A script's maps, wherever they live.
pub trait ScriptState {
    /// Every entry of a map, values split per CPU for per-CPU maps.
    fn map_entries(&self, id: MapId) -> Result<Vec<RawEntry>, MapError>;
    /// Deletes every entry (zeroes every value of an array).
    fn clear_map(&mut self, id: MapId) -> Result<(), MapError>;
    /// Zeroes every value, keeping the keys.
    fn zero_map(&mut self, id: MapId) -> Result<(), MapError>;
    /// How many ring buffer records were lost so far.
    fn lost_records(&self) -> Result<u64, MapError>;
    /// The kernel session, for the records only live probes act on (a watchpoint's address);
    /// `None` where the programs do not run in the kernel.
    fn live_session(&mut self) -> Option<&mut Session> {
        None
    }
}

impl ScriptState for Session {
    fn map_entries(&self, id: MapId) -> Result<Vec<RawEntry>, MapError> {
        Session::map_entries(self, id)
    }

    fn clear_map(&mut self, id: MapId) -> Result<(), MapError> {
        Session::clear_map(self, id)
    }

    fn zero_map(&mut self, id: MapId) -> Result<(), MapError> {
        Session::zero_map(self, id)
    }

    fn lost_records(&self) -> Result<u64, MapError> {
        Session::lost_records(self)
    }

    fn live_session(&mut self) -> Option<&mut Session> {
        Some(self)
    }
}
