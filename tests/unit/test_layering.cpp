// The library's modules include only modules below them (docs/architecture.md, "Layers"):
//   util < spec, metrics < data < model < entropy < dist, describe < picost < train < bench, sweep, report, export, runlog
// Read from the sources themselves, so an upward or circular include fails here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

#include "support/test_util.h"

namespace entropix {
namespace {

const std::map<std::string, int>& ranks() {
  static const std::map<std::string, int> r = {
      {"util", 0},     {"spec", 1},  {"metrics", 1}, {"data", 2},   {"model", 3},  {"entropy", 4}, {"dist", 5},
      {"describe", 5}, {"picost", 6}, {"train", 7},  {"bench", 8},  {"sweep", 8},  {"report", 8}, {"export", 8},
      {"runlog", 8},
  };
  return r;
}

TEST(Layering, NoModuleIncludesOneAboveIt) {
  namespace fs = std::filesystem;
  const fs::path lib = test::source_dir() / "lib" / "entropix";
  const std::regex include(R"re(#include "entropix/([a-z_]+)/)re");
  int checked = 0;
  for (const auto& dir : fs::directory_iterator(lib)) {
    if (!dir.is_directory()) continue;
    const std::string module = dir.path().filename().string();
    ASSERT_TRUE(ranks().count(module)) << "module " << module << " has no place in the layer table";
    const int own = ranks().at(module);
    for (const auto& file : fs::recursive_directory_iterator(dir.path())) {
      const std::string ext = file.path().extension().string();
      if (ext != ".h" && ext != ".cpp") continue;
      std::ifstream in(file.path());
      for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (!std::regex_search(line, m, include) || m[1] == module) continue;
        const std::string used = m[1];
        ASSERT_TRUE(ranks().count(used)) << used;
        EXPECT_LT(ranks().at(used), own) << file.path().lexically_relative(lib).string() << " includes " << used
                                         << ", which is not below " << module;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 50);  // the sources were found and read
}

}  // namespace
}  // namespace entropix
