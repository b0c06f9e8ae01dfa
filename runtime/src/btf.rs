//! Struct member offsets and function ids from the kernel's BTF (`/sys/kernel/btf/vmlinux`),
//! read by walking the type section once without building a type table: the few facts the
//! runtime needs cost a couple of milliseconds, where parsing every type costs tens.

use std::path::Path;

const MAGIC: u16 = 0xeb9f;
const HEADER_LEN: usize = 24;
/// `name_off`, `info`, `size`/`type`: the part every BTF type record starts with.
const TYPE_LEN: usize = 12;
const KIND_STRUCT: u32 = 4;
const KIND_FUNC: u32 = 12;

/// The kernel's BTF, as bytes.
#[derive(Clone)]
pub struct Btf {
    data: Vec<u8>,
}

impl std::fmt::Debug for Btf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Btf({} bytes)", self.data.len())
    }
}

impl Btf {
    /// The running kernel's BTF, if it has any.
    pub fn vmlinux() -> Option<Btf> {
        Btf::read(Path::new("/sys/kernel/btf/vmlinux"))
    }

    pub fn read(path: &Path) -> Option<Btf> {
        std::fs::read(path).ok().map(|data| Btf { data })
    }

    /// Whether the data starts with a BTF header whose sections fit in it.
    pub fn is_valid(&self) -> bool {
        Sections::of(&self.data).is_some()
    }

    /// The byte offset of `member` in `struct name`, if the struct has such a member that does
    /// not start inside a byte. The first complete struct of that name counts.
    pub fn member_offset(&self, name: &str, member: &str) -> Option<u32> {
        let sections = Sections::of(&self.data)?;
        let record = self
            .records(&sections)
            .find(|r| r.kind == KIND_STRUCT && r.vlen > 0 && sections.string(&self.data, r.name_off) == Some(name.as_bytes()))?;
        self.find_member(&sections, record.at + TYPE_LEN, record.vlen, record.kflag, member)
    }

    /// The type id of the function `name`: what a program that attaches to it (fentry, an
    /// iterator) names as its `attach_btf_id`.
    pub fn func_id(&self, name: &str) -> Option<u32> {
        let sections = Sections::of(&self.data)?;
        self.records(&sections)
            .find(|r| r.kind == KIND_FUNC && sections.string(&self.data, r.name_off) == Some(name.as_bytes()))
            .map(|r| r.id)
    }

    /// Every type record in order, until the end or a kind this reader does not know.
    fn records<'b>(&'b self, sections: &Sections) -> impl Iterator<Item = Record> + 'b {
        let end = sections.types.end;
        let mut at = sections.types.start;
        let mut id = 0;
        std::iter::from_fn(move || {
            if at + TYPE_LEN > end {
                return None;
            }
            let name_off = self.u32_at(at)?;
            let info = self.u32_at(at + 4)?;
            let (kind, vlen, kflag) = ((info >> 24) & 0x1f, (info & 0xffff) as usize, info >> 31 == 1);
            id += 1;
            let record = Record { id, at, name_off, kind, vlen, kflag };
            at += TYPE_LEN + extra_len(kind, vlen)?;
            Some(record)
        })
    }

    fn find_member(&self, sections: &Sections, first: usize, count: usize, kflag: bool, member: &str) -> Option<u32> {
        (0..count).map(|i| first + i * 12).find_map(|at| {
            let name = sections.string(&self.data, self.u32_at(at)?)?;
            let raw = self.u32_at(at + 8)?;
            let bits = if kflag { raw & 0x00ff_ffff } else { raw };
            (name == member.as_bytes() && bits % 8 == 0).then_some(bits / 8)
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        Some(u32::from_ne_bytes(self.data.get(at..at + 4)?.try_into().ok()?))
    }
}

/// One type record: its id (type ids count from 1), where it starts, and its header.
struct Record {
    id: u32,
    at: usize,
    name_off: u32,
    kind: u32,
    vlen: usize,
    kflag: bool,
}

/// Where the type records and strings lie in the data.
struct Sections {
    types: std::ops::Range<usize>,
    strings: std::ops::Range<usize>,
}

impl Sections {
    fn of(data: &[u8]) -> Option<Sections> {
        let word = |at: usize| Some(u32::from_ne_bytes(data.get(at..at + 4)?.try_into().ok()?) as usize);
        if data.len() < HEADER_LEN || u16::from_ne_bytes([data[0], data[1]]) != MAGIC {
            return None;
        }
        let header_len = word(4)?;
        let types = header_len + word(8)?..header_len + word(8)? + word(12)?;
        let strings = header_len + word(16)?..header_len + word(16)? + word(20)?;
        (types.end <= data.len() && strings.end <= data.len()).then_some(Sections { types, strings })
    }

    /// The NUL-terminated string at `offset` in the string section.
    fn string<'d>(&self, data: &'d [u8], offset: u32) -> Option<&'d [u8]> {
        let start = self.strings.start + offset as usize;
        let rest = data.get(start..self.strings.end)?;
        Some(&rest[..rest.iter().position(|&b| b == 0)?])
    }
}

