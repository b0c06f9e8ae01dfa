//! A recipe's scenario tests: run the recipe with parameters while a trigger command runs, stop
//! it after a number of lines or seconds, then hold its output to what the test expects (lines
//! matching patterns, rows of its table by column, fields of its JSON lines).

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use ferrotrace_runtime::target::find_program;
use regex::Regex;
use serde::Deserialize;

use super::discovery::Found;
use super::header::Header;

/// One scenario test, as a recipe's header writes it under `[[tests]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What it shows, in one line.
    pub name: String,
    /// A shell command started once the probes are attached (as `-c`); the recipe stops when it
    /// ends.
    #[serde(default)]
    pub command: Option<String>,
    /// The recipe's parameters, each given as `--NAME=VALUE`.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// `text` (the default) or `json`.
    #[serde(default)]
    pub format: Format,
    /// Programs the test runs; it is skipped where one is not on `PATH`.
    #[serde(default)]
    pub needs: Vec<String>,
    /// A shell condition the machine must meet (`test -e /sys/block/vda`); the test is skipped,
    /// naming it, where it fails.
    #[serde(default)]
    pub requires: Option<String>,
    /// Stop the recipe once it has printed this many lines.
    #[serde(default)]
    pub lines: Option<usize>,
    /// Stop the recipe this many seconds after its probes are attached.
    #[serde(default)]
    pub seconds: Option<f64>,
    /// Patterns (regular expressions) each of which some line matches.
    #[serde(default)]
    pub expect: Vec<String>,
    /// Patterns no line matches.
    #[serde(default)]
    pub reject: Vec<String>,
    /// Rows of the table the recipe prints under a line naming its columns: in each, some row
    /// has every column given matching its pattern whole.
    #[serde(default)]
    pub rows: Vec<BTreeMap<String, String>>,
    /// JSON lines: in each, some line has every field given (a dotted path, `data.@usecs`)
    /// equal to its value (a string is a pattern the field matches whole).
    #[serde(default)]
    pub json: Vec<BTreeMap<String, toml::Value>>,
}

/// The output format a scenario runs the recipe with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// The file of a directory recipe that holds more tests, as `[[tests]]` tables.
pub const TESTS_FILE: &str = "tests.toml";

/// `tests.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestsFile {
    #[serde(default)]
    tests: Vec<Scenario>,
}

/// A recipe's scenario tests: its header's, then its `tests.toml`'s.
pub fn scenarios(found: &Found, header: &Header) -> Result<Vec<Scenario>, String> {
    let mut all = header.tests.clone();
    if let Some(text) = found.companion(TESTS_FILE) {
        let file: TestsFile = toml::from_str(text).map_err(|error| format!("its {TESTS_FILE}: {}", error.to_string().trim_end()))?;
        all.extend(file.tests);
    }
    Ok(all)
}

impl Scenario {
    /// What is wrong with the test as written: a pattern that is not a regular expression, a
    /// row naming a column the recipe does not list.
    pub fn problem(&self, columns: &[String]) -> Option<String> {
        let patterns = self.expect.iter().chain(&self.reject).chain(self.rows.iter().flat_map(|row| row.values())).map(String::as_str);
        let patterns = patterns.chain(self.json.iter().flat_map(|fields| fields.values()).filter_map(toml::Value::as_str));
        for pattern in patterns {
            if let Err(error) = Regex::new(pattern) {
                return Some(format!("`{pattern}` is not a regular expression: {error}"));
            }
        }
        let unknown = self.rows.iter().flat_map(|row| row.keys()).find(|name| !columns.contains(name));
        if let Some(name) = unknown {
            return Some(format!("its rows name column `{name}`, which the header does not list"));
        }
        if let Some((name, _)) = self.params.iter().find(|(_, value)| parameter(value).is_none()) {
            return Some(format!("its parameter `{name}` is not a string, number or boolean"));
        }
        if let Some(seconds) = self.seconds.filter(|seconds| !(0.0..=LIMIT.as_secs_f64()).contains(seconds)) {
            return Some(format!("its `seconds` is {seconds}: a number of seconds from 0 to {}", LIMIT.as_secs()));
        }
        if self.lines == Some(0) {
            return Some("its `lines` is 0: the recipe would be stopped before it prints".to_string());
        }
        if !self.json.is_empty() && self.format != Format::Json {
            return Some("it checks JSON fields but runs with `format = \"text\"`".to_string());
        }
        None
    }
}

