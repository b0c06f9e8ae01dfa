//! Shell-style patterns (`*`, `?`) as attach points, `-l` and `cgroup_path` filters write them.

/// Whether an attach point part is a pattern rather than a name.
pub fn is_pattern(part: &str) -> bool {
    part.contains(['*', '?'])
}

/// Shell-style matching with `*` (any run) and `?` (any one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                backtrack = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match backtrack {
                Some((bp, bt)) => {
                    pi = bp + 1;
                    ti = bt + 1;
                    backtrack = Some((bp, bt + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("sys_enter_*", "sys_enter_openat"));
        assert!(glob_match("*", ""));
        assert!(glob_match("s?s_*_open*", "sys_enter_openat"));
        assert!(!glob_match("sys_exit_*", "sys_enter_openat"));
        assert!(glob_match("*open*", "sys_enter_openat"));
        assert!(!glob_match("open", "openat"));
    }
}
