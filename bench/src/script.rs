//! Generated scripts for the compile-time rows: many probes, long bodies, many maps, written
//! the way people write bpftrace scripts (one statement per line, comments, blank lines) in the
//! syntax both ferrotrace and bpftrace 0.17 accept.

/// A script of exactly `lines` lines. Probe blocks cycle through three shapes (file opens,
/// read sizes, context switches), each with its own maps; comment lines pad the end.
pub fn generate(lines: usize) -> String {
    let mut out: Vec<String> = Vec::with_capacity(lines + 16);
    let mut unit = 0;
    loop {
        let block = probe_block(unit);
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

#[cfg(test)]
mod tests {
    use super::generate;

    #[test]
    fn scripts_have_exactly_the_lines_asked_for() {
        for lines in [0, 1, 17, 100, 1000, 10_000] {
            assert_eq!(generate(lines).lines().count(), lines, "{lines}-line script");
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
