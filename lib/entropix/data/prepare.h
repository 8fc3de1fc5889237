// `prepare`: turns text files (or the CPython standard library) into byte-level token
// files train.tok / val.tok plus meta.json (see docs/data.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace entropix {

struct PrepareOptions {
  // Text files or folders. Folders contribute every regular file under them, recursively,
  // skipping hidden names (starting with '.') and binary files (a NUL byte in the first
  // 8 KiB). A file named directly is always used.
  std::vector<std::filesystem::path> sources;
  bool pystdlib = false;      // if true, ignore `sources` and use the CPython stdlib .py files
  double val_fraction = 0.05; // in (0, 1)
  std::filesystem::path out;  // directory that receives train.tok, val.tok, meta.json
  bool overwrite = false;     // refuse (InputError) if out already holds any of them unless set
};

struct PrepareResult {
  size_t file_count = 0;  // non-empty files used (empty files contribute nothing)
  uint64_t train_tokens = 0, val_tokens = 0;
  std::string hash;    // 16 hex digits: FNV-1a-64 over all file bytes in processing order
  std::string source;  // "pystdlib:<dir>" or the source paths joined with ", "
};

// Tokenizes byte-level (vocab 256) and splits train/val deterministically by file
// (FNV-1a-64 of the relative path), falling back to a tail split of the stream when a
// split would be empty. Throws InputError for missing sources, no usable input, a bad
// val_fraction or an out dir that already holds a corpus (without overwrite).
PrepareResult prepare_corpus(const PrepareOptions& options);

// Newest /usr/lib/python3.N (numeric N) that holds .py files; InputError saying to
// install libpython3-stdlib when there is none.
std::filesystem::path find_python_stdlib();

// Every *.py under root, skipping site-packages, dist-packages and __pycache__;
// sorted by generic path string.
std::vector<std::filesystem::path> list_pystdlib_files(const std::filesystem::path& root);

// $ENTROPIX_CACHE, else $XDG_CACHE_HOME/entropix, else $HOME/.cache/entropix.
std::filesystem::path cache_root();

// cache_root()/pystdlib-<python dir name>, prepared on first use. Preparation happens in
// a temporary sibling directory that is renamed into place, so a racing process either
// wins the rename or discards its copy and uses the winner's. Prints one line to stderr
// when it prepares. Returns the corpus directory.
std::filesystem::path ensure_pystdlib_corpus();

}  // namespace entropix
