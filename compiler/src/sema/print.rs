//! `-d hir`: the checked program as indented text, every expression with its type.

use std::fmt::Write;

use super::hir::{Action, Builtin, Expr, ExprKind, Program, Stmt, StmtKind};

/// Renders the whole checked program.
pub fn print_hir(program: &Program) -> String {
    let mut out = String::new();
    for (i, map) in program.maps.iter().enumerate() {
        let key: Vec<String> = map.key.iter().map(|k| k.to_string()).collect();
        let _ = writeln!(out, "map#{i} {}[{}]: {:?}", map.name, key.join(", "), map.value);
    }
    for probe in &program.probes {
        let _ = writeln!(out, "probe {}", probe.name);
        if probe.targets.len() > 1 {
            let kind = probe.targets[0].attach.provider().name;
            let _ = writeln!(out, "  shared by {} {kind}s", probe.targets.len());
        }
        if let Some(dispatch) = &probe.dispatch {
            let raw: Vec<&str> = [("sys_enter", dispatch.enter_event), ("sys_exit", dispatch.exit_event)]
                .into_iter()
                .filter_map(|(name, event)| event.map(|_| name))
                .collect();
            let _ = writeln!(out, "  dispatched by syscall number from raw_syscalls:{}", raw.join(", raw_syscalls:"));
        }
        for (i, local) in probe.locals.iter().enumerate() {
            let _ = writeln!(out, "  local#{i} ${}: {}", local.name, local.ty);
        }
        if let Some(pred) = &probe.predicate {
            let _ = writeln!(out, "  predicate {}", expr(pred));
        }
        stmts(&mut out, &probe.body, 1);
    }
    out
}

fn stmts(out: &mut String, body: &[Stmt], depth: usize) {
    for stmt in body {
        let pad = "  ".repeat(depth);
        match &stmt.kind {
            StmtKind::Expr(e) => {
                let _ = writeln!(out, "{pad}{}", expr(e));
            }
            StmtKind::AssignLocal { local, value } => {
                let _ = writeln!(out, "{pad}local#{} = {}", local.0, expr(value));
            }
            StmtKind::AssignMap { map, key, value } => {
                let _ = writeln!(out, "{pad}map#{}[{}] = {}", map.0, opt(key), expr(value));
            }
            StmtKind::Aggregate { map, key, arg } => {
                let _ = writeln!(out, "{pad}map#{}[{}] aggregates {}", map.0, opt(key), opt(arg));
            }
            StmtKind::If { cond, then_body, else_body } => {
                let _ = writeln!(out, "{pad}if {}", expr(cond));
                stmts(out, then_body, depth + 1);
                if !else_body.is_empty() {
                    let _ = writeln!(out, "{pad}else");
                    stmts(out, else_body, depth + 1);
                }
            }
            StmtKind::Return(value) => {
                let _ = writeln!(out, "{pad}return {}", value.as_ref().map(expr).unwrap_or_default());
            }
            StmtKind::Block(body) => {
                let _ = writeln!(out, "{pad}block");
                stmts(out, body, depth + 1);
            }
            StmtKind::ForRange { var, start, end, body } => {
                let _ = writeln!(out, "{pad}for local#{} in {}..{}", var.0, expr(start), expr(end));
                stmts(out, body, depth + 1);
            }
            StmtKind::ForMap { var, map, body } => {
                let _ = writeln!(out, "{pad}for local#{} in map#{}", var.0, map.0);
                stmts(out, body, depth + 1);
            }
            StmtKind::While { cond, body } => {
                let _ = writeln!(out, "{pad}while {}", expr(cond));
                stmts(out, body, depth + 1);
            }
            StmtKind::Break => {
                let _ = writeln!(out, "{pad}break");
            }
            StmtKind::Continue => {
                let _ = writeln!(out, "{pad}continue");
            }
        }
    }
}

fn opt(e: &Option<Expr>) -> String {
    e.as_ref().map(expr).unwrap_or_default()
}

fn list(items: &[Expr]) -> String {
    items.iter().map(expr).collect::<Vec<_>>().join(", ")
}

