//! A writer of small BTF blobs for the reader's tests: records as words, names as they come.

use crate::btf::table;

/// A BTF blob under construction: type records, then strings.
pub struct Builder {
    types: Vec<u32>,
    strings: Vec<u8>,
    /// The string offset this blob's strings start at (a split blob's continue its base's).
    first_str: u32,
    next_id: u32,
}

impl Builder {
    /// A base blob: ids from 1, strings starting with the empty one.
    pub fn new() -> Builder {
        Builder { types: Vec::new(), strings: vec![0], first_str: 0, next_id: 1 }
    }

    /// A split blob over a base built by `base`: ids and strings continue the base's.
    pub fn split(base: &Builder) -> Builder {
        let first_str = base.first_str + base.strings.len() as u32;
        Builder { types: Vec::new(), strings: Vec::new(), first_str, next_id: base.next_id }
    }

    /// The offset of a new string `name`; 0 (the base's empty string) for an empty one.
    pub fn name(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        let offset = self.first_str + self.strings.len() as u32;
        self.strings.extend(name.as_bytes());
        self.strings.push(0);
        offset
    }

    /// A record: head then `tail` words; returns its id.
    pub fn add(&mut self, name: &str, kind: u8, kind_flag: bool, vlen: u32, size_or_type: u32, tail: &[u32]) -> u32 {
        let name = self.name(name);
        let info = (u32::from(kind_flag) << 31) | (u32::from(kind) << 24) | vlen;
        self.types.extend([name, info, size_or_type]);
        self.types.extend(tail);
        self.next_id += 1;
        self.next_id - 1
    }

    /// An integer: `encoding` is BTF's (1 signed, 2 char, 4 bool).
    pub fn int(&mut self, name: &str, size: u32, bits: u32, bit_offset: u32, encoding: u32) -> u32 {
        self.add(name, table::INT, false, 0, size, &[(encoding << 24) | (bit_offset << 16) | bits])
    }

    /// A kind whose record is only its head, referring to `target`.
    pub fn refers(&mut self, name: &str, kind: u8, target: u32) -> u32 {
        self.add(name, kind, false, 0, target, &[])
    }

    /// A struct (or union, by `kind`) whose members are (name, type, offset word).
    pub fn composite(&mut self, kind: u8, name: &str, size: u32, kind_flag: bool, members: &[(&str, u32, u32)]) -> u32 {
        let tail: Vec<u32> = members.iter().flat_map(|&(name, ty, offset)| [self.name(name), ty, offset]).collect();
        self.add(name, kind, kind_flag, members.len() as u32, size, &tail)
    }

    /// A 32-bit enum of (name, value).
    pub fn enum32(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, i32)]) -> u32 {
        let tail: Vec<u32> = values.iter().flat_map(|&(name, value)| [self.name(name), value as u32]).collect();
        self.add(name, table::ENUM, signed, values.len() as u32, size, &tail)
    }

    /// A 64-bit enum of (name, value).
    pub fn enum64(&mut self, name: &str, signed: bool, values: &[(&str, u64)]) -> u32 {
        let tail: Vec<u32> =
            values.iter().flat_map(|&(name, value)| [self.name(name), value as u32, (value >> 32) as u32]).collect();
        self.add(name, table::ENUM64, signed, values.len() as u32, 8, &tail)
    }

    /// A pointer to `target`.
    pub fn ptr(&mut self, target: u32) -> u32 {
        self.refers("", table::PTR, target)
    }

    /// A typedef `name` of `target`.
    pub fn typedef(&mut self, name: &str, target: u32) -> u32 {
        self.refers(name, table::TYPEDEF, target)
    }

    /// A global function `name` of the prototype `proto`.
    pub fn func(&mut self, name: &str, proto: u32) -> u32 {
        self.add(name, table::FUNC, false, 1, proto, &[])
    }

    /// A struct whose members are (name, type, byte offset).
    pub fn strukt(&mut self, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
        let members: Vec<(&str, u32, u32)> = members.iter().map(|&(name, ty, offset)| (name, ty, offset * 8)).collect();
        self.composite(table::STRUCT, name, size, false, &members)
    }

    /// A function prototype of (name, type) parameters.
    pub fn proto(&mut self, ret: u32, params: &[(&str, u32)]) -> u32 {
        let tail: Vec<u32> = params.iter().flat_map(|&(name, ty)| [self.name(name), ty]).collect();
        self.add("", table::FUNC_PROTO, false, params.len() as u32, ret, &tail)
    }

    /// The blob: header, types, strings.
    pub fn finish(&self) -> Vec<u8> {
        let types: Vec<u8> = self.types.iter().flat_map(|word| word.to_ne_bytes()).collect();
        let mut data = Vec::new();
        data.extend(0xeb9fu16.to_ne_bytes());
        data.extend([1, 0]);
        for word in [24, 0, types.len() as u32, types.len() as u32, self.strings.len() as u32] {
            data.extend(word.to_ne_bytes());
        }
        data.extend(types);
        data.extend(&self.strings);
        data
    }
}
