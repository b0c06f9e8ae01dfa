//! A uprobe's function parameters by name (`args.NAME`, `print(args)`) and a uretprobe's typed
//! `retval`, from the types the catalog reads from the binary's debug info: each parameter's
//! language type and the register the x86-64 calling convention passes it in, or why it is
//! not in one. Read only for blocks that name them; `-lv` lists them.

use std::sync::Arc;

use super::Scope;
use crate::btf::{Btf, Kind, Signature, TypeId};
use crate::catalog::{Catalog, CatalogError, UserBinary};
use crate::pt_regs::{self, Register};
use crate::sema::kernel_types::language_type;
use crate::types::Ty;

/// What a uprobe knows of its function's parameters.
#[derive(Debug, Clone, Default)]
pub enum UserParameters {
    /// Not read: the probe is no uprobe, or its block names neither `args` nor `retval`.
    #[default]
    NotRead,
    /// The binary's debug info does not describe them: why.
    Unknown { why: String },
    /// Each parameter in order, and the return value's type when it comes back in a register.
    Known { parameters: Vec<UserParameter>, retval: Option<Ty> },
}

/// One parameter of a userspace function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserParameter {
    /// Its name in the debug info (`argN` when it has none).
    pub name: String,
    /// Its language type; pointers point into user memory.
    pub ty: Ty,
    /// Where it is at the function's entry, or why it cannot be read there.
    pub place: Result<ParameterPlace, String>,
}

/// Where a parameter is when its function is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterPlace {
    /// In this register.
    Register(Register),
    /// In this stack word above the return address (`sarg` numbering).
    Stack(usize),
}

/// The parameters of `function` of `binary`, from its debug info, and its types (for the
/// probe's body to read what its pointers point at).
pub(super) fn read(catalog: &dyn Catalog, binary: &UserBinary, function: &str) -> (UserParameters, Option<Arc<Btf>>) {
    let btf = match catalog.user_function_types(binary, function) {
        Ok(btf) => btf,
        Err(CatalogError::NotFound(what)) => return (UserParameters::Unknown { why: format!("there is no {what}") }, None),
        Err(error) => return (UserParameters::Unknown { why: format!("cannot read its debug info: {error}") }, None),
    };
    let parameters = match btf.own_function(function) {
        Some(signature) => UserParameters::Known { parameters: placed(&btf, &signature), retval: returned(&btf, signature.ret) },
        None => UserParameters::Unknown { why: format!("the debug info describes no function `{function}`") },
    };
    (parameters, Some(btf))
}

/// How the System V x86-64 calling convention passes a value of a type.
enum Class {
    /// In one general purpose register: integers, pointers, enums of up to 8 bytes.
    Integer,
    /// In two: a 128-bit integer.
    Wide,
    /// In a vector register: floating point.
    Float,
    /// A struct, union or array by value: in registers or on the stack by rules that depend on
    /// its members.
    Aggregate,
}

fn class(btf: &Btf, ty: TypeId) -> Class {
    match btf.resolve(ty).and_then(|ty| btf.kind(ty).ok()) {
        Some(Kind::Int { size: 16, .. }) => Class::Wide,
        Some(Kind::Int { .. } | Kind::Ptr(_) | Kind::Enum { .. }) => Class::Integer,
        Some(Kind::Float { .. }) => Class::Float,
        _ => Class::Aggregate,
    }
}

/// The vector registers floating point arguments take before the rest go on the stack.
const FLOAT_REGISTERS: usize = 8;

/// Each parameter with its place: the integer-class ones take `rdi`, `rsi`, `rdx`, `rcx`,
/// `r8`, `r9` in turn, then the stack words above the return address, which floating point
/// past the eight vector registers also takes. After a struct passed by value, or a 128-bit
/// integer on the stack, the places of the parameters that follow are not known.
fn placed(btf: &Btf, signature: &Signature<'_>) -> Vec<UserParameter> {
    let mut next = Some(0usize);
    let mut stack = Some(0usize);
    let mut floats = 0;
    let mut parameters = Vec::new();
    for (index, param) in signature.params.iter().enumerate() {
        let ty = language_type(btf, param.ty, true).filter(Ty::is_scalar).unwrap_or(Ty::U64);
        let place = match (class(btf, param.ty), next) {
            (Class::Float, _) => {
                floats += 1;
                if floats > FLOAT_REGISTERS {
                    stack = stack.map(|word| word + 1);
                }
                Err("it is floating point, passed in a vector register".to_string())
            }
            (Class::Aggregate, _) => {
                next = None;
                Err(format!("it is a `{}` passed by value, not in one register", btf.type_name(param.ty)))
            }
            (_, None) => Err("it follows a struct passed by value, which moves the parameters after it".to_string()),
            (Class::Wide, Some(at)) => {
                next = Some(at + 2);
                if at + 2 > pt_regs::ARGUMENTS_IN_REGISTERS {
                    stack = None;
                }
                Err("it is a 128-bit integer, passed in two registers".to_string())
            }
            (Class::Integer, Some(at)) => {
                next = Some(at + 1);
                match (pt_regs::argument(at), stack) {
                    (Some(register), _) => Ok(ParameterPlace::Register(register)),
                    (None, Some(word)) => {
                        stack = Some(word + 1);
                        Ok(ParameterPlace::Stack(word))
                    }
                    (None, None) => Err("it is on the stack after a 128-bit integer, whose alignment moves it".to_string()),
                }
            }
        };
        let name = if param.name.is_empty() { format!("arg{index}") } else { param.name.to_string() };
        parameters.push(UserParameter { name, ty, place });
    }
    parameters
}

/// The type of a return value that comes back in `rax`: an integer, pointer or enum.
fn returned(btf: &Btf, ty: TypeId) -> Option<Ty> {
    match class(btf, ty) {
        Class::Integer => language_type(btf, ty, true).filter(Ty::is_scalar),
        _ => None,
    }
}

/// `-lv`'s lines under `uprobe:PATH:function`: each parameter as `TYPE NAME`, as bpftrace
/// lists them; none without debug info.
pub(super) fn listing(scope: &Scope<'_>, probe: &str) -> Vec<String> {
    let Some((path, function)) = probe.split_once(':').and_then(|(_, rest)| rest.rsplit_once(':')) else { return Vec::new() };
    let Some(binary) = scope.catalog.user_binaries(path, scope.target_pid).ok().and_then(|binaries| binaries.into_iter().next()) else {
        return Vec::new();
    };
    let Ok(btf) = scope.catalog.user_function_types(&binary, function) else { return Vec::new() };
    let Some(signature) = btf.own_function(function) else { return Vec::new() };
    signature
        .params
        .iter()
        .enumerate()
        .map(|(index, param)| match param.name {
            "" => format!("{} arg{index}", btf.type_name(param.ty)),
            name => format!("{} {name}", btf.type_name(param.ty)),
        })
        .collect()
}
