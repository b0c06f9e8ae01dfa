//! Where a struct's or union's members go, as GCC lays them out on x86-64 (the System V ABI):
//! each member at the next offset its alignment allows, bitfields packed into the storage units
//! of their types, the size rounded up to the largest alignment. `packed` drops the alignment
//! of members (bitfields then follow one another bit by bit); `aligned(N)` raises it.

/// A member to place: its type's size and alignment in bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    pub size: u64,
    pub align: u64,
    /// Its width in bits, for a bitfield.
    pub bits: Option<u8>,
    /// Whether it has a name: an unnamed bitfield does not align the struct.
    pub named: bool,
    /// `__attribute__((aligned(N)))` on the member.
    pub aligned: Option<u64>,
}

/// Where the members went (bit offsets, in order), and the whole's size and alignment in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    pub offsets: Vec<u64>,
    pub size: u64,
    pub align: u64,
}

/// How a struct or union is laid out.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Packing {
    pub union: bool,
    pub packed: bool,
    pub aligned: Option<u64>,
}

/// The layout of `slots`; `None` when an offset or the size overflows.
pub(super) fn lay_out(slots: &[Slot], packing: Packing) -> Option<Layout> {
    let mut offsets = Vec::with_capacity(slots.len());
    // The next free bit (a struct) or the largest member's end (a union), in bits.
    let mut end: u64 = 0;
    let mut align: u64 = 1;
    for slot in slots {
        let natural = if packing.packed { 1 } else { slot.align.max(1) };
        let member_align = slot.aligned.map_or(natural, |aligned| aligned.max(natural));
        let at = match slot.bits {
            Some(0) => {
                // A zero-width bitfield: the next one starts in a new unit of its type.
                end = align_up(end, slot.align.max(1).checked_mul(8)?)?;
                offsets.push(end);
                continue;
            }
            Some(width) if packing.union => {
                end = end.max(u64::from(width));
                0
            }
            Some(width) => {
                let width = u64::from(width);
                let unit = slot.size.checked_mul(8)?;
                let straddles = unit > 0 && end / unit != (end + width - 1) / unit;
                if !packing.packed && straddles {
                    end = align_up(end, slot.align.max(1).checked_mul(8)?)?;
                }
                let at = end;
                end = end.checked_add(width)?;
                at
            }
            None if packing.union => {
                end = end.max(slot.size.checked_mul(8)?);
                0
            }
            None => {
                let at = align_up(end, member_align.checked_mul(8)?)?;
                end = at.checked_add(slot.size.checked_mul(8)?)?;
                at
            }
        };
        if slot.named || slot.bits.is_none() {
            align = align.max(member_align);
        }
        offsets.push(at);
    }
    if let Some(aligned) = packing.aligned {
        align = align.max(aligned);
    }
    let size = align_up(end.div_ceil(8), align)?;
    Some(Layout { offsets, size, align })
}

/// `n` rounded up to a multiple of `to`.
fn align_up(n: u64, to: u64) -> Option<u64> {
    n.checked_next_multiple_of(to)
}

#[cfg(test)]
mod tests {
    use super::{lay_out, Layout, Packing, Slot};

    fn field(size: u64) -> Slot {
        Slot { size, align: size, bits: None, named: true, aligned: None }
    }

    fn bits(size: u64, width: u8) -> Slot {
        Slot { size, align: size, bits: Some(width), named: true, aligned: None }
    }

    fn layout(offsets: &[u64], size: u64, align: u64) -> Option<Layout> {
        Some(Layout { offsets: offsets.to_vec(), size, align })
    }

    #[test]
    fn members_are_aligned_and_the_tail_padded() {
        // struct { char c; int i; short s; }: 0, 4, 8; size 12.
        assert_eq!(lay_out(&[field(1), field(4), field(2)], Packing::default()), layout(&[0, 32, 64], 12, 4));
        // struct { long l; char c; }: size 16.
        assert_eq!(lay_out(&[field(8), field(1)], Packing::default()), layout(&[0, 64], 16, 8));
    }

    #[test]
    fn bitfields_share_their_unit_until_one_would_straddle_it() {
        // struct { int a:3; int b:30; char c; }: b moves to bit 32, c to byte 8.
        assert_eq!(lay_out(&[bits(4, 3), bits(4, 30), field(1)], Packing::default()), layout(&[0, 32, 64], 12, 4));
        // struct { char a:4; char b:4; char c:4; }: 3 bits into the third byte.
        assert_eq!(lay_out(&[bits(1, 4), bits(1, 4), bits(1, 4)], Packing::default()), layout(&[0, 4, 8], 2, 1));
        // struct { int a:1; int :0; int b:1; }: the zero width starts a new int.
        let unnamed_zero = Slot { bits: Some(0), named: false, ..bits(4, 0) };
        assert_eq!(lay_out(&[bits(4, 1), unnamed_zero, bits(4, 1)], Packing::default()), layout(&[0, 32, 32], 8, 4));
        // struct { char c; long x:4; }: x shares the first long with c; size 8.
        assert_eq!(lay_out(&[field(1), bits(8, 4)], Packing::default()), layout(&[0, 8], 8, 8));
    }

    #[test]
    fn unions_overlap_and_packed_structs_do_not_pad() {
        let union = Packing { union: true, ..Packing::default() };
        assert_eq!(lay_out(&[field(1), field(8), field(2)], union), layout(&[0, 0, 0], 8, 8));
        let packed = Packing { packed: true, ..Packing::default() };
        assert_eq!(lay_out(&[field(1), field(4), field(2)], packed), layout(&[0, 8, 40], 7, 1));
        assert_eq!(lay_out(&[bits(4, 3), bits(4, 30)], packed), layout(&[0, 3], 5, 1));
        let aligned = Packing { aligned: Some(16), ..Packing::default() };
        assert_eq!(lay_out(&[field(4)], aligned), layout(&[0], 16, 16));
        let member = Slot { aligned: Some(8), ..field(4) };
        assert_eq!(lay_out(&[field(1), member], Packing::default()), layout(&[0, 64], 16, 8));
    }
}
