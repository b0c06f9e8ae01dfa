//! The standard library: every builtin and function a script can name, in one registry. Each
//! entry is one unit: its name, signature and documentation, its type rule (`check`: the call
//! to HIR), and for a function that computes a value in the probe, its lowering (`lower`: the
//! HIR call to instructions). Adding a function is adding an entry to the module of its group;
//! `docs/stdlib.md` is generated from the registry, so the two cannot drift.

mod aggregations;
mod builtins;
mod cgroups;
mod debug;
mod introspection;
mod maps;
mod memory;
mod meta;
mod names;
mod net;
mod objects;
mod output;
mod process;
mod stacks;
mod strings;
mod symbols;
mod task;
mod watch;

use std::fmt::Write;
use std::sync::OnceLock;

use crate::lower::{FnLowerer, Value};
use crate::sema::hir;
use crate::sema::{Checker, ProbeCx};
use crate::span::Span;
use crate::syntax::ast;

/// What kind of name an entry is, as the documentation groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A value of the probe's context, used bare (`pid`) or called (`pid()`).
    Builtin,
    /// Computes a value in the probe.
    Value,
    /// Reads or changes a map from the probe.
    Map,
    /// Sends a record to userspace, which acts on it later (bpftrace's "async" functions).
    Async,
    /// Only valid as the value of a map assignment: `@m[k] = count()`.
    Aggregation,
}

impl Kind {
    fn heading(self) -> &'static str {
        match self {
            Kind::Builtin => "Builtins",
            Kind::Value => "Functions",
            Kind::Map => "Map functions",
            Kind::Async => "Output and control",
            Kind::Aggregation => "Aggregations",
        }
    }
}

/// A call as written: the name, the arguments, and whether it was written bare (`pid`).
pub(crate) struct Call<'a> {
    pub name: &'a ast::Ident,
    pub args: &'a [ast::Expr],
    pub span: Span,
}

/// Checks a call and builds its HIR (reporting what is wrong with it).
pub(crate) type Check = fn(&mut Checker, &Call<'_>, &mut ProbeCx<'_>) -> hir::Expr;
/// Lowers a checked `hir::ExprKind::Call` of the entry: the call expression and its arguments.
pub(crate) type Lower = fn(&mut FnLowerer<'_>, &hir::Expr, &[hir::Expr]) -> Value;

/// One builtin or function.
pub struct Function {
    pub name: &'static str,
    /// As the documentation writes it: `uint64 strlen(string s)`.
    pub signature: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
    pub(crate) check: Check,
    /// How a `hir::ExprKind::Call` the entry's `check` builds is lowered.
    pub(crate) lower: Lowering,
}

/// How an entry's calls are lowered.
pub(crate) enum Lowering {
    /// `check` builds other HIR, which `lower` handles (`printf`, `delete`, the builtins...).
    Elsewhere,
    /// By this function, inline in the probe.
    Inline(Lower),
    /// By this function, which runs a `bpf_loop` callback: the probe needs the frame that
    /// callbacks share (`lower::loops`).
    WithLoop(Lower),
    /// By this function, which runs a callback over the map a call names (`len(@m)`), and
    /// lowers a call naming none inline (`len(kstack)`).
    LoopsOverMap(Lower),
}

impl Lowering {
    /// The lowering function, if the entry builds `hir::ExprKind::Call`.
    pub(crate) fn function(&self) -> Option<Lower> {
        match self {
            Lowering::Elsewhere => None,
            Lowering::Inline(f) | Lowering::WithLoop(f) | Lowering::LoopsOverMap(f) => Some(*f),
        }
    }
}

/// Whether a call of the entry named `name` runs a callback; `names_a_map` says whether the
/// call names a map.
pub(crate) fn runs_a_loop(name: &str, names_a_map: bool) -> bool {
    lookup(name).is_some_and(|f| match f.lower {
        Lowering::WithLoop(_) => true,
        Lowering::LoopsOverMap(_) => names_a_map,
        Lowering::Elsewhere | Lowering::Inline(_) => false,
    })
}

/// The library macros written in the language (`library.bt`), parsed once.
pub fn library_macros() -> &'static [ast::MacroDef] {
    static LIBRARY: OnceLock<Vec<ast::MacroDef>> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        crate::syntax::parse(include_str!("library.bt")).map(|program| program.macros).unwrap_or_else(|diags| {
            unreachable!("the library does not parse: {diags:?}")
        })
    })
}

