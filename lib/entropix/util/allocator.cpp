#include "entropix/util/allocator.h"

#include <cstdlib>
#include <cstring>

#include <unistd.h>  // environ (declared there with _GNU_SOURCE, which g++ always defines)

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace entropix {

namespace {
// Whether the environment already tunes malloc: the user's choice wins over ours.
bool user_tunes_malloc() {
  if (const char* t = std::getenv("GLIBC_TUNABLES"); t && std::strstr(t, "glibc.malloc.")) return true;
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "MALLOC_", 7) == 0) return true;  // MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_MAX_, ...
  return false;
}
}  // namespace

bool keep_freed_memory_for_reuse() {
#ifdef __GLIBC__
  if (user_tunes_malloc()) return false;
  return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, kKeptFreeBytes) == 1;
#else
  return false;
#endif
}

}  // namespace entropix