/// How a scenario came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Skip(String),
    /// Why, and what the recipe printed.
    Fail(String, String),
}

/// The longest a scenario runs before it is stopped and fails.
const LIMIT: Duration = Duration::from_secs(30);
/// How long a recipe stopped with SIGINT has to print its maps and end.
const GRACE: Duration = Duration::from_secs(10);

/// Runs the recipe `recipe` (a name or a path, as `recipe run` takes it) as `scenario` says,
/// with this ferrotrace binary, and holds its output to the scenario; `columns` are the names
/// the header gives its output's columns.
pub fn run(scenario: &Scenario, recipe: &str, columns: &[String]) -> Outcome {
    if let Some(missing) = scenario.needs.iter().find(|program| find_program(program).is_none()) {
        return Outcome::Skip(format!("needs `{missing}`, which is not on PATH"));
    }
    if let Some(problem) = scenario.problem(columns) {
        return Outcome::Fail(problem, String::new());
    }
    if let Some(condition) = &scenario.requires {
        let met = Command::new("/bin/sh").args(["-c", condition]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
        if !met.is_ok_and(|status| status.success()) {
            return Outcome::Skip(format!("this machine does not meet `{condition}`"));
        }
    }
    let trigger = match scenario.command.as_deref().map(Trigger::write).transpose() {
        Ok(trigger) => trigger,
        Err(error) => return Outcome::Fail(format!("cannot write its command to a file: {error}"), String::new()),
    };
    let printed = match execute(scenario, recipe, trigger.as_ref()) {
        Ok(printed) => printed,
        Err(why) => return Outcome::Fail(why, String::new()),
    };
    if let Some(why) = printed.failure {
        return Outcome::Fail(why, printed.stdout);
    }
    match judge(scenario, columns, &printed.stdout) {
        Ok(()) => Outcome::Pass,
        Err(why) => Outcome::Fail(why, printed.stdout),
    }
}

/// A scenario's command in a shell script of its own, its output discarded (`-c` takes words,
/// not shell text). Removed when dropped.
struct Trigger {
    path: PathBuf,
}

impl Trigger {
    fn write(command: &str) -> io::Result<Trigger> {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("ferrotrace-scenario-{}-{n}.sh", std::process::id()));
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        writeln!(file, "exec >/dev/null\n{command}")?;
        Ok(Trigger { path })
    }
}

