//! What the end-to-end tests share: the kernel gate, running the binary under a deadline, and
//! events made by a process or thread whose `comm` the test chooses.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod comm;
pub mod gate;
pub mod kernel_config;
pub mod process;
pub mod syscalls;
pub mod target_program;

/// Where the kernel matrix's guests carry a module the tests load (`dummy.ko`) to probe a
/// module's functions.
pub const TEST_MODULE: &str = "/lib/modules/dummy.ko";
