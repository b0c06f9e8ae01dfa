//! The `$variables` of the probe being checked, with bpftrace 0.26's block scoping: a variable
//! exists from its first assignment or `let` to the end of the block around it, a name may not
//! be declared again while it is visible, and a variable declared with a type keeps it.
//!
//! The checker walks a probe more than once while types settle; declarations are numbered in
//! walk order, so every walk gives a declaration the same `LocalId` and the types learned by
//! one walk carry to the next.

use super::hir::LocalId;
use super::unify::unify;
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::types::Ty;

/// One declaration.
#[derive(Debug, Clone)]
pub struct Var {
    pub name: String,
    /// `None` until a `let $x;` gets its first value.
    pub ty: Option<Ty>,
    /// Where it was declared (its first assignment or its `let`).
    pub span: Span,
    /// Declared with a type (`let $x: uint16`): values are converted to it, never widen it.
    pub fixed: bool,
    /// Every value so far was a literal that is not negative: its type is flexible, and an
    /// unsigned value makes it unsigned (`$a = 1; $a = (uint64)2` is a `uint64`).
    pub flexible: bool,
    /// A value no type holds together with the others (a signed one with a `uint64`), which
    /// made it an `int64`: where, and the two types. Kept across walks, reported once.
    pub sign_mismatch: Option<(Span, Ty, Ty)>,
    /// Whether its type was read.
    read: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Locals {
    /// Every declaration of the probe, by `LocalId`.
    pub vars: Vec<Var>,
    /// Whether a variable's type changed after it was read.
    changed_after_read: bool,
    /// The names visible at the point being checked, innermost block last.
    scopes: Vec<Vec<(String, LocalId)>>,
    /// Declarations made so far in this walk: the next one gets this id.
    declared: usize,
    /// The clock of the timestamp each variable holds, as far as this walk knows: set by an
    /// assignment of `nsecs` (or `nsecs(clock)`), `None` once another value is assigned.
    clocks: Vec<(LocalId, Option<u64>)>,
}

impl Locals {
    /// Starts a walk over the probe: no name visible, types kept from earlier walks.
    pub fn restart(&mut self) {
        self.scopes = vec![Vec::new()];
        self.declared = 0;
        self.clocks.clear();
    }

    /// Notes that `id` was given a timestamp of `clock` (`None`: not a timestamp). A variable
    /// keeps a clock only while every value it was given had that one.
    pub fn note_clock(&mut self, id: LocalId, clock: Option<u64>) {
        match self.clocks.iter_mut().find(|(known, _)| *known == id) {
            Some((_, known)) if *known != clock => *known = None,
            Some(_) => {}
            None => self.clocks.push((id, clock)),
        }
    }

    /// The clock of the timestamp variable `id` holds, if it is known.
    pub fn clock(&self, id: LocalId) -> Option<u64> {
        self.clocks.iter().find(|(known, _)| *known == id).and_then(|(_, clock)| *clock)
    }

    pub fn push_scope(&mut self) {
        self.scopes.push(Vec::new());
    }

    pub fn pop_scope(&mut self) {
        self.scopes.pop();
    }

    /// The visible variable named `name`.
    pub fn find(&self, name: &str) -> Option<LocalId> {
        self.scopes.iter().rev().flat_map(|scope| scope.iter().rev()).find(|(n, _)| n == name).map(|(_, id)| *id)
    }

    /// The type of variable `id`, noting that it was read; `int64` for a `let $x;` not yet
    /// assigned (it reads as 0).
    pub fn read(&mut self, id: LocalId) -> Ty {
        let var = &mut self.vars[id.0 as usize];
        var.read = true;
        var.ty.clone().unwrap_or(Ty::I64)
    }

    /// The declaration of `id`.
    pub fn var(&self, id: LocalId) -> &Var {
        &self.vars[id.0 as usize]
    }

    /// Whether every read of a variable saw its final type.
    pub fn settled(&self) -> bool {
        !self.changed_after_read
    }

    /// `let $name[: ty]`: a new variable in the innermost block; an error if `name` is
    /// visible already.
    pub fn declare(&mut self, name: &str, ty: Option<Ty>, fixed: bool, span: Span) -> Result<LocalId, Diagnostic> {
        if let Some(known) = self.find(name) {
            let first = self.vars[known.0 as usize].span;
            return Err(Diagnostic::error("E0447", format!("variable `${name}` is declared again while it is visible"))
                .with_primary(span, "declared again here")
                .with_secondary(first, "first declared here")
                .with_help("bpftrace allows no shadowing: pick another name, or assign without `let`"));
        }
        Ok(self.add(name, ty, fixed, span))
    }

    /// `$name = value`: joins `ty` into the visible variable's type, or declares it in the
    /// innermost block. Returns the variable and whether it has a fixed type.
    /// A value of type `ty` for `$name` (declared here if it is not visible); `flexible` when it
    /// is a literal that is not negative, which takes the variable's sign.
    pub fn assign(&mut self, name: &str, ty: &Ty, flexible: bool, span: Span) -> Result<LocalId, Diagnostic> {
        let Some(id) = self.find(name) else {
            let id = self.add(name, Some(ty.clone()), false, span);
            self.vars[id.0 as usize].flexible = flexible;
            return Ok(id);
        };
        let var = &mut self.vars[id.0 as usize];
        let Some(mut known) = var.ty.clone() else {
            var.ty = Some(ty.clone());
            if var.read {
                self.changed_after_read = true;
            }
            return Ok(id);
        };
        if var.fixed {
            return Ok(id);
        }
        let mut ty = ty.clone();
        match (&mut known, &mut ty) {
            (Ty::Int(k), Ty::Int(v)) if flexible && !k.signed => v.signed = false,
            (Ty::Int(k), Ty::Int(v)) if var.flexible && !v.signed => k.signed = false,
            _ => {}
        }
        if let (Ty::Int(k), Ty::Int(v)) = (&known, &ty) {
            let unsigned_64 = |int: &crate::types::IntTy| !int.signed && int.bits == 64;
            if !flexible && !var.flexible && k.signed != v.signed && (unsigned_64(k) || unsigned_64(v)) {
                var.sign_mismatch.get_or_insert((span, known.clone(), ty.clone()));
            }
        }
        var.flexible &= flexible;
        let ty = &ty;
        match unify(&known, ty) {
            Some(joined) => {
                if joined != known && var.read {
                    self.changed_after_read = true;
                }
                var.ty = Some(joined);
                Ok(id)
            }
            None => Err(Diagnostic::error("E0403", format!("variable `${name}` is assigned two different types"))
                .with_primary(span, format!("this is `{ty}`"))
                .with_secondary(var.span, format!("here it is `{known}`"))),
        }
    }

    /// A declaration with the next id of this walk, visible in the innermost block.
    fn add(&mut self, name: &str, ty: Option<Ty>, fixed: bool, span: Span) -> LocalId {
        let id = LocalId(self.declared as u32);
        self.declared += 1;
        match self.vars.get_mut(id.0 as usize) {
            // An earlier walk declared it: keep what it learned, unless the type is fixed.
            Some(var) => {
                if fixed || var.ty.is_none() {
                    var.ty = ty;
                } else if let (Some(known), Some(new)) = (var.ty.clone(), ty) {
                    var.ty = unify(&known, &new).or(Some(known));
                }
                var.fixed = fixed;
                var.span = span;
            }
            None => self.vars.push(Var { name: name.to_string(), ty, span, fixed, flexible: false, sign_mismatch: None, read: false }),
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.push((name.to_string(), id));
        }
        id
    }
}
