//! The meta-commands (`:probes`, `:detach`, `:print`, `:save`, ...), kept apart from the
//! language by their `:`. Each reads or changes the console's session; none compiles into the
//! probes.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use ferrotrace_compiler::driver::{compile_with, Keep};
use ferrotrace_compiler::manifest::{MapId, MapValue, UserMap};
use ferrotrace_compiler::providers::{named, Scope};
use ferrotrace_compiler::sema::hir;
use ferrotrace_compiler::stdlib;
use ferrotrace_runtime::entry::RawEntry;
use ferrotrace_runtime::run::RunError;
use ferrotrace_runtime::signals;

use super::book::{Kind, State};
use super::Console;

/// One meta-command, as `:help` lists it.
pub struct Command {
    pub name: &'static str,
    pub args: &'static str,
    pub summary: &'static str,
}

pub const COMMANDS: &[Command] = &[
    Command { name: "probes", args: "", summary: "the attached blocks: id, probes, events and CPU time from the kernel's statistics" },
    Command { name: "detach", args: "N|all", summary: "detach block N (or every block); its maps stay" },
    Command { name: "maps", args: "", summary: "every map: its type and how many keys it holds" },
    Command { name: "print", args: "@map [top N]", summary: "print a map now, merged across CPUs (the N largest entries)" },
    Command { name: "clear", args: "@map", summary: "delete every key of a map" },
    Command { name: "zero", args: "@map", summary: "set every value of a map to zero, keeping its keys" },
    Command { name: "watch", args: "@map [interval] [count]", summary: "redraw a map every interval (default 1s), counts as deltas, until Ctrl-C" },
    Command { name: "type", args: "EXPR|@map|struct NAME|PROBE", summary: "the type of an expression or map, a kernel struct's fields, a probe's arguments" },
    Command { name: "list", args: "PATTERN", summary: "the probes this system has that match PATTERN, as `-l` lists them" },
    Command { name: "help", args: "[name]", summary: "these commands, or a builtin's or function's signature and documentation" },
    Command { name: "save", args: "FILE", summary: "write the attached blocks, declarations and config, in order, as a script" },
    Command { name: "load", args: "FILE", summary: "attach a script's probes, as if typed" },
    Command { name: "dis", args: "N", summary: "the BPF instructions of block N's programs" },
    Command { name: "why", args: "N", summary: "the verifier's log of block N, rejected, or its statistics, accepted" },
    Command { name: "quit", args: "", summary: "end the session, printing the maps as a script does at exit (as Ctrl-D does)" },
];

