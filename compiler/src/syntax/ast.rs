//! The abstract syntax tree: what the script says, every node with its byte span; nothing resolved.

use crate::span::Span;

/// A whole script: its probe blocks in source order (the `#!` line and comments are gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The items of its `config = { ... }` block, in order.
    pub config: Vec<ConfigItem>,
    pub probes: Vec<Probe>,
    /// The `#define`s in effect at the end of the script (`BPFTRACE_HAVE_BTF` included).
    pub defines: Vec<super::preprocess::Define>,
    /// The script's `macro` definitions, in order.
    pub macros: Vec<MacroDef>,
    /// The script's map declarations (`let @m = hash(100);`), in order.
    pub map_decls: Vec<MapDeclaration>,
    /// The script's C definitions (`struct s { ... };`), in order.
    pub c_definitions: Vec<super::c_ast::CDefinition>,
    /// Warnings found while parsing (a header that is not read).
    pub warnings: Vec<crate::diagnostic::Diagnostic>,
    pub span: Span,
}

/// `let @name = kind(size);`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDeclaration {
    /// Without the `@`.
    pub name: String,
    /// `hash`, `lruhash`, `percpuhash` or `percpulruhash`, unchecked.
    pub kind: Ident,
    pub size: u64,
    pub span: Span,
}

/// `macro name(params) { body }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroDef {
    pub name: Ident,
    pub params: Vec<MacroParam>,
    pub body: Block,
    pub span: Span,
}

/// A macro parameter: how the argument is passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MacroParam {
    /// `$x`: a variable, by reference (name without `$`).
    Var(Ident),
    /// `@m`: a map, by reference (name without `@`).
    Map(Ident),
    /// `x`: any expression, written in wherever `x` appears.
    Expr(Ident),
}

impl MacroParam {
    pub fn ident(&self) -> &Ident {
        match self {
            MacroParam::Var(i) | MacroParam::Map(i) | MacroParam::Expr(i) => i,
        }
    }
}

/// `key = value` in a config block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigItem {
    pub key: Ident,
    pub value: crate::config::ConfigValue,
    /// The value's span.
    pub value_span: Span,
}

/// `attach[, attach...] [/predicate/] { statements }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub attach_points: Vec<AttachPoint>,
    pub predicate: Option<Expr>,
    pub body: Block,
    pub span: Span,
}

/// One attach point as written, split on `:`.
///
/// `tracepoint:syscalls:sys_enter_*` is provider `tracepoint`, parts `["syscalls", "sys_enter_*"]`;
/// `BEGIN` is provider `BEGIN` with no parts. Providers are not resolved here (`t` is still `t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachPoint {
    pub provider: String,
    pub parts: Vec<String>,
    /// The attach point's text exactly as written.
    pub raw: String,
    pub span: Span,
}

/// An attach point's text split into its provider and parts at each `:` outside quotes; a
/// quoted part (`"ns::func"`) loses its quotes.
pub fn split_attach_point(raw: &str) -> (String, Vec<String>) {
    let mut pieces = Vec::new();
    let (mut piece, mut quoted) = (String::new(), false);
    for c in raw.chars() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => pieces.push(std::mem::take(&mut piece)),
            c => piece.push(c),
        }
    }
    pieces.push(piece);
    let provider = pieces.remove(0);
    (provider, pieces)
}

