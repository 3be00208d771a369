//! PLACEHOLDER: phase `moves` (being implemented).
