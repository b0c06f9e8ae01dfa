//! Plain map values and keys as printed, and `print`, `clear`, `zero` and `delete`.

use super::*;

#[test]
fn int_values_order_by_value_and_maps_by_name() {
    if !kernel_ready() {
        return;
    }
    let program = "begin { @zz = 1; @[3] = 30; @[1] = 10; @[2] = 20; @v[1] = -1; @v[2] = -5; @v[3] = 0; \
                   @aa = 2; @b = true; }";
    let expected = "\n\n@[1]: 10\n@[2]: 20\n@[3]: 30\n@aa: 2\n@b: true\n\
                    @v[2]: -5\n@v[1]: -1\n@v[3]: 0\n@zz: 1\n";
    run_program(program).assert_exact(0, expected, ATTACHED_1);
}

#[test]
fn tuple_keys_lose_their_outer_parentheses_only() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { @t["hi", 1] = 1; @t["hi", 2] = 5; @t["abc", 3] = 2; @n[(1, "hi"), 2] = 1; }"#;
    let expected = "\n\n@n[(1, hi), 2]: 1\n@t[hi, 1]: 1\n@t[abc, 3]: 2\n@t[hi, 2]: 5\n";
    run_program(program).assert_exact(0, expected, ATTACHED_1);
}

#[test]
fn tuple_and_string_values_order_by_key() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { @u[2] = (0, "yyy"); @u[1] = (1, "xxx"); @s[2] = "abc"; @s[1] = "zzz"; @v = "str"; }"#;
    let expected = "\n\n@s[1]: zzz\n@s[2]: abc\n@u[1]: (1, xxx)\n@u[2]: (0, yyy)\n@v: str\n";
    run_program(program).assert_exact(0, expected, ATTACHED_1);
}

/// String literals of any length as keys and values, and `print` of a short string.
#[test]
fn short_string_literals_as_keys_and_values() {
    if !kernel_ready() {
        return;
    }
    let program =
        r#"begin { @k["b"] = 1; @k["a"] = 5; @k["cc"] = 3; @s["k1"] = "v1"; @s["k0"] = "v"; print("s"); }"#;
    let expected = "s\n\n\n@k[b]: 1\n@k[cc]: 3\n@k[a]: 5\n@s[k0]: v\n@s[k1]: v1\n";
    run_program(program).assert_exact(0, expected, ATTACHED_1);
}

#[test]
fn comm_as_a_key_in_begin() {
    if !kernel_ready() {
        return;
    }
    run_program("begin { @[comm] = count(); }").assert_exact(0, "\n\n@[ferrotrace]: 1\n", ATTACHED_1);
}

#[test]
fn print_map_top_and_div_and_values() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { @[1] = 10; @[2] = 30; @[3] = 20; print(@); print(@, 2); print(@, 2, 10); print(5); print((1, "ab")); print("sss"); }"#;
    let expected = "@[1]: 10\n@[3]: 20\n@[2]: 30\n\
                    @[3]: 20\n@[2]: 30\n\
                    @[3]: 2\n@[2]: 3\n\
                    5\n(1, ab)\nsss\n\
                    \n\n@[1]: 10\n@[3]: 20\n@[2]: 30\n";
    run_program(program).assert_exact(0, expected, ATTACHED_1);
}

#[test]
fn print_hist_map() {
    if !kernel_ready() {
        return;
    }
    let program = "begin { @h = hist(5); @h = hist(9); print(@h); clear(@h); }";
    assert_transcript!(program, run_program(program));
}

#[test]
fn clear_zero_and_delete() {
    if !kernel_ready() {
        return;
    }
    let program = "begin { @a = 1; @b[1] = 2; @c = 3; @e[1] = count(); @e[2] = count(); \
                   clear(@a); zero(@c); delete(@b[1]); @d[1] = 1; @d[2] = 2; delete(@d, 1); zero(@e); }";
    run_program(program).assert_exact(0, "\n\n@c: 0\n@d[2]: 2\n@e[1]: 0\n@e[2]: 0\n", ATTACHED_1);
}

#[test]
fn print_after_clear_and_zero() {
    if !kernel_ready() {
        return;
    }
    let program =
        "begin { @x = count(); @x = count(); print(@x); zero(@x); print(@x); @y[1] = 5; clear(@y); print(@y); }";
    run_program(program).assert_exact(0, "@x: 2\n@x: 0\n\n\n@x: 0\n", ATTACHED_1);
}
