// `entropix sample`: deterministic for a seed, greedy decoding against an argmax loop written
// here on the checkpoint's logits, and bad options as one error line.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "entropix/entropy/regulariser.h"
#include "entropix/model/gpt.h"
#include "entropix/model/registry.h"
#include "entropix/spec/spec.h"
#include "entropix/train/checkpoint.h"
#include "support/cli_expect.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::q;
using test::run_entropix;
using test::TempDir;

// One 20-step smoke run (T = 32) shared by the tests of a process.
class SampleOfRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>("entropix-sample");
    run_ = run_entropix("run " + q(test::source_dir() / "experiments" / "smoke.yaml") +
                        " --set train.steps=20 --set train.eval_every=20 --quiet --out " + q(run_dir()));
  }
  static void TearDownTestSuite() { dir_.reset(); }
  static fs::path run_dir() { return dir_->path() / "run"; }
  void SetUp() override { ASSERT_EQ(run_.exit_code, 0) << run_.out << run_.err; }
  static std::unique_ptr<TempDir> dir_;
  static test::CommandResult run_;
};
std::unique_ptr<TempDir> SampleOfRun::dir_;
test::CommandResult SampleOfRun::run_;

nlohmann::json sample_json(const std::string& args) {
  auto r = run_entropix("sample " + args + " --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}

TEST_F(SampleOfRun, SameSeedSameTextOtherSeedOtherText) {
  const std::string base = q(run_dir()) + " --prompt 'def main(' --tokens 40 --temperature 1.0";
  const auto a = sample_json(base + " --seed 3"), b = sample_json(base + " --seed 3"), c = sample_json(base + " --seed 4");
  ASSERT_FALSE(a.is_null() || b.is_null() || c.is_null());
  EXPECT_EQ(a["tokens"], b["tokens"]);
  EXPECT_EQ(a["text"], b["text"]);
  EXPECT_EQ(a["tokens"].size(), 40u);
  // Forty draws from a 20-step byte model (val loss ~3 nats per token) agreeing by chance
  // is practically impossible; equal outputs would mean the seed is ignored.
  EXPECT_NE(a["tokens"], c["tokens"]);
  // The prompt is encoded byte by byte; the text is the new tokens' bytes.
  EXPECT_EQ(a["prompt_tokens"], nlohmann::json(std::vector<int64_t>{'d', 'e', 'f', ' ', 'm', 'a', 'i', 'n', '('}));
  std::string bytes;
  for (const auto& t : a["tokens"]) bytes += static_cast<char>(t.get<int>());
  auto plain = run_entropix("sample " + base + " --seed 3");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, "def main(" + bytes + "\n");
}

// Greedy decoding computed here: feed the last T ids, take the argmax of the last position's
// logits (the lowest id on ties). 40 new tokens after a 9-byte prompt run past T = 32, so the
// context is cropped on the way.
TEST_F(SampleOfRun, TemperatureZeroAndTopKOneAreGreedy) {
  const fs::path file = resolve_checkpoint(run_dir());
  const ExperimentSpec spec = parse_spec(read_checkpoint_meta(file).spec_yaml, file.string());
  GPT model = build_model(spec.model, spec.entropy_reg);
  load_checkpoint(file, *model, nullptr);
  model->eval();
  torch::NoGradGuard no_grad;
  std::vector<int64_t> seq = {'d', 'e', 'f', ' ', 'm', 'a', 'i', 'n', '('}, expected;
  const int64_t T = spec.model.context;
  for (int i = 0; i < 40; ++i) {
    const int64_t n = std::min<int64_t>(T, seq.size());
    const torch::Tensor idx = torch::tensor(std::vector<int64_t>(seq.end() - n, seq.end())).view({1, n});
    const torch::Tensor last = model->forward(idx).logits[0][n - 1];  // (V)
    const float* p = last.contiguous().data_ptr<float>();
    const int64_t id = std::max_element(p, p + last.numel()) - p;  // first maximum
    seq.push_back(id);
    expected.push_back(id);
  }
  const std::string base = q(run_dir()) + " --prompt 'def main(' --tokens 40";
  EXPECT_EQ(sample_json(base + " --temperature 0")["tokens"], nlohmann::json(expected));
  EXPECT_EQ(sample_json(base + " --top-k 1 --seed 9")["tokens"], nlohmann::json(expected));
  EXPECT_EQ(sample_json(base + " --temperature 0 --seed 10")["tokens"], nlohmann::json(expected));
}

TEST_F(SampleOfRun, BadOptionsAreOneErrorLine) {
  const std::string base = "sample " + q(run_dir()) + " --prompt 'x'";
  test::expect_one_error_line(run_entropix(base + " --tokens 0"), "--tokens: must be >= 1");
  test::expect_one_error_line(run_entropix(base + " --tokens 5 --temperature=-1"), "--temperature: must be a finite number >= 0");
  test::expect_one_error_line(run_entropix(base + " --tokens 5 --top-k 257"), "--top-k: must be in 0..model.vocab_size 256");
  test::expect_one_error_line(run_entropix(base + " --tokens 5 --top-k=-2"), "--top-k");
  test::expect_one_error_line(run_entropix("sample " + q(run_dir()) + " --prompt '' --tokens 5"), "--prompt: empty");
  test::expect_one_error_line(run_entropix("sample " + q(run_dir() / "nothing") + " --prompt x --tokens 5"), "no such file");
}

}  // namespace
}  // namespace entropix
