//! `fentry:bpf:...` and `fexit:bpf:...` against hand-built loaded programs: resolution by id,
//! by name and by function alone, wildcards, typed arguments, listing, and the errors for a
//! program that is not loaded, one without BTF and a function it does not have, and a catalog
//! that cannot list the programs.

use std::sync::Arc;

use crate::btf::tests::builder::Builder;
use crate::btf::Btf;
use crate::catalog::{BpfProgram, Catalog, CatalogError, TracepointFormat};
use crate::driver::compile;
use crate::manifest::Attach;

/// Three loaded programs: 7, `p0_sys_enter_ge`, with BTF like ferrotrace's own for a program
/// with a loop (`long p0_sys_enter_ge(long ctx)` and `long p0_sys_enter_ge_cb1(long arg0,
/// void *arg1)`); 9, `sd_fw_egress`, `int sd_fw_egress(struct __sk_buff *skb)`; and 12,
/// `plain`, loaded without BTF.
struct ProgramCatalog {
    kernel: Arc<Btf>,
    loop_program: Arc<Btf>,
    egress: Arc<Btf>,
}

impl ProgramCatalog {
    fn new() -> ProgramCatalog {
        let mut kernel = Builder::new();
        kernel.int("int", 4, 32, 0, 1);
        let mut looped = Builder::new();
        let long = looped.int("long", 8, 64, 0, 1);
        let void_ptr = looped.ptr(0);
        let main = looped.proto(long, &[("ctx", long)]);
        looped.func("p0_sys_enter_ge", main);
        let callback = looped.proto(long, &[("arg0", long), ("arg1", void_ptr)]);
        looped.func("p0_sys_enter_ge_cb1", callback);
        let mut egress = Builder::new();
        let int = egress.int("int", 4, 32, 0, 1);
        let skb = egress.strukt("__sk_buff", 4, &[("len", int, 0)]);
        let skb_ptr = egress.ptr(skb);
        let proto = egress.proto(int, &[("skb", skb_ptr)]);
        egress.func("sd_fw_egress", proto);
        let parse = |builder: Builder| Arc::new(Btf::parse(builder.finish()).expect("the BTF parses"));
        ProgramCatalog { kernel: parse(kernel), loop_program: parse(looped), egress: parse(egress) }
    }
}

impl Catalog for ProgramCatalog {
    fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
        Ok(Vec::new())
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<TracepointFormat, CatalogError> {
        Err(CatalogError::NotFound(format!("{category}:{name}")))
    }

    fn kernel_types(&self) -> Option<&Arc<Btf>> {
        Some(&self.kernel)
    }

    fn bpf_programs(&self) -> Result<Vec<BpfProgram>, CatalogError> {
        let program = |id, name: &str, functions: &[&str]| BpfProgram { id, name: name.to_string(), functions: functions.iter().map(|f| f.to_string()).collect() };
        Ok(vec![
            program(7, "p0_sys_enter_ge", &["p0_sys_enter_ge", "p0_sys_enter_ge_cb1"]),
            program(9, "sd_fw_egress", &["sd_fw_egress"]),
            program(12, "plain", &[]),
        ])
    }

    fn bpf_program_types(&self, id: u32) -> Option<Arc<Btf>> {
        match id {
            7 => Some(self.loop_program.clone()),
            9 => Some(self.egress.clone()),
            _ => None,
        }
    }
}

fn probe_names(source: &str) -> Vec<String> {
    compile(source, &ProgramCatalog::new()).unwrap_or_else(|diags| panic!("{diags:?}")).manifest.probe_names
}

fn errors(source: &str) -> Vec<(String, String)> {
    match compile(source, &ProgramCatalog::new()) {
        Ok(_) => panic!("`{source}` compiled"),
        Err(diags) => diags.into_iter().map(|d| (d.code.to_string(), d.message)).collect(),
    }
}

#[test]
fn a_function_of_a_program_by_id_is_loaded_for_that_program() {
    let compiled = compile("fentry:bpf:7:p0_sys_enter_ge { @ = count(); }", &ProgramCatalog::new()).unwrap_or_else(|diags| panic!("{diags:?}"));
    let program = &compiled.manifest.programs[0];
    assert_eq!(program.probe_name, "fentry:bpf:7:p0_sys_enter_ge");
    let expected = Attach::Fentry { function: "p0_sys_enter_ge".into(), module: None, program: Some(7), exit: false };
    assert_eq!(program.targets[0].attach, expected);
    assert_eq!(program.section, "fentry/p0_sys_enter_ge");
}

