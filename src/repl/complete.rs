//! Tab completion from the running system, never a fixed list: providers and the probes this
//! kernel has (through the providers' own listing, as `-l` does), `args.` fields of the probe
//! being typed, kernel struct members after `curtask->` from BTF, builtins and functions from
//! the standard library registry, the session's `@maps` and the input's `$variables`, and
//! meta-command arguments.

use std::collections::BTreeSet;

use ferrotrace_compiler::providers::{named, Scope, PROVIDERS};
use ferrotrace_compiler::stdlib;

use super::commands::COMMANDS;

/// What the session knows that completion offers: kept current by the console.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// The session's maps, `@` included.
    pub maps: Vec<String>,
    /// The blocks still attached, by id.
    pub blocks: Vec<u32>,
}

/// Where the replaced text starts in the line, and the candidates for it.
pub fn complete(line: &str, pos: usize, known: &Known, scope: &Scope<'_>) -> (usize, Vec<String>) {
    let before = &line[..pos];
    if let Some(command) = before.trim_start().strip_prefix(':') {
        return complete_command(before, command, known, scope);
    }
    let mut start = before.rfind(|c: char| !is_word(c)).map_or(0, |at| at + before[at..].chars().next().map_or(1, char::len_utf8));
    // A path or an attach point keeps its dots; in an expression, a dot starts a field name.
    let word = &before[start..];
    if !word.contains(':') && !word.starts_with('/') {
        start += word.rfind('.').map_or(0, |at| at + 1);
    }
    let word = &before[start..];
    let ahead = &before[..start];
    if let Some(field) = member_of(ahead) {
        let fields = match field {
            Member::Args => probe_arguments(first_attach_point(line), scope),
            Member::Struct(name) => struct_members(&name, scope),
        };
        return (start, starting_with(fields, word));
    }
    if word.starts_with('@') {
        let mut maps: BTreeSet<String> = known.maps.iter().cloned().collect();
        maps.extend(words_with_sigil(line, '@').into_iter().filter(|name| name != word));
        return (start, starting_with(maps, word));
    }
    if word.starts_with('$') {
        return (start, starting_with(words_with_sigil(line, '$').into_iter().filter(|name| name != word), word));
    }
    if word.contains(':') || at_item_start(ahead) {
        return (start, probes(word, scope));
    }
    let names = stdlib::all_names().map(str::to_string).chain(KEYWORDS.iter().map(|k| k.to_string()));
    (start, starting_with(names, word))
}

/// Words of the language that are not library names.
const KEYWORDS: &[&str] = &["if", "else", "for", "while", "unroll", "return", "break", "continue", "let", "config", "macro", "import", "struct", "union", "enum", "sizeof", "offsetof", "typeof", "true", "false", "comptime"];

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '@' | '$' | '*' | '/' | '.' | '-' | '+')
}

/// What a member completion is of.
enum Member {
    /// `args.`: the probe's arguments.
    Args,
    /// `curtask->`: a kernel struct's members.
    Struct(String),
}

/// When the text before the word ends with `args.` or `curtask->` (or `->` after a cast to a
/// struct pointer), what its members are of.
fn member_of(ahead: &str) -> Option<Member> {
    let trimmed = ahead.trim_end();
    if let Some(object) = trimmed.strip_suffix('.') {
        return object.trim_end().ends_with("args").then_some(Member::Args);
    }
    let object = trimmed.strip_suffix("->")?.trim_end();
    if object.ends_with("curtask") {
        return Some(Member::Struct("task_struct".to_string()));
    }
    // `((struct sock *)arg0)->`: the struct named in the innermost cast.
    let cast = object.rfind("struct ")?;
    let name: String = object[cast + 7..].trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(Member::Struct(name))
}

/// Whether the word is where a probe's attach point goes: the input's start, after a `,`
/// between attach points, or after a block's closing `}`.
fn at_item_start(ahead: &str) -> bool {
    let trimmed = ahead.trim_end();
    trimmed.is_empty() || trimmed.ends_with('}') || (trimmed.ends_with(',') && !trimmed.contains('{'))
}

