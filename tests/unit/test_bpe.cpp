// GPT-2 byte-level BPE (lib/entropix/data/bpe.h, pretokenize.h, utf8.h): token ids against Hugging
// Face `tokenizers` on a trained vocabulary, hand-worked pieces of the pre-tokenisation pattern,
// and the UTF-8 repair rule against Python's errors="replace".
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "entropix/data/bpe.h"
#include "entropix/data/prepare.h"
#include "entropix/data/pretokenize.h"
#include "entropix/data/tokenizer.h"
#include "entropix/data/utf8.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "support/prepared_corpus.h"
#include "support/reference_python.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using entropix::test::q;
using entropix::test::TempDir;
using entropix::test::write_text;

namespace {

std::vector<std::string> pieces_of(const std::string& text) {
  entropix::Gpt2PreTokenizer p;
  std::vector<entropix::Piece> pieces;
  p.split(text, pieces);
  std::vector<std::string> out;
  for (const auto& [b, e] : pieces) out.push_back(text.substr(b, e - b));
  return out;
}

// Documents that probe every branch of the pattern and of the UTF-8 repair (written as bytes).
std::map<std::string, std::string> adversarial_documents() {
  return {
      {"adv_contractions.txt", "Hello world's THEY'RE 'S 's 't 're 've 'm 'll 'd don't I'M it''s x'y 'sx ''ll\n"},
      {"adv_space.txt",
       "a  b   c\t\td\n\n\ne \r\n f\u00a0g\u3000h   \n  \t x\x0b\x0cy\x1c\x1d\x1e\x1fz\xc2\x85w\u2028v\u200bu\u2003t end   "
       // runs around characters that only some definitions of \s count: the pieces, and so the
       // merges of the spaces, differ unless the classification is Oniguruma's White_Space
       "  \x1c  x\t\x1f\t\ty  \u00a0  x  \xc2\x85  z  \u3000  w  \u200b  v  \u2028  u"},
      {"adv_scripts.txt",
       "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u0440\u0443\u0441\u0441\u043a\u0438\u0439 \u4e2d\u6587 "
       "\u65e5\u672c\u8a9e\u306e \ud55c\uad6d\uc5b4 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea "
       "\u0939\u093f\u0928\u094d\u0926\u0940 \u0e20\u0e32\u0e29\u0e32 \u01c5 \u02b0 \u1401"},
      {"adv_numbers.txt", "123 4567 \u0663\u0664\u0665 \u2177 \u00bd \u00b2 1.5e10 0x1F x2 2x \u2460\u2461"},
      {"adv_emoji.txt", "\U0001F600\U0001F44D\U0001F3FD \U0001F468\u200d\U0001F469\u200d\U0001F467 \U0001F1EB\U0001F1F7 "
                        "\u2713 \u2122 \u00a9 <|endoftext|> ok"},
      {"adv_combining.txt", "e\u0301 n\u0303 a\u0308\u0304 cafe\u0301s \u0915\u094d\u0937"},
      {"adv_long.txt", std::string(300, ' ') + "x" + std::string(150, '=') + "\n" + std::string(400, 'a') + "\n\n\n\n"},
      {"adv_only_space.txt", "   \n\t "},
      {"adv_invalid_utf8.txt",
       "\xff\xfe abc \xc3\x28 \xe2\x82 x \xf0\x9f\x98 end \xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80 \x80\x80 \xe0\x80\x80 ok\xc3"},
  };
}

}  // namespace

TEST(Bpe, PreTokenizerPiecesByHand) {
  // Worked from the pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces_of("Hello world's"), (V{"Hello", " world", "'s"}));
  EXPECT_EQ(pieces_of("I'M 'S"), (V{"I", "'", "M", " '", "S"}));  // contractions are lower case only
  EXPECT_EQ(pieces_of("a   b"), (V{"a", "  ", " b"}));             // the run leaves its last space to " b"
  EXPECT_EQ(pieces_of("a\n\nb"), (V{"a", "\n", "\n", "b"}));        // \s+(?!\S) then a lone \s+
  EXPECT_EQ(pieces_of("x  "), (V{"x", "  "}));                      // trailing run: all of it
  EXPECT_EQ(pieces_of("ab12 34!?"), (V{"ab", "12", " 34", "!?"}));
  EXPECT_EQ(pieces_of("\u00e9t\u00e9 \u4e2d\u6587"), (V{"\u00e9t\u00e9", " \u4e2d\u6587"}));
  EXPECT_EQ(pieces_of("e\u0301x"), (V{"e", "\u0301", "x"}));  // a combining mark is neither L nor N
  EXPECT_EQ(pieces_of("\u0663\u00bd"), (V{"\u0663\u00bd"}));  // Arabic-Indic digit and a fraction: both N
}

