//! Settings of mimalloc, the allocator of the server binary and of the benchmarks that run the
//! server in their own process.

/// mimalloc's `purge_delay` option (`mi_option_purge_delay` in `mimalloc.h`, the same in its
/// versions 2 and 3; the Rust bindings do not name it).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory for ten seconds before giving it back to the operating system, unless
/// `MIMALLOC_PURGE_DELAY` says otherwise. Each upload parses its records into a few megabytes
/// that are freed when it commits; given back at once, the next upload takes the same pages
/// from the kernel again, zeroed, and a catch-up ran 10 to 20 % slower (BENCHMARKS.md, "Sync
/// server ingest"). An idle server still gives its memory back.
#[allow(unsafe_code)] // a C call without pointers: the one way to set the option
pub fn keep_freed_memory_a_while() {
    // SAFETY: sets an option by its documented index; mimalloc reads options at any time.
    unsafe { libmimalloc_sys::mi_option_set_default(PURGE_DELAY, 10_000) }
}
