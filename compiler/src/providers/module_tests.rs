//! Probes in kernel modules (`fentry:module:function`, `rawtracepoint:module:event`) against
//! a hand-built module BTF split over a hand-built kernel's: names, typed arguments read
//! through the module's own structs, listing, and the errors for a module that is not loaded.

use std::sync::Arc;

use crate::btf::tests::builder::Builder;
use crate::btf::Btf;
use crate::catalog::Catalog;
use crate::driver::compile;
use crate::manifest::Attach;

/// A kernel with `struct task_struct { int pid; }` and one module, `dummy`, whose BTF has
/// `struct dummy_priv { int x; struct task_struct *owner; }`, a function
/// `int dummy_open(struct dummy_priv *priv, int flags)` and a raw tracepoint
/// `dummy_event(struct dummy_priv *priv)`.
struct ModuleCatalog {
    kernel: Arc<Btf>,
    dummy: Arc<Btf>,
}

impl ModuleCatalog {
    fn new() -> ModuleCatalog {
        let mut kernel = Builder::new();
        let int = kernel.int("int", 4, 32, 0, 1);
        let task = kernel.strukt("task_struct", 4, &[("pid", int, 0)]);
        let void_ptr = kernel.ptr(0);
        let mut module = Builder::split(&kernel);
        let task_ptr = module.ptr(task);
        let priv_struct = module.strukt("dummy_priv", 16, &[("x", int, 0), ("owner", task_ptr, 8)]);
        let priv_ptr = module.ptr(priv_struct);
        let open = module.proto(int, &[("priv", priv_ptr), ("flags", int)]);
        module.func("dummy_open", open);
        let event = module.proto(0, &[("__data", void_ptr), ("priv", priv_ptr)]);
        let event_ptr = module.ptr(event);
        module.typedef("btf_trace_dummy_event", event_ptr);
        let kernel = Arc::new(Btf::parse(kernel.finish()).expect("the kernel's BTF parses"));
        let dummy = Arc::new(Btf::parse_split(kernel.clone(), module.finish()).expect("the module's BTF parses"));
        ModuleCatalog { kernel, dummy }
    }
}

impl Catalog for ModuleCatalog {
    fn tracepoints(&self) -> Result<Vec<(String, String)>, crate::catalog::CatalogError> {
        Ok(Vec::new())
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<crate::catalog::TracepointFormat, crate::catalog::CatalogError> {
        Err(crate::catalog::CatalogError::NotFound(format!("{category}:{name}")))
    }

    fn kernel_types(&self) -> Option<&Arc<Btf>> {
        Some(&self.kernel)
    }

    fn module_types(&self, module: &str) -> Option<Arc<Btf>> {
        (module == "dummy").then(|| self.dummy.clone())
    }

    fn modules_with_types(&self) -> Vec<String> {
        vec!["dummy".to_string()]
    }
}

fn error_codes(source: &str) -> Vec<(String, String)> {
    match compile(source, &ModuleCatalog::new()) {
        Ok(_) => panic!("`{source}` compiled"),
        Err(diags) => diags.into_iter().map(|d| (d.code.to_string(), d.message)).collect(),
    }
}

#[test]
fn fentry_on_a_module_function_reads_the_modules_structs() {
    let compiled = compile("fentry:dummy:dummy_open { printf(\"%d %d %d\\n\", args.priv->x, args.priv.owner->pid, args.flags); }", &ModuleCatalog::new())
        .unwrap_or_else(|diags| panic!("{diags:?}"));
    let program = &compiled.manifest.programs[0];
    assert_eq!(program.probe_name, "fentry:dummy:dummy_open");
    assert_eq!(program.targets[0].attach, Attach::Fentry { function: "dummy_open".into(), module: Some("dummy".into()), program: None, exit: false });
}

#[test]
fn fexit_wildcards_reach_into_modules() {
    let compiled = compile("fexit:dumm*:*_open { @[probe] = hist(retval); }", &ModuleCatalog::new()).unwrap_or_else(|diags| panic!("{diags:?}"));
    assert_eq!(compiled.manifest.probe_names, vec!["fexit:dummy:dummy_open".to_string()]);
}

#[test]
fn a_raw_tracepoint_of_a_module_has_its_typed_arguments() {
    let compiled = compile("rawtracepoint:dummy:dummy_event { @ = args.priv->owner->pid; }", &ModuleCatalog::new())
        .unwrap_or_else(|diags| panic!("{diags:?}"));
    assert_eq!(compiled.manifest.programs[0].probe_name, "rawtracepoint:dummy:dummy_event");
}

#[test]
fn a_module_that_is_not_loaded_or_lacks_the_function_is_refused() {
    let missing = error_codes("fentry:dumy:dummy_open { }");
    assert_eq!(missing[0].0, "E0207");
    assert!(missing[0].1.contains("no loaded kernel module `dumy`"), "{missing:?}");
    let function = error_codes("fentry:dummy:dummy_close { }");
    assert_eq!(function[0].0, "E0209");
    assert!(function[0].1.contains("function of module `dummy`"), "{function:?}");
}

#[test]
fn listing_and_arguments_name_the_module() {
    let catalog = ModuleCatalog::new();
    let scope = super::Scope { catalog: &catalog, target_pid: None, child: None, reads_parameters: false };
    let (fentry, fexit, raw) = (&super::fentry::FENTRY, &super::fentry::FEXIT, &super::rawtracepoint::PROVIDER);
    assert_eq!((fentry.list)(&scope, "").unwrap(), vec!["fentry:dummy:dummy_open".to_string()]);
    let arguments = (fexit.arguments)(&scope, "fexit:dummy:dummy_open");
    assert_eq!(arguments, ["struct dummy_priv * priv", "int flags", "int retval"]);
    assert_eq!((raw.list)(&scope, "").unwrap(), vec!["rawtracepoint:dummy:dummy_event".to_string()]);
    assert_eq!((raw.arguments)(&scope, "rawtracepoint:dummy:dummy_event"), ["struct dummy_priv * priv"]);
}
