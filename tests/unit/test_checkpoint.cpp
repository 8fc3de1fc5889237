// Checkpoints (save, load, list, prune, resolve) and the evaluation shared by `run` and `eval`.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <random>

#include "entropix/data/batches.h"
#include "entropix/data/source.h"
#include "entropix/entropy/attention_entropy.h"
#include "entropix/entropy/entropy.h"
#include "entropix/model/gpt.h"
#include "entropix/spec/spec.h"
#include "entropix/train/checkpoint.h"
#include "entropix/train/checkpoint_eval.h"
#include "entropix/train/evaluation.h"
#include "entropix/util/error.h"
#include "support/test_util.h"
#include "entropix/model/registry.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::TempDir;

ModelSpec checkpoint_model_spec(int64_t L = 2, int64_t d = 16) {
  ModelSpec m;
  m.n_layer = L;
  m.n_head = 2;
  m.n_embd = d;
  m.context = 8;
  m.vocab_size = 32;
  return m;
}

GPT seeded_model(uint64_t seed, const ModelSpec& spec = checkpoint_model_spec()) {
  torch::manual_seed(seed);
  return GPT(spec);
}

CheckpointMeta meta_at(int64_t step) {
  CheckpointMeta m;
  m.step = step;
  m.sampler_position = static_cast<uint64_t>(step) * 2;
  m.spec_yaml = "name: test\n";
  m.entropix_version = "0.1.0";
  m.libtorch_version = "1.13.0";
  return m;
}

// A token stream held in memory: 2000 random tokens below 32.
std::shared_ptr<const TokenData> memory_tokens(uint32_t seed) {
  std::vector<uint16_t> tokens;
  std::mt19937 gen(seed);
  for (int i = 0; i < 2000; ++i) tokens.push_back(static_cast<uint16_t>(gen() % 32));
  return std::make_shared<const TokenData>(TokenData::in_memory(tokens, 32, "<memory>"));
}

bool same_state(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  auto ba = a.named_buffers(), bb = b.named_buffers();
  if (pa.size() != pb.size() || ba.size() != bb.size()) return false;
  for (size_t i = 0; i < pa.size(); ++i)
    if (pa[i].key() != pb[i].key() || !torch::equal(pa[i].value(), pb[i].value())) return false;
  for (size_t i = 0; i < ba.size(); ++i)
    if (ba[i].key() != bb[i].key() || !torch::equal(ba[i].value(), bb[i].value())) return false;
  return true;
}

// Runs `fn`, which must throw InputError; returns its message.
template <typename Fn>
std::string input_error(Fn fn) {
  try {
    fn();
  } catch (const InputError& e) {
    EXPECT_EQ(e.problems().size(), 1u);
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();  // one line for the CLI
    return e.what();
  }
  ADD_FAILURE() << "no InputError";
  return "";
}

void truncate_to_half(const fs::path& file) {
  const std::string bytes = test::read_text(file);
  test::write_text(file, bytes.substr(0, bytes.size() / 2));
}

torch::optim::AdamW make_adamw(GPT& model) {
  // Two groups, as the trainer builds them: decay on matrices only.
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& p : model->parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(1e-2).weight_decay(0.1)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(1e-2).weight_decay(0.0)));
  return torch::optim::AdamW(groups, torch::optim::AdamWOptions(1e-2));
}

void adamw_step(GPT& model, torch::optim::AdamW& opt, const BatchSampler& sampler, uint64_t k) {
  auto [x, y] = sampler.batch(k);
  opt.zero_grad();
  next_token_loss(model->forward(x).logits, y).backward();
  opt.step();
}

TEST(Checkpoint, RoundTripIsBitIdentical) {
  TempDir dir;
  GPT saved = seeded_model(1);
  const fs::path file = save_checkpoint(dir / "ckpt", meta_at(7), *saved, nullptr);
  EXPECT_EQ(file, dir / "ckpt" / "step-00000007.ckpt");
  EXPECT_TRUE(fs::exists(file.string() + ".done"));

  GPT loaded = seeded_model(2);
  ASSERT_FALSE(same_state(*saved, *loaded));
  load_checkpoint(file, *loaded, nullptr);
  EXPECT_TRUE(same_state(*saved, *loaded));
  saved->eval(), loaded->eval();
  auto idx = torch::randint(0, 32, {3, 8}, torch::kLong);
  EXPECT_TRUE(torch::equal(saved->forward(idx).logits, loaded->forward(idx).logits));
}

