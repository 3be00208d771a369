//! The isa tests as one test binary (one link of the decoders and the
//! allocator instead of four).

mod decode_aarch64;
mod decode_x64;
mod e2e;
mod plumbing;
