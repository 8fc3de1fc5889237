// `prepare`: turns text files, JSONL files (or the CPython standard library) into token files
// train.tok / val.tok (or nanoGPT's train.bin / val.bin) plus meta.json, with the byte-level
// tokenizer, GPT-2's BPE or sentencepiece (see docs/data.md).
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

  std::string jsonl_field;    // non-empty: every input file is JSONL, one document per line
  std::string tokenizer = "byte";           // byte | gpt2-bpe | sentencepiece
  std::filesystem::path vocab, merges;      // gpt2-bpe: vocab.json and merges.txt
  std::filesystem::path sp_model;           // sentencepiece: apply this model, or
  uint32_t sp_vocab_size = 0;               // sentencepiece: train one of this size on the corpus
  std::string format = "entropix";          // entropix (train.tok, val.tok) | nanogpt (train.bin, val.bin)
  int threads = 1;                          // encoding threads; the output does not depend on it
  bool progress = false;                    // progress lines (MB/s, ETA) on stderr
};

struct PrepareResult {
  size_t file_count = 0;  // non-empty files used (empty files contribute nothing)
  uint64_t train_tokens = 0, val_tokens = 0;
  std::string hash;    // 16 hex digits: FNV-1a-64 over all file bytes in processing order
  std::string source;  // "pystdlib:<dir>" or the source paths joined with ", "
  uint64_t documents = 0;
  uint64_t input_bytes = 0;
  uint32_t vocab_size = 0;
  std::string tokenizer;
  double seconds = 0;  // wall time of reading and encoding (not of sentencepiece training)
};

// Tokenizes each document (a file, or a JSONL line) and splits train/val deterministically by
// document (FNV-1a-64 of its key: the relative path, or "<path>:<line>" for JSONL), falling back
// to a tail split of the stream when a split would be empty. Throws InputError for missing
// sources, no usable input, bad tokenizer options or files, a bad val_fraction or an out dir that
// already holds a corpus (without overwrite).
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
