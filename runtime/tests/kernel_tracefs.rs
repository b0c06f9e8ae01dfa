//! tracefs, the kernel catalog and the privilege check against the running kernel.

mod kernel_support;

use std::time::{Duration, Instant};

use ferrotrace_compiler::catalog::{Catalog, CatalogError, FieldKind};
use ferrotrace_runtime::catalog::KernelCatalog;
use ferrotrace_runtime::privileges;
use ferrotrace_runtime::tracefs::Tracefs;
use kernel_support::kernel_available;

fn catalog() -> KernelCatalog {
    KernelCatalog::new(Tracefs::find_or_mount(true).expect("tracefs"))
}

#[test]
fn tracefs_is_found_or_mounted() {
    if !kernel_available() {
        return;
    }
    let tracefs = Tracefs::find_or_mount(true).expect("tracefs");
    assert!(tracefs.root().join("events").is_dir());
    assert_eq!(Tracefs::find(), Some(tracefs));
}

#[test]
fn listing_every_tracepoint_is_fast() {
    if !kernel_available() {
        return;
    }
    let catalog = catalog();
    let started = Instant::now();
    let tracepoints = catalog.tracepoints().expect("list");
    let elapsed = started.elapsed();
    assert!(
        tracepoints.len() > 500,
        "only {} tracepoints",
        tracepoints.len()
    );
    assert!(tracepoints.contains(&("syscalls".to_string(), "sys_enter_openat".to_string())));
    assert!(
        elapsed < Duration::from_millis(200),
        "listing took {elapsed:?}"
    );
}

#[test]
fn openat_filename_is_a_pointer_at_24() {
    if !kernel_available() {
        return;
    }
    let format = catalog()
        .tracepoint_format("syscalls", "sys_enter_openat")
        .expect("format");
    let filename = format
        .fields
        .iter()
        .find(|field| field.name == "filename")
        .expect("filename field");
    assert_eq!(
        (filename.offset, filename.size, filename.kind),
        (24, 8, FieldKind::Pointer)
    );
    assert!(format
        .fields
        .iter()
        .all(|field| !field.name.starts_with("common_")));
}

#[test]
fn live_formats_classify_strings() {
    if !kernel_available() {
        return;
    }
    let catalog = catalog();
    let exec = catalog
        .tracepoint_format("sched", "sched_process_exec")
        .expect("format");
    assert_eq!(exec.fields[0].kind, FieldKind::DataLocString);
    let switch = catalog
        .tracepoint_format("sched", "sched_switch")
        .expect("format");
    assert_eq!(switch.fields[0].kind, FieldKind::CharArray(16));
}

#[test]
fn an_unknown_tracepoint_is_not_found() {
    if !kernel_available() {
        return;
    }
    let error = catalog()
        .tracepoint_format("syscalls", "sys_enter_nothing")
        .expect_err("no such tracepoint");
    assert_eq!(
        error,
        CatalogError::NotFound("tracepoint:syscalls:sys_enter_nothing".to_string())
    );
}

#[test]
fn root_passes_the_privilege_check() {
    if !kernel_available() {
        return;
    }
    privileges::check().expect("root is privileged");
}
