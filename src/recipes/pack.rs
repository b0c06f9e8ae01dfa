//! Packs: a recipe compiled once, run elsewhere with no compiler work. `recipe pack NAME`
//! writes `NAME.ftpack`, a JSON file of sealed parts (each with its SHA-256): the BPF object
//! and its manifest, the recipe's header and the source compiled, the parameters it was
//! compiled with, and every kernel fact the compile used (BTF member places and sizes, type
//! sizes, enum values, the layouts of the tracepoints it attaches to, the architecture).
//! `recipe run FILE.ftpack` asks each fact again of this kernel and runs the object as it is
//! when all hold. A struct member that moved and kept its size is patched in every instruction
//! that held its offset, through the object's CO-RE relocations (`ferrotrace_runtime::relocate`);
//! when another fact does not hold, it refuses before any BPF system call, with the facts
//! that differ and the command that compiles the recipe here. Its `getopt` parameters are set
//! when it runs (`--pid=42`), in the config map; positional ones, and those the script needs
//! while compiling, are compiled in and kept. Then it checks every part's
//! hash, so a part changed by accident or by hand is refused too; the hashes are in the same
//! file, so they are no signature: as root, a pack is run only when no one but root can write
//! it, as a recipe. Tracepoint ids are looked up again on attach.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{bail, Context, Result};
use base64::Engine;
use ferrotrace_compiler::catalog::Catalog;
use ferrotrace_compiler::kernel_facts::{KernelFact, KernelFacts};
use ferrotrace_compiler::manifest::{Action, Attach, Manifest, Stream};
use ferrotrace_compiler::options::Params;
use ferrotrace_compiler::recheck;
use ferrotrace_compiler::sema::load_param_value;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a pack's file name ends with.
pub const EXTENSION: &str = ".ftpack";
const FORMAT: &str = "ferrotrace-pack";
const VERSION: u32 = 1;

/// A pack, as its file holds it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    format: String,
    version: u32,
    /// The ferrotrace that packed it.
    ferrotrace: String,
    recipe: String,
    /// The parameters it was packed with (`--pid=42`): the values it runs with unless others
    /// are given.
    params: Vec<String>,
    kernel: Sealed<Kernel>,
    /// The recipe's header (the TOML between its markers), when it has one.
    header: Sealed<Option<String>>,
    /// The script compiled: the recipe's file, or the variant that ran where it was packed.
    source: Sealed<String>,
    manifest: Sealed<Manifest>,
    /// The BPF ELF object, in base64.
    program: Sealed<String>,
}

/// A part and the SHA-256 of its JSON text.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed<T> {
    sha256: String,
    value: T,
}

impl<T: Serialize> Sealed<T> {
    fn new(value: T) -> Result<Sealed<T>> {
        Ok(Sealed { sha256: digest(&value)?, value })
    }

    fn intact(&self) -> Result<bool> {
        Ok(digest(&self.value)? == self.sha256)
    }
}

fn digest(value: &impl Serialize) -> Result<String> {
    let text = serde_json::to_vec(value).context("cannot serialize a part of the pack")?;
    Ok(Sha256::digest(&text).iter().map(|byte| format!("{byte:02x}")).collect())
}

/// The kernel facts a compile used, beyond the manifest's BTF facts.
#[derive(Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Kernel {
    arch: String,
    /// The release it was packed on, for the reader: not a requirement.
    release: String,
    facts: Vec<KernelFact>,
    tracepoints: Vec<TracepointLayout>,
}

/// The fields of a tracepoint's record a program reads.
#[derive(Serialize, Deserialize, PartialEq, Clone)]
#[serde(deny_unknown_fields)]
struct TracepointLayout {
    tracepoint: String,
    fields: Vec<Field>,
}

#[derive(Serialize, Deserialize, PartialEq, Clone)]
#[serde(deny_unknown_fields)]
struct Field {
    name: String,
    c_type: String,
    offset: u32,
    size: u32,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): offset {}, {} bytes", self.name, self.c_type, self.offset, self.size)
    }
}

/// What a pack is made of: the compile and where it came from.
pub struct Contents<'a> {
    pub recipe: &'a str,
    pub params: Vec<String>,
    pub header: Option<String>,
    pub source: &'a str,
    pub manifest: &'a Manifest,
    pub elf: &'a [u8],
}

