//! The symbolic checker. PLACEHOLDER (being implemented).
