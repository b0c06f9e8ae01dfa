//! Lookups by name: types by name within a [`Family`], and enum constants by name across every
//! enum. Each index is built on its first lookup, from the names of its family only: a sorted
//! table of (name hash, id), so that no name is copied; a hit is checked against the name.

use std::sync::OnceLock;

use super::kind::{Enumerator, Kind};
use super::table::{self, HEAD_LEN};
use super::{Btf, TypeId};

/// The kinds a name is looked up among, as C keeps them apart: `struct sock` and a function
/// `sock` are different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Structs and unions (`struct task_struct`, `union bpf_attr`); forward declarations not.
    StructOrUnion,
    /// Enums, 32- and 64-bit.
    Enum,
    /// Typedefs (`u32`, `pid_t`, `btf_trace_sched_switch`).
    Typedef,
    /// Functions (`FUNC`): what fentry and fexit attach to.
    Func,
    /// Integers and floating-point types (`unsigned int`, `_Bool`, `double`).
    Number,
}

impl Family {
    /// How many families there are.
    const COUNT: usize = 5;

    fn of(kind: u8) -> Option<Family> {
        match kind {
            table::STRUCT | table::UNION => Some(Family::StructOrUnion),
            table::ENUM | table::ENUM64 => Some(Family::Enum),
            table::TYPEDEF => Some(Family::Typedef),
            table::FUNC => Some(Family::Func),
            table::INT | table::FLOAT => Some(Family::Number),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The name indexes of one blob, each built on first use.
#[derive(Default, Clone)]
pub(super) struct Indexes {
    /// Per family: (name hash, type id), sorted.
    types: [OnceLock<Vec<(u64, u32)>>; Family::COUNT],
    /// (name hash, enum id, position in the enum), sorted.
    enumerators: OnceLock<Vec<(u64, u32, u32)>>,
}

impl Btf {
    /// The type named `name` in `family`: the first by id, except that among structs and
    /// unions one with members is preferred to an empty one. A split BTF looks in its base
    /// first, an overlay in itself first. `None` also when the data is malformed (see
    /// [`Btf::validate`]).
    pub fn find(&self, name: &str, family: Family) -> Option<TypeId> {
        let all = self.find_all(name, family);
        let complete =
            |id: &&TypeId| family != Family::StructOrUnion || self.head(**id).is_ok_and(|(_, head)| head.vlen > 0);
        all.iter().find(complete).or(all.first()).copied()
    }

    /// The type named `name` in `family` among this blob's own types, not its base's: a
    /// module's function, where the kernel image may have one of the same name.
    pub fn find_own(&self, name: &str, family: Family) -> Option<TypeId> {
        self.find_all(name, family).into_iter().find(|id| id.0 >= self.first_id)
    }

    /// Every type named `name` in `family`, in id order (the kernel has a few names twice);
    /// an overlay's own first.
    pub fn find_all(&self, name: &str, family: Family) -> Vec<TypeId> {
        let mut found = self.base.as_deref().map_or_else(Vec::new, |base| base.find_all(name, family));
        let index = self.names.types[family.index()].get_or_init(|| self.type_index(family));
        let own = hits(index, hash(name.as_bytes()), |entry| entry.0).iter().map(|&(_, id)| TypeId(id)).filter(|&id| {
            self.head(id).is_ok_and(|(_, head)| self.str_bytes(head.name_off) == Ok(name.as_bytes()))
        });
        match self.shadows {
            true => found.splice(0..0, own),
            false => found.splice(found.len().., own),
        };
        found
    }

    /// The names of every type of `family`, the base's first, unsorted and possibly repeated
    /// (the kernel has a few names twice): for wildcards and listings.
    pub fn names(&self, family: Family) -> Vec<&str> {
        let mut names = self.base.as_deref().map_or_else(Vec::new, |base| base.names(family));
        names.extend(self.own_names(family));
        names
    }

    /// The names of the types of `family` in this blob itself, not its base (a module's own
    /// functions), unsorted and possibly repeated.
    pub fn own_names(&self, family: Family) -> Vec<&str> {
        let mut names = Vec::new();
        let index = self.names.types[family.index()].get_or_init(|| self.type_index(family));
        for &(_, id) in index {
            let name = self.head(TypeId(id)).ok().and_then(|(_, head)| self.str_bytes(head.name_off).ok());
            if let Some(name) = name.and_then(|bytes| std::str::from_utf8(bytes).ok()) {
                names.push(name);
            }
        }
        names
    }

    /// The enum constant `name` (`PIDTYPE_PID`, `BPF_MAP_TYPE_HASH`) in any enum: the enum's id
    /// and the constant. The first enum by id has it when several do, an overlay's own first.
    pub fn enumerator(&self, name: &str) -> Option<(TypeId, Enumerator<'_>)> {
        let in_base = || self.base.as_deref().and_then(|base| base.enumerator(name));
        match self.shadows {
            true => self.own_enumerator(name).or_else(in_base),
            false => in_base().or_else(|| self.own_enumerator(name)),
        }
    }

    /// The enum constant `name` among this blob's own enums.
    fn own_enumerator(&self, name: &str) -> Option<(TypeId, Enumerator<'_>)> {
        let index = self.names.enumerators.get_or_init(|| self.enumerator_index());
        hits(index, hash(name.as_bytes()), |entry| entry.0).iter().find_map(|&(_, id, position)| {
            let Kind::Enum { values, .. } = self.kind(TypeId(id)).ok()? else { return None };
            let value = *values.get(position as usize)?;
            (value.name == name).then_some((TypeId(id), value))
        })
    }

    /// The name of `value` (a canonical 64-bit value, as [`Enumerator::value`]) in the enum
    /// `id`, for printing; the first constant with that value.
    pub fn enumerator_name(&self, id: TypeId, value: u64) -> Option<&str> {
        let Kind::Enum { values, .. } = self.kind(self.resolve(id)?).ok()? else { return None };
        values.into_iter().find(|enumerator| enumerator.value == value).map(|enumerator| enumerator.name)
    }

    /// The named types of `family` in this blob, by name hash.
    fn type_index(&self, family: Family) -> Vec<(u64, u32)> {
        let mut index: Vec<(u64, u32)> = self
            .own_ids()
            .filter_map(|id| {
                let (_, head) = self.head(id).ok()?;
                if Family::of(head.kind) != Some(family) || head.name_off == 0 {
                    return None;
                }
                Some((hash(self.str_bytes(head.name_off).ok()?), id.0))
            })
            .collect();
        index.sort_unstable();
        index
    }

    /// The constants of every enum in this blob, by name hash.
    fn enumerator_index(&self) -> Vec<(u64, u32, u32)> {
        let mut index = Vec::new();
        for id in self.own_ids() {
            let Ok((_, head)) = self.head(id) else { continue };
            let stride = match head.kind {
                table::ENUM => 8,
                table::ENUM64 => 12,
                _ => continue,
            };
            for position in 0..head.vlen {
                let Some(name_off) = super::header::word(&self.data, head.at + HEAD_LEN + stride * position) else {
                    break;
                };
                if let Ok(name) = self.str_bytes(name_off) {
                    index.push((hash(name), id.0, position as u32));
                }
            }
        }
        index.sort_unstable();
        index
    }
}

/// The entries of a sorted `index` whose hash is `hash`.
fn hits<T>(index: &[T], hash: u64, key: impl Fn(&T) -> u64) -> &[T] {
    let start = index.partition_point(|entry| key(entry) < hash);
    let len = index[start..].partition_point(|entry| key(entry) == hash);
    &index[start..start + len]
}

/// FNV-1a: fast on short names, and a collision only costs a string compare.
fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}