/// One expression as `(kind ...): type`.
fn expr(e: &Expr) -> String {
    let inner = match &e.kind {
        ExprKind::Int(v) => format!("{}", *v as i64),
        ExprKind::Str(s) => format!("{:?}", String::from_utf8_lossy(s)),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Builtin(Builtin::InitPid) => "pid(init)".to_string(),
        ExprKind::Builtin(Builtin::InitTid) => "tid(init)".to_string(),
        ExprKind::Builtin(b) => format!("{b:?}").to_lowercase(),
        ExprKind::ProbeName => "probe".to_string(),
        ExprKind::Local(id) => format!("local#{}", id.0),
        ExprKind::MapRead { map, key } => format!("map#{}[{}]", map.0, key.as_deref().map(expr).unwrap_or_default()),
        ExprKind::AggregateRead { map, key } => {
            format!("all_cpus(map#{}[{}])", map.0, key.as_deref().map(expr).unwrap_or_default())
        }
        ExprKind::TracepointField(f) => format!("args.{}@{}", f.name, f.offset),
        ExprKind::Register(register) => format!("{}@pt_regs+{}", register.builtin, register.offset),
        ExprKind::ArgumentWord(index) => format!("ctx[{index}]"),
        ExprKind::LoadParam(index) => format!("param[{index}]"),
        ExprKind::UsdtArgument(argument) => format!("usdt_arg({argument:?})"),
        ExprKind::ReadStr { ptr, size, user } => {
            let space = if *user { "user" } else { "kernel" };
            format!("str_{space}({}{})", expr(ptr), size.as_deref().map(|s| format!(", {}", expr(s))).unwrap_or_default())
        }
        ExprKind::Deref { ptr, offset, user, .. } => {
            let space = if *user { "user" } else { "kernel" };
            format!("{space}[{} + {offset}]", expr(ptr))
        }
        ExprKind::Unary { op, expr: inner } => format!("{}{}", op.symbol(), expr(inner)),
        ExprKind::Binary { op, lhs, rhs, signed } => {
            format!("({} {}{} {})", expr(lhs), op.symbol(), if *signed { "s" } else { "" }, expr(rhs))
        }
        ExprKind::Logical { and, lhs, rhs } => format!("({} {} {})", expr(lhs), if *and { "&&" } else { "||" }, expr(rhs)),
        ExprKind::StrEq { lhs, rhs, negate } | ExprKind::TupleEq { lhs, rhs, negate, .. } => format!("({} {} {})", expr(lhs), if *negate { "!=" } else { "==" }, expr(rhs)),
        ExprKind::Ternary { cond, then_expr, else_expr } => format!("({} ? {} : {})", expr(cond), expr(then_expr), expr(else_expr)),
        ExprKind::Tuple(items) => format!("({})", list(items)),
        ExprKind::Call { func, map, args } => {
            let map = map.map(|m| format!("map#{}, ", m.0)).unwrap_or_default();
            format!("{func}({map}{})", list(args))
        }
        ExprKind::TupleIndex { expr: inner, index } => format!("{}.{index}", expr(inner)),
        ExprKind::StrIndex { expr: inner, index } => format!("{}[{}]", expr(inner), expr(index)),
        ExprKind::Cast { to, expr: inner } => format!("({to}){}", expr(inner)),
        ExprKind::Bitcast(inner) => format!("({}){}", e.ty, expr(inner)),
        ExprKind::ArrayElement { expr: inner, index } => format!("{}[{index}]", expr(inner)),
        ExprKind::IncDec { target, increment, prefix } => {
            let op = if *increment { "++" } else { "--" };
            if *prefix { format!("{op}{}", expr(target)) } else { format!("{}{op}", expr(target)) }
        }
        ExprKind::Action(action) => match &**action {
            Action::Printf { args, .. } => format!("printf({})", list(args)),
            Action::SeqPrintf { format, args } => format!("seq_printf({:?}, {})", String::from_utf8_lossy(&format[..format.len().saturating_sub(1)]), list(args)),
            Action::PrintValue(v) => format!("print({})", expr(v)),
            Action::PrintMap { map, top, div } => format!("print(map#{}, {top}, {div})", map.0),
            Action::Clear(map) => format!("clear(map#{})", map.0),
            Action::Zero(map) => format!("zero(map#{})", map.0),
            Action::Exit(code) => format!("exit({})", code.as_deref().map(expr).unwrap_or_default()),
            Action::Watch { address, probe, stop } => format!("watch({}, probe#{probe}{})", expr(address), if *stop { ", stop" } else { "" }),
        },
        ExprKind::Delete { map, key } => format!("delete(map#{}, {})", map.0, key.as_deref().map(expr).unwrap_or_default()),
        ExprKind::Block { stmts: body, value } => {
            let mut inner = String::new();
            stmts(&mut inner, body, 0);
            let lines: Vec<&str> = inner.lines().collect();
            format!("{{ {}{} }}", lines.iter().map(|l| format!("{}; ", l.trim())).collect::<String>(), value.as_deref().map(expr).unwrap_or_default())
        }
    };
    format!("{inner}: {}", e.ty)
}
