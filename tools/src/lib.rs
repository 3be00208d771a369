//! The library behind the `regarena` command: corpus reading, conversion
//! to and from upstream regalloc2, and the commands themselves.

pub mod commands;
pub mod corpus;
pub mod counting_alloc;
pub mod test_corpus;
pub mod upstream;
