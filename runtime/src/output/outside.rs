//! What `system` and `cat` print: a shell command's output and a file's contents, fetched
//! when their record is handled.

use std::io::Read;
use std::process::{Command, Stdio};

/// Runs `command` with `sh -c` and returns its standard output (its standard error passes
/// through); a command that cannot start gives a message instead.
pub fn command_output(command: &[u8]) -> Vec<u8> {
    let command = String::from_utf8_lossy(command);
    match Command::new("/bin/sh").arg("-c").arg(command.as_ref()).stdin(Stdio::null()).stderr(Stdio::inherit()).output() {
        Ok(output) => output.stdout,
        Err(error) => format!("system: cannot run `{command}`: {error}\n").into_bytes(),
    }
}

/// The first `limit` bytes of the file named `path`.
pub fn file_contents(path: &[u8], limit: usize) -> std::io::Result<Vec<u8>> {
    let path = String::from_utf8_lossy(path);
    let mut contents = Vec::new();
    std::fs::File::open(path.as_ref())?.take(limit as u64).read_to_end(&mut contents)?;
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_prints_its_output() {
        assert_eq!(command_output(b"echo one; echo two"), b"one\ntwo\n");
    }

    #[test]
    fn a_file_is_read_up_to_the_limit() {
        let path = std::env::temp_dir().join(format!("ferrotrace-cat-{}", std::process::id()));
        std::fs::write(&path, "0123456789").unwrap();
        let contents = file_contents(path.to_str().unwrap().as_bytes(), 4);
        let _ = std::fs::remove_file(&path);
        assert_eq!(contents.unwrap(), b"0123");
    }
}
