//! The kernel matrix: ferrotrace's tests run inside other kernels than the machine's own.
//!
//! A run has three steps, one module each:
//! - [`debian`] fetches a kernel (and busybox) from Debian's archive by package name with
//!   `apt-get download`, and keeps what it extracted in a cache ([`cache`]) between runs.
//! - [`initramfs`] assembles the guest's root file system: busybox, the programs under test at
//!   the same absolute paths as on the host, the shared libraries they need, and an `/init`
//!   script ([`guest`]) that runs the commands and powers off.
//! - [`qemu`] boots the kernel with that initramfs under `qemu-system-x86_64` and a deadline,
//!   and returns each command's output and exit status, read from a second serial port.
//!
//! The crate knows nothing of ferrotrace itself: the kernel tests decide what runs inside.

pub mod cache;
pub mod debian;
pub mod guest;
pub mod initramfs;
pub mod qemu;
mod error;
mod tools;

pub use error::MatrixError;
pub use tools::missing_tools;

/// A kernel series of the matrix: a Debian package whose dependency is the newest kernel of
/// that series (`linux-image-amd64` depends on `linux-image-6.1.0-NN-amd64`, for example).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Series {
    /// What the tests call it: `6.1`, `6.12`.
    pub label: &'static str,
    /// The Debian package that depends on the kernel image.
    pub meta_package: &'static str,
    /// Why the matrix has it.
    pub why: &'static str,
}

/// The kernels every kernel-facing feature is proven on, besides the host's own.
pub const SERIES: &[Series] = &[
    Series {
        label: "6.1",
        meta_package: "linux-image-amd64",
        why: "Debian 12's kernel, the oldest bpftrace 0.26 supports",
    },
    Series { label: "6.12", meta_package: "linux-image-6.12-amd64", why: "the LTS between 6.1 and the newest" },
];

/// The series called `label`, if the matrix has it.
pub fn series(label: &str) -> Option<Series> {
    SERIES.iter().copied().find(|series| series.label == label)
}
