// keep_freed_memory_for_reuse: a large block freed and allocated again is not faulted in again.
// Counts the process's minor page faults (getrusage) around touching the block; ctest runs each
// test in its own process, so the malloc settings changed here reach no other test.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>

#include "entropix/util/allocator.h"

namespace entropix {
namespace {

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// Writes one byte in every page, through volatile stores the compiler cannot drop.
void touch_pages(char* block, size_t bytes) {
  volatile char* p = block;
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
}

// Faults taken while writing every page of a fresh malloc of `bytes`, after a first one of the
// same size was written and freed.
long faults_on_second_block(size_t bytes) {
  char* first = static_cast<char*>(std::malloc(bytes));
  touch_pages(first, bytes);
  std::free(first);
  char* second = static_cast<char*>(std::malloc(bytes));
  const long before = minor_faults();
  touch_pages(second, bytes);
  const long faults = minor_faults() - before;
  std::free(second);
  return faults;
}

TEST(Allocator, FreedBlocksAreReusedWithoutPageFaults) {
#ifndef __GLIBC__
  GTEST_SKIP() << "glibc malloc only";
#endif
  if (std::getenv("GLIBC_TUNABLES") || std::getenv("MALLOC_ARENA_MAX")) GTEST_SKIP() << "malloc tuned by the environment";
  const size_t bytes = size_t{64} << 20;  // 64 MiB: above glibc's largest mmap threshold (32 MiB)
  const long pages = static_cast<long>(bytes / 4096);
  // glibc's default: the block is a fresh mapping each time, every page faulted in again (the
  // kernel may map some with fewer faults; half the pages is the floor that shows it).
  EXPECT_GT(faults_on_second_block(bytes), pages / 2);
  ASSERT_TRUE(keep_freed_memory_for_reuse());
  (void)faults_on_second_block(bytes);  // the first block after the change lands on the heap
  EXPECT_LT(faults_on_second_block(bytes), pages / 100);
}

TEST(Allocator, TheUsersMallocSettingsWin) {
  ASSERT_EQ(setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1048576", 1), 0);
  EXPECT_FALSE(keep_freed_memory_for_reuse());
  ASSERT_EQ(unsetenv("GLIBC_TUNABLES"), 0);
  ASSERT_EQ(setenv("MALLOC_ARENA_MAX", "2", 1), 0);
  EXPECT_FALSE(keep_freed_memory_for_reuse());
  ASSERT_EQ(unsetenv("MALLOC_ARENA_MAX"), 0);
}

}  // namespace
}  // namespace entropix
