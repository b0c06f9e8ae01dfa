//! Which binaries a userspace probe (`uprobe`, `uretprobe`, `usdt`) attaches to: the path it
//! writes (absolute, relative, with wildcards, or a library name such as `libc`, looked up as
//! the dynamic linker would), `*` for every binary the `-p` process maps (every binary any
//! process maps when there is no `-p`), or, when it writes none, the program of the `-p`
//! process or of the `-c` command.


use super::Scope;
use crate::catalog::{CatalogError, UserBinary};
use crate::diagnostic::Diagnostic;
use crate::syntax::ast::AttachPoint;

/// The binaries `written` names (`None`: the probe names none), for a probe of `provider`.
pub(super) fn resolve(ap: &AttachPoint, written: Option<&str>, scope: &Scope<'_>, provider: &str) -> Result<Vec<UserBinary>, Diagnostic> {
    let Some(written) = written else {
        return match (scope.target_pid, scope.child) {
            (Some(pid), _) => scope.catalog.process_executable(pid).map(|binary| vec![binary]).map_err(|error| unreadable(ap, &error)),
            (None, Some((_, program))) => Ok(vec![UserBinary::at(program)]),
            (None, None) => Err(Diagnostic::error("E0217", format!("this {provider} names no binary"))
                .with_primary(ap.span, "which program or library?")
                .with_help(format!("write `{provider}:/path/to/binary:...`, or give `-p PID` or `-c CMD`, whose program it then is"))),
        };
    };
    match scope.catalog.user_binaries(written, scope.target_pid) {
        Ok(binaries) if !binaries.is_empty() => Ok(binaries),
        Ok(_) | Err(CatalogError::NotFound(_)) => Err(no_such_binary(ap, written, scope.target_pid)),
        Err(error) => Err(unreadable(ap, &error)),
    }
}

fn no_such_binary(ap: &AttachPoint, written: &str, pid: Option<u32>) -> Diagnostic {
    let seen_from = pid.map(|pid| format!(" in the mount namespace of process {pid}")).unwrap_or_default();
    let diag = Diagnostic::error("E0217", format!("no binary `{written}`{seen_from}")).with_primary(ap.span, "no such file or library");
    if written.contains('/') {
        diag.with_help("give the path of an executable or a shared library")
    } else {
        diag.with_note("a name without `/` is a library, looked up as the dynamic linker does (ld.so.cache, then /lib and /usr/lib)")
            .with_help(format!("write a path (`./{written}`) for a file in this directory"))
    }
}

fn unreadable(ap: &AttachPoint, error: &CatalogError) -> Diagnostic {
    Diagnostic::error("E0218", format!("cannot read the binary: {error}")).with_primary(ap.span, "needed to resolve this probe")
}