/// `{ statements }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    /// Whether the last statement is an expression without `;`, the block's value.
    pub has_value: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StmtKind {
    /// An expression evaluated for its effect: `printf(...)`, `@x++`, `exit()`.
    Expr(Expr),
    /// `_ = e`: `e` evaluated and its value dropped on purpose.
    Discard(Expr),
    /// `@m = e`, `@m[k1, k2] = e`, `@m += e` (`op` is the compound operator).
    AssignMap { map: MapRef, op: Option<BinOp>, value: Expr },
    /// `$x = e`, `$x += e`.
    AssignVar { var: Ident, op: Option<BinOp>, value: Expr },
    /// `let $x;`, `let $x = e;`, `let $x: type = e;` (the type as written).
    Let { var: Ident, ty: Option<TypeSpec>, value: Option<Expr> },
    /// `if (cond) { .. } else if (..) { .. } else { .. }`; an `else if` is an `If` statement
    /// alone in the else block.
    If { cond: Expr, then_block: Block, else_block: Option<Block> },
    /// `return;` leaves the probe; `return value;` also gives its program's result (a `test:`
    /// probe passes when it is 0).
    Return(Option<Expr>),
    /// A nested `{ ... }`.
    Block(Block),
    /// `for ($var : @map) { }` or `for ($var : start..end) { }`.
    For { var: Ident, source: ForSource, body: Block },
    /// `while (cond) { }`
    While { cond: Expr, body: Block },
    /// `unroll(count) { }`: the body written out `count` times.
    Unroll { count: Expr, body: Block },
    /// `break;` leaves the innermost loop.
    Break,
    /// `continue;` starts the innermost loop's next iteration.
    Continue,
}

/// What a `for` loop walks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForSource {
    /// Every entry of a map: the variable is the tuple `(key, value)`.
    Map(MapRef),
    /// The integers from `start` up to, not including, `end`.
    Range { start: Expr, end: Expr },
}

/// A map with its key expressions: `@name` or `@name[k1, k2]`. `@` alone has the name "".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapRef {
    /// The name without the `@`.
    pub name: String,
    /// Empty for a keyless map; several keys form a tuple key.
    pub keys: Vec<Expr>,
    pub span: Span,
}

/// A name with its span: a variable (`$x`, stored without `$`), a field, a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// A non-negative integer literal, duration suffixes already applied (`1ms` is 1_000_000).
    /// A minus sign in front is a `Unary { op: Neg }`.
    Int(u64),
    /// A string literal with its escapes decoded (may hold any byte).
    Str(Vec<u8>),
    /// `true` / `false`
    Bool(bool),
    /// A bare identifier: a builtin such as `pid`, `comm`, `args`, or an unknown name for sema to
    /// report.
    Ident(String),
    /// `$name` (stored without the `$`).
    Var(String),
    /// `$1`, `$2`, ...: a positional parameter (`$0` is refused later).
    Positional(u64),
    /// `$#`: how many positional parameters the script was given.
    ParamCount,
    /// `@name` or `@name[keys]` read as a value.
    Map(MapRef),
    /// `name(args)`
    Call { name: Ident, args: Vec<Expr> },
    Unary { op: UnaryOp, expr: Box<Expr> },
    Binary { op: BinOp, lhs: Box<Expr>, rhs: Box<Expr> },
    /// `cond ? then : otherwise`
    Ternary { cond: Box<Expr>, then_expr: Box<Expr>, else_expr: Box<Expr> },
    /// `(a, b, ...)`, `(a,)` or `()`.
    Tuple(Vec<Expr>),
    /// `(name = value, ...)`: named fields, in the order written.
    Record(Vec<(Ident, Expr)>),
    /// `expr.field` or `expr->field`.
    Field { expr: Box<Expr>, field: Ident, arrow: bool },
    /// `expr.0`
    TupleIndex { expr: Box<Expr>, index: u32, index_span: Span },
    /// `expr[index]`
    Index { expr: Box<Expr>, index: Box<Expr> },
    /// `x++`, `++x`, `x--`, `--x` on a variable or a map.
    IncDec { target: Box<Expr>, increment: bool, prefix: bool },
    /// `(type)expr`, e.g. `(uint16)$x` or `(typeof($y))$x`.
    Cast { ty: TypeSpec, expr: Box<Expr> },
    /// `sizeof(type)` or `sizeof(expr)`: the size in bytes, known while compiling.
    Sizeof(TypeSpec),
    /// `offsetof(type, a.b)` or `offsetof(expr, a.b)`: where field `a.b` starts, in bytes.
    Offsetof { ty: TypeSpec, path: Vec<Ident> },
    /// `container_of(ptr, struct x, a.b)`: a pointer to the `struct x` whose member `a.b` is
    /// where `ptr` points.
    ContainerOf { ptr: Box<Expr>, ty: TypeSpec, path: Vec<Ident> },
    /// `{ statements; value }` as an expression; also what a macro call expands to.
    Block(Block),
    /// `comptime e`: `e`, which must be known while compiling.
    Comptime(Box<Expr>),
}

