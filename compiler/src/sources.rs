//! A script and the files it imports (`import "lib.bt";`) as one text: the script first, each
//! imported file after it, once, in the order first imported. Import lines are blanked and an
//! imported file's `#!` line too, so the grammar sees one program; a `SourceMap` tells which
//! file, and where in it, each byte of the text came from.
//!
//! The compiler does no IO: reading a file is the caller's `Loader`.

use crate::diagnostic::Diagnostic;
use crate::span::Span;

/// One file of the assembled text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// As diagnostics name it: `stdin`, the script's path, an imported file's path.
    pub name: String,
    pub text: String,
    /// Where its text starts in the assembled text.
    pub start: u32,
}

/// Which file each byte of an assembled text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
}

impl SourceMap {
    /// A script that imports nothing.
    pub fn single(name: &str, text: &str) -> SourceMap {
        SourceMap { files: vec![SourceFile { name: name.to_string(), text: text.to_string(), start: 0 }] }
    }

    /// Appends `text`, a file named `name`, to the `assembled` text this map describes.
    pub fn append(&mut self, assembled: &mut String, name: &str, text: &str) {
        if !assembled.is_empty() && !assembled.ends_with('\n') {
            assembled.push('\n');
        }
        self.files.push(SourceFile { name: name.to_string(), text: text.to_string(), start: assembled.len() as u32 });
        assembled.push_str(text);
    }

    /// The file holding byte `offset` of the assembled text (the last one past its end).
    pub fn file_at(&self, offset: u32) -> &SourceFile {
        let index = self.files.partition_point(|file| file.start <= offset).saturating_sub(1);
        &self.files[index]
    }

    /// `span` within the file that holds its start.
    pub fn local(&self, span: Span) -> (&SourceFile, Span) {
        let file = self.file_at(span.start);
        let len = file.text.len() as u32;
        let start = (span.start - file.start).min(len);
        let end = span.end.saturating_sub(file.start).clamp(start, len);
        (file, Span::new(start as usize, end as usize))
    }
}

/// What an `import` names, found by the caller.
pub trait Loader {
    /// The files `path` names, imported from the file named `importer`: one `.bt` file, or
    /// every `.bt` file of a directory, as (name, text); or why none can be read.
    fn load(&self, importer: &str, path: &str) -> Result<Vec<(String, String)>, String>;
}

/// The script named `name` with everything it imports, directly or not, appended; on failure
/// the diagnostic and the files read so far, to show it in.
pub fn assemble(name: &str, text: &str, loader: &dyn Loader) -> Result<(String, SourceMap), Box<(Diagnostic, SourceMap)>> {
    let mut assembled = String::with_capacity(text.len());
    let mut map = SourceMap { files: Vec::new() };
    let mut pending = vec![(name.to_string(), text.to_string(), Vec::<String>::new())];
    while let Some((file_name, file_text, chain)) = pending.pop() {
        let start = assembled.len() as u32;
        let imports = imports_of(&file_text);
        let mut blanked = file_text.clone();
        for import in &imports {
            blank(&mut blanked, import.line.clone());
        }
        if start > 0 && blanked.starts_with("#!") {
            let end = blanked.find('\n').unwrap_or(blanked.len());
            blank(&mut blanked, 0..end);
        }
        if start > 0 && !assembled.ends_with('\n') {
            assembled.push('\n');
        }
        let start = assembled.len() as u32;
        assembled.push_str(&blanked);
        map.files.push(SourceFile { name: file_name.clone(), text: file_text.clone(), start });
        let mut found = Vec::new();
        for import in imports.iter().rev() {
            let span = Span::new(start as usize + import.path.start, start as usize + import.path.end);
            let path = &file_text[import.path.clone()];
            let files = match loader.load(&file_name, path) {
                Ok(files) => files,
                Err(why) => {
                    let diagnostic = Diagnostic::error("E0120", format!("cannot import `{path}`: {why}")).with_primary(span, "this import");
                    return Err(Box::new((diagnostic, map)));
                }
            };
            for (imported, imported_text) in files.into_iter().rev() {
                if imported == file_name || chain.contains(&imported) {
                    let cycle: Vec<&str> = chain.iter().map(String::as_str).chain([file_name.as_str(), imported.as_str()]).collect();
                    let diagnostic = Diagnostic::error("E0121", format!("imports form a cycle: {}", cycle.join(" -> ")))
                        .with_primary(span, "this import closes it");
                    return Err(Box::new((diagnostic, map)));
                }
                let known = map.files.iter().any(|f| f.name == imported) || pending.iter().any(|p| p.0 == imported);
                if !known && !found.iter().any(|f: &(String, String, Vec<String>)| f.0 == imported) {
                    let mut next_chain = chain.clone();
                    next_chain.push(file_name.clone());
                    found.push((imported, imported_text, next_chain));
                }
            }
        }
        // Imported files come after, in the order their imports are written.
        pending.extend(found);
    }
    Ok((assembled, map))
}

