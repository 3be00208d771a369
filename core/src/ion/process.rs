//! PLACEHOLDER: phase `process` (being implemented).
