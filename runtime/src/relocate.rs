//! A compiled object moved to this kernel's struct layouts: its CO-RE relocations (the
//! `.BTF.ext` records `ferrotrace_compiler::co_re` writes) resolved against this kernel's
//! BTF, and each instruction that held a member's offset patched to hold this kernel's. Only a
//! pack compiled on another kernel needs it: a fresh compile already has this kernel's
//! offsets, and the loader never reads the kernel's BTF.

use ferrotrace_compiler::btf::Btf;
use ferrotrace_compiler::co_re::{self, Relocation};
use ferrotrace_compiler::elf::{BTF_EXT_SECTION, BTF_SECTION};
use object::{Object, ObjectSection};

/// Patches every relocated instruction of `elf` for `kernel`; the relocations, each with its
/// offset before and after. An object without relocations is left as it is.
pub fn relocate_object(elf: &mut [u8], kernel: &Btf) -> Result<Vec<Relocation>, String> {
    let (relocations, sections) = {
        let file = object::File::parse(&*elf).map_err(|error| format!("the object is not ELF: {error}"))?;
        let data = |name: &str| file.section_by_name(name).map(|section| section.data().map(<[u8]>::to_vec)).transpose();
        let (Some(btf), Some(ext)) = (data(BTF_SECTION).map_err(|e| e.to_string())?, data(BTF_EXT_SECTION).map_err(|e| e.to_string())?) else {
            return Ok(Vec::new());
        };
        let relocations = co_re::relocations(&btf, &ext, kernel).map_err(|error| error.to_string())?;
        let mut sections = Vec::new();
        for relocation in &relocations {
            let section = file.section_by_name(&relocation.section).ok_or_else(|| format!("the object has no section `{}`", relocation.section))?;
            let (start, size) = section.file_range().ok_or_else(|| format!("section `{}` has no bytes", relocation.section))?;
            sections.push((start as usize, size as usize));
        }
        (relocations, sections)
    };
    for (relocation, (start, size)) in relocations.iter().zip(sections) {
        let code = elf.get_mut(start..start + size).ok_or_else(|| format!("section `{}` is past the object's end", relocation.section))?;
        relocation.apply(code).map_err(|error| error.to_string())?;
    }
    Ok(relocations)
}
