//! bpftrace's configuration: the keys of a script's `config = { ... }` block and of the
//! `BPFTRACE_<KEY>` environment variables, their values and defaults. The block is applied
//! first and the environment over it, as bpftrace does.
//!
//! Each key is one row of `KEYS` (name, kind, what it does, whether ferrotrace acts on it) and
//! one arm of `Config::set`; `docs/compatibility.md` lists the same table.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A value as a script or the environment gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    Int(u64),
    Bool(bool),
    /// A string literal, a bare word (`perf`, `warn`) or an environment variable's text.
    Text(String),
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Int(v) => write!(f, "{v}"),
            ConfigValue::Bool(b) => write!(f, "{b}"),
            ConfigValue::Text(t) => write!(f, "{t}"),
        }
    }
}

/// What `missing_probes` does with an attach point that matches nothing on this kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingProbes {
    Error,
    Warn,
    Ignore,
}

/// How stacks are printed (`stack_mode`, or a `kstack`/`ustack` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StackMode {
    /// One `symbol+offset` per line, indented 8 spaces.
    Bpftrace,
    /// A tab, the address in hex, a space, `symbol+offset` (and `(module)` for user frames).
    Perf,
    /// The address in hex, unsymbolized.
    Raw,
    /// User frames as the ELF build id and the offset into that file (`ustack` only).
    BuildId,
}

impl StackMode {
    /// The mode a bare word names, as `kstack(perf)` writes it.
    pub fn from_name(name: &str) -> Option<StackMode> {
        match name {
            "bpftrace" => Some(StackMode::Bpftrace),
            "perf" => Some(StackMode::Perf),
            "raw" => Some(StackMode::Raw),
            "build_id" => Some(StackMode::BuildId),
            _ => None,
        }
    }
}

/// Whether an unstable feature may be used (`unstable_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unstable {
    Enable,
    Warn,
    Error,
}

/// The effective configuration of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub max_strlen: u32,
    pub max_map_keys: u32,
    pub print_maps_on_exit: bool,
    pub str_trunc_trailer: String,
    pub missing_probes: MissingProbes,
    pub on_stack_limit: u32,
    /// 0: chosen by ferrotrace.
    pub perf_rb_pages: u32,
    pub stack_mode: StackMode,
    pub license: String,
    pub max_probes: u32,
    pub max_bpf_progs: u32,
    pub max_cat_bytes: u32,
    pub log_size: u32,
    pub cpp_demangle: bool,
    pub lazy_symbolication: bool,
    pub show_debug_info: bool,
    pub use_blazesym: bool,
    pub cache_user_symbols: String,
    pub unstable_tseries: Unstable,
    pub unstable_dw_ustack: Unstable,
    pub unstable_import_statement: Unstable,
    pub unstable_typeinfo: Unstable,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_strlen: 1024,
            max_map_keys: 4096,
            print_maps_on_exit: true,
            str_trunc_trailer: "..".to_string(),
            missing_probes: MissingProbes::Error,
            // bpftrace's default is 32; ferrotrace keeps values up to 64 bytes on the stack,
            // which spares most probes the scratch map lookup.
            on_stack_limit: 64,
            perf_rb_pages: 0,
            stack_mode: StackMode::Bpftrace,
            license: "GPL".to_string(),
            max_probes: 1024,
            max_bpf_progs: 1024,
            max_cat_bytes: 10240,
            log_size: 1_000_000,
            cpp_demangle: true,
            lazy_symbolication: false,
            show_debug_info: true,
            use_blazesym: true,
            cache_user_symbols: "PER_PID".to_string(),
            unstable_tseries: Unstable::Warn,
            unstable_dw_ustack: Unstable::Warn,
            unstable_import_statement: Unstable::Error,
            unstable_typeinfo: Unstable::Error,
        }
    }
}

/// How a key's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Bool,
    Int,
    Text,
    /// One of these words (case-insensitive).
    Choice(&'static [&'static str]),
}

/// One configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub name: &'static str,
    pub kind: KeyKind,
    pub doc: &'static str,
    /// Whether ferrotrace changes what it does by this key today (the others are accepted and
    /// checked, for scripts written for bpftrace).
    pub honoured: bool,
}

const UNSTABLE: KeyKind = KeyKind::Choice(&["enable", "warn", "error"]);

