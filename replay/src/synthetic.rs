//! Synthetic events: one JSON object a line, written by hand or by a test, turned into the
//! events a recording would hold (`docs/replay.md` documents the form).
//!
//! ```text
//! {"probe": "tracepoint:syscalls:sys_enter_openat", "pid": 42, "comm": "cat", "args": {"filename": "/etc/hostname"}}
//! ```
//!
//! `args` are laid out by the tracepoint's format, as the kernel lays out its record: integers
//! at their offsets and sizes, an inline `char[N]` padded, a `__data_loc` string after the
//! fixed fields, and a string given for a pointer placed in the event's memory, where the
//! pointer points. Every other key is optional: `tid` defaults to `pid`, `time_ns` to one
//! microsecond after the line before.

use std::collections::HashMap;
use std::sync::Arc;

use ferrotrace_compiler::catalog::{FieldKind, TracepointField, TracepointFormat};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ReplayError;
use crate::event::{Chunk, Event};

/// Where strings given for pointer fields are placed: a user-space address no recording uses.
const STRINGS_BASE: u64 = 0x7e00_0000_0000;
/// The tracepoint record's common header: type, flags, preempt count, pid.
const COMMON_HEADER: usize = 8;
/// The gap between lines that give no time.
const DEFAULT_STEP_NS: u64 = 1_000;

/// One line as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    probe: String,
    #[serde(default)]
    time_ns: Option<u64>,
    #[serde(default)]
    cpu: u32,
    #[serde(default)]
    pid: u32,
    #[serde(default)]
    tid: Option<u32>,
    #[serde(default)]
    uid: u32,
    #[serde(default)]
    gid: u32,
    #[serde(default)]
    comm: String,
    #[serde(default)]
    cgroup: u64,
    #[serde(default)]
    jiffies: u64,
    #[serde(default)]
    args: serde_json::Map<String, Value>,
    #[serde(default)]
    kstack: Vec<u64>,
    #[serde(default)]
    ustack: Vec<u64>,
}

/// The probe as the manifest names it: `t:` and `tracepoint:` alike.
pub fn canonical_probe(probe: &str) -> String {
    match probe.split_once(':') {
        Some(("t", rest)) => format!("tracepoint:{rest}"),
        _ => probe.to_string(),
    }
}

/// Reads JSON lines into events; `format` gives a tracepoint's layout by category and name.
/// Blank lines and lines starting with `#` are skipped.
pub fn parse(
    text: &str,
    start_ns: u64,
    format: &mut dyn FnMut(&str, &str) -> Result<TracepointFormat, String>,
) -> Result<Vec<Event>, ReplayError> {
    let mut events = Vec::new();
    // The events of one probe share its name, as a recording's do.
    let mut names: HashMap<Arc<str>, Arc<str>> = HashMap::new();
    let mut time = start_ns;
    for (index, text) in text.lines().enumerate() {
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let at = |message: String| ReplayError::Input(format!("line {}: {message}", index + 1));
        let line: Line = serde_json::from_str(text).map_err(|error| at(error.to_string()))?;
        time = line.time_ns.unwrap_or(time + DEFAULT_STEP_NS);
        let mut event = event(line, time, format).map_err(at)?;
        event.probe = Arc::clone(names.entry(Arc::clone(&event.probe)).or_insert_with(|| Arc::clone(&event.probe)));
        events.push(event);
    }
    Ok(events)
}

fn event(line: Line, time_ns: u64, format: &mut dyn FnMut(&str, &str) -> Result<TracepointFormat, String>) -> Result<Event, String> {
    let probe = canonical_probe(&line.probe);
    let tid = line.tid.unwrap_or(line.pid);
    let mut event = Event {
        time_ns,
        cpu: line.cpu,
        pid: line.pid,
        tid,
        uid: line.uid,
        gid: line.gid,
        cgroup: line.cgroup,
        jiffies: line.jiffies,
        kernel_stack: line.kstack,
        user_stack: line.ustack,
        ..Event::default()
    };
    event.set_comm(line.comm.as_bytes());
    match probe.split(':').collect::<Vec<_>>().as_slice() {
        ["tracepoint", category, name] => {
            let layout = format(category, name)?;
            event.context = record(&layout, tid, &line.args, &mut event.memory)?;
        }
        _ if line.args.is_empty() => {}
        _ => return Err(format!("`args` are laid out only for tracepoints, not for `{probe}`")),
    }
    event.probe = Arc::from(probe);
    Ok(event)
}

