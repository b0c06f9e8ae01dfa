//! Type joins: the one type that holds two others (for maps, variables and ternaries), and the
//! storage form of a type (integers and enums widened to 64 bits).

use crate::manifest::MapValue;
use crate::types::{EnumTy, IntTy, Ty};

/// The form a value takes in maps, tuples and records: integers and enums become 64 bits of
/// the same signedness; everything else is stored as is.
pub fn storage(ty: &Ty) -> Ty {
    match ty {
        Ty::Int(int) => Ty::Int(IntTy { bits: 64, signed: int.signed }),
        Ty::Enum(enumeration) => {
            let int = IntTy { bits: 64, signed: enumeration.int.signed };
            Ty::Enum(Box::new(EnumTy { int, ..(**enumeration).clone() }))
        }
        Ty::Tuple(fields) => Ty::Tuple(fields.iter().map(storage).collect()),
        Ty::Record(record) => Ty::record(record.names.clone(), record.fields.iter().map(storage).collect()),
        other => other.clone(),
    }
}

/// The smallest type that holds values of both `a` and `b`, if they are compatible.
pub fn unify(a: &Ty, b: &Ty) -> Option<Ty> {
    match (a, b) {
        (Ty::Error, other) | (other, Ty::Error) => Some(other.clone()),
        // The same enum joins as itself (of the wider storage); an enum and another integer, as
        // integers.
        (Ty::Enum(x), Ty::Enum(y)) if x.name == y.name && x.constants == y.constants => {
            Some(if x.int.bits >= y.int.bits { a.clone() } else { b.clone() })
        }
        (Ty::Int(x), Ty::Int(y)) => Some(Ty::Int(IntTy { bits: x.bits.max(y.bits), signed: x.signed || y.signed })),
        (Ty::Enum(_) | Ty::Int(_), Ty::Enum(_) | Ty::Int(_)) => unify(&a.clone().decayed(), &b.clone().decayed()),
        (Ty::Str(x), Ty::Str(y)) => Some(Ty::Str(*x.max(y))),
        (Ty::Tuple(xs), Ty::Tuple(ys)) if xs.len() == ys.len() => {
            xs.iter().zip(ys).map(|(x, y)| unify(x, y)).collect::<Option<Vec<_>>>().map(Ty::Tuple)
        }
        (Ty::Record(x), Ty::Record(y)) if x.names.len() == y.names.len() => {
            let (xn, xs, yn, ys) = (&x.names, &x.fields, &y.names, &y.fields);
            // Records join by name, in `a`'s field order.
            let fields = xn
                .iter()
                .zip(xs)
                .map(|(name, x)| {
                    let at = yn.iter().position(|n| n == name)?;
                    unify(x, &ys[at])
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Ty::record(xn.clone(), fields))
        }
        (Ty::Ptr { pointee: p, user: x }, Ty::Ptr { pointee: q, user: y }) => {
            let pointee = if p == q { (**p).clone() } else { Ty::Void };
            Some(Ty::ptr(pointee, *x || *y))
        }
        (x, y) if x == y => Some(x.clone()),
        _ => None,
    }
}

/// Joins two uses of a map value: the same aggregation (signedness joined) or two plain types.
pub fn unify_map_value(a: &MapValue, b: &MapValue) -> Option<MapValue> {
    let int = |x: &IntTy, y: &IntTy| IntTy { bits: 64, signed: x.signed || y.signed };
    Some(match (a, b) {
        (MapValue::Plain(Ty::Error), other) | (other, MapValue::Plain(Ty::Error)) => other.clone(),
        (MapValue::Plain(x), MapValue::Plain(y)) => MapValue::Plain(storage(&unify(x, y)?)),
        (MapValue::Count, MapValue::Count) => MapValue::Count,
        (MapValue::Sum(x), MapValue::Sum(y)) => MapValue::Sum(int(x, y)),
        (MapValue::Min(x), MapValue::Min(y)) => MapValue::Min(int(x, y)),
        (MapValue::Max(x), MapValue::Max(y)) => MapValue::Max(int(x, y)),
        (MapValue::Avg(x), MapValue::Avg(y)) => MapValue::Avg(int(x, y)),
        (MapValue::Stats(x), MapValue::Stats(y)) => MapValue::Stats(int(x, y)),
        (x, y) if x == y => x.clone(),
        _ => return None,
    })
}

/// How a map value's kind is named in messages: `count()`, `hist(_, 2)`, `uint64`.
pub fn describe_map_value(value: &MapValue) -> String {
    match value {
        MapValue::Plain(ty) => format!("`{ty}`"),
        MapValue::Hist { k } if *k > 0 => format!("`hist(_, {k})`"),
        MapValue::Lhist { min, max, step } => format!("`lhist(_, {min}, {max}, {step})`"),
        MapValue::Tseries { interval_ns, intervals, agg } => format!("`tseries(_, {interval_ns}, {intervals}, \"{}\")`", agg.name()),
        other => format!("`{}()`", other.function_name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_widen_and_keep_sign() {
        assert_eq!(unify(&Ty::Int(IntTy::U8), &Ty::Int(IntTy::I16)), Some(Ty::Int(IntTy::I16)));
        assert_eq!(storage(&Ty::Int(IntTy::U32)), Ty::U64);
    }

    #[test]
    fn strings_take_the_larger_size() {
        assert_eq!(unify(&Ty::Str(16), &Ty::Str(1024)), Some(Ty::Str(1024)));
        assert_eq!(unify(&Ty::Str(16), &Ty::U64), None);
    }

    #[test]
    fn records_join_by_name_in_the_first_order() {
        let record = |names: &[&str], fields: Vec<Ty>| Ty::record(names.iter().map(|n| n.to_string()).collect(), fields);
        let ab = record(&["a", "b"], vec![Ty::Int(IntTy::U8), Ty::Str(2)]);
        let ba = record(&["b", "a"], vec![Ty::Str(8), Ty::U64]);
        assert_eq!(unify(&ab, &ba), Some(record(&["a", "b"], vec![Ty::U64, Ty::Str(8)])));
        assert_eq!(unify(&ab, &record(&["a", "c"], vec![Ty::U64, Ty::Str(8)])), None);
        assert_eq!(unify(&ab, &Ty::Tuple(vec![Ty::U64, Ty::Str(8)])), None);
    }

    #[test]
    fn aggregations_do_not_mix() {
        assert_eq!(unify_map_value(&MapValue::Count, &MapValue::Sum(IntTy::I64)), None);
        assert_eq!(unify_map_value(&MapValue::Hist { k: 0 }, &MapValue::Hist { k: 0 }), Some(MapValue::Hist { k: 0 }));
        assert_eq!(unify_map_value(&MapValue::Hist { k: 0 }, &MapValue::Hist { k: 1 }), None);
    }
}
