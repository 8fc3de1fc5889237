// `prepare --tokenizer sentencepiece` (lib/entropix/data/sentencepiece_tokenizer.h): a model trained
// on the corpus with Debian's libsentencepiece, then applied with --model; ids against the Python
// `sentencepiece` package on the same model.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "entropix/data/prepare.h"
#include "entropix/data/sentencepiece_tokenizer.h"
#include "entropix/data/tokenizer.h"
#include "entropix/util/fs.h"
#include "support/prepared_corpus.h"
#include "support/reference_python.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using entropix::test::q;
using entropix::test::TempDir;

TEST(SentencePiece, TrainsAppliesAndMatchesPythonSentencepiece) {
  if (!entropix::have_sentencepiece()) GTEST_SKIP() << "built without libsentencepiece (apt-get install libsentencepiece-dev)";
  ENTROPIX_REQUIRE_REFERENCE_PYTHON();
  TempDir t;
  const auto stdlib = entropix::list_pystdlib_files(entropix::find_python_stdlib());
  const fs::path docs = t / "docs";
  fs::create_directories(docs);
  for (size_t i = 5; i < stdlib.size() && i < 305; i += 15)
    fs::copy_file(stdlib[i], docs / (std::to_string(i) + "_" + stdlib[i].filename().string()));
  entropix::test::write_text(docs / "unicode.txt", "\u00e9t\u00e9 \u4e2d\u6587 \U0001F600  tabs\tand\n\nlines 123");

  auto trained = entropix::test::run_entropix("prepare " + q(docs) + " --tokenizer sentencepiece --vocab-size 600 --val-fraction 0.3 --out " +
                                              q(t / "trained"));
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto meta = nlohmann::json::parse(entropix::read_file(t / "trained/meta.json"));
  EXPECT_EQ(meta["tokenizer"], "sentencepiece");
  EXPECT_EQ(meta["vocab_size"], 600);
  EXPECT_EQ(meta["tokenizer_info"]["files"]["model"], "tokenizer.model");
  EXPECT_EQ(meta["tokenizer_info"]["checksums"]["model"], entropix::file_checksum(t / "trained/tokenizer.model"));

  // Applying the stored model gives the same token files.
  auto applied = entropix::test::run_entropix("prepare " + q(docs) + " --tokenizer sentencepiece --model " +
                                              q(t / "trained/tokenizer.model") + " --threads 3 --val-fraction 0.3 --out " + q(t / "applied"));
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  for (const char* f : {"train.tok", "val.tok"})
    EXPECT_EQ(entropix::read_file(t / "trained" / f), entropix::read_file(t / "applied" / f)) << f;

  const std::string ref = (entropix::test::source_dir() / "tests/references/sentencepiece_reference.py").string();
  auto py = entropix::test::run_reference_python(ref, q(t / "trained/tokenizer.model") + " " + q(docs) + " " + q(t / "ref.txt"));
  ASSERT_EQ(py.exit_code, 0) << py.err;
  std::map<std::string, std::vector<uint16_t>> expected;
  std::istringstream lines(entropix::test::read_text(t / "ref.txt"));
  for (std::string line; std::getline(lines, line);) {
    const size_t tab = line.find('\t');
    std::istringstream ids(line.substr(tab + 1));
    for (unsigned id; ids >> id;) expected[line.substr(0, tab)].push_back(static_cast<uint16_t>(id));
  }
  ASSERT_EQ(expected.size(), 21u);
  auto tok = entropix::load_tokenizer(t / "trained");
  std::vector<uint16_t> train, val;
  for (const auto& [rel, ids] : expected) {
    std::vector<uint32_t> got;
    tok->encode_document(entropix::read_file(docs / rel), got);
    EXPECT_EQ(std::vector<uint16_t>(got.begin(), got.end()), ids) << rel;
    auto& dst = entropix::test::key_goes_to_val(rel, 0.3) ? val : train;
    dst.insert(dst.end(), ids.begin(), ids.end());
  }
  ASSERT_FALSE(val.empty());
  EXPECT_EQ(entropix::test::read_tokens_raw(t / "trained/train.tok"), train);
  EXPECT_EQ(entropix::test::read_tokens_raw(t / "trained/val.tok"), val);
}
