//! A writer of BTF blobs: the C types a script defines, standing alone or continuing the
//! kernel's ids and strings (read back with [`Btf::parse`] or [`Btf::parse_overlay`]).

use super::table::{self, HEAD_LEN};
use super::{Btf, BtfError, TypeId};

/// A BTF blob under construction. Each record is its words, head first; a record may be
/// reserved first (a struct its own members point to) and written later.
pub struct Writer {
    records: Vec<Vec<u32>>,
    strings: Vec<u8>,
    /// The id of the first record: 1, or the id after the base's last.
    first_id: u32,
    /// The string offset the blob's strings start at: 0, or where the base's end.
    first_str: u32,
}

/// A member of a struct or union to write: its name (empty for an anonymous struct or union
/// member), type, offset in bits from the start, and width when it is a bitfield.
#[derive(Debug, Clone, Copy)]
pub struct WrittenMember<'a> {
    pub name: &'a str,
    pub ty: TypeId,
    pub bit_offset: u32,
    pub bitfield_size: Option<u8>,
}

/// The largest bit offset a member of a struct with bitfields can have (24 bits in BTF).
const MAX_BITFIELD_OFFSET: u32 = 0x00ff_ffff;

impl Writer {
    /// A blob standing alone, or continuing `base`'s ids and strings.
    pub fn new(base: Option<&Btf>) -> Result<Writer, BtfError> {
        let (first_id, first_str, strings) = match base {
            Some(base) => {
                let (first_id, first_str) = base.continued_at()?;
                (first_id, first_str, Vec::new())
            }
            // A blob of its own starts its strings with the empty one.
            None => (1, 0, vec![0]),
        };
        Ok(Writer { records: Vec::new(), strings, first_id, first_str })
    }

    /// The id of a record written later with [`Writer::composite`]; until then it is an
    /// anonymous forward declaration.
    pub fn reserve(&mut self) -> Result<TypeId, BtfError> {
        self.push(0, table::FWD, false, 0, 0, &[])
    }

    /// An integer of `size` bytes.
    pub fn int(&mut self, name: &str, size: u32, signed: bool, char: bool, bool: bool) -> Result<TypeId, BtfError> {
        let encoding = u32::from(signed) | (u32::from(char) << 1) | (u32::from(bool) << 2);
        let name = self.name(name)?;
        self.push(name, table::INT, false, 0, size, &[(encoding << 24) | (size * 8)])
    }

    /// A floating-point type of `size` bytes.
    pub fn float(&mut self, name: &str, size: u32) -> Result<TypeId, BtfError> {
        let name = self.name(name)?;
        self.push(name, table::FLOAT, false, 0, size, &[])
    }

    /// A pointer to `target`.
    pub fn pointer(&mut self, target: TypeId) -> Result<TypeId, BtfError> {
        self.push(0, table::PTR, false, 0, target.0, &[])
    }

    /// `len` elements of `elem`, indexed by the integer type `index`.
    pub fn array(&mut self, elem: TypeId, index: TypeId, len: u32) -> Result<TypeId, BtfError> {
        self.push(0, table::ARRAY, false, 0, 0, &[elem.0, index.0, len])
    }

    /// `typedef target name`.
    pub fn typedef(&mut self, name: &str, target: TypeId) -> Result<TypeId, BtfError> {
        let name = self.name(name)?;
        self.push(name, table::TYPEDEF, false, 0, target.0, &[])
    }

    /// `const target`, or `volatile target` when `volatile`.
    pub fn qualified(&mut self, target: TypeId, volatile: bool) -> Result<TypeId, BtfError> {
        self.push(0, if volatile { table::VOLATILE } else { table::CONST }, false, 0, target.0, &[])
    }

    /// A function type returning `ret` (`TypeId::VOID` for none) that takes `params` (name and
    /// type; a name may be empty), then more when `variadic`.
    pub fn prototype(&mut self, ret: TypeId, params: &[(&str, TypeId)], variadic: bool) -> Result<TypeId, BtfError> {
        let mut tail = Vec::with_capacity(params.len() * 2 + 2);
        for &(name, ty) in params {
            tail.push(self.name(name)?);
            tail.push(ty.0);
        }
        if variadic {
            tail.extend([0, 0]);
        }
        self.push(0, table::FUNC_PROTO, false, tail.len() / 2, ret.0, &tail)
    }

    /// The global function `name` of type `proto` (a [`Writer::prototype`]).
    pub fn function(&mut self, name: &str, proto: TypeId) -> Result<TypeId, BtfError> {
        let name = self.name(name)?;
        // vlen is the linkage: 1, global.
        self.push(name, table::FUNC, false, 1, proto.0, &[])
    }

