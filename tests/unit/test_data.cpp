// Unit tests for lib/entropix/data: token files, prepare, the batch sampler.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "entropix/data/batches.h"
#include "entropix/data/prepare.h"
#include "entropix/data/token_file.h"
#include "entropix/util/error.h"
#include "entropix/util/remove_tree.h"
#include "support/error_expect.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using entropix::InputError;

namespace {

using entropix::test::TempDir;

// Sets (or unsets, for nullptr) an environment variable and restores it afterwards.
using entropix::test::EnvGuard;

using entropix::test::write_raw;

std::string read_raw(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using entropix::test::le;
using entropix::test::le_tokens;

// A hand-built entropix header, so tests can put any field out of spec.
std::string header(uint32_t version, uint32_t vocab, uint64_t n, uint32_t token_bytes = 2,
                   const std::string& magic = "ENTROPIX") {
  return magic + le(version, 4) + le(vocab, 4) + le(n, 8) + le(token_bytes, 4) + le(0, 4);
}

using entropix::test::expect_input_error;

std::vector<uint16_t> bytes_to_tokens(const std::string& s) {
  std::vector<uint16_t> out;
  for (unsigned char c : s) out.push_back(c);
  return out;
}

// Independent FNV-1a-64, to check prepare's split rule and hash.
uint64_t fnv(const std::string& s, uint64_t h = 14695981039346656037ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::shared_ptr<const entropix::TokenData> ramp_data(size_t n) {
  std::vector<uint16_t> tokens;
  for (size_t i = 0; i < n; ++i) tokens.push_back(static_cast<uint16_t>(i));
  return std::make_shared<const entropix::TokenData>(entropix::TokenData::in_memory(tokens, 65536, "ramp.tok"));
}

}  // namespace

// ---- token files ------------------------------------------------------------------------

TEST(DataTokenFile, RoundTrip) {
  TempDir dir;
  const std::vector<uint16_t> tokens = {0, 1, 255, 256, 4660, 65535};
  entropix::write_token_file(dir / "a.tok", tokens, 65536);
  const std::string raw = read_raw(dir / "a.tok");
  ASSERT_EQ(raw.size(), 32 + 2 * tokens.size());
  EXPECT_EQ(raw.substr(0, 32), header(1, 65536, tokens.size()));
  EXPECT_EQ(raw.substr(32), le_tokens(tokens));  // little-endian on disk

  const auto data = entropix::read_token_file(dir / "a.tok");
  EXPECT_EQ(data.tokens, tokens);
  EXPECT_EQ(data.vocab_size, 65536u);
  EXPECT_EQ(data.path, (dir / "a.tok").string());
}

TEST(DataTokenFile, WriteRejectsUnreadableContent) {
  TempDir dir;
  EXPECT_THROW(entropix::write_token_file(dir / "a.tok", {}, 256), std::invalid_argument);
  EXPECT_THROW(entropix::write_token_file(dir / "a.tok", {1, 256}, 256), std::invalid_argument);
  EXPECT_FALSE(fs::exists(dir / "a.tok"));
}

TEST(DataTokenFile, BadMagic) {
  TempDir dir;
  const fs::path p = dir / "bad.tok";
  write_raw(p, header(1, 256, 2, 2, "ENTROPIY") + le_tokens({1, 2}));
  expect_input_error([&] { entropix::read_token_file(p); }, {p.string(), "bad magic", "ENTROPIY", "nanogpt"});
}

TEST(DataTokenFile, WrongVersion) {
  TempDir dir;
  const fs::path p = dir / "v2.tok";
  write_raw(p, header(2, 256, 2) + le_tokens({1, 2}));
  expect_input_error([&] { entropix::read_token_file(p); }, {p.string(), "version 2", "version 1"});
}

TEST(DataTokenFile, WrongTokenBytes) {
  TempDir dir;
  const fs::path p = dir / "w4.tok";
  write_raw(p, header(1, 256, 1, 4) + le(7, 4));
  expect_input_error([&] { entropix::read_token_file(p); }, {p.string(), "token_bytes is 4"});
}

TEST(DataTokenFile, SizeMismatchTruncatedOrPadded) {
  TempDir dir;
  const fs::path p = dir / "t.tok";
  entropix::write_token_file(p, std::vector<uint16_t>(10, 7), 256);
  const std::string full = read_raw(p);
  write_raw(p, full.substr(0, full.size() - 2));  // truncated by one token
  expect_input_error([&] { entropix::read_token_file(p); }, {p.string(), "10 tokens", "52 bytes", "is 50 bytes"});
  write_raw(p, full + "x");  // trailing garbage
  expect_input_error([&] { entropix::read_token_file(p); }, {p.string(), "is 53 bytes"});
}

TEST(DataTokenFile, TokenOutOfVocab) {
  TempDir dir;
  const fs::path p = dir / "oov.tok";
  write_raw(p, header(1, 256, 4) + le_tokens({1, 2, 3, 300}));
  expect_input_error([&] { entropix::read_token_file(p); }, {p.string(), "token 3 is 300", "vocab_size is 256"});
}

TEST(DataTokenFile, ZeroTokensEmptyAndShortFiles) {
  TempDir dir;
  const fs::path zero = dir / "zero.tok", empty = dir / "empty.tok", shrt = dir / "short.tok";
  write_raw(zero, header(1, 256, 0));
  write_raw(empty, "");
  write_raw(shrt, "ENTROPIX");
  expect_input_error([&] { entropix::read_token_file(zero); }, {zero.string(), "0 tokens"});
  expect_input_error([&] { entropix::read_token_file(empty); }, {empty.string(), "empty"});
  expect_input_error([&] { entropix::read_token_file(shrt); }, {shrt.string(), "8 bytes", "32-byte"});
}

TEST(DataTokenFile, MissingFile) {
  TempDir dir;
  const fs::path p = dir / "nope.tok";
  expect_input_error([&] { entropix::read_token_file(p); }, {p.string() + ": no such file"});
  expect_input_error([&] { entropix::read_token_file(dir.path()); }, {dir.path().string(), "directory"});
}

// ---- nanoGPT .bin -----------------------------------------------------------------------

TEST(DataNanoGpt, ReadsHeaderlessUint16) {
  TempDir dir;
  const fs::path p = dir / "train.bin";
  const std::vector<uint16_t> tokens = {15496, 995, 50256, 0, 1};
  write_raw(p, le_tokens(tokens));
  const auto data = entropix::read_nanogpt_bin(p, 50257);
  EXPECT_EQ(data.tokens, tokens);
  EXPECT_EQ(data.vocab_size, 50257u);
  EXPECT_EQ(data.path, p.string());
}

TEST(DataNanoGpt, OddSizeAndEmpty) {
  TempDir dir;
  const fs::path odd = dir / "odd.bin", empty = dir / "empty.bin";
  write_raw(odd, "abc");
  write_raw(empty, "");
  expect_input_error([&] { entropix::read_nanogpt_bin(odd, 256); }, {odd.string(), "3 bytes", "even"});
  expect_input_error([&] { entropix::read_nanogpt_bin(empty, 256); }, {empty.string(), "empty"});
}

TEST(DataNanoGpt, OutOfVocabNamesOffsetAndKey) {
  TempDir dir;
  const fs::path p = dir / "val.bin";
  write_raw(p, le_tokens({1, 2, 50256, 3, 60000}));
  expect_input_error([&] { entropix::read_nanogpt_bin(p, 256); },
                     {p.string(), "token 2", "byte offset 4", "50256", "model.vocab_size", "60001"});
}

// ---- load_tokens ------------------------------------------------------------------------

TEST(DataLoadTokens, DispatchesOnFormat) {
  TempDir dir;
  const std::vector<uint16_t> tokens = {5, 6, 7, 8};
  entropix::write_token_file(dir / "a.tok", tokens, 256);
  write_raw(dir / "a.bin", le_tokens(tokens));

  EXPECT_EQ(entropix::load_tokens(dir / "a.tok", "entropix", 256, entropix::TokenCheck::scan).to_vector(), tokens);
  EXPECT_EQ(entropix::load_tokens(dir / "a.bin", "nanogpt", 256, entropix::TokenCheck::scan).to_vector(), tokens);
  // The header reads as tokens when taken for a nanoGPT file, so the formats really differ.
  EXPECT_EQ(entropix::load_tokens(dir / "a.tok", "nanogpt", 65536, entropix::TokenCheck::scan).size(), 16u + tokens.size());
  expect_input_error([&] { entropix::load_tokens(dir / "a.bin", "entropix", 256); }, {"bad magic"});
  expect_input_error([&] { entropix::load_tokens(dir / "a.tok", "gpt2", 256); },
                     {"gpt2", "\"entropix\"", "\"nanogpt\""});
}

TEST(DataLoadTokens, MissingFileAndVocabMismatch) {
  TempDir dir;
  for (const char* format : {"entropix", "nanogpt"}) {
    expect_input_error([&] { entropix::load_tokens(dir / "x", format, 256); }, {(dir / "x").string() + ": no such file"});
  }
  entropix::write_token_file(dir / "a.tok", {1, 2, 3}, 256);
  expect_input_error([&] { entropix::load_tokens(dir / "a.tok", "entropix", 128); },
                     {(dir / "a.tok").string(), "model.vocab_size is 128", "at least 256"});
  EXPECT_EQ(entropix::load_tokens(dir / "a.tok", "entropix", 512).vocab_size, 256u);
}

// ---- batch sampler ----------------------------------------------------------------------

TEST(DataBatches, SameSeedStreamAndKGiveSameBatch) {
  auto data = ramp_data(5000);
  entropix::BatchSampler a(data, 4, 16, 42, 0), b(data, 4, 16, 42, 0);
  EXPECT_EQ(a.batch_size(), 4);
  EXPECT_EQ(a.context(), 16);
  for (uint64_t k : {0ull, 1ull, 7ull, 123456789ull}) {
    auto [xa, ya] = a.batch(k);
    auto [xb, yb] = b.batch(k);
    EXPECT_TRUE(torch::equal(xa, xb));
    EXPECT_TRUE(torch::equal(ya, yb));
  }
  // next() is batch(position()) and then advances; set_position resumes anywhere.
  b.set_position(7);
  auto [xn, yn] = b.next();
  EXPECT_EQ(b.position(), 8u);
  EXPECT_TRUE(torch::equal(xn, a.batch(7).first));
  EXPECT_EQ(a.position(), 0u);
  a.next();
  EXPECT_EQ(a.position(), 1u);
}

TEST(DataBatches, DifferentKStreamOrSeedDiffer) {
  auto data = ramp_data(5000);
  entropix::BatchSampler base(data, 4, 16, 42, 0), other_stream(data, 4, 16, 42, 1), other_seed(data, 4, 16, 43, 0);
  const auto x0 = base.batch(0).first;
  EXPECT_FALSE(torch::equal(x0, base.batch(1).first));
  EXPECT_FALSE(torch::equal(x0, other_stream.batch(0).first));
  EXPECT_FALSE(torch::equal(x0, other_seed.batch(0).first));
  // Rows within one batch are drawn independently too.
  EXPECT_FALSE(torch::equal(x0[0], x0[1]));
}

TEST(DataBatches, YIsXShiftedByOneAgainstRawTokens) {
  // Scrambled distinct tokens, so a window's first token pins down its offset.
  std::vector<uint16_t> perm(3000);
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<uint16_t>((i * 7919) % 65536);
  auto d = std::make_shared<const entropix::TokenData>(entropix::TokenData::in_memory(perm, 65536, "perm.tok"));
  std::map<uint16_t, size_t> where;
  for (size_t i = 0; i < perm.size(); ++i) where[perm[i]] = i;

  const int64_t B = 8, T = 32;
  entropix::BatchSampler s(d, B, T, 7, 3);
  for (uint64_t k = 0; k < 5; ++k) {
    auto [x, y] = s.batch(k);
    ASSERT_EQ(x.sizes(), (std::vector<int64_t>{B, T}));
    ASSERT_EQ(y.sizes(), (std::vector<int64_t>{B, T}));
    EXPECT_EQ(x.dtype(), torch::kInt64);
    EXPECT_EQ(y.dtype(), torch::kInt64);
    EXPECT_TRUE(x.device().is_cpu());
    auto xa = x.accessor<int64_t, 2>();
    auto ya = y.accessor<int64_t, 2>();
    for (int64_t r = 0; r < B; ++r) {
      const size_t off = where.at(static_cast<uint16_t>(xa[r][0]));
      ASSERT_LE(off + T, perm.size() - 1);
      for (int64_t t = 0; t < T; ++t) {
        EXPECT_EQ(xa[r][t], perm[off + t]);
        EXPECT_EQ(ya[r][t], perm[off + t + 1]);
      }
    }
  }
}

TEST(DataBatches, OffsetsCoverTheWholeValidRange) {
  // n = T + 2 leaves exactly two windows: offsets 0 and 1; both must occur, nothing else.
  const int64_t T = 8;
  auto data = ramp_data(T + 2);
  entropix::BatchSampler s(data, 16, T, 1, 0);
  std::set<int64_t> starts;
  for (uint64_t k = 0; k < 50; ++k) {
    auto [x, y] = s.batch(k);
    EXPECT_GE(x.min().item<int64_t>(), 0);
    EXPECT_LE(y.max().item<int64_t>(), T + 1);
    for (int64_t r = 0; r < 16; ++r) starts.insert(x[r][0].item<int64_t>());
  }
  EXPECT_EQ(starts, (std::set<int64_t>{0, 1}));
}

TEST(DataBatches, TooShortDataIsAnInputError) {
  auto data = ramp_data(17);  // T + 1 tokens
  expect_input_error([&] { entropix::BatchSampler(data, 2, 16, 0, 0); }, {"ramp.tok", "17 tokens", "T+2 = 18", "model.context"});
  EXPECT_NO_THROW(entropix::BatchSampler(ramp_data(18), 2, 16, 0, 0));
}

// ---- prepare ----------------------------------------------------------------------------

namespace {

// A small source tree: text files (some without a final newline), a nested folder, plus
// files prepare must skip (hidden, binary) or that add nothing (empty).
struct SourceTree {
  TempDir dir;
  fs::path root;
  std::map<std::string, std::string> texts;  // relative path -> content (used files only)
  SourceTree() : root(dir / "src") {
    for (int i = 0; i < 12; ++i) {
      std::string body = "file " + std::to_string(i) + " says hello";
      if (i % 2 == 0) body += "\n";
      std::string rel = i < 6 ? "" : "sub/";  // (built with +=: GCC 12 warns falsely on "f" + std::to_string at -O3)
      rel += 'f';
      rel += std::to_string(i);
      rel += ".txt";
      texts[rel] = body;
    }
    for (const auto& [rel, body] : texts) write_raw(root / rel, body);
    write_raw(root / ".hidden", "secret\n");
    write_raw(root / ".git/config", "[core]\n");
    write_raw(root / "image.bin", std::string("PNG\0\1\2", 6));
    write_raw(root / "empty.txt", "");
    fs::create_symlink(root / "gone.txt", root / "sub/broken-link.txt");  // dangling: not a file
  }
};

// The train and val streams prepare should produce, computed from the documented rule.
std::pair<std::string, std::string> expected_split(const std::map<std::string, std::string>& texts, const fs::path& root,
                                                   double f) {
  std::map<std::string, std::string> by_full_path;  // processing order: full generic path
  for (const auto& [rel, body] : texts) by_full_path[(root / rel).generic_string()] = rel;
  std::string train, val;
  for (const auto& [full, rel] : by_full_path) {
    std::string body = texts.at(rel);
    if (body.back() != '\n') body += '\n';
    (static_cast<double>(fnv(rel) % 10000) < f * 10000 ? val : train) += body;
  }
  return {train, val};
}

entropix::PrepareOptions options_for(const fs::path& src, const fs::path& out, double f) {
  entropix::PrepareOptions o;
  o.sources = {src};
  o.out = out;
  o.val_fraction = f;
  return o;
}

}  // namespace

TEST(DataPrepare, SplitsByFileDeterministically) {
  SourceTree t;
  const double f = 0.5;
  const auto [train, val] = expected_split(t.texts, t.root, f);
  ASSERT_FALSE(train.empty());  // precondition: this tree exercises the by-file split
  ASSERT_FALSE(val.empty());

  const auto r = entropix::prepare_corpus(options_for(t.root, t.dir / "out", f));
  EXPECT_EQ(r.file_count, t.texts.size());
  EXPECT_EQ(r.train_tokens, train.size());
  EXPECT_EQ(r.val_tokens, val.size());
  EXPECT_EQ(entropix::read_token_file(t.dir / "out/train.tok").tokens, bytes_to_tokens(train));
  EXPECT_EQ(entropix::read_token_file(t.dir / "out/val.tok").tokens, bytes_to_tokens(val));

  // Same inputs, another output dir: byte-identical files.
  const auto r2 = entropix::prepare_corpus(options_for(t.root, t.dir / "out2", f));
  EXPECT_EQ(r2.hash, r.hash);
  for (const char* name : {"train.tok", "val.tok", "meta.json"}) {
    EXPECT_EQ(read_raw(t.dir / "out" / name), read_raw(t.dir / "out2" / name)) << name;
  }
}

TEST(DataPrepare, CountsAreBytesPlusAddedNewlines) {
  SourceTree t;
  uint64_t expected = 0;
  for (const auto& [rel, body] : t.texts) expected += body.size() + (body.back() == '\n' ? 0 : 1);
  const auto r = entropix::prepare_corpus(options_for(t.root, t.dir / "out", 0.05));
  EXPECT_EQ(r.train_tokens + r.val_tokens, expected);
  EXPECT_EQ(r.file_count, 12u);  // hidden, binary and empty files skipped
  EXPECT_GE(r.val_tokens, 1u);
  EXPECT_GE(r.train_tokens, 1u);
}

TEST(DataPrepare, MetaJsonFields) {
  SourceTree t;
  const auto r = entropix::prepare_corpus(options_for(t.root, t.dir / "out", 0.25));
  const auto meta = nlohmann::json::parse(read_raw(t.dir / "out/meta.json"));
  EXPECT_EQ(meta.at("format"), "entropix-tokens");
  EXPECT_EQ(meta.at("version"), 1);
  EXPECT_EQ(meta.at("tokenizer"), "byte");
  EXPECT_EQ(meta.at("vocab_size"), 256);
  EXPECT_EQ(meta.at("source"), t.root.string());
  EXPECT_EQ(meta.at("files"), 12);
  EXPECT_EQ(meta.at("train_tokens"), r.train_tokens);
  EXPECT_EQ(meta.at("val_tokens"), r.val_tokens);
  EXPECT_DOUBLE_EQ(meta.at("val_fraction").get<double>(), 0.25);

  // Hash: FNV-1a-64 over the raw file bytes (no added newlines) in processing order.
  std::map<std::string, std::string> ordered;
  for (const auto& [rel, body] : t.texts) ordered[(t.root / rel).generic_string()] = body;
  uint64_t h = 14695981039346656037ULL;
  for (const auto& [full, body] : ordered) h = fnv(body, h);
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  EXPECT_EQ(meta.at("hash"), hex);
  EXPECT_EQ(r.hash, hex);
  EXPECT_EQ(r.source, t.root.string());
  EXPECT_EQ(entropix::read_token_file(t.dir / "out/train.tok").vocab_size, 256u);
}

TEST(DataPrepare, RefusesToOverwriteUnlessAsked) {
  SourceTree t;
  const fs::path out = t.dir / "out";
  entropix::prepare_corpus(options_for(t.root, out, 0.5));
  const std::string before = read_raw(out / "meta.json");
  expect_input_error([&] { entropix::prepare_corpus(options_for(t.root, out, 0.5)); },
                     {out.string(), "already holds", "overwrite"});
  EXPECT_EQ(read_raw(out / "meta.json"), before);

  write_raw(t.root / "f0.txt", "changed contents\n");
  auto o = options_for(t.root, out, 0.5);
  o.overwrite = true;
  const auto r = entropix::prepare_corpus(o);
  EXPECT_NE(read_raw(out / "meta.json"), before);
  EXPECT_EQ(nlohmann::json::parse(read_raw(out / "meta.json")).at("hash"), r.hash);
}

TEST(DataPrepare, SingleFileFallsBackToTailSplit) {
  TempDir dir;
  const std::string body = std::string(99, 'a') + "\n";  // 100 tokens
  write_raw(dir / "one.txt", body);
  const auto r = entropix::prepare_corpus(options_for(dir / "one.txt", dir / "out", 0.05));
  EXPECT_EQ(r.file_count, 1u);
  EXPECT_EQ(r.val_tokens, 5u);  // ceil(0.05 * 100)
  EXPECT_EQ(r.train_tokens, 95u);

  // A tiny file still gets at least one val token.
  write_raw(dir / "tiny.txt", "ab");
  const auto r2 = entropix::prepare_corpus(options_for(dir / "tiny.txt", dir / "out2", 0.05));
  EXPECT_EQ(r2.val_tokens, 1u);
  EXPECT_EQ(r2.train_tokens, 2u);
  EXPECT_EQ(entropix::read_token_file(dir / "out2/val.tok").tokens, bytes_to_tokens("\n"));
}

TEST(DataPrepare, OutputFolderInsideSourceIsSkipped) {
  SourceTree t;
  auto o = options_for(t.root, t.root / "corpus", 0.5);
  const auto first = entropix::prepare_corpus(o);
  o.overwrite = true;
  const auto second = entropix::prepare_corpus(o);  // meta.json must not become input
  EXPECT_EQ(second.file_count, first.file_count);
  EXPECT_EQ(second.hash, first.hash);
}

TEST(DataPrepare, BadInputsAreInputErrors) {
  TempDir dir;
  fs::create_directories(dir / "emptydir");
  write_raw(dir / "blank/a.txt", "");
  expect_input_error([&] { entropix::prepare_corpus(options_for(dir / "emptydir", dir / "o1", 0.05)); },
                     {"no input files"});
  expect_input_error([&] { entropix::prepare_corpus(options_for(dir / "blank", dir / "o2", 0.05)); }, {"empty"});
  expect_input_error([&] { entropix::prepare_corpus(options_for(dir / "missing", dir / "o3", 0.05)); },
                     {(dir / "missing").string(), "no such file"});
  expect_input_error([&] { entropix::prepare_corpus(options_for(dir / "blank", dir / "o4", 1.0)); }, {"val_fraction"});
  entropix::PrepareOptions none;
  none.out = dir / "o5";
  expect_input_error([&] { entropix::prepare_corpus(none); }, {"no sources"});
}

// ---- Python stdlib corpus -----------------------------------------------------------------

namespace {
bool have_stdlib() {
  try {
    entropix::find_python_stdlib();
    return true;
  } catch (const InputError&) {
    return false;
  }
}
}  // namespace

TEST(DataPystdlib, FindsNewestStdlib) {
  if (!have_stdlib()) GTEST_SKIP() << "no /usr/lib/python3.N on this machine";
  const fs::path root = entropix::find_python_stdlib();
  EXPECT_EQ(root.parent_path(), fs::path("/usr/lib"));
  EXPECT_EQ(root.filename().string().rfind("python3.", 0), 0u);
  EXPECT_TRUE(fs::exists(root / "os.py"));
  // Numeric compare: with 3.11 installed, never pick an older (or lexically larger, e.g. 3.9) one.
  if (fs::exists("/usr/lib/python3.11/os.py")) {
    EXPECT_GE(std::stoi(root.filename().string().substr(8)), 11);
  }
}

TEST(DataPystdlib, ListsSortedPyFilesWithoutSitePackages) {
  if (!have_stdlib()) GTEST_SKIP() << "no /usr/lib/python3.N on this machine";
  const fs::path root = entropix::find_python_stdlib();
  const auto files = entropix::list_pystdlib_files(root);
  ASSERT_GT(files.size(), 100u);
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end(),
                             [](const fs::path& a, const fs::path& b) { return a.generic_string() < b.generic_string(); }));
  EXPECT_NE(std::find(files.begin(), files.end(), root / "os.py"), files.end());
  for (const auto& f : files) {
    EXPECT_EQ(f.extension(), ".py") << f;
    for (const auto& part : f.lexically_relative(root)) {
      EXPECT_NE(part, "site-packages") << f;
      EXPECT_NE(part, "dist-packages") << f;
      EXPECT_NE(part, "__pycache__") << f;
    }
  }
}

