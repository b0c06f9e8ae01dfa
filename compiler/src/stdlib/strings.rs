//! Strings and buffers.

use super::{Function, Kind};

pub(super) const ENTRIES: &[Function] = &[Function {
    name: "str",
    signature: "string str(char *data [, uint32 length])",
    kind: Kind::Value,
    doc: "Reads a NUL-terminated string from kernel or user memory. `str($1)` is the text of a \
          positional parameter as given.",
    check: |c, call, cx| c.str_call(call.name, call.args, call.span, cx),
    lower: None,
}];
