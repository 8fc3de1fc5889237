// Settings that must be in the environment before any shared library initialises, applied from
// the executable's .preinit_array (run by the dynamic loader before every library constructor).
#include <cstdlib>

namespace {

// OpenMP threads that spin while waiting for the next parallel region (libgomp's default) steal
// the cores that other processes and this process's own threads need: on a shared 2-core machine
// two spinning threads made training several times slower than one (docs/performance.md).
// Passive waiting (sleep until work arrives) was fastest there with one thread per core. libgomp
// reads OMP_WAIT_POLICY once, in its own initialiser; an explicit setting by the user wins
// (OMP_WAIT_POLICY=ACTIVE on a dedicated node).
void prefer_passive_openmp_waiting(int, char**, char**) { setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0); }

// glibc hands main the environment the process started with (a variable set this early reaches
// the libraries' initialisers, libgomp's included, but not main); setting it again once they are
// done keeps what the process reports (bench) and passes to child processes (sweep) the same as
// what libgomp uses.
__attribute__((constructor)) void keep_passive_openmp_waiting_visible() {
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
}

}  // namespace

__attribute__((section(".preinit_array"), used)) static void (*const entropix_preinit)(int, char**, char**) =
    prefer_passive_openmp_waiting;