/// Bytes that follow a type record of `kind` with `vlen` entries; `None` for a kind this
/// reader does not know, which ends the walk.
fn extra_len(kind: u32, vlen: usize) -> Option<usize> {
    Some(match kind {
        2 | 7 | 8 | 9 | 10 | 11 | 12 | 16 | 18 => 0,
        1 | 14 | 17 => 4,
        3 => 12,
        4 | 5 | 15 | 19 => vlen * 12,
        6 | 13 => vlen * 8,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::Btf;

    /// A BTF blob: an `int` (id 1), then `struct pair { int a; int b; }` (2), a bitfield
    /// struct `struct flags { int x:3; int y; }` (3: kind flag set, `y` at bit 32), a function
    /// prototype `int (void)` (4) and the function `open_it` of that prototype (5).
    fn sample() -> Vec<u8> {
        let strings = b"\0int\0pair\0a\0b\0flags\0x\0y\0open_it\0";
        let name = |s: &str| {
            let pattern = format!("\0{s}\0");
            strings.windows(pattern.len()).position(|w| w == pattern.as_bytes()).unwrap() as u32 + 1
        };
        let mut types: Vec<u32> = vec![name("int"), 1 << 24, 4, 32];
        types.extend([name("pair"), (4 << 24) | 2, 8, name("a"), 1, 0, name("b"), 1, 32]);
        types.extend([name("flags"), (1 << 31) | (4 << 24) | 2, 8, name("x"), 1, (3 << 24), name("y"), 1, 32]);
        types.extend([0, 13 << 24, 1, name("open_it"), (12 << 24) | 1, 4]);
        let type_bytes: Vec<u8> = types.iter().flat_map(|w| w.to_ne_bytes()).collect();
        let mut data = Vec::new();
        data.extend(0xeb9fu16.to_ne_bytes());
        data.extend([1, 0]);
        for word in [24, 0, type_bytes.len() as u32, type_bytes.len() as u32, strings.len() as u32] {
            data.extend(word.to_ne_bytes());
        }
        data.extend(type_bytes);
        data.extend(strings);
        data
    }

    #[test]
    fn finds_member_offsets_in_bytes() {
        let btf = Btf { data: sample() };
        assert_eq!(btf.member_offset("pair", "a"), Some(0));
        assert_eq!(btf.member_offset("pair", "b"), Some(4));
        assert_eq!(btf.member_offset("flags", "y"), Some(4));
        assert_eq!(btf.member_offset("flags", "x"), Some(0));
    }

    #[test]
    fn finds_a_functions_type_id_counting_from_one() {
        let btf = Btf { data: sample() };
        assert_eq!(btf.func_id("open_it"), Some(5));
        assert_eq!(btf.func_id("pair"), None);
        assert_eq!(btf.func_id("missing"), None);
    }

    #[test]
    fn missing_structs_members_and_broken_data_give_none() {
        let btf = Btf { data: sample() };
        assert_eq!(btf.member_offset("pair", "c"), None);
        assert_eq!(btf.member_offset("int", "a"), None);
        assert_eq!(btf.member_offset("nothing", "a"), None);
        let mut truncated = sample();
        truncated.truncate(40);
        assert_eq!(Btf { data: truncated }.member_offset("pair", "b"), None);
        assert_eq!(Btf { data: b"not btf at all, but long enough".to_vec() }.member_offset("pair", "a"), None);
    }
}
