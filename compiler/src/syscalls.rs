//! Syscall numbers by architecture. tracefs names each syscall's `syscalls:` tracepoints but not
//! its number, and serving many of them from one `raw_syscalls` program needs the number.

mod x86_64;

/// A syscall ABI with a number table here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
}

impl Arch {
    pub const ALL: [Arch; 1] = [Arch::X86_64];

    /// The number of the syscall whose tracepoints are `sys_enter_NAME` and `sys_exit_NAME`.
    pub fn number(self, name: &str) -> Option<u32> {
        self.syscalls().find(|(entry, _)| *entry == name).map(|(_, number)| number)
    }

    /// How many syscalls the table numbers.
    pub fn syscall_count(self) -> usize {
        self.table().len()
    }

    /// Every syscall the table numbers, by tracepoint name.
    pub fn syscalls(self) -> impl Iterator<Item = (&'static str, u32)> {
        self.table().iter().map(|(number, name)| (*name, u32::from(*number)))
    }

    fn table(self) -> &'static [(u16, &'static str)] {
        match self {
            Arch::X86_64 => x86_64::NUMBERS,
        }
    }

    /// Native syscall numbers are below this; the kernel reports others (x32's, which have bit
    /// 30 set, and -1 for "no syscall") on `raw_syscalls` but on no `syscalls:` tracepoint.
    pub fn number_limit(self) -> u32 {
        match self {
            Arch::X86_64 => 512,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Arch;

    #[test]
    fn tracepoint_names_map_to_their_numbers() {
        assert_eq!(Arch::X86_64.number("read"), Some(0));
        assert_eq!(Arch::X86_64.number("getppid"), Some(110));
        assert_eq!(Arch::X86_64.number("openat"), Some(257));
        assert_eq!(Arch::X86_64.number("newuname"), Some(63));
        assert_eq!(Arch::X86_64.number("uname"), None);
        assert_eq!(Arch::X86_64.number("listns"), Some(470));
    }

    #[test]
    fn the_table_has_each_name_and_number_once_and_below_the_limit() {
        let table = super::x86_64::NUMBERS;
        let mut names: Vec<&str> = table.iter().map(|(_, name)| *name).collect();
        let mut numbers: Vec<u16> = table.iter().map(|(number, _)| *number).collect();
        names.sort_unstable();
        names.dedup();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(names.len(), table.len());
        assert_eq!(numbers.len(), table.len());
        assert!(numbers.iter().all(|n| u32::from(*n) < Arch::X86_64.number_limit()));
    }
}
