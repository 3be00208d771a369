//! PLACEHOLDER: phase `redundant_moves` (being implemented).