/// A type as a script writes it, in a cast, a `let`, `sizeof`, `offsetof` or `typeof`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeSpec {
    /// A type by name: `uint16`, `bool`, `string`, `string[8]`, `struct task_struct`.
    Named(Ident),
    /// `typeof(e)`, or an expression where a type or an expression may stand (`sizeof($x)`):
    /// the type of `e`, which is not evaluated.
    Typeof(Box<Expr>),
}

impl TypeSpec {
    pub fn span(&self) -> Span {
        match self {
            TypeSpec::Named(name) => name.span,
            TypeSpec::Typeof(e) => e.span,
        }
    }
}

impl std::fmt::Display for TypeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TypeSpec::Named(name) => f.write_str(&name.name),
            TypeSpec::Typeof(_) => f.write_str("typeof(...)"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `!x`
    LogicalNot,
    /// `~x`
    BitNot,
    /// `*p`: what a pointer points at.
    Deref,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    LogicalAnd,
    LogicalOr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The body of `Expr::children` and `Expr::children_mut`: one list of where an expression's
/// direct children are, for both borrows.
macro_rules! each_child {
    ($kind:expr, $f:ident, $iter:ident) => {
        match $kind {
            ExprKind::Int(_)
            | ExprKind::Str(_)
            | ExprKind::Bool(_)
            | ExprKind::Ident(_)
            | ExprKind::Var(_)
            | ExprKind::Positional(_)
            | ExprKind::ParamCount
            | ExprKind::Block(_) => {}
            ExprKind::Map(map) => map.keys.$iter().for_each($f),
            ExprKind::Call { args, .. } | ExprKind::Tuple(args) => args.$iter().for_each($f),
            ExprKind::Record(fields) => fields.$iter().for_each(|(_, value)| $f(value)),
            ExprKind::Unary { expr, .. }
            | ExprKind::Field { expr, .. }
            | ExprKind::TupleIndex { expr, .. }
            | ExprKind::Comptime(expr) => $f(expr),
            ExprKind::Cast { ty, expr } => {
                if let TypeSpec::Typeof(of) = ty {
                    $f(of);
                }
                $f(expr);
            }
            ExprKind::Sizeof(ty) | ExprKind::Offsetof { ty, .. } => {
                if let TypeSpec::Typeof(of) = ty {
                    $f(of);
                }
            }
            ExprKind::ContainerOf { ptr, ty, .. } => {
                $f(ptr);
                if let TypeSpec::Typeof(of) = ty {
                    $f(of);
                }
            }
            ExprKind::IncDec { target, .. } => $f(target),
            ExprKind::Binary { lhs, rhs, .. } => {
                $f(lhs);
                $f(rhs);
            }
            ExprKind::Index { expr, index } => {
                $f(expr);
                $f(index);
            }
            ExprKind::Ternary { cond, then_expr, else_expr } => {
                $f(cond);
                $f(then_expr);
                $f(else_expr);
            }
        }
    };
}

impl Program {
    /// Calls `f` on every expression of the script, nested ones and those in block
    /// expressions included: the probes' predicates and bodies, then the macros' bodies.
    pub fn for_each_expr(&self, f: &mut impl FnMut(&Expr)) {
        for probe in &self.probes {
            if let Some(predicate) = &probe.predicate {
                predicate.walk(f);
            }
            probe.body.walk(f);
        }
        for definition in &self.macros {
            definition.body.walk(f);
        }
    }
}

impl Block {
    /// Calls `f` on every expression of the block's statements, nested ones included.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        for stmt in &self.stmts {
            stmt.walk(f);
        }
    }
}

