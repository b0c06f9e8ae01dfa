//! Tuples, records and strings as values: building them, their fields and bytes, comparing
//! them, and using them as map keys.

use super::*;

#[test]
fn records_have_named_fields_printed_in_order() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $r = (color = "green", size = 2);
        printf("%s %d\n", $r.color, $r.size);
        print($r);
        $r = (size = 5, color = "red");
        print($r);
        @nested = (1, (2, "a"), (c = 3, d = (4, 5)));
        exit();
    }"#;
    let expected = "green 2\n{ .color = green, .size = 2 }\n{ .color = red, .size = 5 }\n\n\n@nested: (1, (2, a), { .c = 3, .d = (4, 5) })\n";
    run_program(program).assert_exact(0, expected, ATTACHED_1);
}

#[test]
fn tuples_and_records_compare_field_by_field() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $t = (1, "abc");
        printf("%d %d %d\n", $t == (1, "abc"), $t != (1, "abd"), $t == (2, "abc"));
        if ((a = 1, b = "hello") == (b = "hello", a = 1)) { printf("records ignore field order\n"); }
        $x = (a = 1, b = (2, "x")) != (a = 1, b = (2, "y"));
        printf("%d\n", $x);
        exit();
    }"#;
    run_program(program).assert_exact(0, "1 1 0\nrecords ignore field order\n1\n\n\n", ATTACHED_1);
}

/// A tuple held in a variable and the same tuple written out are one key: the bytes between
/// fields are cleared wherever a tuple is built.
#[test]
fn equal_tuples_and_records_are_one_key() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $t = (5, "yy");
        @t[$t] = 1;
        @t[(5, "yy")] += 1;
        $r = (b = "x", a = 7);
        @r[$r] = 1;
        @r[(a = 7, b = "x")] += 1;
        exit();
    }"#;
    run_program(program).assert_exact(0, "\n\n@r[{ .b = x, .a = 7 }]: 2\n@t[5, yy]: 2\n", ATTACHED_1);
}

#[test]
fn strings_and_tuples_are_indexed_with_brackets() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $s = "abc";
        $i = (uint64)2;
        printf("%c %c %d %d\n", $s[0], $s[$i], $s[3], $s[(uint64)100]);
        $t = (1, "hello");
        printf("%s %d\n", $t[1], $t[2 - 2]);
        $n = (uint64)0;
        for ($k : 0..16) { if ($s[$n] != 0) { $n++; } }
        printf("length %d\n", $n);
        $j = 1; $neg = -1;
        printf("%c %d\n", $s[$j], $s[$neg]);
        exit();
    }"#;
    run_program(program).assert_exact(0, "a c 0 0\nhello 1\nlength 3\nb 0\n\n\n", ATTACHED_1);
}

#[test]
fn casts_to_bool_test_for_zero() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { $a = (bool)5; $b = (bool)0; print(($a, $b, (bool)true)); if ((bool)pid) { printf("pid\n"); } @m[(bool)2] = 1; exit(); }"#;
    run_program(program).assert_exact(0, "(true, false, true)\npid\n\n\n@m[true]: 1\n", ATTACHED_1);
}

/// bpftrace 0.26's integers: literals are signed, a difference is signed, and signed division
/// and remainder follow C (built from unsigned instructions, so they run before Linux 6.6).
#[test]
fn differences_are_signed_and_division_follows_c() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $b = 5; $c = 7;
        print(1 - 2); print($b - $c); print((uint64)1 - (uint64)2);
        $a = -7; $two = 2; $minus_two = -2;
        printf("%d %d %d %d %d %d\n", $a / $two, $a % $two, 7 / $minus_two, 7 % $minus_two, $a / $minus_two, $a % $minus_two);
        @d = 3 - 4;
        $flexible = 1; $flexible = (uint64)18446744073709551615;
        print($flexible);
        exit();
    }"#;
    run_program(program).assert_exact(0, "-1\n-2\n-1\n-3 -1 -3 1 3 -1\n18446744073709551615\n\n\n@d: -1\n", ATTACHED_1);
}

/// `sizeof` and `offsetof` are known while compiling; `typeof` gives a cast or a declaration
/// the type of another value.
#[test]
fn sizes_offsets_and_types_of_values() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $x = (uint16)3;
        $r = (a = (uint8)1, b = (uint64)2);
        let $y: typeof($x) = 7000;
        $z = (typeof($x))70000;
        printf("%d %d %d %d %d %d %d\n", sizeof(uint32), sizeof($x), sizeof(comm), offsetof($r, b), $y, $z, sizeof(typeof($y)));
        exit();
    }"#;
    run_program(program).assert_exact(0, "4 2 16 8 7000 4464 2\n\n\n", ATTACHED_1);
}
