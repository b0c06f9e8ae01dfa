//! Compile time, parse to ELF, of generated 100-, 1,000- and 10,000-line scripts. The catalog
//! is warmed by one compile first, so the timed runs read nothing from the kernel.
//! Run as root (tracefs gives the tracepoint layouts): `cargo bench -p ferrotrace-bench`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrotrace_bench::script::generate;
use ferrotrace_compiler::driver::compile;
use ferrotrace_runtime::catalog::KernelCatalog;
use ferrotrace_runtime::tracefs::Tracefs;

fn compile_scripts(c: &mut Criterion) {
    let tracefs = Tracefs::find_or_mount(true).expect("the compile benchmark needs tracefs: run it as root");
    let catalog = KernelCatalog::new(tracefs);
    let mut group = c.benchmark_group("compile");
    group.sample_size(20);
    for lines in [100, 1_000, 10_000] {
        let script = generate(lines);
        if let Err(diagnostics) = compile(&script, &catalog) {
            panic!("the generated {lines}-line script does not compile: {diagnostics:?}");
        }
        group.throughput(Throughput::Elements(lines as u64));
        group.bench_with_input(BenchmarkId::from_parameter(lines), &script, |b, script| {
            b.iter(|| compile(script, &catalog).map(|compiled| compiled.elf.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, compile_scripts);
criterion_main!(benches);
