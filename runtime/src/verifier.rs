//! Reads a kernel verifier log for what a user needs: the instruction it rejected and its
//! one-line reason. Pure, so it is tested on logs captured from a real kernel.

/// Where and why the verifier rejected a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The rejected instruction's index, when the log names one.
    pub insn: Option<usize>,
    /// The verifier's own words, e.g. `R0 invalid mem access 'map_value_or_null'`.
    pub reason: String,
}

/// Finds the rejection in a verifier log.
///
/// The verifier prints each instruction it walks as `N: (op) ...` and stops at the first
/// error, so the reason is the first line after the last instruction line that is not a
/// register-state or bookkeeping line. Errors found before the walk starts (`unreachable insn
/// 2`, `jump out of range from insn 1 to 7`) and loops (`infinite loop detected at insn 1`)
/// name their instruction in the text, which wins over the last walked one.
pub fn parse_log(log: &str) -> Rejection {
    let lines: Vec<&str> = log.lines().collect();
    let last_insn_line = lines
        .iter()
        .rposition(|line| instruction_index(line).is_some());
    let search_from = last_insn_line.map_or(0, |index| index + 1);
    let reason = lines[search_from..]
        .iter()
        .chain(lines.iter())
        .map(|line| line.trim())
        .find(|line| is_reason(line))
        .unwrap_or("the verifier rejected the program without saying why")
        .to_string();
    let walked = last_insn_line.and_then(|index| instruction_index(lines[index]));
    let insn = insn_named_in(&reason).or(walked);
    Rejection { insn, reason }
}

/// `Some(N)` for an instruction line `N: (xx) ...`.
fn instruction_index(line: &str) -> Option<usize> {
    let (index, rest) = line.split_once(": (")?;
    let opcode = rest.get(..3)?;
    let is_opcode = opcode.ends_with(')') && opcode[..2].chars().all(|c| c.is_ascii_hexdigit());
    if is_opcode && !index.is_empty() && index.chars().all(|c| c.is_ascii_digit()) {
        index.parse().ok()
    } else {
        None
    }
}

/// Lines that are not the reason: instructions, register states, headers and statistics.
fn is_reason(line: &str) -> bool {
    const BOOKKEEPING: [&str; 11] = [
        "processed ",
        "verification time ",
        "stack depth ",
        "func#",
        "Live regs before insn",
        "from ",
        "mark_precise:",
        "cur state:",
        "old state:",
        "last_idx ",
        "Validating ",
    ];
    if line.is_empty()
        || instruction_index(line).is_some()
        || is_state_line(line)
        || is_liveness_line(line)
    {
        return false;
    }
    !BOOKKEEPING.iter().any(|prefix| line.starts_with(prefix))
}

/// `0: R1=ctx() R10=fp0`: the register state at an instruction.
fn is_state_line(line: &str) -> bool {
    match line.split_once(": ") {
        Some((index, rest)) => {
            index.chars().all(|c| c.is_ascii_digit())
                && (rest.starts_with('R') || rest.starts_with("frame"))
        }
        None => false,
    }
}

/// `6: 0......... (79) r1 = ...`: a line of the verbose log's liveness listing.
fn is_liveness_line(line: &str) -> bool {
    let Some((index, rest)) = line.split_once(": ") else {
        return false;
    };
    let Some((live, insn)) = rest.split_once(' ') else {
        return false;
    };
    index.chars().all(|c| c.is_ascii_digit())
        && live.chars().all(|c| c == '.' || c.is_ascii_digit())
        && insn.starts_with('(')
}

/// The number after the first `insn ` in `text`.
fn insn_named_in(text: &str) -> Option<usize> {
    let (_, after) = text.split_once("insn ")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests;
