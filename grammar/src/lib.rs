//! The pest grammar of the bpftrace language and the parser pest derives from it.
