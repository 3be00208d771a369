//! PLACEHOLDER: phase `requirement` (being implemented).
