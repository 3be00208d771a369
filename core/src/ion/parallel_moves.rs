//! PLACEHOLDER: phase `parallel_moves` (being implemented).
