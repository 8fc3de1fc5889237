#include "entropix/data/shard_list.h"

#include <glob.h>

#include <algorithm>
#include <system_error>

#include "entropix/util/error.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

bool is_pattern(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::vector<fs::path> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());  // byte-wise, whatever the locale
  return {names.begin(), names.end()};
}

std::vector<fs::path> glob_files(const std::string& pattern) {
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
  std::vector<std::string> names;
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      std::error_code ec;
      if (fs::is_regular_file(g.gl_pathv[i], ec)) names.emplace_back(g.gl_pathv[i]);
    }
  }
  ::globfree(&g);
  if (rc == GLOB_ABORTED) throw InputError(pattern + ": cannot read a directory the pattern goes through");
  if (names.empty())
    throw InputError(pattern + ": no file matches this pattern (expected token shards, e.g. data/train_*.bin)");
  return sorted(std::move(names));
}

std::vector<fs::path> directory_files(const fs::path& dir, const std::string& extension) {
  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (name.size() < extension.size() || name.compare(name.size() - extension.size(), extension.size(), extension) != 0)
      continue;
    std::error_code ec2;
    if (it->is_regular_file(ec2)) names.push_back(it->path().string());
  }
  if (ec) throw InputError(dir.string() + ": cannot list the directory (" + ec.message() + ")");
  if (names.empty())
    throw InputError(dir.string() + ": directory holds no " + extension +
                     " file (a directory of shards is read as every *" + extension +
                     " file directly inside it; name one file or a glob such as " + (dir / ("*" + extension)).string() +
                     " instead)");
  return sorted(std::move(names));
}

}  // namespace

std::vector<fs::path> list_shards(const std::string& spec_path, const std::string& extension) {
  std::error_code ec;
  if (fs::is_directory(spec_path, ec)) return directory_files(spec_path, extension);
  // An existing file is itself even if its name holds a glob character.
  if (is_pattern(spec_path) && !fs::exists(spec_path, ec)) return glob_files(spec_path);
  return {fs::path(spec_path)};
}

}  // namespace entropix
