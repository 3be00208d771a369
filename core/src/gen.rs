//! Random valid functions. PLACEHOLDER (being implemented).
