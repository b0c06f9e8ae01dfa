//! The `ferrotrace` command: reads a script, compiles it, and runs it on the kernel.

mod cli;
mod debug;
mod imports;
mod info;
mod listing;
mod manual;
mod output;
mod recipes;
mod record;
mod repl;
mod replay;
mod verbose;
mod script_options;

use std::io::{self, IsTerminal, Read, Write};
use std::process::ExitCode;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Parser;
use cli::{Cli, OutputFormat, Stage};
use ferrotrace_compiler::diagnostic::Diagnostic;
use ferrotrace_compiler::driver::{compile_with, Compiled};
use ferrotrace_compiler::manifest::Manifest;
use ferrotrace_compiler::config::Config;
use ferrotrace_compiler::options::{CompileOptions, Mode, Params};
use ferrotrace_compiler::providers::Scope;
use ferrotrace_compiler::render::render_files;
use ferrotrace_compiler::sources::{self, SourceMap};
use ferrotrace_runtime::catalog::KernelCatalog;
use ferrotrace_runtime::output::Format;
use ferrotrace_runtime::run::{run, RunError, RunOptions};
use ferrotrace_runtime::tracefs::Tracefs;
use ferrotrace_runtime::target::TracedProcess;
use ferrotrace_runtime::{privileges, suite, LoadError};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    match execute(&cli) {
        Ok(code) => ExitCode::from(code),
        // The reader went away (`| head`): stop quietly, as a filter does.
        Err(err) if err.chain().any(|cause| cause.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ERROR: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// The script (with what it imports), the name diagnostics call it by, and its parameters.
struct Script {
    source: String,
    name: String,
    params: Params,
    /// Which file each byte of `source` came from.
    files: SourceMap,
    /// For a recipe, what a pack keeps of it.
    recipe: Option<RecipeOrigin>,
}

/// The recipe a script is: its name and header.
struct RecipeOrigin {
    name: String,
    header: Option<String>,
}

fn execute(cli: &Cli) -> Result<u8> {
    if cli.no_feature.contains(&cli::Feature::KprobeMulti) {
        ferrotrace_runtime::features::refuse_kprobe_multi();
    }
    if cli.no_feature.contains(&cli::Feature::UprobeMulti) {
        ferrotrace_runtime::features::refuse_uprobe_multi();
    }
    if let Some(path) = &cli.fmt {
        return format_script(path, cli.output.as_deref());
    }
    if cli.man {
        manual::write_man_page(&mut io::stdout().lock())?;
        return Ok(0);
    }
    if let Some(shell) = cli.completions {
        manual::write_completions(shell, &mut io::stdout().lock());
        return Ok(0);
    }
    if cli.info {
        privileges::check()?;
        info::write(&mut io::stdout().lock()).context("cannot write --info")?;
        return Ok(0);
    }
    if let Some(pattern) = cli.list.then(|| listing::pattern(cli)).flatten() {
        privileges::check()?;
        let tracefs = Tracefs::find_or_mount(true)?;
        let target = cli.pid.as_deref().map(TracedProcess::existing).transpose()?;
        let catalog = KernelCatalog::new(tracefs);
        let scope = Scope { target_pid: target.as_ref().map(TracedProcess::pid), ..Scope::kernel(&catalog) };
        listing::list(&scope, &pattern, cli.verbose, &mut io::stdout().lock())?;
        return Ok(0);
    }
    if let Some(args) = recipe_command(cli).filter(|args| !matches!(args.first().map(String::as_str), Some("run" | "pack"))) {
        let options = CompileOptions { env: config_environment(true)?, ..CompileOptions::default() };
        return recipes::command(args, &options, matches!(cli.format, OutputFormat::Json), || {
            privileges::check()?;
            Ok(KernelCatalog::new(Tracefs::find_or_mount(true)?))
        });
    }
    if let Some(args) = cli.file.as_ref().filter(|file| file.as_os_str() == replay::COMMAND).map(|_| cli.args.as_slice()) {
        return replay::command(cli, args);
    }
    if let Some(args) = cli.file.as_ref().filter(|file| file.as_os_str() == record::COMMAND).map(|_| cli.args.as_slice()) {
        return record::command(cli, args);
    }
    if let Some((path, params)) = pack_to_run(cli) {
        return run_pack(cli, Path::new(path), params);
    }
    let bare = cli.program.is_none() && cli.file.is_none() && io::stdin().is_terminal() && io::stdout().is_terminal();
    if cli.interactive || bare {
        return run_console(cli);
    }
    let mut script = read_script(cli)?;
    let loader = imports::FileLoader { search: cli.include_dirs.clone() };
    match sources::assemble(&script.name, &script.source, &loader) {
        Ok((mut text, mut files)) => {
            let includes: String = cli.include_files.iter().map(|file| format!("#include <{file}>\n")).collect();
            if !includes.is_empty() {
                files.append(&mut text, "--include", &includes);
            }
            script.source = text;
            script.files = files;
        }
        Err(failure) => {
            let (diagnostic, files) = *failure;
            script.files = files;
            report(&[diagnostic], &script);
            return Ok(1);
        }
    }
    if let Some(code) = check_options_before_compiling(&script)? {
        return Ok(code);
    }
    privileges::check()?;
    let mut target = traced_process(cli)?;
    let tracefs = Tracefs::find_or_mount(true)?;
    let catalog = KernelCatalog::new(tracefs);
    let options = CompileOptions {
        params: script.params.clone(),
        env: config_environment(cli.no_warnings)?,
        mode: cli.mode(),
        unsafe_functions: cli.unsafe_functions,
        child_pid: cli.command.as_ref().and(target.as_ref()).map(TracedProcess::pid),
        child_program: target.as_ref().and_then(TracedProcess::program).map(|program| program.display().to_string()),
        target_pid: cli.pid.as_ref().and(target.as_ref()).map(TracedProcess::pid),
        probe_filter: cli.probe_filter.clone(),
        helper_errors: cli.warnings,
        imports_start: script.files.files.get(1).map(|file| file.start),
        params_at_load: packing(cli),
    };
    let compiled = compile_with(&script.source, &catalog, &options, debug::stages_to_keep(cli)).or_else(|diagnostics| match options.params_at_load {
        // A pack whose parameters the script needs while compiling keeps the ones it is
        // packed with.
        true => {
            let compiled = compile_with(&script.source, &catalog, &CompileOptions { params_at_load: false, ..options.clone() }, debug::stages_to_keep(cli));
            if let (Ok(_), Some(why)) = (&compiled, diagnostics.iter().find(|d| d.is_error())) {
                eprintln!("note: the pack holds its parameters compiled in, as the script needs one while compiling ({}: {})", why.code, why.message);
            }
            compiled
        }
        false => Err(diagnostics),
    });
    let mut compiled = match compiled {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            report(&diagnostics, &script);
            return Ok(1);
        }
    };
    if !cli.no_warnings {
        report(&compiled.warnings, &script);
    }
    compiled.manifest.script_name = script.name.clone();
    compiled.manifest.imported = script.files.files.iter().skip(1).map(|file| (file.start, file.name.clone())).collect();
    if cli.list {
        listing::script_probes(&compiled.manifest, &mut io::stdout().lock())?;
        return Ok(0);
    }
    debug::show_stages(cli, &compiled, &script.source, &mut io::stderr().lock())?;
    if cli.verbose {
        verbose::describe(&compiled, &mut io::stderr().lock())?;
    }
    if let Some(recipe) = script.recipe.as_ref().filter(|_| packing(cli)) {
        return write_pack(cli, recipe, &script, &compiled, &catalog);
    }
    if let Some(path) = &cli.emit_elf {
        std::fs::write(path, &compiled.elf).with_context(|| format!("cannot write the ELF object to `{}`", path.display()))?;
        return Ok(0);
    }
    run_compiled(cli, &compiled, &script, target.as_mut())
}

/// `-i [FILE]`, or `ferrotrace` alone on a terminal: the interactive console.
fn run_console(cli: &Cli) -> Result<u8> {
    privileges::check()?;
    let file = match &cli.file {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("cannot read script `{}`", path.display()))?),
        None => None,
    };
    let options = CompileOptions {
        params: Params::from_args(&cli.args),
        env: config_environment(cli.no_warnings)?,
        unsafe_functions: cli.unsafe_functions,
        helper_errors: cli.warnings,
        probe_filter: cli.probe_filter.clone(),
        ..CompileOptions::default()
    };
    let format = match cli.format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
    };
    repl::run(repl::Start { options, format, file })
}