TEST(Bpe, Utf8RepairMatchesPythonReplace) {
  // Expected strings from Python: bytes.decode("utf-8", errors="replace").
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(entropix::repair_utf8("a\xff" "b"), "a" + r + "b");
  EXPECT_EQ(entropix::repair_utf8("\xe2\x82" "x"), r + "x");          // truncated sequence: one U+FFFD
  EXPECT_EQ(entropix::repair_utf8("\xf0\x80\x80"), r + r + r);        // F0 80: overlong, each byte alone
  EXPECT_EQ(entropix::repair_utf8("\xed\xa0\x80"), r + r + r);        // a surrogate
  EXPECT_EQ(entropix::repair_utf8("\xf4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(entropix::repair_utf8("ok\xc3"), "ok" + r);               // cut at the end
  EXPECT_EQ(entropix::repair_utf8("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");  // valid stays as is
}

TEST(Bpe, TinyVocabularyMergesByRank) {
  TempDir t;
  entropix::test::write_tiny_gpt2_vocab(t.path());
  auto tok = entropix::make_gpt2_bpe_tokenizer(t / "vocab.json", t / "merges.txt");
  EXPECT_EQ(tok->vocab_size(), 262u);
  EXPECT_EQ(tok->end_of_text(), 261u);
  // " the" -> "Ġ t" (rank 0), "h e" (rank 1), then "Ġt he" (rank 2): one token 258.
  EXPECT_EQ(tok->encode(" the"), (std::vector<uint32_t>{258}));
  // "in a": "in" merges; " a" merges (rank 4) after the pre-tokenizer splits "in" | " a".
  EXPECT_EQ(tok->encode("in a"), (std::vector<uint32_t>{259, 260}));
  EXPECT_EQ(tok->decode(tok->encode("in the\xff")), "in the\xef\xbf\xbd");
}

TEST(Bpe, BadVocabularyFilesAreInputErrors) {
  TempDir t;
  entropix::test::write_tiny_gpt2_vocab(t.path());
  write_text(t / "bad_merges.txt", "#version: 0.2\nh e\nx y z\n");
  try {
    entropix::make_gpt2_bpe_tokenizer(t / "vocab.json", t / "bad_merges.txt");
    FAIL() << "accepted a malformed merges line";
  } catch (const entropix::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad_merges.txt:3:"), std::string::npos) << e.what();
  }
  write_text(t / "unknown.txt", "q z\n");  // "qz" is not in the vocabulary
  EXPECT_THROW(entropix::make_gpt2_bpe_tokenizer(t / "vocab.json", t / "unknown.txt"), entropix::InputError);
  write_text(t / "no_eot.json", "{\"a\": 0}");
  EXPECT_THROW(entropix::make_gpt2_bpe_tokenizer(t / "no_eot.json", t / "merges.txt"), entropix::InputError);
}

// The whole corpus and the adversarial documents, through `entropix prepare` and through the library,
// against `tokenizers` with a byte-level BPE that `tokenizers` trained on the corpus.
TEST(Bpe, IdsMatchHuggingFaceTokenizers) {
  ENTROPIX_REQUIRE_REFERENCE_PYTHON();
  TempDir t;
  // The local corpus: 40 modules of the CPython standard library (about 1 MB).
  const auto stdlib = entropix::list_pystdlib_files(entropix::find_python_stdlib());
  ASSERT_GE(stdlib.size(), 40u);
  const fs::path corpus = t / "corpus", docs = t / "docs";
  fs::create_directories(corpus);
  fs::create_directories(docs / "lib");
  for (size_t i = 0; i < stdlib.size() && i < 400; i += 10) {
    const std::string name = std::to_string(i) + "_" + stdlib[i].filename().string();
    fs::copy_file(stdlib[i], corpus / name);
    fs::copy_file(stdlib[i], docs / "lib" / name);
  }
  for (const auto& [name, text] : adversarial_documents()) write_text(docs / name, text);

  const std::string ref = (entropix::test::source_dir() / "tests/references/bpe_reference.py").string();
  auto trained = entropix::test::run_reference_python(ref, "train " + q(corpus) + " " + q(t / "tok") + " 1500");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  auto encoded = entropix::test::run_reference_python(
      ref, "encode " + q(t / "tok/vocab.json") + " " + q(t / "tok/merges.txt") + " " + q(docs) + " " + q(t / "ref.txt"));
  ASSERT_EQ(encoded.exit_code, 0) << encoded.err;

  std::map<std::string, std::vector<uint16_t>> expected;  // relative path -> ids (end-of-text last)
  std::istringstream lines(entropix::test::read_text(t / "ref.txt"));
  for (std::string line; std::getline(lines, line);) {
    const size_t tab = line.find('\t');
    std::istringstream ids(line.substr(tab + 1));
    for (unsigned id; ids >> id;) expected[line.substr(0, tab)].push_back(static_cast<uint16_t>(id));
  }
  ASSERT_EQ(expected.size(), 40u + adversarial_documents().size());

  auto r = entropix::test::run_entropix("prepare " + q(docs) + " --tokenizer gpt2-bpe --vocab " + q(t / "tok/vocab.json") +
                                        " --merges " + q(t / "tok/merges.txt") + " --threads 2 --val-fraction 0.2 --out " + q(t / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Library: each document on its own, with the tokenizer the corpus records.
  auto tok = entropix::load_tokenizer(t / "out");
  EXPECT_EQ(tok->kind(), "gpt2-bpe");
  for (const auto& [rel, ids] : expected) {
    std::vector<uint32_t> got;
    tok->encode_document(entropix::read_file(docs / rel), got);
    EXPECT_EQ(std::vector<uint16_t>(got.begin(), got.end()), ids) << rel;
  }
  // CLI: the token files are the documents' ids in path order, split by the documented rule.
  std::vector<uint16_t> train, val;
  for (const auto& [rel, ids] : expected) {  // std::map: byte-wise path order, as prepare sorts
    auto& dst = entropix::test::key_goes_to_val(rel, 0.2) ? val : train;
    dst.insert(dst.end(), ids.begin(), ids.end());
  }
  ASSERT_FALSE(val.empty());
  EXPECT_EQ(entropix::test::read_tokens_raw(t / "out/train.tok"), train);
  EXPECT_EQ(entropix::test::read_tokens_raw(t / "out/val.tok"), val);
}