pub(crate) use builtins::clock_of;

/// Every entry, group by group.
pub fn all() -> impl Iterator<Item = &'static Function> {
    [builtins::ENTRIES, cgroups::ENTRIES, strings::ENTRIES, names::ENTRIES, net::ENTRIES, maps::ENTRIES, output::ENTRIES, debug::ENTRIES, process::ENTRIES, stacks::ENTRIES, symbols::ENTRIES, introspection::ENTRIES, meta::ENTRIES, task::ENTRIES, objects::ENTRIES, watch::ENTRIES, memory::ENTRIES, aggregations::ENTRIES].into_iter().flatten()
}

/// The entry named `name`; `__builtin_pid` and the like name the builtin `pid`, as in
/// bpftrace's own library.
pub fn lookup(name: &str) -> Option<&'static Function> {
    if let Some(builtin) = name.strip_prefix("__builtin_") {
        // `__builtin_arch` and the like exist only by their intrinsic name.
        return find(builtin).filter(|f| f.kind == Kind::Builtin).or_else(|| find(name));
    }
    find(name)
}

fn find(name: &str) -> Option<&'static Function> {
    // Sorted by name: a binary search is cheaper than hashing, and every identifier of a script
    // is looked up.
    static BY_NAME: OnceLock<Vec<&'static Function>> = OnceLock::new();
    let sorted = BY_NAME.get_or_init(|| {
        let mut entries: Vec<&'static Function> = all().collect();
        entries.sort_by_key(|f| f.name);
        entries
    });
    sorted.binary_search_by_key(&name, |f| f.name).ok().map(|at| sorted[at])
}

/// Every name a script can call or use bare, for suggestions.
pub fn all_names() -> impl Iterator<Item = &'static str> {
    all().map(|f| f.name)
}

/// `docs/stdlib.md`: every entry, grouped by kind, with its signature and documentation.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Standard library\n\n\
         Generated from ferrotrace's registry (`compiler/src/stdlib/`); do not edit by hand. A test\n\
         compares this file with the registry; `FERROTRACE_UPDATE_DOCS=1 cargo test -p\n\
         ferrotrace-compiler --test docs` rewrites it.\n",
    );
    let mut entries: Vec<&Function> = all().collect();
    entries.sort_by_key(|f| (f.kind, f.name));
    let mut kind = None;
    for f in entries {
        if kind != Some(f.kind) {
            kind = Some(f.kind);
            let _ = write!(out, "\n## {}\n", f.kind.heading());
        }
        let _ = write!(out, "\n### `{}`\n\n```\n{}\n```\n\n{}\n", f.name, f.signature, f.doc);
    }
    out
}

/// The HIR of a call of entry `func` with checked `args`, of type `ty`.
pub(crate) fn call_expr(func: &'static str, args: Vec<hir::Expr>, ty: crate::types::Ty, span: Span) -> hir::Expr {
    hir::Expr::new(hir::ExprKind::Call { func, map: None, args }, ty, span)
}

/// The arity error of a builtin given arguments; `None` when it has none.
pub(crate) fn arguments_given(c: &mut Checker, call: &Call<'_>) -> Option<hir::Expr> {
    (!call.args.is_empty()).then(|| c.arity_error(call, "no arguments"))
}

/// A helper taking no arguments, its result a value (`jiffies`, `numaid`, ...).
pub(crate) fn helper_result(f: &mut FnLowerer<'_>, helper: u32) -> Value {
    Value::Reg(f.builder().call(helper, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = all_names().collect();
        let before = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), before);
    }

    #[test]
    fn builtin_names_have_their_intrinsic_spelling() {
        assert_eq!(lookup("__builtin_comm").map(|f| f.name), Some("comm"));
        assert!(lookup("__builtin_printf").is_none());
    }

    #[test]
    fn lookups_find_entries() {
        assert_eq!(lookup("comm").map(|f| f.kind), Some(Kind::Builtin));
        assert_eq!(lookup("hist").map(|f| f.kind), Some(Kind::Aggregation));
        assert!(lookup("nope").is_none());
    }
}