/// Every key bpftrace 0.26 documents, and the undocumented ones its scripts use.
pub const KEYS: &[Key] = &[
    Key { name: "cache_user_symbols", kind: KeyKind::Choice(&["PER_PID", "PER_PROGRAM", "NONE"]), doc: "How user symbols are cached.", honoured: false },
    Key { name: "cpp_demangle", kind: KeyKind::Bool, doc: "Demangle C++ symbols in user stacks.", honoured: true },
    Key { name: "lazy_symbolication", kind: KeyKind::Bool, doc: "Symbolicate user symbols when printed rather than ahead of time.", honoured: false },
    Key { name: "license", kind: KeyKind::Choice(LICENSES), doc: "The license the BPF programs are loaded under.", honoured: true },
    Key { name: "log_size", kind: KeyKind::Int, doc: "Bytes of verifier log kept for a rejected program.", honoured: true },
    Key { name: "max_bpf_progs", kind: KeyKind::Int, doc: "Most BPF programs a script may load.", honoured: true },
    Key { name: "max_cat_bytes", kind: KeyKind::Int, doc: "Most bytes `cat()` reads.", honoured: false },
    Key { name: "max_map_keys", kind: KeyKind::Int, doc: "Entries of maps without a declaration.", honoured: true },
    Key { name: "max_probes", kind: KeyKind::Int, doc: "Most probes a script may attach.", honoured: true },
    Key { name: "max_strlen", kind: KeyKind::Int, doc: "Bytes of strings read by `str()` and of string fields.", honoured: true },
    Key { name: "missing_probes", kind: KeyKind::Choice(&["error", "warn", "ignore"]), doc: "What an attach point that matches nothing does.", honoured: true },
    Key { name: "on_stack_limit", kind: KeyKind::Int, doc: "Bytes above which a value lives in scratch memory, not on the BPF stack.", honoured: true },
    Key { name: "perf_rb_pages", kind: KeyKind::Int, doc: "Pages of the ring buffer that carries output (a power of two).", honoured: true },
    Key { name: "print_maps_on_exit", kind: KeyKind::Bool, doc: "Print every map at exit.", honoured: true },
    Key { name: "show_debug_info", kind: KeyKind::Bool, doc: "Show file and line in user stacks.", honoured: false },
    Key { name: "stack_mode", kind: KeyKind::Choice(&["bpftrace", "perf", "raw", "build_id"]), doc: "How stacks are printed.", honoured: true },
    Key { name: "str_trunc_trailer", kind: KeyKind::Text, doc: "Appended to strings cut at `max_strlen`.", honoured: true },
    Key { name: "unstable_dw_ustack", kind: UNSTABLE, doc: "Whether `dw_ustack()` may be used.", honoured: false },
    Key { name: "unstable_import_statement", kind: UNSTABLE, doc: "Whether `import` may appear inside a block.", honoured: false },
    Key { name: "unstable_tseries", kind: UNSTABLE, doc: "Whether `tseries()` may be used.", honoured: true },
    Key { name: "unstable_typeinfo", kind: UNSTABLE, doc: "Whether `typeinfo()` may be used.", honoured: false },
    Key { name: "use_blazesym", kind: KeyKind::Bool, doc: "Symbolicate with blazesym.", honoured: false },
];

/// Keys that were renamed, and their new names.
const RENAMED: &[(&str, &str)] =
    &[("strlen", "max_strlen"), ("no_cpp_demangle", "cpp_demangle"), ("cat_bytes_max", "max_cat_bytes"), ("map_keys_max", "max_map_keys")];

/// Keys bpftrace still accepts but ignores.
const DEPRECATED: &[&str] =
    &["symbol_source", "max_type_res_iterations", "unstable_macro", "unstable_map_decl", "unstable_import", "unstable_addr"];

/// Keys only an environment variable may set.
const ENVIRONMENT_ONLY: &[&str] = &["btf", "kernel_build", "kernel_source", "vmlinux", "color", "debug_output"];

/// The licenses the kernel knows as GPL-compatible, as bpftrace accepts them.
const LICENSES: &[&str] = &["GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"];

/// Why a key or value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    UnknownKey { key: String, suggestion: Option<&'static str> },
    EnvironmentOnly { key: String },
    BadValue { key: &'static str, expected: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownKey { key, .. } => write!(f, "`{key}` is not a configuration key"),
            ConfigError::EnvironmentOnly { key } => {
                write!(f, "`{key}` can only be set as an environment variable (BPFTRACE_{})", key.to_uppercase())
            }
            ConfigError::BadValue { key, expected } => write!(f, "`{key}` takes {expected}"),
        }
    }
}

