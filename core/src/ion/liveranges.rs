//! PLACEHOLDER: phase `liveranges` (being implemented).
