//! Just enough of a BPF assembler for the kernel tests' hand-written programs.

/// BPF code: encoded instructions plus which `ld_imm64` loads which map (by manifest index).
#[derive(Default)]
pub struct Code {
    insns: Vec<[u8; 8]>,
    map_loads: Vec<(usize, usize)>,
}

impl Code {
    pub fn new() -> Code {
        Code::default()
    }

    fn insn(mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Code {
        let mut bytes = [0u8; 8];
        bytes[0] = code;
        bytes[1] = (src << 4) | (dst & 0x0f);
        bytes[2..4].copy_from_slice(&off.to_le_bytes());
        bytes[4..8].copy_from_slice(&imm.to_le_bytes());
        self.insns.push(bytes);
        self
    }

    /// `dst = imm`
    pub fn mov_imm(self, dst: u8, imm: i32) -> Code {
        self.insn(0xb7, dst, 0, 0, imm)
    }

    /// `dst = src`
    pub fn mov_reg(self, dst: u8, src: u8) -> Code {
        self.insn(0xbf, dst, src, 0, 0)
    }

    /// `dst += imm`
    pub fn add_imm(self, dst: u8, imm: i32) -> Code {
        self.insn(0x07, dst, 0, 0, imm)
    }

    /// `*(u32 *)(dst + off) = imm`
    pub fn store_w(self, dst: u8, off: i16, imm: i32) -> Code {
        self.insn(0x62, dst, 0, off, imm)
    }

    /// `*(u64 *)(dst + off) = imm`
    pub fn store_dw(self, dst: u8, off: i16, imm: i32) -> Code {
        self.insn(0x7a, dst, 0, off, imm)
    }

    /// `lock *(u64 *)(dst + off) += src`
    pub fn atomic_add_dw(self, dst: u8, off: i16, src: u8) -> Code {
        self.insn(0xdb, dst, src, off, 0)
    }

    /// `if dst == imm goto +off`
    pub fn jeq_imm(self, dst: u8, imm: i32, off: i16) -> Code {
        self.insn(0x15, dst, 0, off, imm)
    }

    /// `call helper`
    pub fn call(self, helper: i32) -> Code {
        self.insn(0x85, 0, 0, 0, helper)
    }

    pub fn exit(self) -> Code {
        self.insn(0x95, 0, 0, 0, 0)
    }

    /// `dst = &map` (a two-slot `ld_imm64` relocated against the map's symbol).
    pub fn load_map(mut self, dst: u8, map_index: usize) -> Code {
        self.map_loads.push((self.insns.len(), map_index));
        self.insn(0x18, dst, 1, 0, 0).insn(0, 0, 0, 0, 0)
    }

    /// `r0 = lookup(map, key u32 at fp-4)`; then if found, `*r0 += 1`. Clobbers r1-r5.
    pub fn count_in_array(self, map_index: usize) -> Code {
        self.store_w(10, -4, 0)
            .load_map(1, map_index)
            .mov_reg(2, 10)
            .add_imm(2, -4)
            .call(HELPER_MAP_LOOKUP_ELEM)
            .jeq_imm(0, 0, 2)
            .mov_imm(1, 1)
            .atomic_add_dw(0, 0, 1)
    }

    /// Sends the 16-byte record `{ action, payload }` through the ring buffer map.
    pub fn ringbuf_record(self, map_index: usize, action: i32, payload: i32) -> Code {
        self.store_dw(10, -24, action)
            .store_dw(10, -16, payload)
            .load_map(1, map_index)
            .mov_reg(2, 10)
            .add_imm(2, -24)
            .mov_imm(3, 16)
            .mov_imm(4, 0)
            .call(HELPER_RINGBUF_OUTPUT)
    }

    /// `return 0`
    pub fn return_zero(self) -> Code {
        self.mov_imm(0, 0).exit()
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.insns.concat()
    }

    pub fn len(&self) -> usize {
        self.insns.len()
    }

    pub fn map_loads(&self) -> Vec<(usize, usize)> {
        self.map_loads.clone()
    }
}

pub const HELPER_MAP_LOOKUP_ELEM: i32 = 1;
pub const HELPER_RINGBUF_OUTPUT: i32 = 130;
