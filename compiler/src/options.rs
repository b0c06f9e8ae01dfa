//! What a script is compiled with besides its text: the parameters given after it on the
//! command line (`$1`, `$#`, `getopt`) and the configuration the environment sets.

/// The script's command-line parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    /// `$1`, `$2`, ... as given.
    pub positional: Vec<String>,
    /// `--name` and `--name=value`, in order, without the dashes.
    pub named: Vec<NamedParam>,
}

/// One `--name[=value]` given after `--`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedParam {
    pub name: String,
    pub value: Option<String>,
}

impl Params {
    /// Splits the words after the script: `--name[=value]` is a named parameter, anything else
    /// (`-5` included) a positional one.
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> Params {
        let mut params = Params::default();
        for arg in args.iter().map(AsRef::as_ref) {
            match arg.strip_prefix("--").filter(|rest| !rest.is_empty()) {
                Some(option) => {
                    let (name, value) = match option.split_once('=') {
                        Some((name, value)) => (name, Some(value.to_string())),
                        None => (option, None),
                    };
                    params.named.push(NamedParam { name: name.to_string(), value });
                }
                None => params.positional.push(arg.to_string()),
            }
        }
        params
    }

    /// The value of `$n` (1-based) as given, if it was.
    pub fn positional(&self, n: u64) -> Option<&str> {
        let index = usize::try_from(n.checked_sub(1)?).ok()?;
        self.positional.get(index).map(String::as_str)
    }

    /// `text` with every `$N` and `$#` replaced by the parameter's text (an attach point).
    pub fn substitute(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            if let Some(after_count) = after.strip_prefix('#') {
                out.push_str(&self.positional.len().to_string());
                rest = after_count;
            } else if digits > 0 {
                let n: u64 = after[..digits].parse().unwrap_or(u64::MAX);
                out.push_str(self.positional(n).unwrap_or(""));
                rest = &after[digits..];
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        out
    }
}

/// What the script is compiled for: a run, its `test:` probes, or its `bench:` probes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Every probe but `test:` and `bench:`.
    #[default]
    Run,
    /// Only the `test:` probes (`--test`).
    Test,
    /// Only the `bench:` probes (`--bench`).
    Bench,
}

impl Mode {
    /// Whether a probe attached at `attach` is compiled in this mode.
    pub fn runs(self, attach: &crate::manifest::Attach) -> bool {
        use crate::manifest::Attach;
        match attach {
            Attach::Test { .. } => self == Mode::Test,
            Attach::Bench { .. } => self == Mode::Bench,
            _ => self == Mode::Run,
        }
    }
}

/// Everything a compile takes besides the script and the kernel's facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompileOptions {
    pub params: Params,
    pub mode: Mode,
    /// `--unsafe`: functions that change the system (`system`, `signal`) are allowed.
    pub unsafe_functions: bool,
    /// The pid of the command `-c` started (`cpid`).
    pub child_pid: Option<u32>,
    /// The program `-c` runs: the binary of a userspace probe that names none.
    pub child_program: Option<String>,
    /// `-p PID`: every probe but `begin` and `end` runs only in this process.
    pub target_pid: Option<u32>,
    /// `-k`: the probes check what the helpers that can fail return (map updates, memory
    /// reads) and report a failure with its place in the script.
    pub helper_errors: bool,
    /// `--probe-filter`: a regular expression; probes whose full name it does not match are
    /// left out (`begin` and `end` are kept).
    pub probe_filter: Option<String>,
    /// Where the imported files start in the script's text (`sources::assemble`): their
    /// `begin` and `end` probes run before the script's own, as in bpftrace.
    pub imports_start: Option<u32>,
    /// The `BPFTRACE_<KEY>` environment variables, which override the script's config block.
    /// The caller checks them first (`Config::apply_environment`); here a bad one is ignored.
    pub env: Vec<(String, String)>,
    /// `getopt`'s integer and boolean values are read from the config map as the probes run
    /// (`manifest.params`, filled in at load time: a pack's parameters) instead of compiled in.
    /// A value the script needs while compiling (a map's size, an `lhist` bound) then fails to
    /// compile, and the caller compiles again without.
    pub params_at_load: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_parameters_start_with_two_dashes() {
        let params = Params::from_args(&["p1", "--aa=20", "-5", "--bb", "p2"]);
        assert_eq!(params.positional, ["p1", "-5", "p2"]);
        let named: Vec<(&str, Option<&str>)> = params.named.iter().map(|p| (p.name.as_str(), p.value.as_deref())).collect();
        assert_eq!(named, [("aa", Some("20")), ("bb", None)]);
    }

    #[test]
    fn attach_points_take_parameters_as_text() {
        let params = Params::from_args(&["5", "openat"]);
        assert_eq!(params.substitute("interval:s:$1"), "interval:s:5");
        assert_eq!(params.substitute("tracepoint:syscalls:sys_enter_$2"), "tracepoint:syscalls:sys_enter_openat");
        assert_eq!(params.substitute("x:$3:$#"), "x::2");
        assert_eq!(params.positional(0), None);
    }
}
