//! PLACEHOLDER: phase `spill` (being implemented).
