//! What the guest runs, and reading back what it printed. The initramfs's `/init` mounts what
//! programs expect (`/proc`, `/sys`, `/dev`; the root file system, and so `/tmp`, is already
//! writable, and a mount on `/tmp` would hide files placed there), links busybox's applets into
//! `/bin`, brings up the loopback interface (the network recipes' tests connect over it), then runs each command with its output on the second serial port (`/dev/ttyS1`)
//! between marker lines that carry the command's name and exit status, and powers off. The
//! kernel's own console stays on the first port.

use std::fmt::Write as _;

/// Opens a command's output.
const BEGIN: &str = "@@ferrotrace-matrix begin ";
/// Closes it, followed by the exit status.
const END: &str = "@@ferrotrace-matrix end ";

/// The commands a guest runs, in order, and the environment they run in.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    env: Vec<(String, String)>,
    commands: Vec<(String, Vec<String>)>,
}

impl Plan {
    pub fn new() -> Plan {
        Plan::default()
    }

    /// Exports `name=value` to every command.
    pub fn env(&mut self, name: &str, value: &str) -> &mut Plan {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Runs `argv` (looked up in `PATH` when not absolute) and reports it as `name`, which must
    /// be one word.
    pub fn command(&mut self, name: &str, argv: &[&str]) -> &mut Plan {
        assert!(!name.is_empty() && !name.contains(char::is_whitespace), "command name `{name}` is not one word");
        self.commands.push((name.to_string(), argv.iter().map(|arg| arg.to_string()).collect()));
        self
    }

    /// The names of the commands, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.commands.iter().map(|(name, _)| name.as_str())
    }

    /// The guest's `/init`, a busybox shell script.
    pub fn init_script(&self) -> String {
        let mut script = String::from(
            "#!/bin/busybox sh\n\
             # The ferrotrace kernel matrix's init, written by ferrotrace-matrix.\n\
             /bin/busybox mount -t proc proc /proc\n\
             /bin/busybox mount -t sysfs sysfs /sys\n\
             /bin/busybox mount -t devtmpfs devtmpfs /dev\n\
             /bin/busybox mkdir -p /dev/pts\n\
             /bin/busybox mount -t devpts devpts /dev/pts\n\
             /bin/busybox --install -s /bin\n\
             /bin/busybox ip link set lo up\n\
             /bin/busybox stty -F /dev/ttyS1 raw -echo\n\
             export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TMPDIR=/tmp\n",
        );
        for (name, value) in &self.env {
            let _ = writeln!(script, "export {name}={}", quote(value));
        }
        let _ = write!(
            script,
            "cd /\n\
             exec 3>/dev/ttyS1\n\
             run() {{\n\
             \x20 name=$1; shift\n\
             \x20 printf '{BEGIN}%s\\n' \"$name\" >&3\n\
             \x20 \"$@\" >&3 2>&3 </dev/null\n\
             \x20 status=$?\n\
             \x20 printf '\\n{END}%s %d\\n' \"$name\" \"$status\" >&3\n\
             }}\n"
        );
        for (name, argv) in &self.commands {
            let words: Vec<String> = argv.iter().map(|arg| quote(arg)).collect();
            let _ = writeln!(script, "run {name} {}", words.join(" "));
        }
        // Closing the port makes the kernel drain it before the machine stops.
        script.push_str("exec 3>&-\n/bin/busybox sync\n/bin/busybox poweroff -f\n");
        script
    }
}

/// What one command printed (stdout and stderr together) and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub name: String,
    pub output: String,
    /// The exit status; `None` when the guest stopped before the command ended.
    pub status: Option<i32>,
}

/// Splits the second serial port's text into the commands' results, in the order they ran.
pub fn parse(text: &str) -> Vec<Finished> {
    let mut finished: Vec<Finished> = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if let Some(name) = bare.strip_prefix(BEGIN) {
            open = Some((name.to_string(), String::new()));
            continue;
        }
        let Some((name, output)) = open.as_mut() else { continue };
        match bare.strip_prefix(END).and_then(|rest| rest.strip_prefix(name.as_str())) {
            Some(code) => {
                // The end marker's own leading newline is not the command's.
                output.pop();
                let status = code.trim().parse().ok();
                let (name, output) = open.take().expect("a command is open");
                finished.push(Finished { name, output, status });
            }
            None => output.push_str(line),
        }
    }
    if let Some((name, output)) = open {
        finished.push(Finished { name, output, status: None });
    }
    finished
}

/// `word` in single quotes for the shell.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_runs_each_command_between_markers_with_quoted_arguments() {
        let mut plan = Plan::new();
        plan.env("GREETING", "it's").command("hello", &["/bin/echo", "a b", "c"]);
        let script = plan.init_script();
        assert!(script.starts_with("#!/bin/busybox sh\n"), "{script}");
        assert!(script.contains("export GREETING='it'\\''s'\n"), "{script}");
        assert!(script.contains("run hello '/bin/echo' 'a b' 'c'\n"), "{script}");
        assert!(script.ends_with("/bin/busybox poweroff -f\n"), "{script}");
    }

    #[test]
    fn output_is_split_by_command_with_statuses() {
        let text = "@@ferrotrace-matrix begin uname\n6.1.0-57-amd64\n\n@@ferrotrace-matrix end uname 0\n\
                    @@ferrotrace-matrix begin tests\nno newline\n@@ferrotrace-matrix end tests 101\n\
                    @@ferrotrace-matrix begin hung\npartial\n";
        assert_eq!(
            parse(text),
            [
                Finished { name: "uname".into(), output: "6.1.0-57-amd64\n".into(), status: Some(0) },
                Finished { name: "tests".into(), output: "no newline".into(), status: Some(101) },
                Finished { name: "hung".into(), output: "partial\n".into(), status: None },
            ]
        );
    }
}
