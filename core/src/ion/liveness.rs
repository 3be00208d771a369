//! PLACEHOLDER: phase `liveness` (being implemented).