/// A tracepoint record with `args` at their fields.
fn record(layout: &TracepointFormat, pid: u32, args: &serde_json::Map<String, Value>, memory: &mut Vec<Chunk>) -> Result<Vec<u8>, String> {
    let fixed = layout.fields.iter().map(|field| (field.offset + field.size) as usize).max().unwrap_or(0).max(COMMON_HEADER);
    let mut bytes = vec![0u8; fixed];
    bytes[..2].copy_from_slice(&(layout.id as u16).to_ne_bytes());
    bytes[4..8].copy_from_slice(&pid.to_ne_bytes());
    for (name, value) in args {
        let Some(field) = layout.fields.iter().find(|field| field.name == *name) else {
            let names: Vec<&str> = layout.fields.iter().map(|field| field.name.as_str()).collect();
            return Err(format!("the tracepoint has no field `{name}`; its fields are {}", names.join(", ")));
        };
        put(field, value, &mut bytes, memory).map_err(|problem| format!("`{name}` ({}): {problem}", field.c_type))?;
    }
    bytes.resize(bytes.len().next_multiple_of(8), 0);
    Ok(bytes)
}

fn put(field: &TracepointField, value: &Value, bytes: &mut Vec<u8>, memory: &mut Vec<Chunk>) -> Result<(), String> {
    let at = field.offset as usize;
    let size = field.size as usize;
    match (field.kind, value) {
        (FieldKind::Int, _) => {
            let number = integer(value)?;
            bytes[at..at + size].copy_from_slice(&number.to_ne_bytes()[..size]);
        }
        (FieldKind::Pointer, Value::String(text)) => {
            let address = STRINGS_BASE + memory.len() as u64 * 0x1_0000;
            let mut string = text.as_bytes().to_vec();
            string.push(0);
            memory.push(Chunk { address, bytes: string });
            bytes[at..at + size].copy_from_slice(&address.to_ne_bytes()[..size]);
        }
        (FieldKind::Pointer, _) => {
            let number = integer(value)?;
            bytes[at..at + size].copy_from_slice(&number.to_ne_bytes()[..size]);
        }
        (FieldKind::CharArray(len), Value::String(text)) => {
            let text = text.as_bytes();
            if text.len() >= len as usize {
                return Err(format!("a string of {} bytes does not fit in {len} with its NUL", text.len()));
            }
            bytes[at..at + text.len()].copy_from_slice(text);
        }
        (FieldKind::IntArray(count), Value::Array(items)) => {
            if items.len() > count as usize {
                return Err(format!("{} elements given for {count}", items.len()));
            }
            let each = size / count.max(1) as usize;
            for (index, item) in items.iter().enumerate() {
                let number = integer(item)?;
                bytes[at + index * each..at + (index + 1) * each].copy_from_slice(&number.to_ne_bytes()[..each]);
            }
        }
        (FieldKind::DataLocString, Value::String(text)) => {
            let offset = bytes.len();
            bytes.extend_from_slice(text.as_bytes());
            bytes.push(0);
            let loc = ((text.len() as u32 + 1) << 16) | offset as u32;
            bytes[at..at + 4].copy_from_slice(&loc.to_ne_bytes());
        }
        (FieldKind::Other, _) => return Err("a field of this type cannot be given".to_string()),
        (_, other) => return Err(format!("{other} is not a value this field holds")),
    }
    Ok(())
}

/// A JSON number (or boolean) as the 64 bits an integer field's bytes come from.
fn integer(value: &Value) -> Result<u64, String> {
    match value {
        Value::Number(number) => number
            .as_u64()
            .or_else(|| number.as_i64().map(|signed| signed as u64))
            .ok_or_else(|| format!("{number} is not an integer")),
        Value::Bool(flag) => Ok(u64::from(*flag)),
        other => Err(format!("{other} is not an integer")),
    }
}
