/**
 * Stops glibc from handing the heap back to the kernel after every garbage collection, for a process
 * that moves bulk bytes (the server's proxy and tunnels, `gatehouse tunnel`).
 *
 * Why: each socket read is a new 64 KiB Buffer from malloc; V8 frees them in batches at a GC; glibc then
 * sees more than M_TRIM_THRESHOLD (128 KiB by default) free at the top of the heap and shrinks it
 * with brk(), and the next reads grow it again, a page fault per 4 KiB touched. Measured on a
 * WebSocket tunnel carrying 1 GiB: about 9,000 brk calls and 230,000–400,000 minor faults, 5–10 s of
 * CPU, against 200 brk calls, 15,000 faults and 1.5 s once the threshold is raised (bench:tunnel's
 * CPU rows show it for the real ends).
 *
 * How: mallopt(3), "M_MMAP_THRESHOLD … dynamic": when a block that malloc served with mmap is freed,
 * glibc raises the mmap threshold to that block's size and M_TRIM_THRESHOLD to twice it (up to 32 MiB
 * and 64 MiB on 64-bit). One untouched 32 MiB Buffer (malloc'd with mmap, never written, so it costs
 * address space, not memory) freed at the first GC does that from inside the process, where
 * MALLOC_TRIM_THRESHOLD_ would have to be in the environment before Node starts (an operator may still
 * set it: an explicit setting turns the dynamic rule off and wins). The cost: up to 64 MiB of freed
 * heap stays mapped for reuse. Other C libraries (musl) ignore it: a 32 MiB allocation, freed.
 */
const JUST_UNDER_MAX = 32 * 1024 * 1024 - 64 * 1024;

let done = false;

/** Once per process: glibc never lowers the dynamic thresholds again. */
export function keepFreedHeap(): void {
  if (done) return;
  done = true;
  // Not pooled (allocUnsafeSlow), not written: dropped at once, freed when V8 next collects.
  Buffer.allocUnsafeSlow(JUST_UNDER_MAX);
}
