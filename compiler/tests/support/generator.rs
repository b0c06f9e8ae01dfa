//! Random well-formed programs: for the compiler's robustness tests (which must never panic on
//! them) and the differential oracle (which runs the repeatable ones in the kernel and in
//! replay's engine and compares what they leave).
// Each test crate that includes this file uses a different subset of it.
#![allow(dead_code)]

use super::xorshift::XorShift;

/// Random programs that parse and mostly type-check, so that lowering, allocation and encoding
/// run on them: integers and strings are generated apart, every map keeps one key and value type,
/// and each probe assigns its variables before anything reads them.
struct ProgramGen {
    rng: XorShift,
    kinds: Kinds,
    /// The integer and string fields of the probe being generated.
    int_fields: &'static [&'static str],
    str_fields: &'static [&'static str],
}

/// Attach points with their integer and string-valued `args` fields.
const PROBES: &[(&str, &[&str], &[&str])] = &[
    ("begin", &[], &[]),
    ("end", &[], &[]),
    ("interval:ms:10", &[], &[]),
    ("profile:hz:99", &[], &[]),
    ("tracepoint:syscalls:sys_enter_openat", &["args.flags", "args.dfd", "args.mode"], &["str(args.filename)", "str(args.filename, 8)"]),
    ("tracepoint:syscalls:sys_exit_openat", &["args.ret"], &[]),
    ("tracepoint:syscalls:sys_enter_read", &["args.fd", "args.count"], &["str(args.buf, 16)"]),
    ("tracepoint:sched:sched_switch", &["args.prev_pid", "args.next_prio", "args.prev_state"], &["args.prev_comm", "args.next_comm"]),
    ("tracepoint:sched:sched_process_exec", &["args.pid", "args.old_pid"], &["args.filename"]),
    ("tracepoint:syscalls:sys_enter_*", &["args.__syscall_nr"], &[]),
];
const INT_LEAVES: &[&str] =
    &["pid", "tid", "uid", "gid", "nsecs", "elapsed", "cpu", "rand", "0", "1", "7", "-3", "4096", "0xffffffff", "18446744073709551615", "$i", "$t.0", "@n", "@k[pid]", "comm[1]", "memcmp(comm, \"ab\", 2)", "strcap(comm)"];
const STR_LEAVES: &[&str] = &["comm", "\"\"", "\"a\"", "\"a longer string literal\"", "$s", "$t.1"];
const INT_OPS: &[&str] = &["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^"];
const CMP_OPS: &[&str] = &["==", "!=", "<", "<=", ">", ">="];
const AGGREGATIONS: &[&str] =
    &["@c[K] = count()", "@sum[K] = sum(E)", "@min = min(E)", "@max[K] = max(E)", "@avg = avg(E)", "@stats[pid, comm] = stats(E)", "@h = hist(E)", "@h2[K] = hist(E, 2)", "@lh = lhist(E, -10, 100, 10)", "@ts[K] = tseries(E, 100ms, 8, \"max\")"];

impl ProgramGen {
    fn int(&mut self, depth: u32) -> String {
        if depth == 0 || self.rng.below(3) == 0 {
            let pick = self.rng.below(INT_LEAVES.len() + self.int_fields.len());
            let leaf = INT_LEAVES.get(pick).copied().unwrap_or_else(|| self.int_fields[pick - INT_LEAVES.len()]);
            return match self.kinds {
                Kinds::Repeatable if UNREPEATABLE_LEAVES.contains(&leaf) => "pid".to_string(),
                _ => leaf.to_string(),
            };
        }
        let d = depth - 1;
        match self.rng.below(6) {
            0 | 1 => format!("({} {} {})", self.int(d), self.rng.pick(INT_OPS), self.int(d)),
            2 => format!("({} ? {} : {})", self.cond(d), self.int(d), self.int(d)),
            3 => format!("{}({})", self.rng.pick(&["-", "~", "(uint8)", "(int16)", "(uint32)", "(int64)"]), self.int(d)),
            4 => format!("@k[{}]", self.int(d)),
            _ => self.rng.pick(&["$i++", "++@n", "@k[1]--"]).to_string(),
        }
    }

