//! The manual page and shell completions, generated from the command line's own definition
//! (`cli::Cli`) so that they list every option as `--help` does.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The roff manual page, section 8.
pub fn write_man_page(out: &mut dyn Write) -> Result<()> {
    let command = Cli::command();
    match clap_mangen::Man::new(command).section("8").render(out) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.context("cannot write the manual page"),
    }
}

/// The completion script for `shell`.
pub fn write_completions(shell: Shell, out: &mut dyn Write) {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "ferrotrace", out);
}