/// The script's `getopt` options, from its syntax alone: `-- --help` prints them and a value
/// of the wrong kind or an undeclared option is refused before anything is compiled or
/// loaded (and without root). A script that does not parse is left to the compile to report.
fn check_options_before_compiling(script: &Script) -> Result<Option<u8>> {
    let Ok(program) = ferrotrace_compiler::syntax::parse(&script.source) else { return Ok(None) };
    match ferrotrace_compiler::sema::script_options(&program, &script.params) {
        Ok(declared) => script_options::check(&declared, &script.params, &script.name),
        Err(diagnostics) => {
            report(&diagnostics, script);
            Ok(Some(1))
        }
    }
}

/// `--fmt FILE`: the script formatted, written to the `-o` file or stdout; exit 1 with the
/// diagnostics when it does not parse.
fn format_script(path: &std::path::Path, output: Option<&std::path::Path>) -> Result<u8> {
    let (name, source) = if path.as_os_str() == "-" {
        let mut source = String::new();
        io::stdin().read_to_string(&mut source).context("cannot read the script from standard input")?;
        ("stdin".to_string(), source)
    } else {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read script `{}`", path.display()))?;
        let source = String::from_utf8(bytes).with_context(|| format!("script `{}` is not UTF-8 text", path.display()))?;
        (path.display().to_string(), source)
    };
    match ferrotrace_compiler::syntax::format::format(&source) {
        Ok(formatted) => {
            match output {
                Some(out) => std::fs::write(out, formatted).with_context(|| format!("cannot write `{}`", out.display()))?,
                None => io::stdout().write_all(formatted.as_bytes()).context("cannot write the formatted script")?,
            }
            Ok(0)
        }
        Err(diagnostics) => {
            let files = SourceMap::single(&name, &source);
            let color = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let _ = io::stderr().write_all(render_files(&diagnostics, &files, color).as_bytes());
            Ok(1)
        }
    }
}

