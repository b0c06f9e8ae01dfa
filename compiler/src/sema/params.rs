//! The script's positional parameters in expressions: `$1` folds to the literal its text
//! spells (an integer when it reads as one, else a string), `$#` to their count, and
//! `str($1)` to the text itself; `getopt("name", default)` to the value of `--name` given
//! after `--`, typed by its default.

use super::expr::{literal_type, negative_literal};
use super::hir::{Expr, ExprKind};
use super::Checker;
use crate::diagnostic::Diagnostic;
use crate::manifest::{LoadParam, LoadParamKind};
use crate::options::Params;
use crate::span::Span;
use crate::syntax::ast;
use crate::syntax::literal::decode_int;
use crate::types::{IntTy, Ty};

impl Checker {
    /// `$n` as a literal: an integer if its text is one (`-` allowed), a string otherwise, and
    /// `0` with a warning when it was not given or is empty.
    pub(crate) fn positional(&mut self, n: u64, span: Span) -> Expr {
        if n == 0 {
            return self.error_expr(
                Diagnostic::error("E0431", "there is no `$0`")
                    .with_primary(span, "positional parameters start at `$1`")
                    .with_help("`$1` is the first word after the script on the command line"),
                span,
            );
        }
        let text = self.params.positional(n).unwrap_or("").to_string();
        if text.is_empty() {
            self.report(Diagnostic::warning("W0402", format!("positional parameter ${n} is empty or not provided"))
                .with_primary(span, "reads as 0")
                .with_help(format!("give at least {n} parameter(s) after the script")));
            return Expr::new(ExprKind::Int(0), Ty::Int(literal_type(0)), span);
        }
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        match decode_int(digits) {
            Ok(value) if !negative => Expr::new(ExprKind::Int(value), Ty::Int(literal_type(value)), span),
            Ok(value) => negative_literal(value, span).unwrap_or_else(|| string_literal(text.as_bytes(), span)),
            Err(_) => string_literal(text.as_bytes(), span),
        }
    }

    /// `str($n)`, `str($n + k)` (the text from byte `k`) and `str($n, len)`: the parameter's
    /// text as given, whatever it spells; `None` when `arg` is not a positional parameter.
    pub(crate) fn positional_text(&mut self, arg: &ast::Expr, len: Option<&ast::Expr>, span: Span) -> Option<Expr> {
        let (n, skip) = match &arg.kind {
            ast::ExprKind::Positional(n) => (*n, 0),
            ast::ExprKind::Binary { op: ast::BinOp::Add, lhs, rhs } => match (&lhs.kind, &rhs.kind) {
                (ast::ExprKind::Positional(n), ast::ExprKind::Int(k)) => (*n, *k),
                _ => return None,
            },
            _ => return None,
        };
        let text = self.params.positional(n).unwrap_or("").as_bytes();
        let Some(rest) = usize::try_from(skip).ok().and_then(|skip| text.get(skip..)) else {
            return Some(self.error_expr(
                Diagnostic::error("E0432", format!("`str(${n} + {skip})` starts past the end of `${n}`"))
                    .with_primary(arg.span, format!("`${n}` is {} bytes long", text.len())),
                span,
            ));
        };
        let limit = match len.map(|l| &l.kind) {
            None => rest.len(),
            Some(ast::ExprKind::Int(len)) => rest.len().min(usize::try_from(*len).unwrap_or(usize::MAX)),
            Some(_) => return None,
        };
        Some(string_literal(&rest[..limit], span))
    }
}

fn string_literal(bytes: &[u8], span: Span) -> Expr {
    Expr::new(ExprKind::Str(bytes.to_vec()), Ty::Str(bytes.len() as u32 + 1), span)
}

/// A named parameter the script declares with `getopt`, for `-- --help` and for refusing
/// options it does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOption {
    pub name: String,
    /// The default as the script spells it: `false`, `3`, `"text"`.
    pub default: String,
    pub doc: Option<String>,
}

/// The kind of value a `getopt` takes, from its default.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OptionDefault {
    Bool(bool),
    Int(i128),
    Str(Vec<u8>),
}

impl Checker {
    /// `getopt("name"[, default[, "description"]])`.
    pub(crate) fn getopt(&mut self, name_ident: &ast::Ident, args: &[ast::Expr], span: Span) -> Expr {
        let declared = match declaration(name_ident, args, span) {
            Ok(declared) => declared,
            Err(diagnostic) => return self.error_expr(diagnostic, span),
        };
        if let Err(diagnostic) = remember(&mut self.script_options, &declared, args.get(1).map_or(span, |d| d.span)) {
            return self.error_expr(diagnostic, span);
        }
        match value_given(&declared, &self.params, span) {
            Ok((kind, ty)) if self.params_at_load => self.read_at_load(&declared.name, kind, ty, span),
            Ok((kind, ty)) => Expr::new(kind, ty, span),
            Err(diagnostic) => self.error_expr(diagnostic, span),
        }
    }