impl Drop for Trigger {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a run printed, and why it failed as a run (a bad exit, no end in time).
struct Printed {
    stdout: String,
    failure: Option<String>,
}

/// What the recipe's output streams bring.
enum Message {
    /// A line of standard output, with its newline.
    Line(String),
    /// A line of standard error.
    Error(String),
    /// The probes are attached (`Attached N probes`, or JSON's `attached_probes`).
    Attached,
}

/// How long output is still taken once ferrotrace has ended (a process the trigger left
/// behind may hold the pipes open).
const LAST_OUTPUT: Duration = Duration::from_secs(1);
/// How often the loop looks whether ferrotrace has ended.
const TICK: Duration = Duration::from_millis(50);

/// Runs the recipe and collects its output, stopping it as the scenario says. Its `seconds`
/// count from the moment the probes are attached, as loading can take long (under emulation).
/// ferrotrace runs in a process group of its own, with the trigger, so that whatever is left
/// of them is killed at the end.
fn execute(scenario: &Scenario, recipe: &str, trigger: Option<&Trigger>) -> Result<Printed, String> {
    let exe = std::env::current_exe().map_err(|error| format!("cannot find the ferrotrace binary: {error}"))?;
    let mut command = Command::new(exe);
    if scenario.format == Format::Json {
        command.args(["-f", "json"]);
    }
    if let Some(trigger) = trigger {
        command.args(["-c".to_string(), format!("/bin/sh {}", trigger.path.display())]);
    }
    command.args(["recipe", "run", recipe, "--"]);
    command.args(scenario.params.iter().map(|(name, value)| format!("--{name}={}", parameter(value).unwrap_or_default())));
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = command.spawn().map_err(|error| format!("cannot start ferrotrace: {error}"))?;
    let group = child.id() as i32;
    let (send, messages) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let out = send.clone();
    std::thread::spawn(move || {
        for line in read_lines(stdout) {
            let attached = line.starts_with("{\"type\": \"attached_probes\"");
            if out.send(if attached { Message::Attached } else { Message::Line(line) }).is_err() {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        for line in read_lines(stderr) {
            if send.send(if line.starts_with("Attached ") { Message::Attached } else { Message::Error(line) }).is_err() {
                break;
            }
        }
    });

    let started = Instant::now();
    let mut stop_at: Option<Instant> = None;
    let mut stopped: Option<Instant> = None;
    let mut ended: Option<(Instant, ExitStatus)> = None;
    let (mut stdout, mut errors) = (String::new(), String::new());
    let mut count = 0;
    let mut failure = None;
    loop {
        let now = Instant::now();
        if ended.is_none() {
            if let Some(status) = child.try_wait().map_err(|error| format!("cannot wait for ferrotrace: {error}"))? {
                ended = Some((now, status));
            }
        }
        if ended.is_some_and(|(at, _)| now >= at + LAST_OUTPUT) {
            break;
        }
        let wants_stop = stop_at.is_some_and(|at| now >= at) || scenario.lines.is_some_and(|lines| count >= lines);
        if wants_stop && stopped.is_none() && ended.is_none() {
            // SAFETY: kill takes a pid and a signal number and touches no memory.
            unsafe { libc::kill(group, libc::SIGINT) };
            stopped = Some(now);
        }
        let limit = stopped.map_or(started + LIMIT, |at| at + GRACE);
        if ended.is_none() && now >= limit {
            failure = Some(match stopped {
                Some(_) => format!("did not end within {} s of SIGINT", GRACE.as_secs()),
                None => format!("did not end within {} s", LIMIT.as_secs()),
            });
            break;
        }
        match messages.recv_timeout(TICK) {
            Ok(Message::Line(line)) => {
                stdout.push_str(&line);
                count += 1;
            }
            Ok(Message::Error(line)) => errors.push_str(&line),
            Ok(Message::Attached) => stop_at = scenario.seconds.map(|seconds| Instant::now() + Duration::from_secs_f64(seconds)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) if ended.is_some() => break,
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(TICK),
        }
    }
    // SAFETY: kill takes a pid and a signal number and touches no memory; the group is the
    // one ferrotrace leads, so only it and what it started are killed.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let status = match ended {
        Some((_, status)) => status,
        None => child.wait().map_err(|error| format!("cannot wait for ferrotrace: {error}"))?,
    };
    if failure.is_none() && !status.success() {
        let how = status.code().map_or_else(|| format!("was killed by signal {}", status.signal().unwrap_or(0)), |code| format!("exited with status {code}"));
        failure = Some(format!("ferrotrace {how}: {}", errors.trim_end()));
    }
    Ok(Printed { stdout, failure })
}

/// A stream's lines, each with its newline, until it ends.
fn read_lines(stream: impl io::Read) -> impl Iterator<Item = String> {
    let mut reader = io::BufReader::new(stream);
    std::iter::from_fn(move || {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        }
    })
}

/// A parameter's value as the command line gives it: a string, number or boolean.
fn parameter(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(text) => Some(text.clone()),
        toml::Value::Integer(number) => Some(number.to_string()),
        toml::Value::Float(number) => Some(number.to_string()),
        toml::Value::Boolean(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Holds the output to what the scenario expects: the first thing that does not hold.
pub fn judge(scenario: &Scenario, columns: &[String], output: &str) -> Result<(), String> {
    let lines: Vec<&str> = output.lines().collect();
    for pattern in &scenario.expect {
        let regex = Regex::new(pattern).map_err(|error| error.to_string())?;
        if !lines.iter().any(|line| regex.is_match(line)) {
            return Err(format!("no line matches `{pattern}`"));
        }
    }
    for pattern in &scenario.reject {
        let regex = Regex::new(pattern).map_err(|error| error.to_string())?;
        if let Some(line) = lines.iter().find(|line| regex.is_match(line)) {
            return Err(format!("line `{line}` matches `{pattern}`, which no line should"));
        }
    }
    if !scenario.rows.is_empty() {
        let rows = table(&lines, columns)?;
        for wanted in &scenario.rows {
            if !rows.iter().any(|row| row_matches(row, columns, wanted)) {
                return Err(format!("no row has {}", describe(wanted.iter().map(|(name, pattern)| (name.as_str(), pattern.clone())))));
            }
        }
    }
    if !scenario.json.is_empty() {
        let values: Vec<serde_json::Value> = lines.iter().filter_map(|line| serde_json::from_str(line).ok()).collect();
        for wanted in &scenario.json {
            if !values.iter().any(|value| wanted.iter().all(|(path, expected)| field(value, path).is_some_and(|found| json_matches(found, expected)))) {
                return Err(format!("no JSON line has {}", describe(wanted.iter().map(|(path, value)| (path.as_str(), parameter(value).unwrap_or_default())))));
            }
        }
    }
    Ok(())
}

/// `NAME matching `PATTERN`, ...`, for a failure.
fn describe<'a>(fields: impl Iterator<Item = (&'a str, String)>) -> String {
    fields.map(|(name, pattern)| format!("{name} matching `{pattern}`")).collect::<Vec<_>>().join(", ")
}

/// The rows under the line whose words are the column names: each split on whitespace into as
/// many fields as there are columns, the last taking the rest of the line.
fn table<'a>(lines: &[&'a str], columns: &[String]) -> Result<Vec<Vec<&'a str>>, String> {
    let names = |line: &&str| line.split_whitespace().eq(columns.iter().map(String::as_str));
    let Some(at) = lines.iter().position(names) else {
        return Err(format!("no line names the columns `{}`", columns.join(" ")));
    };
    Ok(lines[at + 1..].iter().map(|line| split_fields(line, columns.len())).collect())
}

