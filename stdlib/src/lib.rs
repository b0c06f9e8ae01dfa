//! The registry of builtins and functions: each one's name, signature and documentation. The
//! compiler uses it to know what exists and to suggest names; `-l`-style listings and the docs
//! read it too. Type rules and lowering live in the compiler, next to each other.

/// A builtin variable such as `pid`: usable bare (`pid`) or called (`pid()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinDoc {
    pub name: &'static str,
    /// The type it yields, as bpftrace's documentation writes it.
    pub ty: &'static str,
    pub doc: &'static str,
}

/// A function such as `printf` or `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionDoc {
    pub name: &'static str,
    pub signature: &'static str,
    pub kind: FunctionKind,
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    /// Computes a value in the probe.
    Value,
    /// Only valid as the value of a map assignment: `@m[k] = count()`.
    Aggregation,
    /// Sends a record to userspace, which acts on it later (bpftrace's "async").
    Async,
    /// Acts on a map from the probe.
    Map,
}

pub const BUILTINS: &[BuiltinDoc] = &[
    BuiltinDoc { name: "pid", ty: "uint32", doc: "Process id (thread group id) of the current thread." },
    BuiltinDoc { name: "tid", ty: "uint32", doc: "Thread id of the current thread." },
    BuiltinDoc { name: "uid", ty: "uint64", doc: "User id of the current thread." },
    BuiltinDoc { name: "gid", ty: "uint64", doc: "Group id of the current thread." },
    BuiltinDoc { name: "comm", ty: "string", doc: "Name of the current thread (16 bytes at most)." },
    BuiltinDoc { name: "nsecs", ty: "uint64", doc: "Nanoseconds since boot, including suspend (CLOCK_BOOTTIME)." },
    BuiltinDoc { name: "elapsed", ty: "uint64", doc: "Nanoseconds since ferrotrace started." },
    BuiltinDoc { name: "cpu", ty: "uint32", doc: "The CPU running the probe." },
    BuiltinDoc { name: "rand", ty: "uint32", doc: "A pseudo-random number." },
    BuiltinDoc { name: "probe", ty: "string", doc: "The fully expanded name of the probe that fired." },
    BuiltinDoc { name: "args", ty: "struct", doc: "The arguments of a tracepoint: `args.field` or `args->field`." },
];

pub const FUNCTIONS: &[FunctionDoc] = &[
    FunctionDoc { name: "printf", signature: "void printf(const string fmt, args...)", kind: FunctionKind::Async, doc: "Formats and prints its arguments; the formatting happens in userspace." },
    FunctionDoc { name: "print", signature: "void print(@map [, top [, div]]) | void print(value)", kind: FunctionKind::Async, doc: "Prints a map, or a value, with the default formatting of its type." },
    FunctionDoc { name: "exit", signature: "void exit([int code])", kind: FunctionKind::Async, doc: "Stops tracing: runs the end probes, prints the maps and exits with `code`." },
    FunctionDoc { name: "clear", signature: "void clear(@map)", kind: FunctionKind::Async, doc: "Deletes every entry of a map." },
    FunctionDoc { name: "zero", signature: "void zero(@map)", kind: FunctionKind::Async, doc: "Sets every value of a map to zero, keeping its keys." },
    FunctionDoc { name: "delete", signature: "bool delete(@map, key) | bool delete(@map[key])", kind: FunctionKind::Map, doc: "Deletes one key from a map; true if it was there." },
    FunctionDoc { name: "str", signature: "string str(char *data [, uint32 length])", kind: FunctionKind::Value, doc: "Reads a NUL-terminated string from kernel or user memory." },
    FunctionDoc { name: "count", signature: "@m = count()", kind: FunctionKind::Aggregation, doc: "Counts the times it runs." },
    FunctionDoc { name: "sum", signature: "@m = sum(int n)", kind: FunctionKind::Aggregation, doc: "Sums its argument." },
    FunctionDoc { name: "min", signature: "@m = min(int n)", kind: FunctionKind::Aggregation, doc: "Keeps the smallest argument." },
    FunctionDoc { name: "max", signature: "@m = max(int n)", kind: FunctionKind::Aggregation, doc: "Keeps the largest argument." },
    FunctionDoc { name: "avg", signature: "@m = avg(int n)", kind: FunctionKind::Aggregation, doc: "Averages its argument (integer division)." },
    FunctionDoc { name: "stats", signature: "@m = stats(int n)", kind: FunctionKind::Aggregation, doc: "Keeps count, average and total of its argument." },
    FunctionDoc { name: "hist", signature: "@m = hist(int n [, int k])", kind: FunctionKind::Aggregation, doc: "A power-of-two histogram; `k` (0-5) splits each power of two into 2^k buckets." },
    FunctionDoc { name: "lhist", signature: "@m = lhist(int n, int min, int max, int step)", kind: FunctionKind::Aggregation, doc: "A linear histogram from `min` to `max` in steps of `step`." },
];

/// The builtin named `name`, if there is one.
pub fn builtin(name: &str) -> Option<&'static BuiltinDoc> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The function named `name`, if there is one.
pub fn function(name: &str) -> Option<&'static FunctionDoc> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// Every name a script can call or use bare, for suggestions.
pub fn all_names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.name).chain(FUNCTIONS.iter().map(|f| f.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = all_names().collect();
        let before = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), before);
    }

    #[test]
    fn lookups_find_entries() {
        assert_eq!(builtin("comm").map(|b| b.ty), Some("string"));
        assert_eq!(function("hist").map(|f| f.kind), Some(FunctionKind::Aggregation));
        assert!(function("nope").is_none());
    }
}