TEST(DataPystdlib, CacheRootFollowsEnvironment) {
  EnvGuard a("ENTROPIX_CACHE", "/tmp/ec"), b("XDG_CACHE_HOME", "/tmp/xdg"), c("HOME", "/tmp/home");
  EXPECT_EQ(entropix::cache_root(), fs::path("/tmp/ec"));
  ::unsetenv("ENTROPIX_CACHE");
  EXPECT_EQ(entropix::cache_root(), fs::path("/tmp/xdg/entropix"));
  ::unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(entropix::cache_root(), fs::path("/tmp/home/.cache/entropix"));
}

TEST(DataPystdlib, EnsureCorpusPreparesOnceThenReuses) {
  if (!have_stdlib()) GTEST_SKIP() << "no /usr/lib/python3.N on this machine";
  TempDir cache;
  EnvGuard env("ENTROPIX_CACHE", cache.path().c_str());
  const fs::path stdlib = entropix::find_python_stdlib();

  testing::internal::CaptureStderr();
  const fs::path dir = entropix::ensure_pystdlib_corpus();
  const std::string first_err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(dir, cache.path() / ("pystdlib-" + stdlib.filename().string()));
  EXPECT_NE(first_err.find("preparing pystdlib corpus into"), std::string::npos) << first_err;
  const auto meta = nlohmann::json::parse(read_raw(dir / "meta.json"));
  EXPECT_EQ(meta.at("source"), "pystdlib:" + stdlib.string());
  EXPECT_GT(meta.at("train_tokens").get<uint64_t>(), 1000000u);
  const auto mtime = fs::last_write_time(dir / "train.tok");

  testing::internal::CaptureStderr();
  EXPECT_EQ(entropix::ensure_pystdlib_corpus(), dir);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");  // nothing prepared the second time
  EXPECT_EQ(fs::last_write_time(dir / "train.tok"), mtime);
  // Only the corpus itself is left in the cache: no temporary siblings.
  EXPECT_EQ(std::distance(fs::directory_iterator(cache.path()), fs::directory_iterator()), 1);
}

TEST(DataPystdlib, EnsureCorpusSurvivesARace) {
  if (!have_stdlib()) GTEST_SKIP() << "no /usr/lib/python3.N on this machine";
  TempDir cache;
  EnvGuard env("ENTROPIX_CACHE", cache.path().c_str());
  fs::path results[2];
  testing::internal::CaptureStderr();
  std::thread a([&] { results[0] = entropix::ensure_pystdlib_corpus(); });
  std::thread b([&] { results[1] = entropix::ensure_pystdlib_corpus(); });
  a.join();
  b.join();
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(results[0], results[1]);
  EXPECT_GT(entropix::read_token_file(results[0] / "val.tok").tokens.size(), 0u);
  EXPECT_EQ(std::distance(fs::directory_iterator(cache.path()), fs::directory_iterator()), 1);
}