/// Writes the pack of a compile to `path`.
pub fn write(contents: Contents<'_>, catalog: &dyn Catalog, path: &Path) -> Result<String> {
    let kernel = Kernel {
        arch: std::env::consts::ARCH.to_string(),
        release: release(),
        facts: contents.manifest.kernel_facts.iter().cloned().collect(),
        tracepoints: layouts(contents.manifest, catalog)?,
    };
    let plural = |count: usize, what: &str| format!("{count} {what}{}", if count == 1 { "" } else { "s" });
    let mut summary = format!("{}, {}", plural(kernel.facts.len(), "kernel fact"), plural(kernel.tracepoints.len(), "tracepoint layout"));
    if !contents.manifest.params.is_empty() {
        let names: Vec<String> = contents.manifest.params.iter().map(|param| format!("--{}", param.name)).collect();
        summary.push_str(&format!(", {} set when it runs", names.join(" ")));
    }
    let pack = Pack {
        format: FORMAT.to_string(),
        version: VERSION,
        ferrotrace: env!("CARGO_PKG_VERSION").to_string(),
        recipe: contents.recipe.to_string(),
        params: contents.params,
        kernel: Sealed::new(kernel)?,
        header: Sealed::new(contents.header)?,
        source: Sealed::new(contents.source.to_string())?,
        manifest: Sealed::new(contents.manifest.clone())?,
        program: Sealed::new(base64::engine::general_purpose::STANDARD.encode(contents.elf))?,
    };
    let text = serde_json::to_string_pretty(&pack).context("cannot serialize the pack")?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o644)
        .open(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    file.write_all((text + "\n").as_bytes()).with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(summary)
}

/// The layouts of the tracepoints the programs attach to, as this kernel has them.
fn layouts(manifest: &Manifest, catalog: &dyn Catalog) -> Result<Vec<TracepointLayout>> {
    let mut layouts: Vec<TracepointLayout> = Vec::new();
    for target in manifest.programs.iter().flat_map(|program| &program.targets) {
        let Attach::Tracepoint { category, name, .. } = &target.attach else { continue };
        let tracepoint = format!("{category}:{name}");
        if layouts.iter().any(|layout| layout.tracepoint == tracepoint) {
            continue;
        }
        let format = catalog.tracepoint_format(category, name).map_err(|error| anyhow::anyhow!("cannot read the format of `{tracepoint}`: {error}"))?;
        let fields = format.fields.into_iter().map(|field| Field { name: field.name, c_type: field.c_type, offset: field.offset, size: field.size }).collect();
        layouts.push(TracepointLayout { tracepoint, fields });
    }
    Ok(layouts)
}

/// This kernel's release (`uname -r`).
fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|text| text.trim().to_string()).unwrap_or_default()
}

/// A pack read and found to run here: its object (patched for this kernel's struct layouts)
/// and manifest, and the members it moved.
pub struct Loaded {
    pub manifest: Manifest,
    pub elf: Vec<u8>,
    pub moved: Vec<ferrotrace_compiler::co_re::Relocation>,
}

/// The script a pack holds and the parameters it was packed with, read without checking the
/// pack: what `-- --help` lists the options of.
pub fn source(path: &Path) -> Result<(String, Vec<String>)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read pack `{}`", path.display()))?;
    let pack: Pack = serde_json::from_str(&text).with_context(|| format!("`{}` is not a ferrotrace pack", path.display()))?;
    Ok((pack.source.value, pack.params))
}