/// The first attach point of the input, whose `args` the fields are.
fn first_attach_point(line: &str) -> &str {
    line.trim_start().split(|c: char| c.is_whitespace() || matches!(c, ',' | '{' | '/')).next().unwrap_or("")
}

/// The argument names of `probe` as the provider lists them (`-lv`): the last word of each.
fn probe_arguments(probe: &str, scope: &Scope<'_>) -> Vec<String> {
    let Some(provider) = probe.split_once(':').and_then(|(written, _)| named(written)) else { return Vec::new() };
    let full = match probe.split_once(':') {
        Some((_, rest)) => format!("{}:{rest}", provider.name),
        None => probe.to_string(),
    };
    (provider.arguments)(scope, &full)
        .iter()
        .filter_map(|argument| argument.rsplit([' ', '*']).next())
        .map(|name| name.trim_end_matches(|c: char| c == ']' || c.is_ascii_digit() || c == '[').to_string())
        .filter(|name| !name.is_empty())
        .collect()
}

fn struct_members(name: &str, scope: &Scope<'_>) -> Vec<String> {
    let Some(btf) = scope.catalog.kernel_types() else { return Vec::new() };
    super::kernel_types::members(btf, name).unwrap_or_default().into_iter().map(|(member, _, _)| member).collect()
}

/// Attach points: provider names, then what the provider lists on this system, completed up
/// to the next `:` (`tracepoint:sys` offers `tracepoint:syscalls:`).
fn probes(word: &str, scope: &Scope<'_>) -> Vec<String> {
    let Some((written, rest)) = word.split_once(':') else {
        let providers = PROVIDERS.iter().flat_map(|provider| provider.written.iter()).map(|name| match *name {
            "begin" | "end" | "BEGIN" | "END" => name.to_string(),
            _ => format!("{name}:"),
        });
        return starting_with(providers, word);
    };
    let Some(provider) = named(written) else { return Vec::new() };
    let user_binary = matches!(provider.name, "uprobe" | "uretprobe" | "usdt") && !rest.contains(':');
    if user_binary {
        return paths(rest).into_iter().map(|path| format!("{written}:{path}")).collect();
    }
    let pattern = format!("{}:{rest}*", provider.name);
    let listed = (provider.list)(scope, &pattern).unwrap_or_default();
    let mut offered = BTreeSet::new();
    for name in listed {
        let Some(tail) = name.strip_prefix(provider.name).and_then(|tail| tail.strip_prefix(':')) else { continue };
        let tail = tail.strip_prefix("vmlinux:").filter(|_| !rest.starts_with("vmlinux")).unwrap_or(tail);
        let Some(after) = tail.strip_prefix(rest) else { continue };
        let cut = after.find(':').map_or(after.len(), |at| at + 1);
        offered.insert(format!("{written}:{rest}{}", &after[..cut]));
    }
    offered.into_iter().collect()
}

/// Files and directories starting with `prefix` (`/usr/b` offers `/usr/bin/`).
pub fn paths(prefix: &str) -> Vec<String> {
    let (dir, stem) = match prefix.rfind('/') {
        Some(at) => (&prefix[..=at], &prefix[at + 1..]),
        None => ("", prefix),
    };
    let Ok(entries) = std::fs::read_dir(if dir.is_empty() { "." } else { dir }) else { return Vec::new() };
    let mut found: Vec<String> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let slash = if entry.file_type().ok()?.is_dir() { "/" } else { "" };
            (name.starts_with(stem) && (!name.starts_with('.') || stem.starts_with('.'))).then(|| format!("{dir}{name}{slash}"))
        })
        .collect();
    found.sort();
    found
}

