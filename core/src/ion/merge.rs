//! PLACEHOLDER: phase `merge` (being implemented).
