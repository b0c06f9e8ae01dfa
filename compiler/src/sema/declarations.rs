//! Map declarations, `let @m = hash(100);`: a map's kernel type and entries, checked against
//! what the script stores in it. Maps without one get `max_map_keys` entries.

use super::hir::{DeclaredMap, MapDecl};
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::{BpfMapType, MapValue};
use crate::syntax::ast::MapDeclaration;

/// The map kinds a declaration may name, and the kernel map type of each.
const KINDS: &[(&str, BpfMapType)] = &[
    ("hash", BpfMapType::Hash),
    ("lruhash", BpfMapType::LruHash),
    ("percpuhash", BpfMapType::PercpuHash),
    ("percpulruhash", BpfMapType::LruPercpuHash),
];

/// Gives each declared map its kind and size; reports bad declarations.
pub(super) fn apply(decls: &[MapDeclaration], maps: &mut [MapDecl], diags: &mut Vec<Diagnostic>) {
    for (i, decl) in decls.iter().enumerate() {
        if let Some(first) = decls[..i].iter().find(|d| d.name == decl.name) {
            diags.push(
                Diagnostic::error("E0454", format!("map `@{}` is declared twice", decl.name))
                    .with_primary(decl.span, "declared again")
                    .with_secondary(first.span, "first declared here"),
            );
            continue;
        }
        let Some(&(_, map_type)) = KINDS.iter().find(|(name, _)| *name == decl.kind.name) else {
            let diag = Diagnostic::error("E0451", format!("`{}` is not a map kind", decl.kind.name))
                .with_primary(decl.kind.span, "unknown kind")
                .with_note("map kinds: hash, lruhash, percpuhash, percpulruhash");
            let diag = match did_you_mean(&closest(&decl.kind.name, KINDS.iter().map(|(name, _)| *name))) {
                Some(help) => diag.with_help(help),
                None => diag,
            };
            diags.push(diag);
            continue;
        };
        let Some(entries) = u32::try_from(decl.size).ok().filter(|&n| n > 0) else {
            diags.push(
                Diagnostic::error("E0452", format!("a map holds from 1 to {} entries", u32::MAX))
                    .with_primary(decl.span, format!("`@{}` declared with {}", decl.name, decl.size)),
            );
            continue;
        };
        let Some(map) = maps.iter_mut().find(|m| m.name[1..] == decl.name) else {
            diags.push(
                Diagnostic::warning("W0406", format!("map `@{}` is declared but never used", decl.name))
                    .with_primary(decl.span, "no probe uses it"),
            );
            continue;
        };
        let per_cpu_values = !matches!(map.value, MapValue::Plain(_));
        if per_cpu_values != map_type.is_percpu() {
            let (kinds, why) = match per_cpu_values {
                true => ("percpuhash or percpulruhash", format!("it holds a `{}()` aggregation, kept per CPU", map.value.function_name())),
                false => ("hash or lruhash", "it holds plain values, one per key".to_string()),
            };
            diags.push(
                Diagnostic::error("E0453", format!("`@{}` is declared `{}`, but {why}", decl.name, decl.kind.name))
                    .with_primary(decl.kind.span, "this kind")
                    .with_secondary(map.span, "the map's values")
                    .with_help(format!("declare it {kinds}")),
            );
            continue;
        }
        map.declared = Some(DeclaredMap { map_type, entries });
    }
}