TEST(Checkpoint, OptimizerStateRoundTrips) {
  TempDir dir;
  const BatchSampler sampler(memory_tokens(1), 4, 8, 3, 0);
  GPT a = seeded_model(1);
  auto opt_a = make_adamw(a);
  adamw_step(a, opt_a, sampler, 0);
  adamw_step(a, opt_a, sampler, 1);
  const fs::path file = save_checkpoint(dir.path(), meta_at(2), *a, &opt_a);

  GPT b = seeded_model(2);
  auto opt_b = make_adamw(b);
  load_checkpoint(file, *b, &opt_b);
  adamw_step(a, opt_a, sampler, 2);
  adamw_step(b, opt_b, sampler, 2);
  EXPECT_TRUE(same_state(*a, *b));

  // Without the moments the next step differs: the state really was restored above.
  GPT c = seeded_model(3);
  auto opt_c = make_adamw(c);
  load_checkpoint(file, *c, nullptr);
  adamw_step(c, opt_c, sampler, 2);
  EXPECT_FALSE(same_state(*a, *c));
}

TEST(Checkpoint, RestoresCpuRngWhenAsked) {
  TempDir dir;
  GPT model = seeded_model(1);
  torch::manual_seed(42);
  const fs::path file = save_checkpoint(dir.path(), meta_at(1), *model, nullptr);
  const auto expected = torch::rand({5});
  torch::manual_seed(99);
  load_checkpoint(file, *model, nullptr);  // restore_rng = false leaves the generator alone
  EXPECT_FALSE(torch::equal(torch::rand({5}), expected));
  load_checkpoint(file, *model, nullptr, /*restore_rng=*/true);
  EXPECT_TRUE(torch::equal(torch::rand({5}), expected));
}

TEST(Checkpoint, MissingOptimizerStateIsAnError) {
  TempDir dir;
  GPT model = seeded_model(1);
  const fs::path file = save_checkpoint(dir.path(), meta_at(1), *model, nullptr);
  auto opt = make_adamw(model);
  EXPECT_NE(input_error([&] { load_checkpoint(file, *model, &opt); }).find("optimizer"), std::string::npos);
}

TEST(Checkpoint, MetaRoundTrips) {
  TempDir dir;
  CheckpointMeta meta = meta_at(123);
  meta.sampler_position = (uint64_t{1} << 40) + 5;
  meta.spec_yaml = spec_to_yaml(parse_spec("name: \"caf\xc3\xa9 run\"\nmodel:\n  n_layer: 2\n", "test"));
  GPT model = seeded_model(1);
  const fs::path file = save_checkpoint(dir.path(), meta, *model, nullptr);
  for (const CheckpointMeta& got : {read_checkpoint_meta(file), load_checkpoint(file, *model, nullptr)}) {
    EXPECT_EQ(got.step, 123);
    EXPECT_EQ(got.sampler_position, meta.sampler_position);
    EXPECT_EQ(got.spec_yaml, meta.spec_yaml);
    EXPECT_EQ(got.entropix_version, "0.1.0");
    EXPECT_EQ(got.libtorch_version, "1.13.0");
  }
  EXPECT_EQ(parse_spec(read_checkpoint_meta(file).spec_yaml, "ckpt").name, "caf\xc3\xa9 run");
}

TEST(Checkpoint, WithoutMarkerIsIncomplete) {
  TempDir dir;
  GPT model = seeded_model(1);
  const fs::path file = save_checkpoint(dir.path(), meta_at(5), *model, nullptr);
  ASSERT_EQ(complete_checkpoints(dir.path()).size(), 1u);
  fs::remove(file.string() + ".done");
  EXPECT_TRUE(complete_checkpoints(dir.path()).empty());
  const std::string msg = input_error([&] { load_checkpoint(file, *model, nullptr); });
  EXPECT_NE(msg.find("incomplete checkpoint"), std::string::npos) << msg;
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  EXPECT_NE(input_error([&] { read_checkpoint_meta(file); }).find("incomplete"), std::string::npos);
  EXPECT_NE(input_error([&] { read_checkpoint_meta(dir / "step-00000009.ckpt"); }).find("no such"),
            std::string::npos);
}

TEST(Checkpoint, TruncatedFileIsAnInputError) {
  TempDir dir;
  GPT model = seeded_model(1);
  const fs::path file = save_checkpoint(dir.path(), meta_at(5), *model, nullptr);
  truncate_to_half(file);
  GPT fresh = seeded_model(2);
  GPT untouched = seeded_model(2);
  const std::string msg = input_error([&] { load_checkpoint(file, *fresh, nullptr); });
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("unreadable"), std::string::npos) << msg;
  EXPECT_TRUE(same_state(*fresh, *untouched));
  EXPECT_NE(input_error([&] { read_checkpoint_meta(file); }).find(file.string()), std::string::npos);
}