    /// An option's value as a read of its place in the config value: a string's typed as big
    /// as the place, which holds at least [`LOAD_STRING_CAPACITY`] bytes.
    fn read_at_load(&mut self, name: &str, value: ExprKind, ty: Ty, span: Span) -> Expr {
        let (kind, ty) = match (&value, &ty) {
            (ExprKind::Int(_), Ty::Int(int)) => (LoadParamKind::Int { signed: int.signed }, ty),
            (ExprKind::Bool(_), _) => (LoadParamKind::Bool, ty),
            (ExprKind::Str(bytes), _) => {
                let capacity = (bytes.len() as u32 + 1).max(LOAD_STRING_CAPACITY);
                (LoadParamKind::Str { capacity }, Ty::Str(capacity))
            }
            _ => return Expr::new(value, ty, span),
        };
        let index = match self.load_params.iter().position(|param| param.name == name) {
            Some(index) => index,
            None => {
                let offset = crate::manifest::config_layout::size_with(&self.load_params);
                let value = place_bytes(kind, &value);
                self.load_params.push(LoadParam { name: name.to_string(), kind, offset, value });
                self.load_params.len() - 1
            }
        };
        let ty = match kind {
            LoadParamKind::Str { capacity } => Ty::Str(capacity),
            _ => ty,
        };
        Expr::new(ExprKind::LoadParam(index as u32), ty, span)
    }
}

/// The fewest bytes a string option read at load time has room for, its NUL included: a value
/// given when the pack runs may be longer than the one it was packed with.
pub const LOAD_STRING_CAPACITY: u32 = 64;

/// The bytes of the place of an option of `kind` holding `value` (a literal).
fn place_bytes(kind: LoadParamKind, value: &ExprKind) -> Vec<u8> {
    let mut bytes = match value {
        ExprKind::Int(v) => v.to_ne_bytes().to_vec(),
        ExprKind::Bool(b) => u64::from(*b).to_ne_bytes().to_vec(),
        ExprKind::Str(text) => text.clone(),
        _ => Vec::new(),
    };
    bytes.resize(kind.size() as usize, 0);
    bytes
}

/// The bytes of the place of an option read at load time, given `--name=given` (`None` for a
/// bare `--name`); what it should have been when it is not of its kind.
pub fn load_param_value(kind: LoadParamKind, given: Option<String>) -> Result<Vec<u8>, String> {
    let default = match kind {
        LoadParamKind::Int { signed: true } => OptionDefault::Int(-1),
        LoadParamKind::Int { signed: false } => OptionDefault::Int(0),
        LoadParamKind::Bool => OptionDefault::Bool(false),
        LoadParamKind::Str { .. } => OptionDefault::Str(Vec::new()),
    };
    let (value, _) = option_value(&default, Some(given))?;
    if let (LoadParamKind::Str { capacity }, ExprKind::Str(text)) = (kind, &value) {
        if text.len() as u32 >= capacity {
            return Err(format!("a string of at most {} bytes", capacity - 1));
        }
    }
    Ok(place_bytes(kind, &value))
}

/// One `getopt` call's option, as declared.
struct Declared {
    name: String,
    default: OptionDefault,
    doc: Option<String>,
}

/// What a `getopt` call declares, or why its arguments declare nothing.
fn declaration(name_ident: &ast::Ident, args: &[ast::Expr], span: Span) -> Result<Declared, Diagnostic> {
    let (name, default, doc) = match args {
        [name] => (name, None, None),
        [name, default] => (name, Some(default), None),
        [name, default, doc] => (name, Some(default), Some(doc)),
        _ => {
            let message = format!("`getopt` takes a name, a default and a description, but was given {} argument(s)", args.len());
            return Err(Diagnostic::error("E0513", message).with_primary(span, "wrong number of arguments").with_secondary(name_ident.span, "this function"));
        }
    };
    let ast::ExprKind::Str(name_bytes) = &name.kind else {
        return Err(Diagnostic::error("E0433", "the first argument of `getopt` must be a string literal").with_primary(name.span, "not a string literal"));
    };
    let default_value = match default.map(|d| (&d.kind, d.span)) {
        None => OptionDefault::Bool(false),
        Some((ast::ExprKind::Bool(b), _)) => OptionDefault::Bool(*b),
        Some((ast::ExprKind::Int(v), _)) => OptionDefault::Int(i128::from(*v)),
        Some((ast::ExprKind::Unary { op: ast::UnaryOp::Neg, expr }, _)) if matches!(expr.kind, ast::ExprKind::Int(_)) => {
            let ast::ExprKind::Int(v) = expr.kind else { unreachable!() };
            OptionDefault::Int(-i128::from(v))
        }
        Some((ast::ExprKind::Str(s), _)) => OptionDefault::Str(s.clone()),
        Some((_, default_span)) => {
            return Err(Diagnostic::error("E0433", "the default of `getopt` must be a string, integer or boolean literal").with_primary(default_span, "not a literal"));
        }
    };
    let doc = match doc.map(|d| (&d.kind, d.span)) {
        None => None,
        Some((ast::ExprKind::Str(d), _)) => Some(String::from_utf8_lossy(d).into_owned()),
        Some((_, doc_span)) => {
            return Err(Diagnostic::error("E0433", "the description of `getopt` must be a string literal").with_primary(doc_span, "not a string literal"));
        }
    };
    Ok(Declared { name: String::from_utf8_lossy(name_bytes).into_owned(), default: default_value, doc })
}

