//! [`MachBuffer`]: the byte buffer code is emitted into, with labels and
//! label fixups.
//!
//! A branch to a label records a fixup (where the field is, which label,
//! what kind of field) at the moment it is emitted; nothing is patched until
//! [`MachBuffer::finish`], when every label is bound and every instruction's
//! bytes exist. Patching at bind time instead would write into bytes not yet
//! emitted (the failure a previous port hit). A target out of the field's
//! encodable range is an error, never a truncated displacement.

use core::fmt;

/// A position in the code, bound once with [`MachBuffer::bind_label`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MachLabel(pub u32);

/// The kind of field a label reference patches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelUse {
    /// x64: a little-endian 32-bit displacement relative to the end of the
    /// field (jmp/jcc/call rel32).
    X64Rel32,
    /// aarch64: `imm26` in bits 0..26 of the word, in words from the word's
    /// own address (b, bl): ±128 MiB.
    A64Branch26,
    /// aarch64: `imm19` in bits 5..24, in words (b.cond, cbz): ±1 MiB.
    A64Branch19,
}

impl LabelUse {
    /// Size of the patched instruction field in bytes.
    fn field_size(self) -> usize {
        4
    }
}

/// Why [`MachBuffer::finish`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BufferError {
    /// A label was referenced but never bound.
    UnboundLabel(MachLabel),
    /// A branch target lies outside what the field can encode.
    OutOfRange {
        at: u32,
        label: MachLabel,
        kind: LabelUse,
        distance: i64,
    },
}

impl fmt::Display for BufferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BufferError::UnboundLabel(l) => write!(f, "label {} used but never bound", l.0),
            BufferError::OutOfRange {
                at,
                label,
                kind,
                distance,
            } => write!(
                f,
                "branch at offset {at} to label {} is out of range for {kind:?} (distance {distance})",
                label.0
            ),
        }
    }
}

impl std::error::Error for BufferError {}

#[derive(Clone, Copy, Debug)]
struct Fixup {
    /// Offset of the instruction (aarch64) or field (x64) to patch.
    at: u32,
    label: MachLabel,
    kind: LabelUse,
}

/// Code bytes plus labels and pending fixups.
#[derive(Default, Debug)]
pub struct MachBuffer {
    data: Vec<u8>,
    /// `label_offsets[l]`: where label `l` is bound, if it is yet.
    label_offsets: Vec<Option<u32>>,
    fixups: Vec<Fixup>,
}

impl MachBuffer {
    pub fn new() -> Self {
        Self::default()
    }
    /// Current end of the code.
    pub fn cur_offset(&self) -> u32 {
        self.data.len() as u32
    }
    pub fn put1(&mut self, b: u8) {
        self.data.push(b);
    }
    pub fn put_bytes(&mut self, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
    }
    pub fn put4(&mut self, word: u32) {
        self.data.extend_from_slice(&word.to_le_bytes());
    }
    /// The bytes emitted so far (fixups not yet applied).
    pub fn data(&self) -> &[u8] {
        &self.data
    }
    /// A fresh, unbound label.
    pub fn get_label(&mut self) -> MachLabel {
        self.label_offsets.push(None);
        MachLabel(self.label_offsets.len() as u32 - 1)
    }
    /// Binds `label` to the current offset. Binding twice is a bug.
    pub fn bind_label(&mut self, label: MachLabel) {
        let slot = &mut self.label_offsets[label.0 as usize];
        debug_assert!(slot.is_none(), "label bound twice");
        *slot = Some(self.data.len() as u32);
    }
    pub fn label_offset(&self, label: MachLabel) -> Option<u32> {
        self.label_offsets.get(label.0 as usize).copied().flatten()
    }
    /// Records that the field at `at` refers to `label`; patched in `finish`.
    pub fn use_label_at_offset(&mut self, at: u32, label: MachLabel, kind: LabelUse) {
        self.fixups.push(Fixup { at, label, kind });
    }

    /// Resolves every fixup and returns the finished code.
    pub fn finish(mut self) -> Result<Vec<u8>, BufferError> {
        for fixup in core::mem::take(&mut self.fixups) {
            let target = self
                .label_offset(fixup.label)
                .ok_or(BufferError::UnboundLabel(fixup.label))?;
            let at = fixup.at as usize;
            debug_assert!(at + fixup.kind.field_size() <= self.data.len());
            let out_of_range = |distance: i64| BufferError::OutOfRange {
                at: fixup.at,
                label: fixup.label,
                kind: fixup.kind,
                distance,
            };
            match fixup.kind {
                LabelUse::X64Rel32 => {
                    let distance = target as i64 - (fixup.at as i64 + 4);
                    let rel = i32::try_from(distance).map_err(|_| out_of_range(distance))?;
                    self.data[at..at + 4].copy_from_slice(&rel.to_le_bytes());
                }
                LabelUse::A64Branch26 | LabelUse::A64Branch19 => {
                    let distance = target as i64 - fixup.at as i64;
                    let bits = if fixup.kind == LabelUse::A64Branch26 {
                        26
                    } else {
                        19
                    };
                    let words = distance / 4;
                    let limit = 1i64 << (bits - 1);
                    if distance % 4 != 0 || words < -limit || words >= limit {
                        return Err(out_of_range(distance));
                    }
                    let mut word = u32::from_le_bytes(self.data[at..at + 4].try_into().unwrap());
                    let field = (words as u32) & ((1u32 << bits) - 1);
                    word = if bits == 26 {
                        (word & !0x03ff_ffff) | field
                    } else {
                        (word & !(0x7_ffff << 5)) | (field << 5)
                    };
                    self.data[at..at + 4].copy_from_slice(&word.to_le_bytes());
                }
            }
        }
        Ok(self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_fixup_is_resolved_at_finish() {
        let mut buf = MachBuffer::new();
        let l = buf.get_label();
        buf.put1(0xe9);
        let at = buf.cur_offset();
        buf.use_label_at_offset(at, l, LabelUse::X64Rel32);
        buf.put4(0);
        buf.put1(0x90);
        buf.bind_label(l);
        buf.put1(0xc3);
        let code = buf.finish().unwrap();
        assert_eq!(code, vec![0xe9, 1, 0, 0, 0, 0x90, 0xc3]);
    }

    #[test]
    fn backward_a64_branch_and_range_error() {
        let mut buf = MachBuffer::new();
        let l = buf.get_label();
        buf.bind_label(l);
        buf.put4(0xd503201f);
        let at = buf.cur_offset();
        buf.use_label_at_offset(at, l, LabelUse::A64Branch26);
        buf.put4(0x1400_0000);
        let code = buf.finish().unwrap();
        assert_eq!(
            u32::from_le_bytes(code[4..8].try_into().unwrap()),
            0x17ff_ffff
        );

        let mut far = MachBuffer::new();
        let l = far.get_label();
        far.use_label_at_offset(0, l, LabelUse::A64Branch19);
        far.put4(0x5400_0000);
        far.put_bytes(&vec![0; 1 << 20]);
        far.bind_label(l);
        assert!(matches!(far.finish(), Err(BufferError::OutOfRange { .. })));

        let mut unbound = MachBuffer::new();
        let l = unbound.get_label();
        unbound.use_label_at_offset(0, l, LabelUse::X64Rel32);
        unbound.put4(0);
        assert_eq!(unbound.finish(), Err(BufferError::UnboundLabel(l)));
    }
}