TEST(Checkpoint, ModelOfAnotherShapeIsAnInputErrorNamingAParameter) {
  TempDir dir;
  GPT model = seeded_model(1);
  const fs::path file = save_checkpoint(dir.path(), meta_at(5), *model, nullptr);

  GPT wider = seeded_model(2, checkpoint_model_spec(2, 24));
  GPT wider_before = seeded_model(2, checkpoint_model_spec(2, 24));
  std::string msg = input_error([&] { load_checkpoint(file, *wider, nullptr); });
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("parameter wte.weight has shape [32, 16] in the checkpoint but [32, 24]"), std::string::npos)
      << msg;
  EXPECT_TRUE(same_state(*wider, *wider_before));  // nothing was copied

  GPT deeper = seeded_model(2, checkpoint_model_spec(3));
  msg = input_error([&] { load_checkpoint(file, *deeper, nullptr); });
  EXPECT_NE(msg.find("h2."), std::string::npos) << msg;
}

TEST(Checkpoint, PruneKeepsTheNewest) {
  TempDir dir;
  GPT model = seeded_model(1);
  for (int64_t step : {10, 20, 30, 40, 50}) save_checkpoint(dir.path(), meta_at(step), *model, nullptr);
  test::write_text(dir / "step-00000020.ckpt.tmp.12345", "partial");      // an interrupted save
  test::write_text(dir / "step-00000060.ckpt.tmp.12345", "in progress");  // newer: left alone
  test::write_text(dir / "step-00000015.ckpt", "no marker");             // renamed, marker not written
  test::write_text(dir / "step-00000025.ckpt.done", "");                  // marker of a deleted archive
  prune_checkpoints(dir.path(), 2);
  const auto left = complete_checkpoints(dir.path());
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].filename(), "step-00000040.ckpt");
  EXPECT_EQ(left[1].filename(), "step-00000050.ckpt");
  for (const char* gone : {"step-00000010.ckpt", "step-00000010.ckpt.done", "step-00000030.ckpt",
                           "step-00000030.ckpt.done", "step-00000020.ckpt.tmp.12345", "step-00000015.ckpt",
                           "step-00000025.ckpt.done"})
    EXPECT_FALSE(fs::exists(dir / gone)) << gone;
  EXPECT_TRUE(fs::exists(dir / "step-00000060.ckpt.tmp.12345"));
  prune_checkpoints(dir.path(), 5);  // fewer than keep: nothing to do
  EXPECT_EQ(complete_checkpoints(dir.path()).size(), 2u);
  EXPECT_THROW(prune_checkpoints(dir.path(), 0), std::invalid_argument);
  EXPECT_NO_THROW(prune_checkpoints(dir / "missing", 1));
}

TEST(Checkpoint, CompleteCheckpointsSortByStepNotName) {
  TempDir dir;
  GPT model = seeded_model(1);
  for (int64_t step : {123456789, 2, 10}) save_checkpoint(dir.path(), meta_at(step), *model, nullptr);
  test::write_text(dir / "notes.txt", "ignored");
  const auto all = complete_checkpoints(dir.path());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].filename(), "step-00000002.ckpt");
  EXPECT_EQ(all[2].filename(), "step-123456789.ckpt");
}

TEST(Checkpoint, ResolvePicksTheNewestCompleteOne) {
  TempDir dir;
  GPT model = seeded_model(1);
  const fs::path ckpts = dir / "checkpoints";
  for (int64_t step : {10, 20, 30}) save_checkpoint(ckpts, meta_at(step), *model, nullptr);
  fs::remove(ckpts / "step-00000030.ckpt.done");  // the newest was interrupted
  EXPECT_EQ(resolve_checkpoint(dir.path()), ckpts / "step-00000020.ckpt");
  EXPECT_EQ(resolve_checkpoint(ckpts), ckpts / "step-00000020.ckpt");
  EXPECT_EQ(resolve_checkpoint(ckpts / "step-00000010.ckpt"), ckpts / "step-00000010.ckpt");

  TempDir empty;
  EXPECT_NE(input_error([&] { resolve_checkpoint(empty.path()); }).find("no complete checkpoint"), std::string::npos);
  EXPECT_NE(input_error([&] { resolve_checkpoint(empty / "nope"); }).find("no such"), std::string::npos);
}