/// The words after `recipe` when the command line is a recipe command (`ferrotrace recipe list`).
fn recipe_command(cli: &Cli) -> Option<&[String]> {
    let file = cli.file.as_ref().filter(|_| cli.program.is_none())?;
    (file.as_os_str() == recipes::COMMAND).then_some(cli.args.as_slice())
}

/// The script and its parameters: with `-e`, every word after the options is a parameter;
/// otherwise the first is the script file and the rest are parameters; `recipe run NAME` runs a
/// recipe as its script.
fn read_script(cli: &Cli) -> Result<Script> {
    if let Some(args) = recipe_command(cli) {
        let kernel = std::cell::OnceCell::new();
        let options = CompileOptions { env: config_environment(true)?, ..CompileOptions::default() };
        // Only a recipe with variants asks; without privileges, its own file is run (and refused).
        let runs = |text: &str| {
            let catalog = kernel.get_or_init(|| privileges::check().ok().and_then(|()| Tracefs::find_or_mount(true).ok()).map(KernelCatalog::new));
            catalog.as_ref().is_none_or(|catalog| recipes::has_what_it_needs(text, catalog, &options))
        };
        let run = recipes::to_run(args, &runs)?;
        let recipe = Some(RecipeOrigin { name: run.recipe, header: run.header });
        return Ok(Script { files: SourceMap::single(&run.name, &run.text), source: run.text, name: run.name, params: run.params, recipe });
    }
    match (&cli.program, &cli.file) {
        (Some(program), file) => {
            let mut args: Vec<String> = file.iter().map(|f| f.display().to_string()).collect();
            args.extend(cli.args.iter().cloned());
            Ok(Script { files: SourceMap::single("stdin", program), source: program.clone(), name: "stdin".into(), params: Params::from_args(&args), recipe: None })
        }
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut source = String::new();
            io::stdin().read_to_string(&mut source).context("cannot read the script from standard input")?;
            Ok(Script { files: SourceMap::single("stdin", &source), source, name: "stdin".into(), params: Params::from_args(&cli.args), recipe: None })
        }
        (None, Some(path)) => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read script `{}`", path.display()))?;
            let source = String::from_utf8(bytes).with_context(|| format!("script `{}` is not UTF-8 text", path.display()))?;
            Ok(Script { files: SourceMap::single(&path.display().to_string(), &source), source, name: path.display().to_string(), params: Params::from_args(&cli.args), recipe: None })
        }
        (None, None) => bail!("no program given: use `-e 'PROGRAM'`, a script FILE, `-` for standard input, or `-i` for the interactive console (see --help)"),
    }
}

