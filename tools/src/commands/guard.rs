//! Turning panics inside the allocators and the checker into failures.
//!
//! Both allocators and the checker are run on untrusted input and on code
//! still being written; a panic there must fail one function (naming its
//! file), not the whole run. [`guarded`] catches the unwind, and the hook
//! installed by [`install_panic_hook`] records the message and location on
//! the panicking thread instead of printing it, so a corpus where every
//! function panics reports cleanly. Panics outside [`guarded`] (bugs in
//! the command itself) still go to the default hook.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    /// How many [`guarded`] calls are running on this thread.
    static GUARD_DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The last guarded panic's message and location on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the hook that records guarded panics quietly; call once at start.
pub fn install_panic_hook() {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if GUARD_DEPTH.get() == 0 {
            default_hook(info);
            return;
        }
        let message = payload_message(info.payload());
        let text = match info.location() {
            Some(l) => format!("panicked at {}:{}: {message}", l.file(), l.line()),
            None => format!("panicked: {message}"),
        };
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
    }));
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Runs `f`; a panic becomes `Err` with its message and location.
///
/// `f` is treated as unwind safe: callers throw away any state a panic
/// may have left half-updated (the allocation contexts are rebuilt).
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    LAST_PANIC.with(|p| p.borrow_mut().take());
    GUARD_DEPTH.set(GUARD_DEPTH.get() + 1);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARD_DEPTH.set(GUARD_DEPTH.get() - 1);
    result.map_err(|payload| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| format!("panicked: {}", payload_message(&*payload)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_becomes_an_error_with_its_message() {
        install_panic_hook();
        let err = guarded(|| -> u32 { panic!("boom {}", 7) }).unwrap_err();
        assert!(err.contains("boom 7"), "{err}");
        assert!(err.contains("guard.rs"), "{err}");
        assert_eq!(guarded(|| 3), Ok(3));
    }
}
