//! Benchmark harness of regarena against upstream regalloc2.