/// `recipe run FILE.ftpack [-- PARAMETERS]`: the pack's path and the parameters given.
fn pack_to_run(cli: &Cli) -> Option<(&str, &[String])> {
    let args = recipe_command(cli).filter(|args| args.first().map(String::as_str) == Some("run"))?;
    let path = args.get(1).filter(|path| path.ends_with(recipes::pack::EXTENSION))?;
    Some((path, &args[2..]))
}

/// The process `-p` names or `-c` starts (held until the probes are attached).
fn traced_process(cli: &Cli) -> Result<Option<TracedProcess>> {
    Ok(match (&cli.pid, &cli.command) {
        (Some(pid), _) => Some(TracedProcess::existing(pid)?),
        (None, Some(command)) => Some(TracedProcess::spawn(command)?),
        (None, None) => None,
    })
}

/// Whether the command line is `recipe pack NAME`.
fn packing(cli: &Cli) -> bool {
    recipe_command(cli).and_then(|args| args.first()).is_some_and(|command| command == "pack")
}

/// `recipe pack NAME [-- PARAMETERS]`: the compile written as `NAME.ftpack` (or `-o FILE`).
fn write_pack(cli: &Cli, recipe: &RecipeOrigin, script: &Script, compiled: &Compiled, catalog: &KernelCatalog) -> Result<u8> {
    if cli.pid.is_some() || cli.command.is_some() || cli.mode() != Mode::Run {
        bail!("a pack is compiled for any process and to run: `recipe pack` takes no -p, -c, --test or --bench");
    }
    let path = cli.output.clone().unwrap_or_else(|| PathBuf::from(format!("{}{}", recipe.name, recipes::pack::EXTENSION)));
    if !path.to_string_lossy().ends_with(recipes::pack::EXTENSION) {
        bail!("a pack's file name ends in `{}` (`recipe run` knows a pack by it), not `{}`", recipes::pack::EXTENSION, path.display());
    }
    let params = recipe_command(cli).map(|args| args[2.min(args.len())..].to_vec()).unwrap_or_default();
    let contents = recipes::pack::Contents { recipe: &recipe.name, params, header: recipe.header.clone(), source: &script.source, manifest: &compiled.manifest, elf: &compiled.elf };
    let summary = recipes::pack::write(contents, catalog, &path)?;
    println!("wrote {} ({summary}); `ferrotrace recipe run {}` runs it", path.display(), path.display());
    Ok(0)
}