/// `line` split on runs of whitespace into at most `count` fields, the last the rest of it.
fn split_fields(line: &str, count: usize) -> Vec<&str> {
    let mut fields = Vec::with_capacity(count);
    let mut rest = line.trim();
    while fields.len() + 1 < count && !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        fields.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    if !rest.is_empty() {
        fields.push(rest);
    }
    fields
}

fn row_matches(row: &[&str], columns: &[String], wanted: &BTreeMap<String, String>) -> bool {
    wanted.iter().all(|(name, pattern)| {
        let at = columns.iter().position(|column| column == name);
        at.and_then(|at| row.get(at)).is_some_and(|field| whole_match(pattern, field))
    })
}

/// Whether `pattern` matches all of `text`.
fn whole_match(pattern: &str, text: &str) -> bool {
    Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|regex| regex.is_match(text))
}

/// The field at a dotted path (`data.@usecs`; an array is indexed by number).
fn field<'a>(value: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(value, |value, key| match value {
        serde_json::Value::Object(object) => object.get(key),
        serde_json::Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        _ => None,
    })
}

/// Whether a JSON value is the one a test expects: a string expected is a pattern the value's
/// text matches whole; a number or boolean is equal.
fn json_matches(found: &serde_json::Value, expected: &toml::Value) -> bool {
    match (expected, found) {
        (toml::Value::String(pattern), serde_json::Value::String(text)) => whole_match(pattern, text),
        (toml::Value::String(pattern), other) => whole_match(pattern, &other.to_string()),
        (toml::Value::Integer(number), serde_json::Value::Number(found)) if found.is_u64() => found.as_u64() == u64::try_from(*number).ok(),
        (toml::Value::Integer(number), serde_json::Value::Number(found)) => found.as_i64() == Some(*number),
        (toml::Value::Float(number), serde_json::Value::Number(found)) => found.as_f64() == Some(*number),
        (toml::Value::Boolean(flag), serde_json::Value::Bool(found)) => flag == found,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(toml_text: &str) -> Scenario {
        toml::from_str(&format!("name = \"t\"\n{toml_text}")).unwrap()
    }

    const TABLE: &str = "PID     COMM             PATH\n12      cat              /etc/host name\n13      sh               /tmp/x\n";

    fn columns() -> Vec<String> {
        ["PID", "COMM", "PATH"].map(String::from).to_vec()
    }

    #[test]
    fn lines_are_matched_and_rejected_by_pattern() {
        assert_eq!(judge(&scenario("expect = ['^12 +cat']"), &[], TABLE), Ok(()));
        assert_eq!(judge(&scenario("expect = ['^14']"), &[], TABLE), Err("no line matches `^14`".to_string()));
        let rejected = judge(&scenario("reject = ['sh ']"), &[], TABLE).unwrap_err();
        assert!(rejected.starts_with("line `13      sh"), "{rejected}");
    }

    #[test]
    fn rows_are_found_under_the_line_naming_the_columns_the_last_taking_the_rest() {
        let test = scenario("[[rows]]\nCOMM = 'cat'\nPATH = '/etc/host name'\n[[rows]]\nPID = '1\\d'\nCOMM = 'sh'\n");
        assert_eq!(judge(&test, &columns(), TABLE), Ok(()));
        let partial = scenario("[[rows]]\nCOMM = 'ca'\n");
        assert_eq!(judge(&partial, &columns(), TABLE), Err("no row has COMM matching `ca`".to_string()));
        assert_eq!(judge(&test, &columns(), "12 cat /x\n"), Err("no line names the columns `PID COMM PATH`".to_string()));
        assert_eq!(split_fields("  1  two  three four ", 3), ["1", "two", "three four"]);
    }

    #[test]
    fn json_fields_are_found_by_path() {
        let output = "{\"type\": \"map\", \"data\": {\"@\": {\"cat\": 3}}}\n{\"type\": \"printf\", \"data\": \"hi\"}\n";
        let test = scenario("format = 'json'\n[[json]]\ntype = 'map'\n'data.@.cat' = 3\n[[json]]\ndata = 'h.'\n");
        assert_eq!(judge(&test, &[], output), Ok(()));
        let wrong = scenario("format = 'json'\n[[json]]\n'data.@.cat' = 4\n");
        assert_eq!(judge(&wrong, &[], output), Err("no JSON line has data.@.cat matching `4`".to_string()));
    }

    #[test]
    fn a_tests_file_that_does_not_read_is_named_and_a_missing_variant_too() {
        let header: Header = toml::from_str("name = \"big\"\nsummary = \"s\"\nversion = \"1.0.0\"\nlicense = \"MIT\"\nvariants = [\"big-old.bt\"]\n").unwrap();
        let found = |companions: Vec<(String, String)>| Found { name: "big".into(), origin: super::super::discovery::Origin::Path, path: None, text: String::new(), companions };
        let broken = found(vec![(TESTS_FILE.into(), "[[tests]]\nnam = 'x'\n".into())]);
        let why = scenarios(&broken, &header).unwrap_err();
        assert!(why.starts_with("its tests.toml: ") && why.contains("unknown field `nam`"), "{why}");
        let missing = super::super::variants::variants(&broken, &header).err();
        assert_eq!(missing.as_deref(), Some("its variant `big-old.bt` is not a file of its directory"));
    }

    #[test]
    fn a_badly_written_test_is_named() {
        assert_eq!(scenario("expect = ['(']").problem(&[]).unwrap().split(':').next(), Some("`(` is not a regular expression"));
        assert_eq!(scenario("[[rows]]\nTID = '1'\n").problem(&columns()), Some("its rows name column `TID`, which the header does not list".to_string()));
        assert_eq!(scenario("[[json]]\ntype = 'map'\n").problem(&[]), Some("it checks JSON fields but runs with `format = \"text\"`".to_string()));
        assert_eq!(scenario("seconds = 40").problem(&[]), Some("its `seconds` is 40: a number of seconds from 0 to 30".to_string()));
        assert_eq!(scenario("lines = 0").problem(&[]), Some("its `lines` is 0: the recipe would be stopped before it prints".to_string()));
    }
}