/// A key as written (`stack_mode`, `STACK_MODE`, `BPFTRACE_STACK_MODE`) in its canonical form.
pub fn canonical_key(key: &str) -> String {
    let lower = key.to_ascii_lowercase();
    lower.strip_prefix("bpftrace_").map(str::to_string).unwrap_or(lower)
}

impl Config {
    /// Sets `key` (as written) to `value`. `Ok(Some(warning))` for a renamed or deprecated key.
    pub fn set(&mut self, key: &str, value: &ConfigValue, from_environment: bool) -> Result<Option<String>, ConfigError> {
        let canonical = canonical_key(key);
        if DEPRECATED.contains(&canonical.as_str()) {
            return Ok(Some(format!("`{canonical}` is deprecated and has no effect")));
        }
        if let Some((old, new)) = RENAMED.iter().find(|(old, _)| *old == canonical) {
            self.set(new, value, from_environment)?;
            return Ok(Some(format!("`{old}` has been renamed; use `{new}`")));
        }
        if ENVIRONMENT_ONLY.contains(&canonical.as_str()) {
            return match from_environment {
                true => Ok(None),
                false => Err(ConfigError::EnvironmentOnly { key: canonical }),
            };
        }
        let Some(spec) = KEYS.iter().find(|k| k.name == canonical) else {
            let suggestion = crate::diagnostic::closest(&canonical, KEYS.iter().map(|k| k.name)).first().copied();
            return Err(ConfigError::UnknownKey { key: canonical, suggestion });
        };
        let bad = |expected: String| ConfigError::BadValue { key: spec.name, expected };
        let int = || match value {
            ConfigValue::Int(v) => u32::try_from(*v).map_err(|_| bad("a number up to 4294967295".into())),
            ConfigValue::Text(t) => t.trim().parse().map_err(|_| bad(format!("a number, not `{t}`"))),
            ConfigValue::Bool(_) => Err(bad("a number".into())),
        };
        let boolean = || match value {
            ConfigValue::Bool(b) => Ok(*b),
            ConfigValue::Int(v) => Ok(*v != 0),
            ConfigValue::Text(t) => match t.as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(bad("true, false, 1 or 0".into())),
            },
        };
        let text = || value.to_string();
        let choice = |choices: &[&'static str]| {
            let given = value.to_string();
            choices
                .iter()
                .find(|c| c.eq_ignore_ascii_case(&given))
                .copied()
                .ok_or_else(|| bad(format!("one of {}, not `{given}`", choices.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))))
        };
        let unstable = || {
            Ok(match value {
                ConfigValue::Int(0) => Unstable::Error,
                ConfigValue::Int(_) => Unstable::Enable,
                _ => match choice(&["enable", "warn", "error"])? {
                    "enable" => Unstable::Enable,
                    "warn" => Unstable::Warn,
                    _ => Unstable::Error,
                },
            })
        };
        match spec.name {
            "cache_user_symbols" => self.cache_user_symbols = choice(&["PER_PID", "PER_PROGRAM", "NONE"])?.to_string(),
            "cpp_demangle" => self.cpp_demangle = boolean()?,
            "lazy_symbolication" => self.lazy_symbolication = boolean()?,
            "license" => self.license = choice(LICENSES)?.to_string(),
            "log_size" => self.log_size = int()?,
            "max_bpf_progs" => self.max_bpf_progs = int()?,
            "max_cat_bytes" => self.max_cat_bytes = int()?,
            "max_map_keys" => self.max_map_keys = int()?.max(1),
            "max_probes" => self.max_probes = int()?,
            "max_strlen" => {
                let n = int()?;
                if !(1..=65536).contains(&n) {
                    return Err(bad("a number from 1 to 65536".into()));
                }
                self.max_strlen = n;
            }
            "missing_probes" => {
                self.missing_probes = match choice(&["error", "warn", "ignore"])? {
                    "error" => MissingProbes::Error,
                    "warn" => MissingProbes::Warn,
                    _ => MissingProbes::Ignore,
                }
            }
            "on_stack_limit" => self.on_stack_limit = int()?,
            "perf_rb_pages" => {
                let pages = int()?;
                if pages != 0 && !pages.is_power_of_two() {
                    return Err(bad("a power of two".into()));
                }
                self.perf_rb_pages = pages;
            }
            "print_maps_on_exit" => self.print_maps_on_exit = boolean()?,
            "show_debug_info" => self.show_debug_info = boolean()?,
            "stack_mode" => {
                let name = choice(&["bpftrace", "perf", "raw", "build_id"])?;
                self.stack_mode = StackMode::from_name(name).unwrap_or(StackMode::Bpftrace);
            }
            "str_trunc_trailer" => self.str_trunc_trailer = text(),
            "unstable_dw_ustack" => self.unstable_dw_ustack = unstable()?,
            "unstable_import_statement" => self.unstable_import_statement = unstable()?,
            "unstable_tseries" => self.unstable_tseries = unstable()?,
            "unstable_typeinfo" => self.unstable_typeinfo = unstable()?,
            "use_blazesym" => self.use_blazesym = boolean()?,
            other => unreachable!("`{other}` is in KEYS but has no setter"),
        }
        Ok(None)
    }

    /// Applies the `BPFTRACE_<KEY>` variables among `vars` (others are ignored); returns the
    /// warnings, or the first variable whose value is refused, as `NAME=value: why`.
    pub fn apply_environment(&mut self, vars: &[(String, String)]) -> Result<Vec<String>, String> {
        let mut warnings = Vec::new();
        for (name, value) in vars {
            let Some(key) = name.strip_prefix("BPFTRACE_") else { continue };
            match self.set(key, &ConfigValue::Text(value.clone()), true) {
                Ok(warning) => warnings.extend(warning),
                Err(ConfigError::UnknownKey { .. }) => {}
                Err(error) => return Err(format!("{name}={value}: {error}")),
            }
        }
        Ok(warnings)
    }

    /// Bytes of the output ring buffer: `perf_rb_pages` pages, or 1 MiB.
    pub fn ring_buffer_bytes(&self) -> u32 {
        match self.perf_rb_pages {
            0 => 1 << 20,
            pages => pages.saturating_mul(4096),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_spelled_every_way_bpftrace_accepts() {
        let mut config = Config::default();
        for key in ["max_strlen", "MAX_STRLEN", "BPFTRACE_MAX_STRLEN"] {
            config.set(key, &ConfigValue::Int(64), false).unwrap();
        }
        assert_eq!(config.max_strlen, 64);
        assert_eq!(config.set("strlen", &ConfigValue::Int(32), false).unwrap().as_deref(), Some("`strlen` has been renamed; use `max_strlen`"));
        assert_eq!(config.max_strlen, 32);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let mut config = Config::default();
        let error = config.set("max_map_key", &ConfigValue::Int(2), false).unwrap_err();
        assert_eq!(error, ConfigError::UnknownKey { key: "max_map_key".into(), suggestion: Some("max_map_keys") });
        let error = config.set("missing_probes", &ConfigValue::Text("maybe".into()), false).unwrap_err();
        assert_eq!(error.to_string(), "`missing_probes` takes one of `error`, `warn`, `ignore`, not `maybe`");
        assert!(config.set("btf", &ConfigValue::Text("/x".into()), false).is_err());
    }

    #[test]
    fn every_key_has_a_setter() {
        for key in KEYS {
            let value = match key.kind {
                KeyKind::Bool => ConfigValue::Bool(true),
                KeyKind::Int => ConfigValue::Int(8),
                KeyKind::Text => ConfigValue::Text("x".into()),
                KeyKind::Choice(choices) => ConfigValue::Text(choices[0].into()),
            };
            Config::default().set(key.name, &value, false).unwrap();
        }
    }

    #[test]
    fn the_environment_is_read_by_key_and_checked() {
        let mut config = Config::default();
        let vars = vec![("BPFTRACE_MAX_MAP_KEYS".to_string(), "7".to_string()), ("BPFTRACE_COLOR".to_string(), "never".to_string())];
        config.apply_environment(&vars).unwrap();
        assert_eq!(config.max_map_keys, 7);
        let bad = vec![("BPFTRACE_PRINT_MAPS_ON_EXIT".to_string(), "maybe".to_string())];
        assert_eq!(config.apply_environment(&bad).unwrap_err(), "BPFTRACE_PRINT_MAPS_ON_EXIT=maybe: `print_maps_on_exit` takes true, false, 1 or 0");
    }
}
