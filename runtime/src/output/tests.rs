//! End-to-end rendering tests: kernel-shaped bytes in, bpftrace's exact text out.

use ferrotrace_compiler::manifest::{KeyStorage, MapValue, UserMap};
use ferrotrace_compiler::printf::parse_format;
use ferrotrace_compiler::types::{IntTy, Ty};

use super::{decode_value, dump_map, printer, render_printf, Format, OutputError};
use crate::entry::RawEntry;

/// A whole map as the text printer writes it (nothing for a map with no entries).
fn render_map_text(map: &UserMap, entries: &[RawEntry], top: u64, div: u64, names: &[String]) -> Result<Vec<u8>, OutputError> {
    let mut out = Vec::new();
    let mut err = Vec::new();
    if let Some(dump) = dump_map(map, entries, top, div, names)? {
        printer(Format::Text, &mut out, &mut err).map(&dump).expect("writes to memory");
    }
    Ok(out)
}

/// `print(value)` as the text printer writes it.
fn render_print_value(ty: &Ty, bytes: &[u8], names: &[String]) -> Result<Vec<u8>, OutputError> {
    let value = decode_value(ty, bytes, names)?;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    printer(Format::Text, &mut out, &mut err).value(&value).expect("writes to memory");
    Ok(out)
}

const PROBES: [&str; 2] = ["begin", "tracepoint:syscalls:sys_enter_openat"];

fn probe_names() -> Vec<String> {
    PROBES.iter().map(|name| name.to_string()).collect()
}

fn words(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

fn string(text: &str, size: usize) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.resize(size, 0);
    bytes
}

fn map(name: &str, key: Vec<Ty>, value: MapValue, storage: KeyStorage) -> UserMap {
    UserMap {
        name: name.to_string(),
        key,
        value,
        storage,
    }
}

/// One entry with the same value on a single CPU.
fn entry(key: Vec<u8>, value: Vec<u8>) -> RawEntry {
    RawEntry {
        key,
        values: vec![value],
    }
}

fn render(map: &UserMap, entries: &[RawEntry], top: u64, div: u64) -> String {
    let bytes = render_map_text(map, entries, top, div, &probe_names()).expect("renders");
    String::from_utf8(bytes).expect("utf-8")
}

/// A keyless hist/lhist array: one entry per bucket index.
fn bucket_array(counts: &[u64]) -> Vec<RawEntry> {
    let index = |i: usize| (i as u32).to_ne_bytes().to_vec();
    counts
        .iter()
        .enumerate()
        .map(|(i, count)| entry(index(i), words(&[*count])))
        .collect()
}