/// Reads the pack at `path` and checks it against this kernel: its architecture, every
/// kernel fact, every tracepoint layout, then every part's hash. `params` are the parameters
/// given to run it, which must be the ones it was packed with.
pub fn load(path: &Path, params: &[String], unsafe_allowed: bool, catalog: &dyn Catalog) -> Result<Loaded> {
    let shown = path.display();
    super::discovery::trusted(path).map_err(|why| anyhow::anyhow!("refusing pack `{shown}`: {why}; as root only packs that only root (or the user sudo runs for) can change are run"))?;
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read pack `{shown}`"))?;
    let pack: Pack = serde_json::from_str(&text).with_context(|| format!("`{shown}` is not a ferrotrace pack"))?;
    if pack.format != FORMAT || pack.version != VERSION {
        bail!("`{shown}` is a {} version {} file; this ferrotrace reads {FORMAT} version {VERSION}", pack.format, pack.version);
    }
    let recompile = format!("`ferrotrace recipe pack {}` compiles it here", pack.recipe);
    if pack.ferrotrace != env!("CARGO_PKG_VERSION") {
        bail!("pack `{shown}` was made by ferrotrace {}, and this is {}; {recompile}", pack.ferrotrace, env!("CARGO_PKG_VERSION"));
    }
    let kernel = &pack.kernel.value;
    if let Some(fact) = kernel.facts.iter().find(|fact| !plausible(fact)) {
        bail!("pack `{shown}` records a kernel fact no kernel has: {}; {recompile}", shorten(&fact.to_string()));
    }
    if kernel.arch != std::env::consts::ARCH {
        bail!("pack `{shown}` was compiled for {}, and this machine is {}; {recompile}", kernel.arch, std::env::consts::ARCH);
    }
    let (movable, differences) = differences(kernel, &pack.manifest.value.kernel_facts, catalog)?;
    if !differences.is_empty() {
        bail!("pack `{shown}` was compiled on {} for kernel facts this kernel does not have:\n{}\n{recompile}", kernel.release, differences.join("\n"));
    }
    let parts = [("kernel", pack.kernel.intact()?), ("header", pack.header.intact()?), ("source", pack.source.intact()?), ("manifest", pack.manifest.intact()?), ("program", pack.program.intact()?)];
    if let Some((part, _)) = parts.iter().find(|(_, intact)| !intact) {
        let recorded = match movable.is_empty() {
            true => String::new(),
            false => format!(", and it records kernel facts this kernel does not have:\n{}\n", shown_all(&movable)),
        };
        bail!("pack `{shown}` was altered: its {part} does not match its SHA-256{recorded}; {recompile}");
    }
    if pack.manifest.value.kernel_facts.iter().ne(kernel.facts.iter()) {
        bail!("pack `{shown}` is inconsistent: its kernel facts are not its program's; {recompile}");
    }
    let mut manifest = pack.manifest.value;
    set_params(&mut manifest, &pack.params, params).map_err(|refusal| match refusal {
        ParamRefusal::Kind(why) => anyhow::anyhow!("pack `{shown}` {why}"),
        ParamRefusal::CompiledIn(why) => anyhow::anyhow!("pack `{shown}` {why}; `ferrotrace recipe pack {} -- {}` compiles it with them", pack.recipe, params.join(" ")),
    })?;
    let runs_commands = manifest.actions.iter().any(|action| matches!(action, Action::Printf { stream: Stream::Command, .. }));
    if runs_commands && !unsafe_allowed {
        bail!("pack `{shown}` runs shell commands (`system`): run it with --unsafe");
    }
    let mut elf = base64::engine::general_purpose::STANDARD.decode(&pack.program.value).with_context(|| format!("pack `{shown}`: its program is not base64"))?;
    let moved = match movable.len() {
        0 => Vec::new(),
        _ => {
            let types = catalog.kernel_types().context("this kernel has no BTF to move the pack's struct members by")?;
            ferrotrace_runtime::relocate::relocate_object(&mut elf, types)
                .map_err(|why| anyhow::anyhow!("pack `{shown}` cannot be moved to this kernel's struct layouts: {why}; {recompile}"))?
        }
    };
    // Every member that moved must have moved in some instruction; one that did not is read
    // where no relocation names it.
    if let Some(unmoved) = movable.iter().find(|difference| !moved.iter().any(|relocation| moves(relocation, difference))) {
        bail!("pack `{shown}` reads a member that moved where no relocation can move it:\n{unmoved}\n{recompile}");
    }
    Ok(Loaded { manifest, elf, moved })
}

/// Whether `relocation` moves the member `difference` names: an access through it, to another
/// offset.
fn moves(relocation: &ferrotrace_compiler::co_re::Relocation, difference: &recheck::Difference) -> bool {
    let member = match &difference.recorded {
        KernelFact::Member { member, .. } | KernelFact::Offset { member, .. } => member,
        _ => return false,
    };
    let through = relocation.access.split('.').skip(1).map(|step| step.split('[').next().unwrap_or(step));
    relocation.local != relocation.target && through.into_iter().any(|step| step == member)
}

