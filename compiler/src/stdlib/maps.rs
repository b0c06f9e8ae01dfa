//! Map functions: reading and changing a map from the probe.

use super::{Function, Kind};

pub(super) const ENTRIES: &[Function] = &[Function {
    name: "delete",
    signature: "bool delete(@map, key) | bool delete(@map[key])",
    kind: Kind::Map,
    doc: "Deletes one key from a map; true if it was there.",
    check: |c, call, cx| c.delete(call.name, call.args, call.span, cx),
    lower: None,
}];
