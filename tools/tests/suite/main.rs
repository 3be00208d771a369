//! The allocator test suite as one test binary: every module below
//! instantiates the allocators' generic pipelines for the corpus's
//! function type, so one binary compiles them once instead of once per
//! file (the test build's largest cost). A test that needs its own
//! global allocator (`counting_alloc`, `warm_ctx`) or only runs the
//! binary (`cli`, `compile_cli`) stays a file of its own.

mod bit_layout;
mod checker_mutations;
mod checker_pruning;
mod checker_vs_upstream;
mod common;
mod corpus_adapter;
mod dump;
mod gen_valid;
mod ion_front;
mod ion_fuzz;
mod ion_moves;
mod ion_process;
mod ion_scaling;
mod known_crashes;