    /// A struct or union declared and not defined.
    pub fn forward(&mut self, name: &str, union: bool) -> Result<TypeId, BtfError> {
        let name = self.name(name)?;
        self.push(name, table::FWD, union, 0, 0, &[])
    }

    /// An enum of `size` bytes (4 or 8) and its constants as canonical 64-bit values.
    pub fn enumeration(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, u64)]) -> Result<TypeId, BtfError> {
        let name = self.name(name)?;
        let wide = size > 4;
        let mut tail = Vec::with_capacity(values.len() * 3);
        for &(value_name, value) in values {
            tail.push(self.name(value_name)?);
            tail.push(value as u32);
            if wide {
                tail.push((value >> 32) as u32);
            }
        }
        let kind = if wide { table::ENUM64 } else { table::ENUM };
        self.push(name, kind, signed, values.len(), size, &tail)
    }

    /// Writes the struct (or union) `id`, which [`Writer::reserve`] gave, of `size` bytes.
    pub fn composite(
        &mut self,
        id: TypeId,
        union: bool,
        name: &str,
        size: u32,
        members: &[WrittenMember<'_>],
    ) -> Result<(), BtfError> {
        let name = self.name(name)?;
        let bitfields = members.iter().any(|member| member.bitfield_size.is_some());
        let mut tail = Vec::with_capacity(members.len() * 3);
        for member in members {
            tail.push(self.name(member.name)?);
            tail.push(member.ty.0);
            tail.push(match member.bitfield_size {
                _ if !bitfields => member.bit_offset,
                _ if member.bit_offset > MAX_BITFIELD_OFFSET => {
                    return Err(BtfError::Malformed { id: id.0, what: "bitfield offset past 24 bits" })
                }
                size => (u32::from(size.unwrap_or(0)) << 24) | member.bit_offset,
            });
        }
        let kind = if union { table::UNION } else { table::STRUCT };
        let record = Self::record(name, kind, bitfields, members.len(), size, &tail)?;
        let slot = id.0.checked_sub(self.first_id).and_then(|index| self.records.get_mut(index as usize));
        *slot.ok_or(BtfError::NoSuchType { id: id.0 })? = record;
        Ok(())
    }

    /// The blob: header, type records, strings.
    pub fn finish(self) -> Vec<u8> {
        let types: Vec<u8> = self.records.iter().flatten().flat_map(|word| word.to_ne_bytes()).collect();
        let mut data = Vec::with_capacity(24 + types.len() + self.strings.len());
        data.extend(0xeb9f_u16.to_ne_bytes());
        data.extend([1, 0]);
        for word in [24, 0, types.len() as u32, types.len() as u32, self.strings.len() as u32] {
            data.extend(word.to_ne_bytes());
        }
        data.extend(types);
        data.extend(self.strings);
        data
    }

    /// A string in the blob's string section that no type names (an access string, a section
    /// name), at the offset it returns.
    pub fn string(&mut self, text: &str) -> Result<u32, BtfError> {
        self.name(text)
    }

    /// The offset of a new string `name`; 0 (the empty string) for an empty one.
    fn name(&mut self, name: &str) -> Result<u32, BtfError> {
        if name.is_empty() {
            return Ok(0);
        }
        let offset = u32::try_from(self.strings.len()).ok().and_then(|len| len.checked_add(self.first_str));
        self.strings.extend(name.as_bytes());
        self.strings.push(0);
        offset.ok_or(BtfError::TooManyTypes)
    }

    /// Appends a record; its id.
    fn push(&mut self, name: u32, kind: u8, kind_flag: bool, vlen: usize, size_or_type: u32, tail: &[u32]) -> Result<TypeId, BtfError> {
        let id = u32::try_from(self.records.len()).ok().and_then(|n| n.checked_add(self.first_id));
        let id = id.ok_or(BtfError::TooManyTypes)?;
        self.records.push(Self::record(name, kind, kind_flag, vlen, size_or_type, tail)?);
        Ok(TypeId(id))
    }

    /// The words of one record.
    fn record(name: u32, kind: u8, kind_flag: bool, vlen: usize, size_or_type: u32, tail: &[u32]) -> Result<Vec<u32>, BtfError> {
        let vlen = u32::try_from(vlen).ok().filter(|vlen| *vlen <= 0xffff).ok_or(BtfError::TooManyTypes)?;
        let info = (u32::from(kind_flag) << 31) | (u32::from(kind) << 24) | vlen;
        let mut words = Vec::with_capacity(HEAD_LEN / 4 + tail.len());
        words.extend([name, info, size_or_type]);
        words.extend(tail);
        Ok(words)
    }
}
