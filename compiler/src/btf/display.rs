//! Types written as C writes them (`struct task_struct *`, `char[16]`, `const char *`,
//! `int (*)(void *)`), for messages and listings.

use super::kind::Kind;
use super::table;
use super::{Btf, TypeId};

/// How many types one name may show: a prototype whose parameters are prototypes, in bad data,
/// would otherwise grow without end.
const MAX_SHOWN: usize = 256;

impl Btf {
    /// Type `id` as C declares it, without a name: `unsigned int`, `struct sock *`,
    /// `char[16]`. Type tags and declaration tags are left out; a type the data lacks shows as
    /// `<type N>`.
    pub fn type_name(&self, id: TypeId) -> String {
        let mut budget = MAX_SHOWN;
        self.declare(id, String::new(), &mut budget)
    }

    /// The declaration of `declarator` (what is already written around the name: `*`, `[16]`,
    /// `(int)`) as type `id`.
    fn declare(&self, id: TypeId, declarator: String, budget: &mut usize) -> String {
        let Some(left) = budget.checked_sub(1) else { return join("...", &declarator) };
        *budget = left;
        let Ok(kind) = self.kind(id) else { return join(&format!("<type {}>", id.0), &declarator) };
        match kind {
            Kind::Void => join("void", &declarator),
            Kind::Int { name, .. } | Kind::Float { name, .. } | Kind::Typedef { name, .. } => join(name, &declarator),
            Kind::Struct(composite) => join(&tagged("struct", composite.name), &declarator),
            Kind::Union(composite) => join(&tagged("union", composite.name), &declarator),
            Kind::Enum { name, .. } => join(&tagged("enum", name), &declarator),
            Kind::Fwd { name, union } => join(&tagged(if union { "union" } else { "struct" }, name), &declarator),
            Kind::Ptr(target) => {
                let wraps = matches!(self.kind_number(target), Some(table::ARRAY | table::FUNC_PROTO));
                let declarator = if wraps { format!("(*{declarator})") } else { format!("*{declarator}") };
                self.declare(target, declarator, budget)
            }
            Kind::Const(target) => self.qualify("const", target, declarator, budget),
            Kind::Volatile(target) => self.qualify("volatile", target, declarator, budget),
            Kind::Restrict(target) => self.qualify("restrict", target, declarator, budget),
            Kind::TypeTag { target, .. } | Kind::DeclTag { target, .. } => self.declare(target, declarator, budget),
            Kind::Array { elem, len, .. } => self.declare(elem, format!("{declarator}[{len}]"), budget),
            Kind::FuncProto(signature) => {
                let mut params = Vec::new();
                for param in &signature.params {
                    if *budget == 0 {
                        params.push("...".to_string());
                        break;
                    }
                    params.push(self.declare(param.ty, String::new(), budget));
                }
                if signature.variadic {
                    params.push("...".into());
                }
                let params = if params.is_empty() { "void".to_string() } else { params.join(", ") };
                self.declare(signature.ret, format!("{declarator}({params})"), budget)
            }
            Kind::Func { name, proto, .. } => self.declare(proto, format!("{name}{declarator}"), budget),
            Kind::Var { name, ty, .. } => self.declare(ty, format!("{name}{declarator}"), budget),
            Kind::Datasec { name, .. } => join(&format!("section {name}"), &declarator),
        }
    }

    /// `qualifier` on `target`: after the `*` when it qualifies a pointer (`char *const`),
    /// in front otherwise (`const char *`).
    fn qualify(&self, qualifier: &str, target: TypeId, declarator: String, budget: &mut usize) -> String {
        if self.kind_number(target) == Some(table::PTR) {
            return self.declare(target, join(qualifier, &declarator), budget);
        }
        format!("{qualifier} {}", self.declare(target, declarator, budget))
    }
}

/// `struct name`, or `struct (anonymous)`.
fn tagged(tag: &str, name: &str) -> String {
    if name.is_empty() {
        format!("{tag} (anonymous)")
    } else {
        format!("{tag} {name}")
    }
}

/// A type's name and its declarator, with a space between unless the declarator is empty or an
/// array's length.
fn join(base: &str, declarator: &str) -> String {
    match declarator.chars().next() {
        None => base.to_string(),
        Some('[') => format!("{base}{declarator}"),
        Some(_) => format!("{base} {declarator}"),
    }
}
