//! Unit tests of the single-pass allocator: small functions allocated and
//! proved by the checker.