impl Stmt {
    /// Calls `f` on every expression of the statement, nested ones included.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        match &self.kind {
            StmtKind::Expr(e) | StmtKind::Discard(e) | StmtKind::AssignVar { value: e, .. } | StmtKind::Return(Some(e)) => e.walk(f),
            StmtKind::AssignMap { map, value, .. } => {
                map.keys.iter().for_each(|key| key.walk(f));
                value.walk(f);
            }
            StmtKind::Let { value, .. } => value.iter().for_each(|value| value.walk(f)),
            StmtKind::If { cond, then_block, else_block } => {
                cond.walk(f);
                then_block.walk(f);
                else_block.iter().for_each(|block| block.walk(f));
            }
            StmtKind::Block(block) => block.walk(f),
            StmtKind::For { source, body, .. } => {
                match source {
                    ForSource::Map(map) => map.keys.iter().for_each(|key| key.walk(f)),
                    ForSource::Range { start, end } => {
                        start.walk(f);
                        end.walk(f);
                    }
                }
                body.walk(f);
            }
            StmtKind::While { cond: e, body } | StmtKind::Unroll { count: e, body } => {
                e.walk(f);
                body.walk(f);
            }
            StmtKind::Return(None) | StmtKind::Break | StmtKind::Continue => {}
        }
    }
}

impl Expr {
    /// Calls `f` on this expression and every one inside it, block expressions included.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        if let ExprKind::Block(block) = &self.kind {
            block.walk(f);
        }
        self.children(&mut |child| child.walk(f));
    }

    /// Calls `f` on each expression directly inside this one (not into block expressions).
    pub fn children(&self, f: &mut impl FnMut(&Expr)) {
        each_child!(&self.kind, f, iter)
    }

    /// Calls `f` on each expression directly inside this one (not into block expressions).
    pub fn children_mut(&mut self, f: &mut impl FnMut(&mut Expr)) {
        each_child!(&mut self.kind, f, iter_mut)
    }

    /// Gives this expression and everything in it `span`: text that came from elsewhere (a
    /// `#define`) is reported where it was used.
    pub fn relocate(&mut self, span: Span) {
        self.span = span;
        match &mut self.kind {
            ExprKind::Map(map) => map.span = span,
            ExprKind::Call { name, .. } => name.span = span,
            ExprKind::Field { field, .. } => field.span = span,
            ExprKind::TupleIndex { index_span, .. } => *index_span = span,
            ExprKind::Cast { ty: TypeSpec::Named(ty), .. } | ExprKind::Sizeof(TypeSpec::Named(ty)) => ty.span = span,
            ExprKind::Offsetof { ty, path } => {
                if let TypeSpec::Named(ty) = ty {
                    ty.span = span;
                }
                path.iter_mut().for_each(|field| field.span = span);
            }
            _ => {}
        }
        self.children_mut(&mut |child| child.relocate(span));
    }
}

impl BinOp {
    /// Binding strength; higher binds tighter (`||` is 1, `* / %` are 10). The parser builds
    /// expressions by it and the formatter decides its parentheses by it.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::LogicalOr => 1,
            BinOp::LogicalAnd => 2,
            BinOp::BitOr => 3,
            BinOp::BitXor => 4,
            BinOp::BitAnd => 5,
            BinOp::Eq | BinOp::Ne => 6,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 7,
            BinOp::Shl | BinOp::Shr => 8,
            BinOp::Add | BinOp::Sub => 9,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 10,
        }
    }

    /// The operator as written in scripts.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::LogicalAnd => "&&",
            BinOp::LogicalOr => "||",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge)
    }

    pub fn is_logical(self) -> bool {
        matches!(self, BinOp::LogicalAnd | BinOp::LogicalOr)
    }
}

impl UnaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            UnaryOp::Neg => "-",
            UnaryOp::LogicalNot => "!",
            UnaryOp::BitNot => "~",
            UnaryOp::Deref => "*",
        }
    }
}
