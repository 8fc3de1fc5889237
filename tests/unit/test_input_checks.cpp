// Input checks before anything is written (#14): the spec reader's limits, run names, the size
// bounds, checked size arithmetic and the training-memory estimate. The fault catalogue
// (test_fault_catalogue.cpp) runs the same refusals through the real binary.
#include <gtest/gtest.h>

#include "entropix/describe/describe.h"
#include "entropix/describe/memory_estimate.h"
#include "entropix/model/gpt.h"
#include "entropix/model/registry.h"
#include "entropix/spec/spec.h"
#include "entropix/spec/spec_input.h"
#include "entropix/spec/spec_keys.h"
#include "entropix/util/checked_math.h"
#include "entropix/util/error.h"
#include "support/test_util.h"

namespace entropix {
namespace {

std::string first_problem(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  try {
    parse_spec(yaml, "spec.yaml", sets);
  } catch (const InputError& e) {
    return e.problems().front();
  }
  return "";
}

TEST(InputChecks, DuplicateKeyNamedAtItsSecondOccurrence) {
  EXPECT_EQ(first_problem("train:\n  steps: 3\n  lr: 0.1\n  steps: 4\n"),
            "spec.yaml:4:3: duplicate key 'steps' (it already appears earlier in this mapping; a key may appear once)");
}

TEST(InputChecks, SecondDocumentIsAnError) {
  EXPECT_EQ(first_problem("model: {n_layer: 2}\n\n---\nmodel: {n_layer: 3}\n"),
            "spec.yaml:3:1: a second YAML document ('---'); a spec is one document");
  // One document with an explicit start marker is fine.
  EXPECT_EQ(first_problem("---\nmodel: {n_layer: 2}\n"), "");
}

// yaml-cpp 0.7 reports an empty document at such a ',' forever without consuming it; the spec
// reader notices that its parser made no progress (the fault catalogue runs the same through the
// binary under a time limit).
TEST(InputChecks, ACommaWhereAValueShouldStartIsAnError) {
  const std::string why = ": malformed YAML: ',' where a value should start (',' separates items only inside [ ] or { })";
  EXPECT_EQ(first_problem(","), "spec.yaml:1:1" + why);
  EXPECT_EQ(first_problem("# a comment\n, a\n"), "spec.yaml:2:1" + why);
  EXPECT_EQ(first_problem("- a\n,\n"), "spec.yaml:2:1" + why);
  // Commas inside flow collections are what they are for.
  EXPECT_EQ(first_problem("model: {n_layer: 2, n_head: 2}\n"), "");
}

TEST(InputChecks, EveryProblemIsOneLine) {
  // Control characters the user wrote (here through a quoted YAML key) are escaped, UTF-8 is kept.
  EXPECT_EQ(first_problem("model:\n  \"bad\\nkey\\u0001\": 1\n").substr(0, 34), "spec.yaml:2:3: model.bad\\nkey\\x01:");
  const InputError e(std::vector<std::string>{"a\nb\r\tc", "d\x7f \xc4\xa0"});
  ASSERT_EQ(e.problems().size(), 2u);
  EXPECT_EQ(e.problems()[0], "a\\nb\\r\\tc");
  EXPECT_EQ(e.problems()[1], "d\\x7f \xc4\xa0");
  EXPECT_EQ(std::string(e.what()), "a\\nb\\r\\tc\nd\\x7f \xc4\xa0");  // one line per problem
  EXPECT_EQ(InputError(std::string("x\0y", 3)).problems().front(), "x\\x00y");
}

TEST(InputChecks, AliasExpansionIsBounded) {
  // 4 levels of 20 aliases: 160,000 leaves once expanded, over the 100,000-node cap; 3 levels
  // (8,000) are under it and parse (the unknown key is then the problem).
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x]\n";
  std::string prev = "a";
  for (const char* name : {"b", "c"}) {
    yaml += std::string(name) + ": &" + name + " [";
    for (int i = 0; i < 20; ++i) yaml += (i ? ", *" : "*") + prev;
    yaml += "]\n";
    prev = name;
  }
  EXPECT_EQ(first_problem(yaml).find("expands to more than"), std::string::npos) << first_problem(yaml);
  yaml += "d: [";
  for (int i = 0; i < 20; ++i) yaml += i ? ", *c" : "*c";
  yaml += "]\n";
  EXPECT_NE(first_problem(yaml).find("the spec expands to more than 100000 YAML nodes"), std::string::npos)
      << first_problem(yaml);
}

TEST(InputChecks, LocationsAreNeverNested) {
  using spec_detail::file_of;
  EXPECT_EQ(file_of("spec.yaml:10:5"), "spec.yaml");
  EXPECT_EQ(file_of("spec.yaml"), "spec.yaml");
  EXPECT_EQ(file_of("dir:1/spec.yaml"), "dir:1/spec.yaml");
  EXPECT_EQ(file_of("--set a=1:2"), "--set a=1:2");  // one number is not a location
  // A model.layers entry reached through an alias: one file:line:col, then the key.
  const std::string p = first_problem("model:\n  layers:\n    - &e {range: 0, ffn: bogus}\n    - *e\n");
  EXPECT_TRUE(p.rfind("spec.yaml:3:", 0) == 0) << p;
  EXPECT_EQ(p.find(':', std::string("spec.yaml:3:").size()), p.find(": model.layers")) << p;
}

TEST(InputChecks, RunNames) {
  EXPECT_EQ(run_name_problem("sm-ln-g_lr=0.001"), "");
  EXPECT_EQ(run_name_problem(std::string(200, 'n')), "");
  EXPECT_NE(run_name_problem(std::string(201, 'n')).find("has 201 bytes"), std::string::npos);
  EXPECT_NE(run_name_problem("").find("must not be empty"), std::string::npos);
  EXPECT_NE(run_name_problem("../../esc").find("path separator"), std::string::npos);
  EXPECT_NE(run_name_problem("a\\b").find("path separator"), std::string::npos);
  EXPECT_NE(run_name_problem("..").find("'..'"), std::string::npos);
  EXPECT_NE(run_name_problem("a..b").find("'..'"), std::string::npos);
  EXPECT_NE(run_name_problem(".").find("'..' or is '.'"), std::string::npos);
  EXPECT_NE(run_name_problem("a\tb").find("control character"), std::string::npos);
}

TEST(InputChecks, SizeBoundsAreCheckedBeforeAnythingLoops) {
  EXPECT_EQ(first_problem("model: {n_layer: 4096, n_embd: 64, n_head: 4, context: 8}\n"), "");
  EXPECT_EQ(first_problem("model: {n_layer: 4097}\n"), "spec.yaml:1:18: model.n_layer: must be from 1 to 4096, got 4097");
  EXPECT_EQ(first_problem("", {"model.n_embd=65537"}),
            "--set model.n_embd=65537: model.n_embd: must be from 1 to 65536, got 65537");
  EXPECT_EQ(first_problem("", {"model.context=131073"}),
            "--set model.context=131073: model.context: must be from 2 to 131072, got 131073");
  EXPECT_EQ(first_problem("", {"model.ffn_mult=65"}), "--set model.ffn_mult=65: model.ffn_mult: must be from 1 to 64, got 65");
  EXPECT_EQ(first_problem("", {"model=3"}),
            "--set model=3: model is a section, not a key; set one of its keys, e.g. --set model.n_layer=...");
}

TEST(InputChecks, SlurmKeysThroughSet) {
  EXPECT_EQ(first_problem("", {"slurm.partition=gpu", "slurm.gpus=2", "slurm.extra=[--constraint=h100]"}), "");
  EXPECT_EQ(first_problem("", {"slurm.gpus=-1"}), "--set slurm.gpus=-1: slurm.gpus: expected an integer >= 0, got '-1'");
  EXPECT_EQ(first_problem("slurm: {partiton: gpu}\n"),
            "spec.yaml:1:9: slurm.partiton: unknown key (did you mean partition?); valid: partition, account, qos, time, "
            "mem, gpus, cpus_per_task, max_parallel, signal_seconds, extra, setup");
}

TEST(InputChecks, CheckedArithmeticThrowsInsteadOfWrapping) {
  EXPECT_EQ(checked_mul(int64_t(1) << 31, int64_t(1) << 31, "x"), int64_t(1) << 62);
  EXPECT_THROW(checked_mul(int64_t(1) << 32, int64_t(1) << 31, "x"), InputError);
  EXPECT_THROW(checked_add(INT64_MAX, 1, "x"), InputError);
  // A shape beyond the spec's bounds, built in code: the inventory refuses it instead of
  // printing a wrapped (or zero) element count. T x T x H = 2^62 per layer, 4 layers.
  ModelSpec m;
  m.n_layer = 4;
  m.n_head = 1 << 20;
  m.n_embd = 1 << 20;
  m.context = int64_t(1) << 21;
  EXPECT_THROW(nonlinearity_inventory(m), InputError);
}

TEST(InputChecks, ParameterEstimateMatchesGpt2Small) {
  // GPT-2 small (12 x 768, 12 heads, T 1024, V 50257): HF's count is 124,439,808 with biases and
  // LayerNorm gains; the estimate leaves those out (12 x 12 d^2 + V d + T d = 124,318,464).
  ExperimentSpec s;
  s.model.n_layer = 12;
  s.model.n_head = 12;
  s.model.n_embd = 768;
  s.model.context = 1024;
  s.model.vocab_size = 50257;
  const MemoryEstimate e = estimate_training_memory(s);
  EXPECT_DOUBLE_EQ(e.params, 124318464.0);
  EXPECT_LT(e.params, 124439808.0);
  EXPECT_DOUBLE_EQ(e.parameter_bytes + e.gradient_bytes + e.optimizer_bytes, 16 * 124318464.0);
}

TEST(InputChecks, ParameterEstimateIsAFloorOfTheBuiltModel) {
  for (const std::vector<std::string>& sets :
       {std::vector<std::string>{}, {"model.ffn=none"}, {"model.norm=none", "model.activation=relu"}}) {
    const ExperimentSpec s = parse_spec("model: {n_layer: 2, n_head: 2, n_embd: 64, context: 16}\n", "s.yaml", sets);
    const double estimate = estimate_training_memory(s).params;
    const double built = static_cast<double>(GPT(s.model)->parameter_count());
    EXPECT_LE(estimate, built);
    EXPECT_GE(estimate, 0.95 * built);  // biases and gains: 13 d per layer against 12 d^2 of weights
  }
}

TEST(InputChecks, ActivationEstimateFollowsTheDocumentedFormula) {
  // B T x (L x (6 d + 2 m d + H T) + 2 V) x 4 bytes with B 2, T 8, L 1, d 16, m 4, H 2, V 256:
  // 16 x (96 + 128 + 16 + 512) x 4 = 48,128 bytes.
  const ExperimentSpec s = parse_spec("model: {n_layer: 1, n_head: 2, n_embd: 16, context: 8}\ntrain: {batch_size: 2}\n",
                                      "s.yaml", {});
  EXPECT_DOUBLE_EQ(estimate_training_memory(s).activation_bytes, 48128.0);
}

TEST(InputChecks, MemorySizes) {
  EXPECT_DOUBLE_EQ(parse_memory_size("8G", "--max-memory"), 8.0 * (1 << 30));
  EXPECT_DOUBLE_EQ(parse_memory_size("512MiB", "--max-memory"), 512.0 * (1 << 20));
  EXPECT_DOUBLE_EQ(parse_memory_size("1.5t", "--max-memory"), 1.5 * 1024.0 * 1024 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_memory_size("1000", "--max-memory"), 1000.0);
  for (const char* bad : {"", "G", "-1G", "8X", "8GG", "nan", "0"})
    EXPECT_THROW(parse_memory_size(bad, "--max-memory"), InputError) << bad;
}

TEST(InputChecks, SpecFileLimits) {
  test::TempDir dir;
  test::write_text(dir / "big.yaml", std::string(kMaxSpecBytes + 1, '#'));
  try {
    read_spec_text((dir / "big.yaml").string());
    FAIL() << "a spec over the cap was read";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("a spec may have at most 1048576 bytes"), std::string::npos) << e.what();
  }
  test::write_text(dir / "ok.yaml", std::string(kMaxSpecBytes, '#'));
  EXPECT_EQ(read_spec_text((dir / "ok.yaml").string()).size(), static_cast<size_t>(kMaxSpecBytes));
  EXPECT_THROW(read_spec_text("/dev/null"), InputError);  // a character device, even an empty one
}

}  // namespace
}  // namespace entropix