/// Adds a declared option to `options`, once; the same option with another default is E0434.
fn remember(options: &mut Vec<ScriptOption>, declared: &Declared, default_span: Span) -> Result<(), Diagnostic> {
    let spelled = match &declared.default {
        OptionDefault::Bool(b) => b.to_string(),
        OptionDefault::Int(v) => v.to_string(),
        OptionDefault::Str(s) => format!("{:?}", String::from_utf8_lossy(s)),
    };
    match options.iter().find(|o| o.name == declared.name) {
        Some(known) if known.default != spelled => Err(Diagnostic::error("E0434", format!("option `--{}` has two different defaults", declared.name))
            .with_primary(default_span, format!("here it is {spelled}"))
            .with_note(format!("elsewhere it is {}", known.default))),
        Some(_) => Ok(()),
        None => {
            options.push(ScriptOption { name: declared.name.clone(), default: spelled, doc: declared.doc.clone() });
            Ok(())
        }
    }
}

/// The value of a declared option: the one given on the command line, or its default; E0435
/// when the one given is not of the default's kind.
fn value_given(declared: &Declared, params: &Params, span: Span) -> Result<(ExprKind, Ty), Diagnostic> {
    let given = params.named.iter().rev().find(|p| p.name == declared.name).map(|p| p.value.clone());
    option_value(&declared.default, given.clone()).map_err(|expects| {
        let shown = given.flatten().unwrap_or_default();
        let option = &declared.name;
        Diagnostic::error("E0435", format!("command line option `--{option}` expects {expects} (value: `{shown}`)"))
            .with_primary(span, format!("`--{option}` declared here"))
            .with_help(format!("pass it after `--`, e.g. `-- --{option}={}`", example(&declared.default)))
    })
}

/// The options a parsed script declares with `getopt` and whether the values `params` gives
/// them are of their kind, found without compiling: what `-- --help` lists, and the errors a
/// compile would report about them (E0433, E0434, E0435, E0513).
pub fn script_options(program: &ast::Program, params: &Params) -> Result<Vec<ScriptOption>, Vec<Diagnostic>> {
    let mut options = Vec::new();
    let mut errors = Vec::new();
    program.for_each_expr(&mut |expr| {
        let ast::ExprKind::Call { name, args } = &expr.kind else { return };
        if name.name != "getopt" {
            return;
        }
        let checked = declaration(name, args, expr.span).and_then(|declared| {
            remember(&mut options, &declared, args.get(1).map_or(expr.span, |d| d.span))?;
            value_given(&declared, params, expr.span).map(drop)
        });
        if let Err(diagnostic) = checked {
            errors.push(diagnostic);
        }
    });
    if errors.is_empty() {
        Ok(options)
    } else {
        Err(errors)
    }
}

/// The literal an option's value stands for, or what it should have been.
fn option_value(default: &OptionDefault, given: Option<Option<String>>) -> Result<(ExprKind, Ty), &'static str> {
    match (default, given) {
        (OptionDefault::Bool(b), None) => Ok((ExprKind::Bool(*b), Ty::Bool)),
        (OptionDefault::Bool(_), Some(None)) => Ok((ExprKind::Bool(true), Ty::Bool)),
        (OptionDefault::Bool(_), Some(Some(value))) => match value.as_str() {
            "true" | "1" => Ok((ExprKind::Bool(true), Ty::Bool)),
            "false" | "0" => Ok((ExprKind::Bool(false), Ty::Bool)),
            _ => Err("a boolean (true, false, 1 or 0)"),
        },
        (OptionDefault::Int(v), given) => {
            let signed = *v < 0;
            let value = match given {
                None => *v,
                Some(None) => return Err("an integer"),
                Some(Some(text)) => parse_int(&text).ok_or("an integer")?,
            };
            let fits = if signed { i64::try_from(value).is_ok() } else { u64::try_from(value).is_ok() };
            if !fits {
                return Err("an integer in range");
            }
            let ty = if signed { IntTy::I64 } else { IntTy::U64 };
            Ok((ExprKind::Int(value as u64), Ty::Int(ty)))
        }
        (OptionDefault::Str(s), given) => {
            let bytes = match given {
                None => s.clone(),
                Some(None) => return Err("a string"),
                Some(Some(text)) => text.into_bytes(),
            };
            let ty = Ty::Str(bytes.len() as u32 + 1);
            Ok((ExprKind::Str(bytes), ty))
        }
    }
}

fn parse_int(text: &str) -> Option<i128> {
    match text.strip_prefix('-') {
        Some(digits) => decode_int(digits).ok().map(|v| -i128::from(v)),
        None => decode_int(text).ok().map(i128::from),
    }
}

fn example(default: &OptionDefault) -> &'static str {
    match default {
        OptionDefault::Bool(_) => "true",
        OptionDefault::Int(_) => "10",
        OptionDefault::Str(_) => "text",
    }
}