/// An `import "path";` line: the whole statement and the path's bytes.
struct Import {
    line: std::ops::Range<usize>,
    path: std::ops::Range<usize>,
}

/// The `import "...";` statements of `text`, each alone on its line.
fn imports_of(text: &str) -> Vec<Import> {
    let mut imports = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(rest) = trimmed.strip_prefix("import").filter(|rest| rest.trim_start().starts_with('"')) {
            let quote = trimmed.len() - rest.len() + (rest.len() - rest.trim_start().len());
            let body = &trimmed[quote + 1..];
            if let Some(close) = body.find('"') {
                let after = body[close + 1..].trim_start();
                if after.starts_with(';') {
                    let path_start = offset + indent + quote + 1;
                    let statement_end = offset + indent + quote + 1 + close + 1 + (body[close + 1..].len() - after.len()) + 1;
                    imports.push(Import { line: offset + indent..statement_end, path: path_start..path_start + close });
                }
            }
        }
        offset += line.len();
    }
    imports
}

/// Replaces `range` of `text` with spaces (it holds no line break).
fn blank(text: &mut String, range: std::ops::Range<usize>) {
    let spaces = " ".repeat(range.len());
    text.replace_range(range, &spaces);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Files(HashMap<&'static str, &'static str>);

    impl Loader for Files {
        fn load(&self, _: &str, path: &str) -> Result<Vec<(String, String)>, String> {
            match self.0.get(path) {
                Some(text) => Ok(vec![(path.to_string(), text.to_string())]),
                None => Err("no such file".to_string()),
            }
        }
    }

    #[test]
    fn imported_files_follow_the_script_once_each() {
        let files = Files(HashMap::from([
            ("a.bt", "import \"b.bt\";\nmacro a() { 1 }\n"),
            ("b.bt", "#!/usr/bin/env ferrotrace\nmacro b() { 2 }\n"),
        ]));
        let (text, map) = assemble("main.bt", "import \"a.bt\";\nimport \"b.bt\";\nbegin { }\n", &files).unwrap();
        let names: Vec<&str> = map.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["main.bt", "a.bt", "b.bt"]);
        assert!(!text.contains("import") && !text.contains("#!"), "{text}");
        assert_eq!(text.len(), map.files.iter().map(|f| f.text.len()).sum::<usize>());
        let b = map.files[2].start;
        let (file, local) = map.local(Span::new(b as usize + 26, b as usize + 31));
        assert_eq!((file.name.as_str(), &file.text[local.start as usize..local.end as usize]), ("b.bt", "macro"));
    }

    #[test]
    fn missing_and_cyclic_imports_are_errors() {
        let files = Files(HashMap::from([("a.bt", "import \"b.bt\";\n"), ("b.bt", "import \"a.bt\";\n")]));
        assert_eq!(assemble("main.bt", "import \"nope.bt\";\n", &files).unwrap_err().0.code, "E0120");
        assert_eq!(assemble("main.bt", "import \"a.bt\";\n", &files).unwrap_err().0.code, "E0121");
    }
}
