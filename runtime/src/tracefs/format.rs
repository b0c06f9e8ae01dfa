//! Parses a tracepoint's tracefs `format` file into the record layout the compiler reads
//! arguments from. Pure: the text in, a `TracepointFormat` out.

use ferrotrace_compiler::catalog::{FieldKind, TracepointField, TracepointFormat};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormatError {
    #[error("the format has no `ID:` line")]
    MissingId,
    #[error("line {line} of the format is not a field: `{text}`")]
    BadField { line: usize, text: String },
}

/// Parses a whole `format` file. `common_*` fields are left out.
pub fn parse_format(text: &str) -> Result<TracepointFormat, FormatError> {
    let mut id = None;
    let mut fields = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(value) = line.strip_prefix("ID:") {
            id = value.trim().parse::<u32>().ok();
        } else if line.starts_with("field:") {
            let field = parse_field(line).ok_or_else(|| FormatError::BadField {
                line: index + 1,
                text: line.to_string(),
            })?;
            if !field.name.starts_with("common_") {
                fields.push(field);
            }
        }
    }
    Ok(TracepointFormat {
        id: id.ok_or(FormatError::MissingId)?,
        fields,
    })
}

/// Parses `field:TYPE NAME; offset:N; size:N; signed:N;`.
fn parse_field(line: &str) -> Option<TracepointField> {
    let mut declaration = None;
    let (mut offset, mut size, mut signed) = (None, None, None);
    for part in line
        .split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let (key, value) = part.split_once(':')?;
        match key {
            "field" => declaration = Some(value.trim()),
            "offset" => offset = value.trim().parse::<u32>().ok(),
            "size" => size = value.trim().parse::<u32>().ok(),
            "signed" => signed = Some(value.trim() == "1"),
            _ => {}
        }
    }
    let (c_type, name) = split_declaration(declaration?)?;
    let size = size?;
    let kind = classify(&c_type, size);
    Some(TracepointField {
        name,
        c_type,
        offset: offset?,
        size,
        signed: signed?,
        kind,
    })
}

/// A field declaration split into its C type and its name: `const char * filename` gives
/// (`const char *`, `filename`); `char prev_comm[16]` gives (`char[16]`, `prev_comm`).
fn split_declaration(declaration: &str) -> Option<(String, String)> {
    let split = declaration.rfind(|c: char| c.is_whitespace() || c == '*')?;
    let (base, declarator) = (
        declaration[..=split].trim(),
        declaration[split + 1..].trim(),
    );
    if declarator.is_empty() || base.is_empty() {
        return None;
    }
    match declarator.split_once('[') {
        Some((name, rest)) => Some((format!("{base}[{rest}"), name.to_string())),
        None => Some((base.to_string(), declarator.to_string())),
    }
}

fn classify(c_type: &str, size: u32) -> FieldKind {
    if c_type == "__data_loc char[]" {
        return FieldKind::DataLocString;
    }
    if c_type.starts_with("__data_loc") || c_type.starts_with("__rel_loc") {
        return FieldKind::Other;
    }
    if let Some((element, rest)) = c_type.split_once('[') {
        let len = rest
            .strip_suffix(']')
            .and_then(|len| len.parse::<u32>().ok())
            .unwrap_or(size);
        let element = element.trim();
        let integer = !element.starts_with("struct ") && !element.starts_with("union ") && !element.ends_with('*');
        return match element {
            "char" | "const char" => FieldKind::CharArray(len),
            _ if integer && len > 0 && size.is_multiple_of(len) && matches!(size / len, 1 | 2 | 4 | 8) => FieldKind::IntArray(len),
            _ => FieldKind::Other,
        };
    }
    if c_type.ends_with('*') {
        return FieldKind::Pointer;
    }
    let aggregate = c_type.starts_with("struct ") || c_type.starts_with("union ");
    if !aggregate && matches!(size, 1 | 2 | 4 | 8) {
        FieldKind::Int
    } else {
        FieldKind::Other
    }
}

#[cfg(test)]
mod tests;