TEST(Evaluation, LossEqualsAHandLoop) {
  GPT model = seeded_model(1);
  const BatchSampler val(memory_tokens(2), 4, 8, 11, 1);
  model->train();
  const double got = evaluate_loss(model, val, 3, torch::kCPU);
  EXPECT_TRUE(model->is_training());  // mode restored

  torch::NoGradGuard no_grad;
  model->eval();
  double sum = 0;
  for (uint64_t k = 0; k < 3; ++k) {
    auto [x, y] = val.batch(k);
    sum += next_token_loss(model->forward(x).logits, y).item<double>();
  }
  // The evaluation's loss is the fused head and cross-entropy (model/lm_head_loss.h), the hand
  // loop LibTorch's cross_entropy over the logits: float32 sums in other orders, ~1e-7 relative
  // on a loss of about 3.5 nats.
  EXPECT_NEAR(got, sum / 3.0, 1e-5);
  evaluate_loss(model, val, 1, torch::kCPU);
  EXPECT_FALSE(model->is_training());
  EXPECT_THROW(evaluate_loss(model, val, 0, torch::kCPU), std::invalid_argument);
}

TEST(Evaluation, EntropyOfOneBatchEqualsTheTrainersRecord) {
  ModelSpec spec = checkpoint_model_spec();
  spec.blocks.attention = "softmax_temperature";  // has learned parameters to report
  GPT model = seeded_model(1, spec);
  const BatchSampler val(memory_tokens(3), 4, 8, 11, 1);
  const EntropyRecord got = evaluate_entropy(model, val, 1, torch::kCPU, 17);

  torch::NoGradGuard no_grad;
  model->eval();
  EntropyRecord expected = measure_attention_entropy(model->forward(val.batch(0).first, true), 17, "val");
  expected.learned = model->learned_parameters();
  EXPECT_FALSE(expected.learned.empty());
  EXPECT_EQ(to_json(got), to_json(expected));
}

TEST(Evaluation, EntropyAveragesHeadsOverBatches) {
  GPT model = seeded_model(1);
  const BatchSampler val(memory_tokens(4), 4, 8, 11, 1);
  const EntropyRecord avg = evaluate_entropy(model, val, 3, torch::kCPU, 0);
  std::vector<EntropyRecord> each;
  for (uint64_t k = 0; k < 3; ++k) {
    torch::NoGradGuard no_grad;
    model->eval();
    each.push_back(measure_attention_entropy(model->forward(val.batch(k).first, true), 0, "val"));
  }
  ASSERT_EQ(avg.headwise.size(), 2u);
  for (size_t l = 0; l < 2; ++l) {
    for (size_t h = 0; h < 2; ++h)
      EXPECT_NEAR(avg.headwise[l][h], (each[0].headwise[l][h] + each[1].headwise[l][h] + each[2].headwise[l][h]) / 3,
                  1e-12);
    EXPECT_NEAR(avg.layerwise[l], (avg.headwise[l][0] + avg.headwise[l][1]) / 2, 1e-12);
  }
  double total = 0;
  for (double f : avg.bins.fractions) total += f;
  EXPECT_NEAR(total, 1.0, 1e-12);
  EXPECT_EQ(avg.split, "val");
}

TEST(Evaluation, EvalRefusesArchitectureChanges) {
  const std::string yaml = spec_to_yaml(parse_spec("model:\n  n_layer: 2\n", "test"));
  const ExperimentSpec original = parse_spec(yaml, "ckpt");
  EXPECT_NE(input_error([&] { require_same_architecture(original, parse_spec(yaml, "ckpt", {"model.n_layer=3"})); })
                .find("eval cannot change the architecture: model.n_layer"),
            std::string::npos);
  EXPECT_NE(input_error([&] { require_same_architecture(original, parse_spec(yaml, "ckpt", {"model.norm=rmsnorm"})); })
                .find("model.norm"),
            std::string::npos);
  EXPECT_NO_THROW(require_same_architecture(
      original, parse_spec(yaml, "ckpt", {"train.batch_size=3", "seed=5", "model.n_layer=2"})));
}

TEST(DataSource, LoadsFilesNamedByTheSpec) {
  TempDir dir;
  write_token_file(dir / "t.tok", {1, 2, 3, 4}, 256);
  write_token_file(dir / "v.tok", {5, 6, 7}, 256);
  ExperimentSpec spec = parse_spec("data:\n  source: files\n  train: " +
                                       (dir / "t.tok").string() + "\n  val: " + (dir / "v.tok").string() + "\n",
                                   "test");
  const LoadedData d = load_data(spec);
  EXPECT_EQ(d.train->size(), 4u);
  EXPECT_EQ(d.val->to_vector(), (std::vector<uint16_t>{5, 6, 7}));
  EXPECT_EQ(load_split(spec, "val")->size(), 3u);
  spec.model.vocab_size = 8;  // smaller than the files' vocabulary
  EXPECT_THROW(load_split(spec, "train"), InputError);
  EXPECT_THROW(load_split(spec, "test"), std::invalid_argument);
}

}  // namespace
}  // namespace entropix
