// remove_tree: the recursive removal entropix uses instead of std::filesystem::remove_all.
#include <gtest/gtest.h>

#include "entropix/util/remove_tree.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;

TEST(RemoveTree, RemovesNestedDirectoriesAndLinksButNotWhatLinksPointTo) {
  test::TempDir dir;
  const fs::path tree = dir / "tree", outside = dir / "outside";
  fs::create_directories(tree / "a" / "b");
  fs::create_directories(outside);
  test::write_text(tree / "top.txt", "x");
  test::write_text(tree / "a" / "b" / "deep.txt", "y");
  test::write_text(outside / "keep.txt", "z");
  fs::create_directory_symlink(outside, tree / "a" / "link");
  EXPECT_TRUE(remove_tree(tree));
  EXPECT_FALSE(fs::exists(tree));
  EXPECT_EQ(test::read_text(outside / "keep.txt"), "z");  // links are removed, not followed
}

TEST(RemoveTree, AFileOrAMissingPath) {
  test::TempDir dir;
  test::write_text(dir / "file", "x");
  EXPECT_TRUE(remove_tree(dir / "file"));
  EXPECT_FALSE(fs::exists(dir / "file"));
  EXPECT_TRUE(remove_tree(dir / "never-there"));
}

}  // namespace
}  // namespace entropix