impl Console<'_> {
    /// Runs meta-command `name`.
    pub(super) fn command(&mut self, name: &str, args: &str) -> Result<()> {
        match name {
            "probes" => self.probes(),
            "detach" => self.detach(args),
            "maps" => self.maps(),
            "print" => self.print(args),
            "clear" | "zero" => self.clear(name, args),
            "watch" => self.watch(args),
            "type" => self.type_of(args),
            "list" => self.list(args),
            "help" => self.help(args),
            "save" => self.save(args),
            "load" => self.load_file(args),
            "dis" => self.disassemble(args),
            "why" => self.why(args),
            "quit" | "q" | "exit" => {
                self.quit = true;
                Ok(())
            }
            _ => {
                let near = ferrotrace_compiler::diagnostic::closest(name, COMMANDS.iter().map(|c| c.name));
                let hint = near.first().map(|n| format!(" (did you mean `:{n}`?)")).unwrap_or_default();
                self.error(&format!("unknown command `:{name}`{hint}; `:help` lists them"))
            }
        }
    }

    fn error(&mut self, text: &str) -> Result<()> {
        writeln!(self.messages, "ERROR: {text}")?;
        Ok(())
    }

    /// `:probes`: each attached block's programs with the kernel's counts.
    fn probes(&mut self) -> Result<()> {
        let Some(session) = &self.session else { return Ok(writeln!(self.screen, "no probes attached")?) };
        let mut rows = Vec::new();
        for entry in self.book.entries().iter().filter(|entry| entry.state == State::Live) {
            for &index in &entry.programs {
                let spec = &session.manifest().programs[index];
                let stats = session.program_stats(index).unwrap_or_default();
                rows.push((entry.id, spec.probe_name.clone(), stats.run_count, stats.run_time_ns));
            }
        }
        if rows.is_empty() {
            return Ok(writeln!(self.screen, "no probes attached")?);
        }
        let width = rows.iter().map(|row| row.1.len()).max().unwrap_or(5).max(5);
        writeln!(self.screen, "{:>4}  {:<width$}  {:>10}  {:>10}", "id", "probe", "events", "cpu")?;
        for (id, probe, runs, time) in rows {
            writeln!(self.screen, "{:>4}  {probe:<width$}  {runs:>10}  {:>10}", format!("[{id}]"), cpu_time(time))?;
        }
        Ok(())
    }

    /// `:detach N|all`.
    fn detach(&mut self, args: &str) -> Result<()> {
        let ids: Vec<u32> = match args {
            "all" => self.book.entries().iter().filter(|entry| entry.state == State::Live && !entry.programs.is_empty()).map(|entry| entry.id).collect(),
            _ => match args.trim_start_matches('[').trim_end_matches(']').parse::<u32>() {
                Ok(id) if self.book.entry(id).is_some_and(|entry| entry.state == State::Live && !entry.programs.is_empty()) => vec![id],
                Ok(id) => return self.error(&format!("no block [{id}] is attached; `:probes` lists them")),
                Err(_) => return self.error("`:detach` takes a block's number or `all`"),
            },
        };
        let Some(session) = self.session.as_mut() else { return Ok(()) };
        for id in ids {
            let Some(entry) = self.book.entry_mut(id) else { continue };
            let programs = entry.programs.clone();
            session.detach_programs(|index| programs.contains(&index));
            entry.state = State::Detached;
            writeln!(self.messages, "[{id}] detached")?;
        }
        self.refresh_known();
        Ok(())
    }

    /// `:maps`: every map's type and size.
    fn maps(&mut self) -> Result<()> {
        let Some(session) = &self.session else { return Ok(writeln!(self.screen, "no maps")?) };
        let mut lines = Vec::new();
        for (id, _, user) in session.manifest().user_maps() {
            let keys = session.map_entries(id).map(|entries| entries.len()).unwrap_or(0);
            lines.push(format!("{}  {}  ({keys} {})", user.name, describe_map(user), if keys == 1 { "entry" } else { "entries" }));
        }
        if lines.is_empty() {
            lines.push("no maps".to_string());
        }
        lines.sort();
        for line in lines {
            writeln!(self.screen, "{line}")?;
        }
        Ok(())
    }

    /// The session's user map named by `args`' first word.
    fn user_map(&mut self, args: &str) -> Result<Option<(MapId, UserMap)>> {
        let name = args.split_whitespace().next().unwrap_or("");
        let found = self.session.as_ref().and_then(|session| session.manifest().user_maps().find(|(_, _, user)| user.name == name).map(|(id, _, user)| (id, user.clone())));
        if found.is_none() {
            self.error(&format!("no map `{name}` in this session; `:maps` lists them"))?;
        }
        Ok(found)
    }

    /// `:print @m [top N]`.
    fn print(&mut self, args: &str) -> Result<()> {
        let Some((id, _)) = self.user_map(args)? else { return Ok(()) };
        let words: Vec<&str> = args.split_whitespace().collect();
        let top = match words.as_slice() {
            [_] => 0,
            [_, "top", n] => match n.parse() {
                Ok(n) => n,
                Err(_) => return self.error("`top` takes a number"),
            },
            _ => return self.error("`:print` takes `@map` or `@map top N`"),
        };
        let session = self.session.as_ref().expect("a map was found");
        self.runner.print_map(session, id, top, 0)?;
        Ok(())
    }

    /// `:clear @m`, `:zero @m`.
    fn clear(&mut self, name: &str, args: &str) -> Result<()> {
        let Some((id, _)) = self.user_map(args)? else { return Ok(()) };
        let session = self.session.as_ref().expect("a map was found");
        match name {
            "clear" => session.clear_map(id).map_err(RunError::from)?,
            _ => session.zero_map(id).map_err(RunError::from)?,
        }
        Ok(())
    }

    /// `:watch @m [interval] [count]`: the map redrawn in place, counts as deltas since the last
    /// redraw, until Ctrl-C (or `count` redraws).
    fn watch(&mut self, args: &str) -> Result<()> {
        let Some((id, user)) = self.user_map(args)? else { return Ok(()) };
        let words: Vec<&str> = args.split_whitespace().skip(1).collect();
        let interval = match words.first().map(|word| parse_interval(word)) {
            None => Duration::from_secs(1),
            Some(Some(interval)) => interval,
            Some(None) => return self.error("the interval is a number of seconds or has a unit: `2s`, `500ms`"),
        };
        let count = match words.get(1).map(|word| word.parse::<u64>()) {
            None => u64::MAX,
            Some(Ok(count)) => count,
            Some(Err(_)) => return self.error("the count is a number of redraws"),
        };
        let deltas = summable(&user.value);
        let mut previous: Option<Vec<RawEntry>> = None;
        for frame in 0..count {
            let entries = self.session.as_ref().expect("a map was found").map_entries(id).map_err(RunError::from)?;
            let shown = match (&previous, deltas) {
                (Some(before), true) => subtract(&entries, before),
                _ => entries.clone(),
            };
            if self.screen.is_terminal() {
                write!(self.screen, "\x1b[H\x1b[2J")?;
            }
            let what = if deltas && previous.is_some() { format!("change over the last {}", show_interval(interval)) } else { "totals".to_string() };
            writeln!(self.screen, "{} every {} ({what}), Ctrl-C stops", user.name, show_interval(interval))?;
            self.runner.print_entries(&user, &shown)?;
            self.screen.flush()?;
            previous = Some(entries);
            if frame + 1 == count {
                break;
            }
            let until = Instant::now() + interval;
            while Instant::now() < until && !signals::stop_requested() && !self.ended() {
                let left = until.saturating_duration_since(Instant::now()).min(Duration::from_millis(100));
                self.wait_for_records(left)?;
            }
            if signals::stop_requested() || self.ended() {
                break;
            }
        }
        Ok(())
    }

    /// `:type EXPR|@m|struct NAME|PROBE`.
    fn type_of(&mut self, args: &str) -> Result<()> {
        let args = args.trim();
        if args.starts_with('@') && !args.contains(['[', ' ', '.']) {
            let Some((_, user)) = self.user_map(args)? else { return Ok(()) };
            return Ok(writeln!(self.screen, "{}: {}", user.name, describe_map(&user))?);
        }
        if let Some(name) = args.strip_prefix("struct ").or_else(|| args.strip_prefix("union ")) {
            let described = self.catalog_types().and_then(|btf| super::kernel_types::describe(&btf, name.trim()));
            return match described {
                Some(text) => Ok(write!(self.screen, "{text}")?),
                None => self.error(&format!("the kernel's BTF has no struct `{}`", name.trim())),
            };
        }
        if let Some(provider) = args.split_once(':').and_then(|(written, _)| named(written)) {
            let full = format!("{}:{}", provider.name, args.split_once(':').map_or("", |(_, rest)| rest));
            let arguments = (provider.arguments)(&Scope::kernel(&self.catalog), &full);
            writeln!(self.screen, "{full}")?;
            for argument in arguments {
                writeln!(self.screen, "    {argument}")?;
            }
            return Ok(());
        }
        let draft = self.book.draft(args, Kind::TypeOf);
        let keep = Keep { hir: true, ..Keep::default() };
        match compile_with(&draft.text, &self.catalog, &self.options, keep) {
            Ok(compiled) => {
                let ty = compiled.hir.as_ref().and_then(|hir| hir.probes.last()).and_then(|probe| probe.body.first()).and_then(|stmt| match &stmt.kind {
                    hir::StmtKind::AssignLocal { value, .. } => Some(value.ty.to_string()),
                    _ => None,
                });
                Ok(writeln!(self.screen, "{}", ty.unwrap_or_else(|| "?".to_string()))?)
            }
            Err(diagnostics) => self.report(&diagnostics, &draft.files),
        }
    }

    /// The kernel's BTF, if the catalog can read it.
    fn catalog_types(&self) -> Option<std::sync::Arc<ferrotrace_compiler::btf::Btf>> {
        ferrotrace_compiler::catalog::Catalog::kernel_types(&self.catalog).cloned()
    }

    /// `:list PATTERN`.
    fn list(&mut self, args: &str) -> Result<()> {
        let pattern = if args.is_empty() { "*" } else { args };
        let mut listed = Vec::new();
        crate::listing::list(&Scope::kernel(&self.catalog), pattern, false, &mut listed)?;
        self.screen.write_all(&listed)?;
        Ok(())
    }

    /// `:help [name]`.
    fn help(&mut self, args: &str) -> Result<()> {
        let name = args.trim().trim_start_matches(':');
        if name.is_empty() {
            writeln!(self.screen, "Type a probe block to attach it, a statement to run it once, an expression or @map to print it.")?;
            for command in COMMANDS {
                let usage = format!(":{} {}", command.name, command.args);
                writeln!(self.screen, "  {usage:<38} {}", command.summary)?;
            }
            return Ok(writeln!(self.screen, "Tab completes, Ctrl-R searches the history, Ctrl-C cancels, Ctrl-D ends. `:help NAME` documents a builtin or function.")?);
        }
        if let Some(command) = COMMANDS.iter().find(|command| command.name == name) {
            return Ok(writeln!(self.screen, ":{} {}\n    {}", command.name, command.args, command.summary)?);
        }
        match stdlib::lookup(name) {
            Some(function) => Ok(writeln!(self.screen, "{}\n\n{}", function.signature, function.doc.trim_end())?),
            None => {
                let near = ferrotrace_compiler::diagnostic::closest(name, stdlib::all_names());
                let hint = near.first().map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
                self.error(&format!("no builtin, function or command `{name}`{hint}"))
            }
        }
    }

    /// `:save FILE`: the live blocks, declarations and config as a script.
    fn save(&mut self, args: &str) -> Result<()> {
        if args.is_empty() {
            return self.error("`:save` takes a file name");
        }
        let script = format!("#!/usr/bin/env ferrotrace\n{}", self.book.script());
        match std::fs::write(args, script) {
            Ok(()) => Ok(writeln!(self.messages, "saved {args}")?),
            Err(error) => self.error(&format!("cannot write `{args}`: {error}")),
        }
    }

    /// `:load FILE`.
    fn load_file(&mut self, args: &str) -> Result<()> {
        match std::fs::read_to_string(args) {
            Ok(text) => self.load_text(&text),
            Err(error) => self.error(&format!("cannot read `{args}`: {error}")),
        }
    }

    /// `:dis N`: block N's programs disassembled.
    fn disassemble(&mut self, args: &str) -> Result<()> {
        let Some(id) = self.block_number(args)? else { return Ok(()) };
        let entry = self.book.entry(id).expect("checked").clone();
        let draft = self.book.draft("", Kind::Items);
        let keep = Keep { bpf: true, ..Keep::default() };
        let compiled = match compile_with(&draft.text, &self.catalog, &self.options, keep) {
            Ok(compiled) => compiled,
            Err(diagnostics) => return self.report(&diagnostics, &draft.files),
        };
        let mut text = Vec::new();
        crate::debug::disassemble_programs(&compiled, &draft.text, |index| entry.programs.contains(&index), &mut text)?;
        self.screen.write_all(&text)?;
        Ok(())
    }

    /// `:why N`: the verifier's log of a refused block, trimmed to its end, or an accepted
    /// block's verifier statistics.
    fn why(&mut self, args: &str) -> Result<()> {
        let wanted = args.trim().trim_start_matches('[').trim_end_matches(']').parse::<u32>().ok();
        if let Some((id, log)) = self.rejection.clone().filter(|(id, _)| wanted.is_none_or(|wanted| wanted == *id)) {
            let lines: Vec<&str> = log.lines().collect();
            let shown = &lines[lines.len().saturating_sub(WHY_LINES)..];
            writeln!(self.screen, "block [{id}] was refused; the end of the verifier's log ({} of {} lines):", shown.len(), lines.len())?;
            for line in shown {
                writeln!(self.screen, "  {line}")?;
            }
            return Ok(());
        }
        let Some(id) = self.block_number(args)? else { return Ok(()) };
        let entry = self.book.entry(id).expect("checked").clone();
        let Some(session) = &self.session else { return Ok(()) };
        writeln!(self.screen, "block [{id}] was accepted:")?;
        for &index in &entry.programs {
            let spec = &session.manifest().programs[index];
            match session.program_stats(index) {
                Some(stats) => writeln!(self.screen, "  {}: {} instructions, {} after the verifier's rewrites, {} verified", spec.probe_name, spec.insn_spans.len(), stats.translated_insns, stats.verified_insns)?,
                None => writeln!(self.screen, "  {}: not loaded", spec.probe_name)?,
            }
        }
        Ok(())
    }

    /// The block `args` numbers, reported when there is none.
    fn block_number(&mut self, args: &str) -> Result<Option<u32>> {
        match args.trim().trim_start_matches('[').trim_end_matches(']').parse::<u32>() {
            Ok(id) if self.book.entry(id).is_some() => Ok(Some(id)),
            Ok(id) => self.error(&format!("there is no block [{id}]")).map(|()| None),
            Err(_) => self.error("give a block's number, as `[N] attached` named it").map(|()| None),
        }
    }
}

