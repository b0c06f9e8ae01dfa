//! The kernel a replay compiles against: the recorded tracepoints (when a recording gives
//! them) over the machine's own catalog, with the helper behaviour replay's helpers have.
//! Nothing here needs privileges when the recording holds the formats. Without a recording,
//! a syscall tracepoint the machine cannot give (no readable tracefs, or a syscall its kernel
//! lacks) has ferrotrace's standard format.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferrotrace_compiler::btf::Btf;
use ferrotrace_compiler::catalog::{Catalog, CatalogError, HelperBehaviour, KernelFunction, PidNamespace, SyscallAbi, TracepointFormat};

use crate::standard_formats::StandardFormats;

/// A catalog for compiling a script to replay.
pub struct ReplayCatalog<'c> {
    inner: &'c dyn Catalog,
    /// The tracepoints the events hold, by category and name: the only ones there are when
    /// given.
    recorded: Option<BTreeMap<(String, String), TracepointFormat>>,
    /// `task_struct` member offsets of the recording kernel, for the relatives it recorded.
    task_members: Vec<(String, u32)>,
}

impl<'c> ReplayCatalog<'c> {
    /// The machine's own tracepoints, through `inner`, and the standard syscall formats.
    pub fn live(inner: &'c dyn Catalog) -> ReplayCatalog<'c> {
        ReplayCatalog { inner, recorded: None, task_members: Vec::new() }
    }

    /// Only the tracepoints of `recorded`, and the recorded `task_struct` member offsets; the
    /// rest through `inner`.
    pub fn recorded(inner: &'c dyn Catalog, recorded: BTreeMap<(String, String), TracepointFormat>, task_members: Vec<(String, u32)>) -> ReplayCatalog<'c> {
        ReplayCatalog { inner, recorded: Some(recorded), task_members }
    }
}

impl Catalog for ReplayCatalog<'_> {
    fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
        match &self.recorded {
            Some(recorded) => Ok(recorded.keys().cloned().collect()),
            None => {
                let mut listed = self.inner.tracepoints().unwrap_or_default();
                listed.extend(StandardFormats.tracepoints()?);
                listed.sort();
                listed.dedup();
                Ok(listed)
            }
        }
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<TracepointFormat, CatalogError> {
        match &self.recorded {
            Some(recorded) => recorded
                .get(&(category.to_string(), name.to_string()))
                .cloned()
                .ok_or_else(|| CatalogError::NotFound(format!("tracepoint:{category}:{name} (not in the recording)"))),
            None => self.inner.tracepoint_format(category, name).or_else(|error| StandardFormats.tracepoint_format(category, name).map_err(|_| error)),
        }
    }

    fn syscall_abi(&self) -> Option<SyscallAbi> {
        self.inner.syscall_abi()
    }

    fn kernel_functions(&self) -> Result<Vec<KernelFunction>, CatalogError> {
        self.inner.kernel_functions()
    }

    /// Replay's `bpf_get_current_comm` pads with zeros.
    fn helper_behaviour(&self) -> HelperBehaviour {
        HelperBehaviour { comm_zero_padded: true }
    }

    /// Replayed pids are the recorded ones: the plain helper's.
    fn pid_namespace(&self) -> Option<PidNamespace> {
        None
    }

    fn kernel_types(&self) -> Option<&Arc<Btf>> {
        self.inner.kernel_types()
    }

    fn member_offset(&self, strukt: &str, member: &str) -> Option<u32> {
        let recorded = self.task_members.iter().find(|(name, _)| strukt == "task_struct" && name == member);
        recorded.map(|(_, offset)| *offset).or_else(|| self.inner.member_offset(strukt, member))
    }
}

#[cfg(test)]
mod tests {
    use ferrotrace_compiler::catalog::{Catalog, CatalogError, TracepointFormat};

    use super::ReplayCatalog;

    /// A machine whose tracefs gives only `sys_enter_read`, with no fields.
    struct OneTracepoint;

    impl Catalog for OneTracepoint {
        fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
            Ok(vec![("syscalls".into(), "sys_enter_read".into())])
        }

        fn tracepoint_format(&self, category: &str, name: &str) -> Result<TracepointFormat, CatalogError> {
            match (category, name) {
                ("syscalls", "sys_enter_read") => Ok(TracepointFormat { id: 7, fields: Vec::new() }),
                ("sched", _) => Err(CatalogError::Unavailable("tracefs says no".into())),
                _ => Err(CatalogError::NotFound(format!("{category}:{name}"))),
            }
        }
    }

    #[test]
    fn the_machines_formats_come_first_then_the_standard_syscall_formats() {
        let catalog = ReplayCatalog::live(&OneTracepoint);
        assert_eq!(catalog.tracepoint_format("syscalls", "sys_enter_read"), Ok(TracepointFormat { id: 7, fields: Vec::new() }));
        let openat = catalog.tracepoint_format("syscalls", "sys_enter_openat").expect("the standard format");
        assert_eq!(openat.fields.iter().map(|field| field.name.as_str()).collect::<Vec<_>>(), ["__syscall_nr", "dfd", "filename", "flags", "mode"]);
        assert_eq!(catalog.tracepoint_format("sched", "sched_switch"), Err(CatalogError::Unavailable("tracefs says no".into())), "the machine's own error");
        assert_eq!(catalog.tracepoint_format("syscalls", "sys_enter_nosuch"), Err(CatalogError::NotFound("syscalls:sys_enter_nosuch".into())));
        let listed = catalog.tracepoints().expect("a listing");
        assert!(listed.contains(&("syscalls".into(), "sys_exit_openat".into())) && listed.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