    fn string(&mut self, depth: u32) -> String {
        let pick = self.rng.below(STR_LEAVES.len() + self.str_fields.len() + 1);
        match STR_LEAVES.get(pick) {
            Some(leaf) => leaf.to_string(),
            None if pick < STR_LEAVES.len() + self.str_fields.len() => self.str_fields[pick - STR_LEAVES.len()].to_string(),
            None if depth > 0 => format!("({} ? {} : {})", self.cond(depth - 1), self.string(depth - 1), self.string(depth - 1)),
            None => "comm".to_string(),
        }
    }

    fn cond(&mut self, depth: u32) -> String {
        match self.rng.below(5) {
            0 => format!("{} {} {}", self.string(depth), self.rng.pick(&["==", "!="]), self.string(depth)),
            1 => format!("({} && {})", self.cond(depth.saturating_sub(1)), self.cond(depth.saturating_sub(1))),
            2 => format!("!{}", self.int(depth)),
            3 => self.int(depth),
            _ => format!("{} {} {}", self.int(depth), self.rng.pick(CMP_OPS), self.int(depth)),
        }
    }

    fn stmt(&mut self, depth: u32) -> String {
        match self.rng.below(if depth == 0 { 10 } else { 13 }) {
            0 => format!("$i = {}", self.int(2)),
            1 => format!("$s = {}", self.string(2)),
            2 => format!("@n = {}", self.int(2)),
            3 => format!("@k[{}] = {}", self.int(1), self.int(2)),
            4 => {
                let mut agg = self.rng.pick(AGGREGATIONS);
                if self.kinds == Kinds::Repeatable && agg.contains("tseries") {
                    agg = AGGREGATIONS[0];
                }
                let agg = agg.replace('K', &self.int(1));
                agg.replace('E', &self.int(2))
            }
            5 => format!("printf(\"%d %s %x\\n\", {}, {}, {})", self.int(2), self.string(1), self.int(1)),
            6 => format!("print({})", self.rng.pick(&["@c", "@h", "@k", "$t", "comm", "probe", "$i"])),
            7 => format!("$t = ({}, comm)", self.int(1)),
            8 => self.rng.pick(&["clear(@k)", "zero(@c)", "delete(@k, 1)", "delete(@k[pid])", "$i += 3", "@n <<= 1", "exit()"]).to_string(),
            9 => format!("$s = str({})", self.int(1)),
            10 => format!("if ({}) {{ {} }} else {{ {} }}", self.cond(1), self.stmt(depth - 1), self.stmt(depth - 1)),
            11 => format!("if ({}) {{ {}; return }}", self.cond(1), self.stmt(depth - 1)),
            _ => format!("{{ {}; {} }}", self.stmt(depth - 1), self.stmt(depth - 1)),
        }
    }

    fn probe(&mut self) -> String {
        let probes = match self.kinds {
            Kinds::Any => PROBES,
            Kinds::Repeatable => &PROBES[..2],
        };
        let (attach, ints, strs) = probes[self.rng.below(probes.len())];
        (self.int_fields, self.str_fields) = (ints, strs);
        let predicate = if self.rng.below(3) == 0 { format!(" /{}/", self.cond(1)) } else { String::new() };
        let stmts: Vec<String> = (0..1 + self.rng.below(5)).map(|_| self.stmt(2)).collect();
        format!("{attach}{predicate} {{ $i = 1; $s = comm; $t = (1, comm); {} }}\n", stmts.join("; "))
    }

    /// Assigns every plain map once so that reads type-check, then adds random probes.
    fn program(&mut self) -> String {
        let mut out = String::from("begin { @n = 0; @k[0] = 0; @c[0] = count(); @h = hist(0); }\n");
        for _ in 0..1 + self.rng.below(3) {
            out.push_str(&self.probe());
        }
        out
    }
}

/// Which programs to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kinds {
    /// Any probe, any builtin.
    Any,
    /// Only `begin` and `end` probes, reading nothing that differs from one run to the next
    /// (no clock, no random numbers): programs the differential oracle can run twice and compare.
    Repeatable,
}

/// The leaves a repeatable program does without.
const UNREPEATABLE_LEAVES: &[&str] = &["nsecs", "elapsed", "rand"];

/// `count` random programs of `kinds`, the same ones every time.
pub fn well_formed_programs(count: usize, kinds: Kinds) -> impl Iterator<Item = String> {
    let mut generator = ProgramGen { rng: XorShift(0x853c_49e6_748f_ea9b), kinds, int_fields: &[], str_fields: &[] };
    (0..count).map(move |_| generator.program())
}