/// Verifier log lines `:why` shows: the rejection is at the end.
const WHY_LINES: usize = 30;

/// A map's key and value types: `[string] -> count()`.
pub(super) fn describe_map(user: &UserMap) -> String {
    let value = match &user.value {
        MapValue::Plain(ty) => ty.to_string(),
        other => format!("{}()", other.function_name()),
    };
    if user.key.is_empty() {
        return value;
    }
    let key: Vec<String> = user.key.iter().map(ToString::to_string).collect();
    format!("[{}] -> {value}", key.join(", "))
}

/// Whether the map's values are sums that a difference of two readings shows the change of.
fn summable(value: &MapValue) -> bool {
    matches!(value, MapValue::Count | MapValue::Sum(_) | MapValue::Hist { .. } | MapValue::Lhist { .. })
}

/// `now` minus `before`, per key and CPU, word by word; keys new since are as they are.
fn subtract(now: &[RawEntry], before: &[RawEntry]) -> Vec<RawEntry> {
    now.iter()
        .map(|entry| {
            let Some(old) = before.iter().find(|old| old.key == entry.key) else { return entry.clone() };
            let values = entry
                .values
                .iter()
                .zip(&old.values)
                .map(|(value, old)| {
                    value
                        .chunks(8)
                        .zip(old.chunks(8))
                        .flat_map(|(word, old)| {
                            let read = |bytes: &[u8]| u64::from_ne_bytes(bytes.try_into().unwrap_or([0; 8]));
                            read(word).wrapping_sub(read(old)).to_ne_bytes()
                        })
                        .collect()
                })
                .collect();
            RawEntry { key: entry.key.clone(), values }
        })
        .collect()
}

