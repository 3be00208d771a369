//! Disassembly of emitted code for listings (`regarena compile` without
//! `--run`), through the same independent decoders the decode tests use:
//! iced-x86 for x64, yaxpeax-arm for aarch64. With the `disasm` feature
//! off, lines carry the bytes only.

use crate::Target;

/// One decoded instruction: offset, bytes, text.
pub struct Line {
    pub offset: u32,
    pub bytes: Vec<u8>,
    pub text: String,
}

/// Decodes `code`, whose first byte sits at `base`.
#[cfg(feature = "disasm")]
pub fn disassemble(target: Target, code: &[u8], base: u32) -> Vec<Line> {
    let mut lines = Vec::new();
    match target {
        Target::X64 => {
            use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
            let mut decoder = Decoder::with_ip(64, code, base as u64, DecoderOptions::NONE);
            let mut formatter = IntelFormatter::new();
            while decoder.can_decode() {
                let at = decoder.position();
                let inst = decoder.decode();
                let mut text = String::new();
                formatter.format(&inst, &mut text);
                lines.push(Line {
                    offset: base + at as u32,
                    bytes: code[at..at + inst.len()].to_vec(),
                    text,
                });
            }
        }
        Target::Aarch64 => {
            use yaxpeax_arch::{Decoder, U8Reader};
            let decoder = yaxpeax_arm::armv8::a64::InstDecoder::default();
            for (i, word) in code.chunks(4).enumerate() {
                let text = match decoder.decode(&mut U8Reader::new(word)) {
                    Ok(inst) => inst.to_string(),
                    Err(e) => format!("(undecodable: {e})"),
                };
                lines.push(Line {
                    offset: base + 4 * i as u32,
                    bytes: word.to_vec(),
                    text,
                });
            }
        }
    }
    lines
}

/// Without decoders: fixed-size chunks of bytes.
#[cfg(not(feature = "disasm"))]
pub fn disassemble(target: Target, code: &[u8], base: u32) -> Vec<Line> {
    let step = if target == Target::Aarch64 { 4 } else { 8 };
    code.chunks(step)
        .enumerate()
        .map(|(i, chunk)| Line {
            offset: base + (i * step) as u32,
            bytes: chunk.to_vec(),
            text: String::new(),
        })
        .collect()
}

#[cfg(all(test, feature = "disasm"))]
mod tests {
    use super::*;
    use crate::machinst::MachBuffer;

    #[test]
    fn listings_show_instruction_text() {
        let mut buf = MachBuffer::new();
        crate::x64::encode::push(&mut buf, 3);
        crate::x64::encode::ret(&mut buf);
        let lines = disassemble(Target::X64, buf.data(), 0x10);
        assert_eq!(
            lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
            ["push rbx", "ret"]
        );
        assert_eq!(lines[1].offset, 0x11);
        let mut buf = MachBuffer::new();
        crate::aarch64::encode::ret(&mut buf);
        assert_eq!(disassemble(Target::Aarch64, buf.data(), 0)[0].text, "ret");
    }
}