/// Meta-commands, and their arguments once the name is typed.
fn complete_command(before: &str, command: &str, known: &Known, scope: &Scope<'_>) -> (usize, Vec<String>) {
    let Some((name, args)) = command.split_once(char::is_whitespace) else {
        let start = before.len() - command.len();
        return (start, starting_with(COMMANDS.iter().map(|c| c.name.to_string()), command));
    };
    let start = before.rfind(char::is_whitespace).map_or(before.len(), |at| at + 1);
    let word = &before[start..];
    let candidates: Vec<String> = match name {
        "detach" => known.blocks.iter().map(u32::to_string).chain(["all".to_string()]).collect(),
        "dis" | "why" => known.blocks.iter().map(u32::to_string).collect(),
        "print" | "clear" | "zero" | "watch" if !args.trim_start().contains(' ') => known.maps.clone(),
        "type" => known.maps.iter().cloned().chain(["struct ".to_string()]).collect(),
        "list" => return (start, probes(word, scope)),
        "help" => COMMANDS.iter().map(|c| format!(":{}", c.name)).chain(stdlib::all_names().map(str::to_string)).collect(),
        "save" | "load" => return (start, paths(word)),
        _ => Vec::new(),
    };
    (start, starting_with(candidates, word))
}

/// The distinct `@name`s or `$name`s written in `text`.
fn words_with_sigil(text: &str, sigil: char) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices(sigil) {
        let name: String = text[at + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        found.insert(format!("{sigil}{name}"));
    }
    found
}

/// The candidates that start with `prefix`, sorted, each once.
fn starting_with(candidates: impl IntoIterator<Item = String>, prefix: &str) -> Vec<String> {
    let set: BTreeSet<String> = candidates.into_iter().filter(|candidate| candidate.starts_with(prefix)).collect();
    set.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_of_args_or_a_struct_the_text_names() {
        assert!(matches!(member_of("tracepoint:a:b { @[args."), Some(Member::Args)));
        assert!(matches!(member_of("kprobe:f { curtask->"), Some(Member::Struct(name)) if name == "task_struct"));
        assert!(matches!(member_of("{ ((struct sock *)arg0)->"), Some(Member::Struct(name)) if name == "sock"));
        assert!(member_of("{ $x.").is_none());
    }

    #[test]
    fn attach_points_start_the_input_or_follow_a_comma_or_a_block() {
        assert!(at_item_start(""));
        assert!(at_item_start("tracepoint:a:b, "));
        assert!(at_item_start("begin { } "));
        assert!(!at_item_start("begin { printf(\"%d\", "));
    }

    #[test]
    fn sigils_find_the_names_written() {
        let names = words_with_sigil("begin { $a = 1; @x[$a] = count(); $bb = $a }", '$');
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["$a", "$bb"]);
    }

    #[test]
    fn meta_commands_complete_their_names_and_block_ids() {
        struct Nothing;
        impl ferrotrace_compiler::catalog::Catalog for Nothing {
            fn tracepoints(&self) -> Result<Vec<(String, String)>, ferrotrace_compiler::catalog::CatalogError> {
                Ok(Vec::new())
            }
            fn tracepoint_format(&self, category: &str, name: &str) -> Result<ferrotrace_compiler::catalog::TracepointFormat, ferrotrace_compiler::catalog::CatalogError> {
                Err(ferrotrace_compiler::catalog::CatalogError::NotFound(format!("{category}:{name}")))
            }
        }
        let known = Known { maps: vec!["@opens".into()], blocks: vec![1, 3] };
        let scope = Scope::kernel(&Nothing);
        assert_eq!(complete(":det", 4, &known, &scope), (1, vec!["detach".to_string()]));
        assert_eq!(complete(":detach ", 8, &known, &scope), (8, vec!["1".to_string(), "3".to_string(), "all".to_string()]));
        assert_eq!(complete(":print @o", 9, &known, &scope), (7, vec!["@opens".to_string()]));
        assert_eq!(complete("begin { @o", 10, &known, &scope).1, vec!["@opens".to_string()]);
        assert_eq!(complete("begin { prin", 12, &known, &scope), (8, vec!["print".to_string(), "printf".to_string()]));
        assert_eq!(complete("trace", 5, &known, &scope).1, vec!["tracepoint:".to_string()]);
        assert_eq!(complete("begin { $t.fi", 13, &known, &scope).0, 11);
    }
}