/// Differences, one after another.
fn shown_all(differences: &[recheck::Difference]) -> String {
    differences.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// Why a pack refuses a parameter: a value not of its option's kind, or an option whose value
/// is compiled in.
enum ParamRefusal {
    Kind(String),
    CompiledIn(String),
}

/// Sets the values of the options the programs read at load time (`manifest.params`) from
/// `given`; a pack keeps the parameters it was `packed` with for the others, and refuses other
/// values for them: positional parameters and the options a script needs while compiling are
/// compiled in.
fn set_params(manifest: &mut Manifest, packed: &[String], given: &[String]) -> Result<(), ParamRefusal> {
    let (packed, given) = (Params::from_args(packed), Params::from_args(given));
    if !given.positional.is_empty() && given.positional != packed.positional {
        return Err(ParamRefusal::CompiledIn(format!("holds the positional parameters it was compiled with ({})", spelled(&packed.positional))));
    }
    for param in &given.named {
        let value = param.value.clone();
        if let Some(slot) = manifest.params.iter_mut().find(|slot| slot.name == param.name) {
            slot.value = load_param_value(slot.kind, value.clone())
                .map_err(|expects| ParamRefusal::Kind(format!("cannot take `--{}`: it expects {expects} (value: `{}`)", param.name, value.unwrap_or_default())))?;
        } else if packed.named.iter().rev().find(|known| known.name == param.name) != Some(param) {
            let settable: Vec<String> = manifest.params.iter().map(|slot| format!("--{}", slot.name)).collect();
            let settable = if settable.is_empty() { "no option".to_string() } else { settable.join(", ") };
            return Err(ParamRefusal::CompiledIn(format!(
                "sets {settable} when it loads; `--{}` is compiled in (the script needs its value while compiling) or not an option of the recipe",
                param.name
            )));
        }
    }
    Ok(())
}

/// Words as a command line shows them, or `none`.
fn spelled(words: &[String]) -> String {
    if words.is_empty() {
        "none".to_string()
    } else {
        words.join(" ")
    }
}

/// The most bytes a name in a fact has: C identifiers, types and paths are shorter.
const LONGEST_NAME: usize = 4096;

/// Whether a fact read from a pack is of a shape a compile records, before anything parses its
/// names: no name longer than a kernel's, no type of more than a few pointer levels.
fn plausible(fact: &KernelFact) -> bool {
    let names: Vec<&str> = match fact {
        KernelFact::Member { strukt, member, .. } | KernelFact::Offset { strukt, member, .. } => vec![strukt, member],
        KernelFact::Size { ty, .. } => vec![ty],
        KernelFact::Enumerator { name, .. } | KernelFact::Symbol { name, .. } => vec![name],
        KernelFact::Cgroup { path, .. } => vec![path],
        KernelFact::Arguments { probe, types } => std::iter::once(probe.as_str()).chain(types.iter().map(String::as_str)).collect(),
        KernelFact::PidNamespace { .. } | KernelFact::CommZeroPadded(_) => Vec::new(),
    };
    names.iter().all(|name| name.len() <= LONGEST_NAME && name.matches('*').count() <= 8)
}

/// A long text cut for a message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

/// Each fact the pack records that this kernel does not hold, as `-` the recorded and `+` this
/// kernel's: those its relocations can move past (`compiled` says which offsets are compiled
/// in without one), and the others.
fn differences(kernel: &Kernel, compiled: &KernelFacts, catalog: &dyn Catalog) -> Result<(Vec<recheck::Difference>, Vec<String>)> {
    let mut found = Vec::new();
    let facts = kernel.facts.iter().cloned().fold(KernelFacts::default(), |mut facts, fact| {
        facts.record(fact);
        facts
    });
    let (movable, fixed): (Vec<_>, Vec<_>) = recheck::differences(&facts, catalog).into_iter().partition(|difference| difference.movable(compiled));
    found.extend(fixed.iter().map(ToString::to_string));
    for layout in &kernel.tracepoints {
        let (category, name) = layout.tracepoint.split_once(':').unwrap_or((&layout.tracepoint, ""));
        let here: Vec<Field> = match catalog.tracepoint_format(category, name) {
            Ok(format) => format.fields.into_iter().map(|field| Field { name: field.name, c_type: field.c_type, offset: field.offset, size: field.size }).collect(),
            Err(_) => {
                found.push(format!("- tracepoint {}\n+ (not in this kernel)", layout.tracepoint));
                continue;
            }
        };
        for field in &layout.fields {
            match here.iter().find(|other| other.name == field.name) {
                Some(other) if other == field => {}
                Some(other) => found.push(format!("- {}.{field}\n+ {}.{other}", layout.tracepoint, layout.tracepoint)),
                None => found.push(format!("- {}.{field}\n+ (not in this kernel)", layout.tracepoint)),
            }
        }
    }
    Ok((movable, found))
}

#[cfg(test)]
mod tests {
    use ferrotrace_compiler::catalog::{CatalogError, FieldKind, TracepointField, TracepointFormat};
    use ferrotrace_compiler::driver::{compile_with, Keep};
    use ferrotrace_compiler::options::CompileOptions;

    use super::*;

    /// A kernel with one tracepoint, `demo:event`, whose `value` field is at `value_at`.
    struct Demo {
        value_at: u32,
    }

    impl Catalog for Demo {
        fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
            Ok(vec![("demo".into(), "event".into())])
        }

        fn tracepoint_format(&self, _category: &str, _name: &str) -> Result<TracepointFormat, CatalogError> {
            let field = TracepointField { name: "value".into(), c_type: "int".into(), offset: self.value_at, size: 4, signed: true, kind: FieldKind::Int };
            Ok(TracepointFormat { id: 7, fields: vec![field] })
        }
    }

    /// Packs a script compiled against `Demo` at `value_at`, into a file of this test's.
    fn packed(value_at: u32, file: &str) -> std::path::PathBuf {
        let source = "tracepoint:demo:event { @[args.value] = count(); }\n";
        let catalog = Demo { value_at };
        let compiled = compile_with(source, &catalog, &CompileOptions::default(), Keep::default()).unwrap_or_else(|diagnostics| panic!("{diagnostics:?}"));
        let path = std::env::temp_dir().join(format!("ferrotrace-pack-{}-{file}", std::process::id()));
        let contents = Contents { recipe: "demo", params: Vec::new(), header: None, source, manifest: &compiled.manifest, elf: &compiled.elf };
        assert_eq!(write(contents, &catalog, &path).unwrap(), "0 kernel facts, 1 tracepoint layout");
        path
    }

    #[test]
    fn a_pack_loads_where_its_facts_hold_as_it_was_compiled() {
        let path = packed(8, "holds");
        let loaded = load(&path, &[], false, &Demo { value_at: 8 });
        let _ = std::fs::remove_file(&path);
        let loaded = loaded.unwrap();
        assert!(loaded.elf.starts_with(b"\x7fELF"));
        assert_eq!(loaded.manifest.probe_names, ["tracepoint:demo:event"]);
    }

    #[test]
    fn a_moved_tracepoint_field_or_an_altered_part_is_refused_by_name() {
        let path = packed(8, "moved");
        let moved = load(&path, &[], false, &Demo { value_at: 12 }).err().map(|error| error.to_string());
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("@[args.value]", "@[args.value + 1]")).unwrap();
        let altered = load(&path, &[], false, &Demo { value_at: 8 }).err().map(|error| error.to_string());
        let _ = std::fs::remove_file(&path);
        let moved = moved.expect("a moved field is refused");
        assert!(moved.contains("for kernel facts this kernel does not have:\n- demo:event.value (int): offset 8, 4 bytes\n+ demo:event.value (int): offset 12, 4 bytes\n`ferrotrace recipe pack demo` compiles it here"), "{moved}");
        assert!(altered.expect("an altered source is refused").contains("was altered: its source does not match its SHA-256"));
    }

    #[test]
    fn a_pack_of_another_ferrotrace_or_with_an_impossible_fact_is_refused() {
        let path = packed(8, "other");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace(&format!("\"ferrotrace\": \"{}\"", env!("CARGO_PKG_VERSION")), "\"ferrotrace\": \"9.9.9\"")).unwrap();
        let other = load(&path, &[], false, &Demo { value_at: 8 }).err().map(|error| error.to_string());
        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
        value["kernel"]["value"]["facts"] = serde_json::json!([{"Size": {"ty": format!("int{}", "*".repeat(100_000)), "size": 8}}]);
        std::fs::write(&path, value.to_string()).unwrap();
        let impossible = load(&path, &[], false, &Demo { value_at: 8 }).err().map(|error| error.to_string());
        std::fs::write(&path, "begin { }").unwrap();
        let not_a_pack = load(&path, &[], false, &Demo { value_at: 8 }).err().map(|error| error.to_string());
        let _ = std::fs::remove_file(&path);
        assert!(other.unwrap().contains(&format!("was made by ferrotrace 9.9.9, and this is {}", env!("CARGO_PKG_VERSION"))));
        assert!(impossible.unwrap().contains("records a kernel fact no kernel has: sizeof(int***"));
        assert!(not_a_pack.unwrap().ends_with("is not a ferrotrace pack"));
    }
}
