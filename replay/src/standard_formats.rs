//! Tracepoint formats known without a tracefs, for synthetic events on a machine whose tracefs
//! cannot be read (no root, or no Linux): the `syscalls` category's and `raw_syscalls`'. Every
//! `sys_enter_NAME` record is the syscall number then one 8-byte slot per argument, and every
//! `sys_exit_NAME` record the number then `long ret`, so a syscall's formats are its argument
//! types and names: `standard_formats/syscalls.txt`, one line per syscall, taken from Linux
//! 6.18's tracefs on x86-64 (a kernel test compares it with the running kernel's). The formats are parsed
//! as tracefs text is, so their fields are typed exactly as a live catalog types them.

use ferrotrace_compiler::catalog::{Catalog, CatalogError, TracepointFormat};
use ferrotrace_runtime::tracefs::parse_format;

/// `NAME<TAB>TYPE ARG<TAB>TYPE ARG...`, sorted by name.
const SYSCALLS: &str = include_str!("standard_formats/syscalls.txt");

/// A synthetic event's record has no kernel-given id: its `common_type` is this.
const NO_ID: u32 = 0;

const SYSCALL_NUMBER: &str = "int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;";
const RAW_SYSCALL_ID: &str = "long id;\toffset:8;\tsize:8;\tsigned:1;";
const RETURN_VALUE: &str = "long ret;\toffset:16;\tsize:8;\tsigned:1;";
const RAW_ARGUMENTS: &str = "unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;";

/// The formats above, as a catalog of tracepoints and nothing else.
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardFormats;

impl StandardFormats {
    /// The `format` file tracefs would give for `category:name`, if it is one of these.
    pub fn format_text(category: &str, name: &str) -> Option<String> {
        let fields = match (category, name) {
            ("raw_syscalls", "sys_enter") => vec![RAW_SYSCALL_ID.to_string(), RAW_ARGUMENTS.to_string()],
            ("raw_syscalls", "sys_exit") => vec![RAW_SYSCALL_ID.to_string(), RETURN_VALUE.to_string()],
            ("syscalls", _) => {
                if let Some(syscall) = name.strip_prefix("sys_exit_") {
                    syscall_line(syscall)?;
                    vec![SYSCALL_NUMBER.to_string(), RETURN_VALUE.to_string()]
                } else {
                    let arguments = syscall_line(name.strip_prefix("sys_enter_")?)?.split('\t').skip(1);
                    let slots = arguments.enumerate().map(|(index, declaration)| format!("{declaration};\toffset:{};\tsize:8;\tsigned:0;", 16 + 8 * index));
                    std::iter::once(SYSCALL_NUMBER.to_string()).chain(slots).collect()
                }
            }
            _ => return None,
        };
        let lines: String = fields.iter().map(|field| format!("\tfield:{field}\n")).collect();
        Some(format!("name: {name}\nID: {NO_ID}\nformat:\n{lines}"))
    }
}

/// The table's line of `syscall`: its name, then its argument declarations
/// (`const char * filename`).
fn syscall_line(syscall: &str) -> Option<&'static str> {
    SYSCALLS.lines().find(|line| line.split('\t').next() == Some(syscall))
}

impl Catalog for StandardFormats {
    fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
        let raw = ["sys_enter", "sys_exit"].map(|name| ("raw_syscalls".to_string(), name.to_string()));
        let syscalls = SYSCALLS.lines().filter_map(|line| line.split('\t').next()).flat_map(|syscall| {
            ["sys_enter_", "sys_exit_"].map(|direction| ("syscalls".to_string(), format!("{direction}{syscall}")))
        });
        Ok(raw.into_iter().chain(syscalls).collect())
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<TracepointFormat, CatalogError> {
        let Some(text) = StandardFormats::format_text(category, name) else {
            if matches!(category, "syscalls" | "raw_syscalls") {
                // Every one of these is known: the compiler says so, with the names nearest.
                return Err(CatalogError::NotFound(format!("tracepoint:{category}:{name}")));
            }
            return Err(CatalogError::Unavailable(format!(
                "tracepoint:{category}:{name}: this machine's tracefs cannot be read here (root reads it), and without it \
                 ferrotrace knows the formats of the `syscalls` and `raw_syscalls` tracepoints only; a recording \
                 (`ferrotrace record`) carries the formats of its tracepoints"
            )));
        };
        parse_format(&text).map_err(|error| CatalogError::Unavailable(format!("tracepoint:{category}:{name}: the standard format does not read: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use ferrotrace_compiler::catalog::{Catalog, CatalogError, FieldKind};

    use super::StandardFormats;

    #[test]
    fn a_syscall_has_its_arguments_in_eight_byte_slots_and_its_return_value() {
        let enter = StandardFormats.tracepoint_format("syscalls", "sys_enter_openat").expect("openat is known");
        let fields: Vec<(&str, &str, u32, u32, FieldKind)> = enter.fields.iter().map(|f| (f.name.as_str(), f.c_type.as_str(), f.offset, f.size, f.kind)).collect();
        assert_eq!(
            fields,
            vec![
                ("__syscall_nr", "int", 8, 4, FieldKind::Int),
                ("dfd", "int", 16, 8, FieldKind::Int),
                ("filename", "const char *", 24, 8, FieldKind::Pointer),
                ("flags", "int", 32, 8, FieldKind::Int),
                ("mode", "umode_t", 40, 8, FieldKind::Int),
            ]
        );
        let exit = StandardFormats.tracepoint_format("syscalls", "sys_exit_openat").expect("its exit too");
        assert_eq!(exit.fields.iter().map(|f| (f.name.as_str(), f.offset, f.signed)).collect::<Vec<_>>(), vec![("__syscall_nr", 8, true), ("ret", 16, true)]);
        let raw = StandardFormats.tracepoint_format("raw_syscalls", "sys_enter").expect("raw_syscalls");
        assert_eq!(raw.fields[1].kind, FieldKind::IntArray(6));
    }

    #[test]
    fn other_tracepoints_are_refused_with_what_would_do_and_unknown_syscalls_are_not_found() {
        let error = StandardFormats.tracepoint_format("sched", "sched_switch").expect_err("not known").to_string();
        assert!(error.contains("tracefs cannot be read here") && error.contains("ferrotrace record"), "{error}");
        for name in ["sys_enter_nosuchcall", "sys_exit_nosuchcall", "nosuchcall"] {
            let error = StandardFormats.tracepoint_format("syscalls", name).expect_err("not a syscall");
            assert_eq!(error, CatalogError::NotFound(format!("tracepoint:syscalls:{name}")));
        }
    }

    #[test]
    fn the_listing_has_both_directions_of_every_syscall() {
        let listed = StandardFormats.tracepoints().expect("a listing");
        assert_eq!(listed.len(), 2 + 2 * super::SYSCALLS.lines().count());
        for (category, name) in &listed {
            StandardFormats.tracepoint_format(category, name).unwrap_or_else(|error| panic!("{category}:{name}: {error}"));
        }
    }
}
