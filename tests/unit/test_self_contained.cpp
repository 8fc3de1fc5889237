// The repository stands alone: no documentation, spec, test, source or script refers to a file
// outside it (the research it serves is in docs/science.md, the published tables in
// tests/fixtures/). Walks every text file under the repository's own directories, untracked ones
// included, and fails naming each file and line that points outside.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;

// The substrings that point outside the repository: the developers' notes directory next to the
// checkout, by its research file or as a relative path. Built from pieces so that this file does
// not contain them itself.
std::vector<std::string> needles() {
  const std::string notes_dir = std::string("sha") + "red";
  return {notes_dir + "/science.md", std::string("../") + notes_dir};
}

// Directories not walked: build trees (build, build-torch2, ...), git metadata, hidden caches.
bool skipped_dir(const fs::path& dir) {
  const std::string name = dir.filename().string();
  return name.rfind("build", 0) == 0 || name.rfind('.', 0) == 0 || name == "__pycache__";
}

// Files that are never text (token files, checkpoints, compiled Python, images).
bool binary_extension(const fs::path& file) {
  const std::string ext = file.extension().string();
  for (const char* b : {".bin", ".tok", ".pt", ".ckpt", ".pyc", ".png", ".jpg", ".gz", ".zip"})
    if (ext == b) return true;
  return false;
}

// Appends "relative/path:line: needle" to `hits` for every occurrence of a needle in `file`.
// Files with a NUL byte are binary and skipped; `scanned` counts the text files read.
void scan_file(const fs::path& file, const fs::path& root, std::vector<std::string>& hits, int& scanned) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.find('\0') != std::string::npos) return;
  ++scanned;
  for (const auto& needle : needles()) {
    for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
      const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n');
      hits.push_back(file.lexically_relative(root).string() + ":" + std::to_string(line) + ": " + needle);
    }
  }
}

TEST(SelfContained, NothingRefersToFilesOutsideTheRepository) {
  const fs::path root = test::source_dir();
  std::vector<std::string> hits;
  int scanned = 0;
  for (const char* top : {"docs", "experiments", "tests", "lib", "apps", "scripts", "benchmarks"}) {
    const fs::path dir = root / top;
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied);
         it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_directory()) {
        if (skipped_dir(it->path())) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file() && !binary_extension(it->path())) scan_file(it->path(), root, hits, scanned);
    }
  }
  for (const char* file : {"README.md", "CMakeLists.txt"}) {
    ASSERT_TRUE(fs::is_regular_file(root / file)) << root / file;
    scan_file(root / file, root, hits, scanned);
  }
  EXPECT_GT(scanned, 100) << "too few text files read under " << root;
  std::sort(hits.begin(), hits.end());
  std::string list;
  for (const auto& hit : hits) list += "  " + hit + "\n";
  EXPECT_TRUE(hits.empty()) << "these files refer to a directory outside the repository; cite docs/science.md "
                               "(or another file in the repository) instead:\n"
                            << list;
}

// The scan itself finds a reference and names its file and line.
TEST(SelfContained, ScanNamesFileAndLine) {
  test::TempDir tmp("entropix-self-contained");
  test::write_text(tmp / "notes.md", "line one\nsee " + needles()[0] + " and " + needles()[1] + "/x\n");
  test::write_text(tmp / "clean.md", "docs/science.md only\n");
  std::vector<std::string> hits;
  int scanned = 0;
  scan_file(tmp / "notes.md", tmp.path(), hits, scanned);
  scan_file(tmp / "clean.md", tmp.path(), hits, scanned);
  EXPECT_EQ(scanned, 2);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0], "notes.md:2: " + needles()[0]);
  EXPECT_EQ(hits[1], "notes.md:2: " + needles()[1]);
}

}  // namespace
}  // namespace entropix
