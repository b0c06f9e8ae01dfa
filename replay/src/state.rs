//! The machine's maps as the runtime's printer reads them: a `ScriptState`.

use ferrotrace_compiler::manifest::MapId;
use ferrotrace_runtime::entry::RawEntry;
use ferrotrace_runtime::maps::MapError;
use ferrotrace_runtime::script_state::ScriptState;

use crate::machine::Machine;

impl ScriptState for Machine {
    fn map_entries(&self, id: MapId) -> Result<Vec<RawEntry>, MapError> {
        let map = self.maps.get(id.0 as usize).ok_or_else(|| MapError::Missing { map: format!("#{}", id.0) })?;
        Ok(map.entries())
    }

    fn clear_map(&mut self, id: MapId) -> Result<(), MapError> {
        let map = self.maps.get_mut(id.0 as usize).ok_or_else(|| MapError::Missing { map: format!("#{}", id.0) })?;
        map.clear();
        Ok(())
    }

    fn zero_map(&mut self, id: MapId) -> Result<(), MapError> {
        let map = self.maps.get_mut(id.0 as usize).ok_or_else(|| MapError::Missing { map: format!("#{}", id.0) })?;
        map.zero();
        Ok(())
    }

    /// Replay keeps every record: the ring buffer has no size to overflow.
    fn lost_records(&self) -> Result<u64, MapError> {
        Ok(0)
    }
}
