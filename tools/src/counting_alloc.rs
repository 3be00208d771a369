//! A counting global allocator: heap bytes in use, their peak, and the
//! number of allocations, over [`std::alloc::System`] (or any allocator).
//!
//! Reads: every allocation and free of the process, once registered with
//! `#[global_allocator]`. Writes: a few relaxed atomic counters, nothing
//! else; the memory itself comes from the wrapped allocator unchanged.
//!
//! Used by `regarena compare` to report peak heap bytes and allocations per
//! function for ours and upstream, with a warm `Ctx`:
//!
//! ```text
//! #[global_allocator]
//! static HEAP: CountingAlloc = CountingAlloc::system();
//!
//! let (output, usage) = HEAP.measure(|| regarena::run_with_ctx(&f, &env, &opts, &mut ctx).is_ok());
//! println!("{} bytes above the start, {} allocations", usage.peak_bytes, usage.allocations);
//! ```
//!
//! The counters are process-wide: a region measured while other threads
//! allocate includes their traffic too, so measure on an otherwise quiet
//! process (the `compare` command measures sequentially). Relaxed ordering
//! is enough: each counter is updated atomically on its own, and a reader
//! only needs each value eventually, not a consistent cut across them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// A [`GlobalAlloc`] that forwards to `A` and counts.
///
/// Invariant: `peak_bytes >= current_bytes` at every quiescent point
/// (`reset_peak` sets the peak to the current value, and every increase
/// of the current value raises the peak after it).
#[derive(Debug)]
pub struct CountingAlloc<A = System> {
    inner: A,
    /// Bytes handed out and not yet freed.
    current_bytes: AtomicUsize,
    /// Highest `current_bytes` since creation or the last `reset_peak`.
    peak_bytes: AtomicUsize,
    /// Successful `alloc`, `alloc_zeroed` and `realloc` calls since
    /// creation or the last `reset_peak`.
    allocations: AtomicU64,
    /// Bytes obtained by those calls (a `realloc` counts its new size).
    allocated_bytes: AtomicU64,
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapSnapshot {
    /// Bytes in use.
    pub current_bytes: usize,
    /// Highest bytes in use since the last reset.
    pub peak_bytes: usize,
    /// Allocations (including reallocations) since the last reset.
    pub allocations: u64,
    /// Bytes those allocations obtained.
    pub allocated_bytes: u64,
}

/// What one measured region cost on the heap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapUsage {
    /// Highest bytes in use during the region, above what was in use when
    /// it started (0 when it never went above its starting level).
    pub peak_bytes: usize,
    /// Allocations (including reallocations) during the region.
    pub allocations: u64,
    /// Bytes those allocations obtained.
    pub allocated_bytes: u64,
    /// Bytes in use at the end minus bytes in use at the start: what the
    /// region kept (negative when it freed older memory).
    pub retained_bytes: isize,
}

impl CountingAlloc<System> {
    /// A counter over the system allocator, usable in a `static`.
    pub const fn system() -> Self {
        Self::new(System)
    }
}

impl<A> CountingAlloc<A> {
    /// A counter over `inner`, all counts zero.
    pub const fn new(inner: A) -> Self {
        CountingAlloc {
            inner,
            current_bytes: AtomicUsize::new(0),
            peak_bytes: AtomicUsize::new(0),
            allocations: AtomicU64::new(0),
            allocated_bytes: AtomicU64::new(0),
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> HeapSnapshot {
        HeapSnapshot {
            current_bytes: self.current_bytes.load(Relaxed),
            peak_bytes: self.peak_bytes.load(Relaxed),
            allocations: self.allocations.load(Relaxed),
            allocated_bytes: self.allocated_bytes.load(Relaxed),
        }
    }

    /// Starts a new measurement: the peak drops to the bytes in use now and
    /// the allocation counts to zero. The bytes in use are untouched.
    pub fn reset_peak(&self) {
        self.peak_bytes
            .store(self.current_bytes.load(Relaxed), Relaxed);
        self.allocations.store(0, Relaxed);
        self.allocated_bytes.store(0, Relaxed);
    }

    /// Runs `region` and reports its heap usage. Resets the peak and the
    /// counts (as [`Self::reset_peak`]); not reentrant with itself.
    pub fn measure<R>(&self, region: impl FnOnce() -> R) -> (R, HeapUsage) {
        self.reset_peak();
        let start = self.snapshot();
        let result = region();
        let end = self.snapshot();
        let usage = HeapUsage {
            peak_bytes: end.peak_bytes.saturating_sub(start.current_bytes),
            allocations: end.allocations,
            allocated_bytes: end.allocated_bytes,
            retained_bytes: end.current_bytes as isize - start.current_bytes as isize,
        };
        (result, usage)
    }

    fn record_growth(&self, bytes: usize) {
        let now = self.current_bytes.fetch_add(bytes, Relaxed) + bytes;
        self.peak_bytes.fetch_max(now, Relaxed);
    }

    fn record_allocation(&self, bytes: usize) {
        self.allocations.fetch_add(1, Relaxed);
        self.allocated_bytes.fetch_add(bytes as u64, Relaxed);
    }
}

// SAFETY: every method forwards to `inner` with the caller's arguments
// unchanged and returns its result unchanged, so `inner`'s guarantees
// carry over; the counting only touches atomics and never allocates.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract (see the impl).
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            self.record_growth(layout.size());
            self.record_allocation(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract (see the impl).
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.record_growth(layout.size());
            self.record_allocation(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract (see the impl).
        unsafe { self.inner.dealloc(ptr, layout) };
        self.current_bytes.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract (see the impl).
        let new_ptr = unsafe { self.inner.realloc(ptr, layout, new_size) };
        // On failure the old block stays allocated and nothing changes.
        if !new_ptr.is_null() {
            let old_size = layout.size();
            if new_size >= old_size {
                self.record_growth(new_size - old_size);
            } else {
                self.current_bytes.fetch_sub(old_size - new_size, Relaxed);
            }
            self.record_allocation(new_size);
        }
        new_ptr
    }
}
