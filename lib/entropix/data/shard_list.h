// Which files a data.train / data.val value names (see docs/data.md, "Corpora: formats,
// shards and memory mapping"): a file, a directory of shards, or a glob pattern.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace entropix {

// The shard files `spec_path` names, in the order their tokens are used:
// - a pattern holding *, ? or [ : every regular file it matches (POSIX glob);
// - a directory: every regular file directly inside it whose name ends in `extension`
//   and does not start with '.';
// - anything else: that one path (its existence is checked when it is opened).
// Glob and directory matches are sorted by path, byte-wise. Throws InputError when a glob
// or directory yields no file, naming the pattern and what would be valid.
std::vector<std::filesystem::path> list_shards(const std::string& spec_path, const std::string& extension);

}  // namespace entropix