/// `2s`, `500ms`, `1m`, or a plain number of seconds.
fn parse_interval(text: &str) -> Option<Duration> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let number: u64 = text[..digits].parse().ok()?;
    let duration = match &text[digits..] {
        "" | "s" => Duration::from_secs(number),
        "ms" => Duration::from_millis(number),
        "m" => Duration::from_secs(number * 60),
        _ => return None,
    };
    (!duration.is_zero()).then_some(duration)
}

fn show_interval(interval: Duration) -> String {
    match interval.as_millis() {
        ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    }
}

/// Nanoseconds of CPU time as people read them.
fn cpu_time(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns} ns"),
        1_000..1_000_000 => format!("{:.1} µs", ns as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} ms", ns as f64 / 1e6),
        _ => format!("{:.2} s", ns as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_take_seconds_or_a_unit() {
        assert_eq!(parse_interval("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_interval("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_interval("0s"), None);
        assert_eq!(parse_interval("1h"), None);
    }

    #[test]
    fn deltas_subtract_each_cpu_word_and_keep_new_keys() {
        let now = vec![RawEntry { key: vec![1], values: vec![5u64.to_ne_bytes().to_vec(), 7u64.to_ne_bytes().to_vec()] }, RawEntry { key: vec![2], values: vec![3u64.to_ne_bytes().to_vec()] }];
        let before = vec![RawEntry { key: vec![1], values: vec![2u64.to_ne_bytes().to_vec(), 7u64.to_ne_bytes().to_vec()] }];
        let delta = subtract(&now, &before);
        assert_eq!(delta[0].values, vec![3u64.to_ne_bytes().to_vec(), 0u64.to_ne_bytes().to_vec()]);
        assert_eq!(delta[1], now[1]);
    }
}