/// Runs a pack: its kernel facts and parts checked against this kernel, then its program as
/// it is.
fn run_pack(cli: &Cli, path: &Path, params: &[String]) -> Result<u8> {
    let given = Params::from_args(params);
    if given.named.iter().any(|param| param.name == "help") {
        // The options the pack's script declares, with the values it was packed with as their
        // defaults.
        let (source, packed) = recipes::pack::source(path)?;
        let program = ferrotrace_compiler::syntax::parse(&source).map_err(|_| anyhow::anyhow!("the script in pack `{}` does not parse", path.display()))?;
        let mut declared = ferrotrace_compiler::sema::script_options(&program, &Params::default()).unwrap_or_default();
        for param in Params::from_args(&packed).named {
            if let Some(option) = declared.iter_mut().find(|option| option.name == param.name) {
                option.default = param.value.unwrap_or_else(|| "true".to_string());
            }
        }
        return Ok(script_options::check(&declared, &given, &path.display().to_string())?.unwrap_or(0));
    }
    privileges::check()?;
    let mut target = traced_process(cli)?;
    let catalog = KernelCatalog::new(Tracefs::find_or_mount(true)?);
    let loaded = recipes::pack::load(path, params, cli.unsafe_functions, &catalog)?;
    if cli.verbose {
        for moved in loaded.moved.iter().filter(|moved| moved.local != moved.target) {
            eprintln!("moved {} from offset {} to {} (instruction {} of {})", moved.access, moved.local, moved.target, moved.insn, moved.section);
        }
    }
    run_program(cli, &loaded.elf, &loaded.manifest, None, target.as_mut())
}

fn run_compiled(cli: &Cli, compiled: &Compiled, script: &Script, target: Option<&mut TracedProcess>) -> Result<u8> {
    run_program(cli, &compiled.elf, &compiled.manifest, Some((compiled, script)), target)
}

/// Runs a compiled program; a verifier rejection is explained against the script when the
/// compile is at hand.
fn run_program(cli: &Cli, elf: &[u8], manifest: &Manifest, compile: Option<(&Compiled, &Script)>, target: Option<&mut TracedProcess>) -> Result<u8> {
    let format = match cli.format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
    };
    let options = RunOptions { quiet: cli.quiet, dry_run: cli.dry_run, verifier_log: cli.shows(Stage::Verifier), format, no_warnings: cli.no_warnings };
    let mut stdout = output::Output::open(cli.output.as_deref(), cli.buffering)?;
    let mut stderr = io::stderr();
    let result = match cli.mode() {
        Mode::Run => run(elf, manifest, options, target, &mut stdout, &mut stderr),
        Mode::Test => {
            let color = cli.output.is_none() && io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            suite::run_tests(elf, manifest, format, &mut stdout, &mut stderr, color)
        }
        Mode::Bench => suite::run_benches(elf, manifest, format, &mut stdout, &mut stderr),
    };
    stdout.finish()?;
    match result {
        Ok(code) => Ok(code as u8),
        Err(RunError::Load(LoadError::Verifier { program, insn, reason, log })) if compile.is_some() => {
            if cli.shows(Stage::Verifier) {
                let _ = writeln!(stderr, "{log}");
            }
            let (compiled, script) = compile.expect("the compile is at hand");
            report(&[debug::verifier_diagnostic(compiled, program, insn, &reason)], script);
            Ok(1)
        }
        Err(err) => Err(err.into()),
    }
}

/// The `BPFTRACE_*` environment variables, checked: they override the script's config block.
pub(crate) fn config_environment(no_warnings: bool) -> Result<Vec<(String, String)>> {
    let vars: Vec<(String, String)> = std::env::vars().filter(|(name, _)| name.starts_with("BPFTRACE_")).collect();
    for warning in Config::default().apply_environment(&vars).map_err(anyhow::Error::msg)? {
        if !no_warnings {
            eprintln!("WARNING: {warning}");
        }
    }
    Ok(vars)
}

/// Renders diagnostics to stderr, in color on a terminal.
fn report(diagnostics: &[Diagnostic], script: &Script) {
    report_in(diagnostics, &script.files);
}

/// Renders `diagnostics` against `files` on stderr, in color on a terminal.
pub(crate) fn report_in(diagnostics: &[Diagnostic], files: &SourceMap) {
    if diagnostics.is_empty() {
        return;
    }
    let color = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = io::stderr().write_all(render_files(diagnostics, files, color).as_bytes());
}
