// `entropix prepare` beyond byte-level text files: JSONL inputs (--field), the GPT-2 BPE tokenizer
// through the CLI, thread-count independence, nanoGPT output, meta.json's tokenizer record and
// load_tokenizer, and the paper specs' missing-data error.
#include <gtest/gtest.h>

#include <zlib.h>

#include <nlohmann/json.hpp>

#include "entropix/data/tokenizer.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "support/prepared_corpus.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using entropix::test::q;
using entropix::test::read_tokens_raw;
using entropix::test::run_entropix;
using entropix::test::TempDir;
using entropix::test::write_text;

namespace {

std::string json_line(const std::string& field, const std::string& text) {
  return nlohmann::json{{"id", 7}, {field, text}}.dump() + "\n";
}

std::string bpe_args(const TempDir& t) {
  return " --tokenizer gpt2-bpe --vocab " + q(t / "vocab.json") + " --merges " + q(t / "merges.txt");
}

}  // namespace

TEST(PrepareInputs, JsonlDocumentsAreTheFieldsStrings) {
  TempDir t;
  std::vector<std::string> docs;
  std::string jsonl;
  for (int i = 0; i < 60; ++i) {
    docs.push_back("doc " + std::to_string(i) + ": \"quoted\" \\ and \u00e9\n");
    jsonl += json_line("content", docs.back());
    if (i == 10) jsonl += "\n   \n";  // blank lines are skipped
  }
  write_text(t / "in.jsonl", jsonl);
  auto r = run_entropix("prepare " + q(t / "in.jsonl") + " --field content --out " + q(t / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Byte-level: each document's bytes (they end in '\n', so nothing is added), split per document by
  // the key "<file>:<line>".
  std::vector<uint16_t> train, val;
  int line = 0;
  for (int i = 0; i < 60; ++i) {
    line += 1 + (i == 11 ? 2 : 0);
    auto& dst = entropix::test::key_goes_to_val("in.jsonl:" + std::to_string(line), 0.05) ? val : train;
    for (unsigned char c : docs[i]) dst.push_back(c);
  }
  ASSERT_FALSE(val.empty());
  ASSERT_FALSE(train.empty());
  EXPECT_EQ(read_tokens_raw(t / "out/train.tok"), train);
  EXPECT_EQ(read_tokens_raw(t / "out/val.tok"), val);
  const auto meta = nlohmann::json::parse(entropix::read_file(t / "out/meta.json"));
  EXPECT_EQ(meta["documents"], 60);
  EXPECT_EQ(meta["files"], 1);
  EXPECT_EQ(meta["jsonl_field"], "content");
}

TEST(PrepareInputs, GzipJsonlReadsAsThePlainFile) {
  TempDir t;
  std::string jsonl;
  for (int i = 0; i < 500; ++i) jsonl += json_line("text", "line " + std::to_string(i) + std::string(i % 13, '#'));
  fs::create_directories(t / "plain");
  fs::create_directories(t / "gz");
  write_text(t / "plain/c.jsonl", jsonl);
  gzFile gz = gzopen((t / "gz/c.jsonl.gz").c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, jsonl.data(), static_cast<unsigned>(jsonl.size())), static_cast<int>(jsonl.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
  for (const char* dir : {"plain", "gz"}) {  // folders: the .gz file is not skipped as binary
    auto r = run_entropix("prepare " + q(t / dir) + " --field text --out " + q(t / (std::string(dir) + "-out")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const auto a = nlohmann::json::parse(entropix::read_file(t / "plain-out/meta.json"));
  const auto b = nlohmann::json::parse(entropix::read_file(t / "gz-out/meta.json"));
  EXPECT_EQ(a["hash"], b["hash"]);  // over the decompressed bytes
  EXPECT_EQ(b["documents"], 500);
  EXPECT_EQ(a["train_tokens"].get<int>() + a["val_tokens"].get<int>(), b["train_tokens"].get<int>() + b["val_tokens"].get<int>());
}

TEST(PrepareInputs, BadJsonlLinesNameFileAndLine) {
  TempDir t;
  const std::string good = json_line("text", "fine");
  const std::pair<std::string, std::string> cases[] = {
      {good + "{\"text\": \"cut\n", "bad.jsonl:2: not valid JSON"},
      {good + good + "{\"body\": \"x\", \"id\": 1}\n", "bad.jsonl:3: no field \"text\" (the object has: body, id)"},
      {good + "{\"text\": 12}\n", "bad.jsonl:2: field \"text\" is a number, expected a string"},
      {"[1, 2]\n", "bad.jsonl:1: expected a JSON object"},
      // A number too large for a double is nlohmann's out_of_range, not a parse_error.
      {good + "{\"text\": 1e999}\n", "bad.jsonl:2: not valid JSON ([json.exception.out_of_range.406] number overflow"},
  };
  fs::create_directories(t / "kept");
  for (const auto& [content, needle] : cases) {
    write_text(t / "bad.jsonl", content);
    // Into a new folder (two levels): both are removed again. Into an existing one: it stays, empty.
    for (const fs::path& out : {t / "new" / "corpus", t / "kept"}) {
      auto r = run_entropix("prepare " + q(t / "bad.jsonl") + " --field text --overwrite --out " + q(out));
      EXPECT_EQ(r.exit_code, 2) << content;
      EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;  // one error line
    }
    EXPECT_FALSE(fs::exists(t / "new")) << content;
  }
  ASSERT_TRUE(fs::is_directory(t / "kept"));
  for (const auto& e : fs::directory_iterator(t / "kept"))  // no temporary token files left behind
    ADD_FAILURE() << "left behind: " << e.path();
}

TEST(PrepareInputs, Gpt2BpeOutputDoesNotDependOnThreads) {
  TempDir t;
  entropix::test::write_tiny_gpt2_vocab(t.path());
  std::string jsonl;
  for (int i = 0; i < 3000; ++i)
    jsonl += json_line("text", "in the " + std::to_string(i) + " a the\u00e9 " + std::string(i % 7, ' ') + "x");
  write_text(t / "c.jsonl", jsonl);
  std::string files[3];
  for (int threads : {1, 2, 5}) {
    const fs::path out = t / ("out" + std::to_string(threads));
    auto r = run_entropix("prepare " + q(t / "c.jsonl") + " --field text" + bpe_args(t) + " --threads " +
                          std::to_string(threads) + " --out " + q(out));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    files[threads == 1 ? 0 : threads == 2 ? 1 : 2] =
        entropix::read_file(out / "train.tok") + "|" + entropix::read_file(out / "val.tok");
  }
  EXPECT_EQ(files[0], files[1]);
  EXPECT_EQ(files[0], files[2]);
  // Every document ends with <|endoftext|> (261): 3000 of them across both files.
  const auto train = read_tokens_raw(t / "out1/train.tok"), val = read_tokens_raw(t / "out1/val.tok");
  EXPECT_EQ(std::count(train.begin(), train.end(), 261) + std::count(val.begin(), val.end(), 261), 3000);
}

TEST(PrepareInputs, MetaRecordsTheTokenizerAndLoadTokenizerReadsIt) {
  TempDir t;
  entropix::test::write_tiny_gpt2_vocab(t.path());
  write_text(t / "a.txt", "in the end");
  auto r = run_entropix("prepare " + q(t / "a.txt") + bpe_args(t) + " --format nanogpt --out " + q(t / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(t / "out/train.bin"));
  EXPECT_FALSE(fs::exists(t / "out/train.tok"));
  const auto meta = nlohmann::json::parse(entropix::read_file(t / "out/meta.json"));
  EXPECT_EQ(meta["tokenizer"], "gpt2-bpe");
  EXPECT_EQ(meta["vocab_size"], 262);
  EXPECT_EQ(meta["token_format"], "nanogpt");
  EXPECT_EQ(meta["tokenizer_info"]["end_of_text"], 261);
  EXPECT_EQ(meta["tokenizer_info"]["files"]["vocab"], "vocab.json");
  EXPECT_EQ(meta["tokenizer_info"]["checksums"]["merges"], entropix::file_checksum(t / "merges.txt"));
  // The stored copy decodes the corpus back: "in the end" + <|endoftext|>, split at the tail.
  auto tok = entropix::load_tokenizer(t / "out");
  auto ids = read_tokens_raw(t / "out/train.bin");
  const auto val = read_tokens_raw(t / "out/val.bin");
  ids.insert(ids.end(), val.begin(), val.end());
  EXPECT_EQ(ids.back(), 261);
  ids.pop_back();
  EXPECT_EQ(tok->decode(std::vector<uint32_t>(ids.begin(), ids.end())), "in the end");
  // A changed tokenizer file is refused.
  write_text(t / "out/merges.txt", "#version: 0.2\n");
  EXPECT_THROW(entropix::load_tokenizer(t / "out"), entropix::InputError);
}

TEST(PrepareInputs, TokenizerOptionErrors) {
  TempDir t;
  write_text(t / "a.txt", "hello");
  const std::pair<std::string, std::string> cases[] = {
      {"--tokenizer gpt2-bpe", "needs --vocab vocab.json and --merges merges.txt"},
      {"--vocab v.json", "go with --tokenizer gpt2-bpe"},
      {"--tokenizer sentencepiece", "needs either --model FILE"},
      {"--tokenizer gpt2-bpe --vocab " + q(t / "nope.json") + " --merges " + q(t / "a.txt"), "nope.json"},
  };
  for (const auto& [args, needle] : cases) {
    auto r = run_entropix("prepare " + q(t / "a.txt") + " " + args + " --out " + q(t / "out"));
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << ": " << r.err;
  }
}

TEST(PrepareInputs, ProgressLineShowsRateAndEta) {
  TempDir t;
  write_text(t / "a.txt", std::string(10000, 'x'));
  auto r = run_entropix("prepare " + q(t / "a.txt") + " --progress --out " + q(t / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("MB/s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("0.0/0.0 MB (100%)"), std::string::npos) << r.err;
}

TEST(PrepareInputs, PaperSpecsMissingDataPointsToDocs) {
  TempDir t;
  const fs::path spec = entropix::test::source_dir() / "experiments/paper/sm-ln-g.yaml";
  auto r = run_entropix("run " + q(spec) + " --out " + q(t / "run") + " --set data.train=" + q(t / "none/train.bin") +
                        " --set data.val=" + q(t / "none/val.bin") + " --set train.steps=1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no such file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("docs/data.md"), std::string::npos) << r.err;
}
