//! Generated scripts for the compile-time rows: many probes, long bodies, many maps, written
//! the way people write bpftrace scripts (one statement per line, comments, blank lines) in the
//! syntax both ferrotrace and bpftrace 0.17 accept.

/// A script of exactly `lines` lines. Probe blocks cycle through three shapes (file opens,
/// read sizes, context switches), each with its own maps; comment lines pad the end.
pub fn generate(lines: usize) -> String {
    generate_with(lines, Vec::new(), probe_block)
}

/// The same, written with what bpftrace 0.17 lacks: macros at the top, and blocks whose
/// bodies call them and loop over ranges and maps. Only ferrotrace compiles it.
pub fn generate_modern(lines: usize) -> String {
    let header = [
        "// helpers for every unit",
        "macro bucket(x) { x / 64 }",
        "macro bump($n, @m) { @m[$n] = count(); $n + 1 }",
        "",
    ];
    generate_with(lines, header.iter().map(|l| l.to_string()).collect(), modern_block)
}

fn generate_with(lines: usize, header: Vec<String>, block_of: fn(usize) -> Vec<String>) -> String {
    let mut out: Vec<String> = Vec::with_capacity(lines + 16);
    if header.len() <= lines {
        out.extend(header);
    }
    let mut unit = 0;
    loop {
        let block = block_of(unit);
        if out.len() + block.len() > lines {
            break;
        }
        out.extend(block);
        unit += 1;
    }
    while out.len() < lines {
        out.push(format!("// padding line {}", out.len() + 1));
    }
    out.iter().flat_map(|line| [line.as_str(), "\n"]).collect()
}

/// The lines of probe block number `k`, ending with a blank line.
fn probe_block(k: usize) -> Vec<String> {
    let text = match k % 3 {
        0 => format!(
            r#"// unit {k}: files opened, by process and flags
tracepoint:syscalls:sys_enter_openat
/pid != {k}/
{{
  $flags = args->flags;
  $mode = args->mode + {k};
  @opens_{k}[comm] = count();
  @flags_{k}[comm, $flags & 0xff] = count();
  @mode_{k} = sum($mode);
  @mode_max_{k} = max($mode);
  if ($flags & 0x40) {{
    @creates_{k}[pid] = count();
  }} else {{
    @mixed_{k} = hist($mode * 3 + $flags);
  }}
  printf("%d %s %d\n", pid, comm, $flags);
}}
"#
        ),
        1 => format!(
            r#"// unit {k}: read sizes of one process
tracepoint:syscalls:sys_enter_read
/comm == "unit{k}"/
{{
  $n = args->count;
  @read_bytes_{k}[comm] = sum($n);
  @read_sizes_{k} = lhist($n, 0, 4096, 256);
  @read_stats_{k}[tid] = stats($n);
  $big = $n > 65536 ? 1 : 0;
  @big_reads_{k}[$big] = count();
  @last_fd_{k}[tid] = args->fd;
}}
"#
        ),
        _ => format!(
            r#"// unit {k}: context switches
tracepoint:sched:sched_switch
{{
  @switches_{k}[args->prev_comm] = count();
  @prio_{k} = avg(args->prev_prio);
  @next_{k}[args->next_pid % 64] = count();
  if (args->prev_pid == {k}) {{
    printf("switch %s -> %s\n", args->prev_comm, args->next_comm);
  }}
}}
"#
        ),
    };
    text.lines().map(str::to_string).collect()
}

/// Probe block number `k` of the modern script: every third one a plain one, the others with
/// macros and loops.
fn modern_block(k: usize) -> Vec<String> {
    if k.is_multiple_of(3) {
        return probe_block(k);
    }
    let text = format!(
        r#"// unit {k}: read sizes in buckets, with loops
tracepoint:syscalls:sys_enter_read
/comm == "unit{k}"/
{{
  $n = args->count;
  $b = bucket($n);
  $next = bump($b, @buckets_{k});
  for ($i : 0..4) {{
    @steps_{k}[$i] = sum($n >> $i);
    if ($i == 2) {{ break; }}
  }}
  for ($kv : @last_{k}) {{
    @seen_{k} = sum($kv.1);
  }}
  @last_{k}[tid] = $next;
}}
"#
    );
    text.lines().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::{generate, generate_modern};

    #[test]
    fn scripts_have_exactly_the_lines_asked_for() {
        for lines in [0, 1, 17, 100, 1000, 10_000] {
            assert_eq!(generate(lines).lines().count(), lines, "{lines}-line script");
        }
    }

    #[test]
    fn modern_scripts_have_exactly_the_lines_asked_for() {
        for lines in [0, 1, 17, 100, 1000, 10_000] {
            assert_eq!(generate_modern(lines).lines().count(), lines, "{lines}-line script");
        }
    }

    #[test]
    fn scripts_grow_by_whole_probe_blocks() {
        let script = generate(1000);
        let probes = script.lines().filter(|line| line.starts_with("tracepoint:")).count();
        let opens = script.matches("{\n").count();
        assert!(probes > 60, "a 1000-line script has many probes, got {probes}");
        assert!(opens >= probes, "every probe has a body");
    }
}