#[test]
fn hist_matches_the_formats_page() {
    let hist = map(
        "@",
        vec![],
        MapValue::Hist { k: 0 },
        KeyStorage::BucketIndex,
    );
    let mut counts = vec![0; 65];
    counts[0] = 1;
    counts[3] = 2;
    counts[4] = 1;
    counts[6] = 1;
    let text = render(&hist, &bucket_array(&counts), 0, 0);
    assert!(
        text.ends_with("|\n\n"),
        "a histogram ends with an empty line"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn lhist_matches_the_formats_page() {
    let value = MapValue::Lhist {
        min: 0,
        max: 10,
        step: 2,
    };
    let lhist = map("@", vec![], value, KeyStorage::BucketIndex);
    let text = render(&lhist, &bucket_array(&[1, 0, 2, 0, 1, 0, 1]), 0, 0);
    assert!(
        text.ends_with("|\n\n"),
        "a histogram ends with an empty line"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn hist_labels_scale_by_kilo_and_mega() {
    let hist = map(
        "@bytes",
        vec![],
        MapValue::Hist { k: 0 },
        KeyStorage::BucketIndex,
    );
    let mut counts = vec![0; 65];
    counts[10] = 3; // [256, 512)
    counts[12] = 7; // [1K, 2K)
    counts[22] = 1; // [1M, 2M)
    insta::assert_snapshot!(render(&hist, &bucket_array(&counts), 0, 0));
}

#[test]
fn hist_with_sub_buckets() {
    let hist = map(
        "@us",
        vec![],
        MapValue::Hist { k: 2 },
        KeyStorage::BucketIndex,
    );
    let mut counts = vec![0; 249];
    counts[7] = 1; // [6]
    counts[9] = 4; // [8, 10)
    counts[37] = 2; // [1024, 1280)
    insta::assert_snapshot!(render(&hist, &bucket_array(&counts[..40]), 0, 0));
}

#[test]
fn lhist_with_kilo_steps_and_single_value_steps() {
    let kilo = MapValue::Lhist {
        min: 0,
        max: 4096,
        step: 1024,
    };
    let kilo_map = map("@k", vec![], kilo, KeyStorage::BucketIndex);
    let unit = MapValue::Lhist {
        min: 3,
        max: 6,
        step: 1,
    };
    let unit_map = map("@u", vec![], unit, KeyStorage::BucketIndex);
    let text = render(&kilo_map, &bucket_array(&[0, 5, 0, 0, 2, 1]), 0, 0)
        + &render(&unit_map, &bucket_array(&[1, 2, 0, 3, 0]), 0, 0);
    insta::assert_snapshot!(text);
}

/// A keyed hist entry: the packed key, then the bucket index at the next 8-aligned offset.
fn keyed_bucket(key: &[u8], bucket: u64, count: u64) -> RawEntry {
    let mut full = key.to_vec();
    full.resize(key.len().next_multiple_of(8), 0);
    full.extend(bucket.to_ne_bytes());
    entry(full, words(&[count]))
}

#[test]
fn keyed_hists_print_one_block_per_key_by_total_count() {
    let hist = map(
        "@lat",
        vec![Ty::Str(8)],
        MapValue::Hist { k: 0 },
        KeyStorage::PackedWithBucket,
    );
    let entries = [
        keyed_bucket(&string("bash", 8), 3, 5),
        keyed_bucket(&string("sshd", 8), 2, 1),
        keyed_bucket(&string("bash", 8), 5, 2),
        keyed_bucket(&string("sshd", 8), 1, 1),
    ];
    insta::assert_snapshot!(render(&hist, &entries, 0, 0));
}

#[test]
fn hist_top_and_div() {
    let hist = map(
        "@h",
        vec![Ty::U64],
        MapValue::Hist { k: 0 },
        KeyStorage::PackedWithBucket,
    );
    let entries: Vec<RawEntry> = (1..=3u64)
        .map(|key| keyed_bucket(&key.to_ne_bytes(), 4, key * 10))
        .collect();
    insta::assert_snapshot!(render(&hist, &entries, 2, 10));
}

#[test]
fn empty_maps_print_nothing() {
    let count = map("@c", vec![Ty::U64], MapValue::Count, KeyStorage::Packed);
    assert_eq!(render(&count, &[], 0, 0), "");
    let hist = map(
        "@h",
        vec![],
        MapValue::Hist { k: 0 },
        KeyStorage::BucketIndex,
    );
    assert_eq!(render(&hist, &bucket_array(&[0; 65]), 0, 0), "");
}

#[test]
fn scalar_maps_of_every_aggregate() {
    let scalar = |name: &str, value: MapValue| map(name, vec![], value, KeyStorage::Scalar);
    let key = vec![0u8; 4];
    let per_cpu = |cpus: &[&[u64]]| RawEntry {
        key: key.clone(),
        values: cpus.iter().map(|cpu| words(cpu)).collect(),
    };
    let maps = [
        (scalar("@count", MapValue::Count), per_cpu(&[&[3], &[4]])),
        (
            scalar("@sum", MapValue::Sum(IntTy::I64)),
            per_cpu(&[&[5], &[(-9i64) as u64]]),
        ),
        (
            scalar("@min", MapValue::Min(IntTy::I64)),
            per_cpu(&[&[0, 0], &[7, 1], &[2, 1]]),
        ),
        (
            scalar("@max", MapValue::Max(IntTy::U64)),
            per_cpu(&[&[99, 0], &[7, 1], &[2, 1]]),
        ),
        (
            scalar("@avg", MapValue::Avg(IntTy::U64)),
            per_cpu(&[&[2, 5], &[1, 2]]),
        ),
        (
            scalar("@stats", MapValue::Stats(IntTy::U64)),
            per_cpu(&[&[2, 4], &[1, 2]]),
        ),
        (
            scalar("@empty", MapValue::Stats(IntTy::I64)),
            per_cpu(&[&[0, 0]]),
        ),
    ];
    let text: String = maps
        .iter()
        .map(|(m, e)| render(m, std::slice::from_ref(e), 0, 0))
        .collect();
    insta::assert_snapshot!(text);
}

#[test]
fn keyed_counts_sort_ascending_by_value() {
    let counts = map("@", vec![Ty::Str(16)], MapValue::Count, KeyStorage::Packed);
    let entries = [
        entry(string("sshd", 16), words(&[12])),
        entry(string("bash", 16), words(&[3])),
        entry(string("systemd-journal", 16), words(&[40])),
        entry(string("cron", 16), words(&[3])),
    ];
    insta::assert_snapshot!(render(&counts, &entries, 0, 0));
}

#[test]
fn signed_values_and_keys_sort_as_signed() {
    let sums = map(
        "@s",
        vec![Ty::I64],
        MapValue::Sum(IntTy::I64),
        KeyStorage::Packed,
    );
    let key = |k: i64| k.to_ne_bytes().to_vec();
    let entries = [
        entry(key(1), words(&[5])),
        entry(key(-2), words(&[(-50i64) as u64])),
        entry(key(3), words(&[0])),
    ];
    let plain = map(
        "@p",
        vec![Ty::I64],
        MapValue::Plain(Ty::Bool),
        KeyStorage::Packed,
    );
    let flags = [
        entry(key(4), vec![1]),
        entry(key(-1), vec![0]),
        entry(key(2), vec![1]),
    ];
    insta::assert_snapshot!(render(&sums, &entries, 0, 0) + &render(&plain, &flags, 0, 0));
}

#[test]
fn avg_and_stats_keyed_sort_by_average() {
    let avg = map(
        "@a",
        vec![Ty::Str(4)],
        MapValue::Avg(IntTy::I64),
        KeyStorage::Packed,
    );
    let entries = [
        entry(string("c", 4), words(&[2, 6])),
        entry(string("d", 4), words(&[1, (-4i64) as u64])),
    ];
    let stats = map(
        "@s",
        vec![Ty::Str(4)],
        MapValue::Stats(IntTy::U64),
        KeyStorage::Packed,
    );
    let text = render(&avg, &entries, 0, 0) + &render(&stats, &entries[..1], 0, 0);
    insta::assert_snapshot!(text);
}

#[test]
fn tuple_keys_lose_their_parentheses_but_nested_ones_keep_them() {
    let key = vec![Ty::Str(4), Ty::Tuple(vec![Ty::Str(4), Ty::U64])];
    let nested = map("@", key, MapValue::Count, KeyStorage::Packed);
    let mut bytes = string("str", 8);
    bytes.extend(string("hi", 8));
    bytes.extend(5u64.to_ne_bytes());
    let flat = map(
        "@t",
        vec![Ty::Str(4), Ty::Int(IntTy::I32)],
        MapValue::Count,
        KeyStorage::Packed,
    );
    let mut flat_key = string("hi", 4);
    flat_key.extend(1i32.to_ne_bytes());
    let text = render(&nested, &[entry(bytes, words(&[2]))], 0, 0)
        + &render(&flat, &[entry(flat_key, words(&[1]))], 0, 0);
    insta::assert_snapshot!(text);
}

#[test]
fn values_of_every_type() {
    let tuple = Ty::Tuple(vec![Ty::U64, Ty::Str(4), Ty::Bool]);
    let mut tuple_bytes = words(&[1]);
    tuple_bytes.extend(b"abcd");
    tuple_bytes.extend([1, 0, 0, 0]);
    let cases = [
        ("@str", Ty::Str(8), string("hello", 8)),
        ("@cut", Ty::Str(4), b"abcd".to_vec()),
        ("@tuple", tuple, tuple_bytes),
        ("@probe", Ty::Probe, words(&[1])),
        ("@ptr", Ty::void_ptr(false), words(&[0xffff_8000_1a2b])),
        ("@neg", Ty::Int(IntTy::I32), (-5i32).to_ne_bytes().to_vec()),
        ("@yes", Ty::Bool, vec![1]),
    ];
    let text: String = cases
        .into_iter()
        .map(|(name, ty, bytes)| {
            let plain = map(name, vec![], MapValue::Plain(ty), KeyStorage::Scalar);
            render(&plain, &[entry(vec![0; 4], bytes)], 0, 0)
        })
        .collect();
    insta::assert_snapshot!(text);
}

#[test]
fn top_keeps_the_largest_and_div_divides() {
    let counts = map("@", vec![Ty::U64], MapValue::Count, KeyStorage::Packed);
    let entries: Vec<RawEntry> = (1..=5u64)
        .map(|k| entry(k.to_ne_bytes().to_vec(), words(&[k * 100])))
        .collect();
    let tuples = map(
        "@t",
        vec![Ty::U64],
        MapValue::Plain(Ty::Tuple(vec![Ty::U64, Ty::Str(2)])),
        KeyStorage::Packed,
    );
    let mut tuple_value = words(&[90]);
    tuple_value.extend(string("x", 8));
    let tuple_entries = [entry(words(&[1]), tuple_value)];
    insta::assert_snapshot!(
        render(&counts, &entries, 2, 100) + &render(&tuples, &tuple_entries, 0, 30)
    );
}

#[test]
fn print_value_ends_with_a_newline() {
    let tuple = Ty::Tuple(vec![Ty::I64, Ty::Str(3)]);
    let mut bytes = (-1i64).to_ne_bytes().to_vec();
    bytes.extend(b"ab\0\0\0\0\0\0");
    let text = render_print_value(&tuple, &bytes, &[]).expect("renders");
    assert_eq!(text, b"(-1, ab)\n");
    let cut = render_print_value(&Ty::Str(2), b"ab", &[]).expect("renders");
    assert_eq!(cut, b"ab..\n");
}

fn printf(format: &str, types: &[Ty], args: &[u8]) -> String {
    let pieces = parse_format(format.as_bytes()).expect("valid format");
    let bytes = render_printf(&pieces, types, args, &probe_names()).expect("renders");
    String::from_utf8(bytes).expect("utf-8")
}

#[test]
fn printf_flags_width_and_length() {
    let types = [
        Ty::Str(8),
        Ty::U64,
        Ty::I64,
        Ty::I64,
        Ty::U64,
        Ty::U64,
        Ty::void_ptr(false),
    ];
    let mut args = string("comm", 8);
    args.extend(words(&[
        255,
        42,
        (-7i64) as u64,
        u64::MAX,
        u64::from(b'A'),
        0x1a,
    ]));
    let line = printf(
        "[%-10s] [%08x] [%5d] [%ld] [%llu] [%c] [%p] 100%%\n",
        &types,
        &args,
    );
    insta::assert_snapshot!(line);
}

#[test]
fn printf_copies_bpftrace_stream_quirks() {
    let big = 5_000_000_000u64;
    let cases = [
        ("%d|%ld", vec![Ty::U64, Ty::U64], words(&[big, big])),
        (
            "%u|%x|%lx",
            vec![Ty::I64, Ty::I64, Ty::I64],
            words(&[u64::MAX, u64::MAX, u64::MAX]),
        ),
        (
            "%hhd|%hd|%hhu",
            vec![Ty::U64, Ty::U64, Ty::U64],
            words(&[255, 65535, 257]),
        ),
        (
            "%-05d|%05d|%+d|%+u",
            vec![Ty::I64; 4],
            words(&[42, (-42i64) as u64, 3, 3]),
        ),
        (
            "%#x|%#X|%#o|%#x",
            vec![Ty::U64; 4],
            words(&[255, 255, 8, 0]),
        ),
        (
            "%.2d|% d|%.1s",
            vec![Ty::U64, Ty::U64, Ty::Str(4)],
            [words(&[7, 7]), string("abc", 8)].concat(),
        ),
        (
            "%p|%p",
            vec![Ty::void_ptr(false); 2],
            words(&[0, 0xdead]),
        ),
        (
            "%d|%s|%x",
            vec![Ty::Bool, Ty::Bool, Ty::void_ptr(true)],
            [vec![1, 0, 0, 0, 0, 0, 0, 0], words(&[0x1f])].concat(),
        ),
    ];
    let lines: Vec<String> = cases
        .iter()
        .map(|(format, types, args)| format!("{format:<24} => {}", printf(format, types, args)))
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn printf_s_prints_any_value_padding_its_first_piece() {
    let tuple = Ty::Tuple(vec![Ty::U64, Ty::Str(4)]);
    let types = [tuple, Ty::Probe, Ty::I64, Ty::Str(3), Ty::Str(3)];
    let mut args = words(&[1]);
    args.extend(string("ab", 8));
    args.extend(words(&[1, 5]));
    args.extend(b"xyz");
    args.extend(b"ab\0");
    let line = printf("%8s|%s|%+s|%5s|%-5s|", &types, &args);
    insta::assert_snapshot!(line);
}

#[test]
fn printf_reports_short_records() {
    let pieces = parse_format(b"%d %d").expect("valid format");
    let result = render_printf(&pieces, &[Ty::U64, Ty::U64], &words(&[1]), &[]);
    assert!(result.is_err());
}

#[test]
fn non_integer_values_sort_by_key_fields_in_order() {
    let key = vec![Ty::Str(4), Ty::Int(IntTy::I32)];
    let names = map("@n", key, MapValue::Plain(Ty::Str(4)), KeyStorage::Packed);
    let packed =
        |text: &str, number: i32| [string(text, 4), number.to_ne_bytes().to_vec()].concat();
    let entries = [
        entry(packed("b", 1), string("x", 4)),
        entry(packed("a", 2), string("y", 4)),
        entry(packed("a", -1), string("z", 4)),
    ];
    insta::assert_snapshot!(render(&names, &entries, 0, 0), @r"
    @n[a, -1]: z
    @n[a, 2]: y
    @n[b, 1]: x
    ");
}