#[test]
fn a_function_alone_is_every_program_that_has_it() {
    assert_eq!(probe_names("fentry:bpf:sd_fw_egress { }"), ["fentry:bpf:9:sd_fw_egress"]);
    assert_eq!(probe_names("fr:bpf:p0_*_cb1 { @ = retval; }"), ["fexit:bpf:7:p0_sys_enter_ge_cb1"]);
}

#[test]
fn programs_by_name_and_wildcards() {
    assert_eq!(probe_names("fentry:bpf:p0_sys_enter_ge:* { @[probe] = count(); }"), ["fentry:bpf:7:p0_sys_enter_ge", "fentry:bpf:7:p0_sys_enter_ge_cb1"]);
    assert_eq!(probe_names("fentry:bpf:*:sd_* { }"), ["fentry:bpf:9:sd_fw_egress"]);
    assert_eq!(probe_names("fentry:bpf:* { }").len(), 3);
}

#[test]
fn arguments_are_words_typed_from_the_programs_btf() {
    // The integers keep their types; a pointer into the program's own types is a `uint64`.
    let compiled = compile("fexit:bpf:9:sd_fw_egress { printf(\"%d %d %d\\n\", args.skb, arg0, retval); }", &ProgramCatalog::new());
    compiled.unwrap_or_else(|diags| panic!("{diags:?}"));
    let errors = errors("fentry:bpf:9:sd_fw_egress { @ = args.skb->len; }");
    assert!(!errors.is_empty());
}

#[test]
fn a_missing_program_one_without_btf_and_a_missing_function_are_refused() {
    let missing = errors("fentry:bpf:99:f { }");
    assert_eq!(missing[0].0, "E0251");
    assert!(missing[0].1.contains("no loaded BPF program with id 99"), "{missing:?}");
    let named = errors("fentry:bpf:sd_fw_egres:f { }");
    assert_eq!(named[0].0, "E0251");
    let plain = errors("fentry:bpf:12:f { }");
    assert_eq!(plain[0], ("E0252".to_string(), "BPF program `12` has no BTF for its functions: a fentry probe cannot attach to it".to_string()));
    let function = errors("fentry:bpf:9:sd_fw_ingress { }");
    assert_eq!(function[0].0, "E0253");
    let shape = errors("fentry:bpf:9:f:g { }");
    assert_eq!(shape[0].0, "E0250");
}

/// The programs of `ProgramCatalog` that cannot be listed, as without `CAP_SYS_ADMIN`: the
/// catalog's own `bpf_programs` says so.
struct Unlisted(ProgramCatalog);

impl Catalog for Unlisted {
    fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
        self.0.tracepoints()
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<TracepointFormat, CatalogError> {
        self.0.tracepoint_format(category, name)
    }

    fn kernel_types(&self) -> Option<&Arc<Btf>> {
        self.0.kernel_types()
    }
}

#[test]
fn programs_that_cannot_be_listed_are_refused_with_the_reason() {
    let Err(diags) = compile("fentry:bpf:sd_fw_egress { }", &Unlisted(ProgramCatalog::new())) else { panic!("compiled without the programs") };
    assert_eq!(diags[0].code, "E0254");
    assert_eq!(diags[0].message, "cannot list the loaded BPF programs: this catalog lists no BPF programs");
}

#[test]
fn listing_and_arguments_name_the_program_by_id() {
    let catalog = ProgramCatalog::new();
    let scope = super::Scope { catalog: &catalog, target_pid: None, child: None, reads_parameters: false };
    let (fentry, fexit) = (&super::fentry::FENTRY, &super::fentry::FEXIT);
    let listed = (fentry.list)(&scope, "").unwrap();
    assert_eq!(listed, ["fentry:bpf:7:p0_sys_enter_ge", "fentry:bpf:7:p0_sys_enter_ge_cb1", "fentry:bpf:9:sd_fw_egress"]);
    assert_eq!((fexit.arguments)(&scope, "fexit:bpf:9:sd_fw_egress"), ["struct __sk_buff * skb", "int retval"]);
    assert_eq!((fentry.arguments)(&scope, "fentry:bpf:7:p0_sys_enter_ge_cb1"), ["long arg0", "void * arg1"]);
}
