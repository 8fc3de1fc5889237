// How glibc's malloc hands memory back to the kernel, set for the commands that train.
//
// A training step frees and reallocates the same large tensors every step. glibc serves
// allocations above its mmap threshold (at most 32 MiB) with fresh mappings and unmaps them on
// free, and trims the heap's free top above 128 KiB, so each step faults those pages in again,
// zero-filled by the kernel: about 190,000 page faults (750 MiB) per GPT-2-small step on the CPU.
// Serving everything from the heap and keeping what is freed brings that to about 20,000; the
// process's peak memory is unchanged (the peak is reached every step anyway).
#pragma once

namespace entropix {

// Sets malloc to serve every allocation from its heap (M_MMAP_MAX 0) and to keep up to
// kKeptFreeBytes of freed memory at the heap's top (M_TRIM_THRESHOLD). Does nothing, and returns
// false, where the user chose malloc settings through GLIBC_TUNABLES (any glibc.malloc.
// tunable) or the MALLOC_*_ variables, or off glibc. Call once, before any large allocation.
bool keep_freed_memory_for_reuse();

constexpr int kKeptFreeBytes = 2047 * 1024 * 1024;  // mallopt takes an int: just under 2 GiB

}  // namespace entropix
