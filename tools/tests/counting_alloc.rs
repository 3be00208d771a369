//! The counting allocator registered as this test binary's global
//! allocator: counts, peaks and resets seen from real allocations.
//!
//! One `#[test]` only: the counters are process-wide, and tests running on
//! parallel threads would add their allocations to each other's counts.

use std::hint::black_box;

use regarena_tools::counting_alloc::{CountingAlloc, HeapUsage};

#[global_allocator]
static HEAP: CountingAlloc = CountingAlloc::system();

#[test]
fn counts_bytes_peaks_and_allocations() {
    no_allocation_counts_zero();
    one_box_is_counted_and_returned();
    peak_tracks_the_highest_point_not_the_end();
    reallocations_count_and_shrinks_lower_current();
    reset_peak_starts_from_current_bytes();
    nested_vectors_count_every_block();
    other_threads_are_counted_too();
}

fn no_allocation_counts_zero() {
    let (sum, usage) = HEAP.measure(|| black_box((0..100u64).sum::<u64>()));
    assert_eq!(sum, 4950);
    assert_eq!(usage, HeapUsage::default());
}

fn one_box_is_counted_and_returned() {
    let (boxed, usage) = HEAP.measure(|| black_box(Box::new([7u8; 1000])));
    assert_eq!(usage.allocations, 1);
    assert_eq!(usage.allocated_bytes, 1000);
    assert_eq!(usage.peak_bytes, 1000);
    assert_eq!(usage.retained_bytes, 1000);
    let before = HEAP.snapshot().current_bytes;
    drop(boxed);
    assert_eq!(HEAP.snapshot().current_bytes, before - 1000);
}

fn peak_tracks_the_highest_point_not_the_end() {
    let ((), usage) = HEAP.measure(|| {
        let a = black_box(vec![0u8; 4096]);
        let b = black_box(vec![0u8; 2048]);
        drop(a);
        drop(b);
        let c = black_box(vec![0u8; 100]);
        drop(c);
    });
    assert_eq!(usage.peak_bytes, 4096 + 2048);
    assert_eq!(usage.allocations, 3);
    assert_eq!(usage.allocated_bytes, 4096 + 2048 + 100);
    assert_eq!(usage.retained_bytes, 0);
}

fn reallocations_count_and_shrinks_lower_current() {
    let (v, usage) = HEAP.measure(|| {
        let mut v: Vec<u64> = Vec::with_capacity(4);
        v.extend(0..4);
        v.reserve_exact(60); // a realloc to 64 elements
        v.extend(4..10);
        v.shrink_to_fit(); // a realloc down to 10 elements
        black_box(v)
    });
    assert_eq!(usage.allocations, 3, "{usage:?}");
    assert_eq!(usage.peak_bytes, 64 * 8);
    assert_eq!(usage.retained_bytes, 10 * 8);
    assert_eq!(usage.allocated_bytes, (4 + 64 + 10) * 8);
    drop(v);
}

fn reset_peak_starts_from_current_bytes() {
    let big = black_box(vec![1u8; 10_000]);
    drop(big);
    let before = HEAP.snapshot();
    assert!(before.peak_bytes >= before.current_bytes + 10_000);
    HEAP.reset_peak();
    let after = HEAP.snapshot();
    assert_eq!(after.peak_bytes, after.current_bytes);
    assert_eq!(after.allocations, 0);
    assert_eq!(after.allocated_bytes, 0);
}

fn nested_vectors_count_every_block() {
    let (rows, usage) = HEAP.measure(|| {
        let mut rows: Vec<Vec<u32>> = Vec::with_capacity(10);
        for i in 0..10 {
            rows.push(vec![i; 16]);
        }
        black_box(rows)
    });
    assert_eq!(usage.allocations, 11);
    assert_eq!(
        usage.retained_bytes as usize,
        10 * std::mem::size_of::<Vec<u32>>() + 10 * 16 * 4
    );
    drop(rows);
}

fn other_threads_are_counted_too() {
    // Thread creation allocates on its own; only the lower bound is exact.
    let ((), usage) = HEAP.measure(|| {
        std::thread::spawn(|| drop(black_box(vec![0u8; 50_000])))
            .join()
            .expect("the allocating thread");
    });
    assert!(usage.peak_bytes >= 50_000, "{usage:?}");
    assert!(usage.allocations >= 1);
}
