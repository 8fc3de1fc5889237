// `entropix export` and `entropix eval --full`, checked against outside readers: the safetensors
// library (bit-exact tensors) and transformers' GPT2LMHeadModel (logits, attention entropy and the
// full-split perplexity on the same data), through tests/references/*.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

#include "entropix/data/batches.h"
#include "entropix/data/source.h"
#include "entropix/data/token_file.h"
#include "entropix/entropy/regulariser.h"
#include "entropix/model/gpt.h"
#include "entropix/model/registry.h"
#include "entropix/spec/spec.h"
#include "entropix/train/checkpoint.h"
#include "support/reference_python.h"
#include "support/cli_expect.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::q;
using test::run_entropix;
using test::TempDir;

std::string reference(const std::string& script) { return (test::source_dir() / "tests" / "references" / script).string(); }

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_bytes(const fs::path& p, const void* data, size_t n) {
  std::ofstream out(p, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
}

// Exit 2 with exactly one line on stderr, "error: ..." containing `needle`.
// No "*.tmp.*" entry left in `dir` (the export's temporary directory).
void expect_no_temporaries(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

// The checkpoint's model, built and loaded here through LibTorch (not through the export code).
struct CheckpointModel {
  std::string spec_yaml;  // as saved in the checkpoint
  ExperimentSpec spec;
  GPT model{nullptr};
};
CheckpointModel load_here(const fs::path& run_dir) {
  const fs::path file = resolve_checkpoint(run_dir);
  CheckpointModel m;
  m.spec_yaml = read_checkpoint_meta(file).spec_yaml;
  m.spec = parse_spec(m.spec_yaml, file.string());
  m.model = build_model(m.spec.model, m.spec.entropy_reg);
  load_checkpoint(file, *m.model, nullptr);
  m.model->eval();
  return m;
}

// An untrained checkpoint of smoke.yaml with `overrides`, written in-process.
fs::path hand_made_checkpoint(const fs::path& run_dir, const std::vector<std::string>& overrides) {
  const ExperimentSpec spec = load_spec(test::smoke_spec_path().string(), overrides);
  torch::manual_seed(spec.seed);
  GPT model = build_model(spec.model, spec.entropy_reg);
  CheckpointMeta meta;
  meta.step = 1;
  meta.spec_yaml = spec_to_yaml(spec);
  meta.entropix_version = "test";
  meta.libtorch_version = "test";
  return save_checkpoint(run_dir / "checkpoints", meta, *model, nullptr);
}

// A short val token file cut from the run's val split: 2041 tokens = 63 windows of T = 32 and a
// 25-token tail that fills no window.
constexpr int64_t kValTokens = 2041;
fs::path short_val_file(const ExperimentSpec& spec, const fs::path& dir) {
  const auto val = load_split(spec, "val");
  const std::vector<uint16_t> all = val->to_vector();
  std::vector<uint16_t> tokens(all.begin(), all.begin() + kValTokens);
  const fs::path p = dir / "val-short.tok";
  write_token_file(p, tokens, 256);
  return p;
}
std::string short_val_sets(const fs::path& file) {
  return " --set data.source=files --set data.train=" + q(file) + " --set data.val=" + q(file);
}

// Trained runs (20 steps of smoke.yaml, so the weights are away from their initial values), one
// per variant, made on first use and shared by the tests of one process.
class ExportOfRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = std::make_unique<TempDir>("entropix-export"); }
  static void TearDownTestSuite() { dir_.reset(); }
  static fs::path trained_run(const std::string& name, const std::string& sets = "") {
    const fs::path run = dir_->path() / name;
    if (!fs::exists(run)) {
      auto r = run_entropix("run " + q(test::smoke_spec_path()) + " --set train.steps=20 --set train.eval_every=20 --quiet" + sets +
                            " --out " + q(run));
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    }
    return run;
  }
  static fs::path dir() { return dir_->path(); }
  static std::unique_ptr<TempDir> dir_;
};
std::unique_ptr<TempDir> ExportOfRun::dir_;

TEST_F(ExportOfRun, SafetensorsHoldsEveryTensorBitExactly) {
  ENTROPIX_REQUIRE_REFERENCE_PYTHON();
  // Weight norm on the FFN, so the file also holds parameters other than plain weights.
  const fs::path run = trained_run("wn", " --set model.ffn_reparam=weight_norm");
  const fs::path out = dir() / "st";
  auto r = run_entropix("export " + q(run) + " --format safetensors --out " + q(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path dump = dir() / "st-dump";
  fs::create_directories(dump);
  auto py = test::run_reference_python(reference("safetensors_dump.py"), q(out / "model.safetensors") + " " + q(dump));
  ASSERT_EQ(py.exit_code, 0) << py.out << py.err;
  const auto index = nlohmann::json::parse(test::read_text(dump / "index.json"));

  const CheckpointModel m = load_here(run);
  size_t expected = 0;
  auto check = [&](const std::string& name, const torch::Tensor& t) {
    ++expected;
    ASSERT_TRUE(index.contains(name)) << name;
    const auto& e = index[name];
    EXPECT_EQ(e["shape"].get<std::vector<int64_t>>(), t.sizes().vec()) << name;
    EXPECT_EQ(e["dtype"], t.scalar_type() == torch::kBool ? "bool" : "float32") << name;
    const torch::Tensor c = t.contiguous();
    const std::string bytes = read_bytes(dump / e["file"].get<std::string>());
    ASSERT_EQ(bytes.size(), static_cast<size_t>(c.numel()) * c.element_size()) << name;
    EXPECT_EQ(std::memcmp(bytes.data(), c.data_ptr(), bytes.size()), 0) << name << " differs";
  };
  for (const auto& p : m.model->named_parameters()) check(p.key(), p.value());
  for (const auto& b : m.model->named_buffers()) check(b.key(), b.value());
  EXPECT_EQ(index.size(), expected);
  EXPECT_TRUE(index.contains("h0.ffn.c_fc.v") && index.contains("h0.ffn.c_fc.g")) << index.dump();

  // The manifest: the checkpoint's resolved spec and every tensor's name and role.
  const auto manifest = nlohmann::json::parse(test::read_text(out / "entropix-export.json"));
  EXPECT_EQ(manifest["format"], "entropix-safetensors");
  EXPECT_EQ(manifest["step"], 20);
  EXPECT_EQ(manifest["spec_yaml"].get<std::string>(), m.spec_yaml);
  EXPECT_EQ(manifest["tensors"].size(), expected);
  for (const auto& t : manifest["tensors"])
    if (t["name"] == "h0.ffn.c_fc.g") {
      EXPECT_EQ(t["role"], role_name(ParamRole::ReparamMagnitude));
    }
}

// The exported GPT-2 against entropix on val batch 0 (the batch of `eval --batches 1`): logits,
// headwise entropy from output_attentions, and the perplexity of every window of a short val file.
void expect_hf_parity(const fs::path& run, const fs::path& work) {
  const fs::path out = work / "hf";
  auto r = run_entropix("export " + q(run) + " --format hf --out " + q(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const CheckpointModel m = load_here(run);
  const int64_t T = m.spec.model.context, V = m.spec.model.vocab_size;
  const BatchSampler val(load_split(m.spec, "val"), m.spec.train.batch_size, T, m.spec.seed, 1);
  const torch::Tensor x = val.batch(0).first.contiguous();  // (B, T) int64
  const int64_t B = x.size(0);
  write_bytes(work / "batch.i64", x.data_ptr<int64_t>(), static_cast<size_t>(x.numel()) * 8);
  const fs::path val_file = short_val_file(m.spec, work);
  std::vector<uint16_t> val_tokens = read_token_file(val_file).tokens;
  write_bytes(work / "val.u16", val_tokens.data(), val_tokens.size() * 2);

  auto py = test::run_reference_python(reference("hf_gpt2_parity.py"), q(out) + " " + q(work / "batch.i64") + " " +
                                                                          std::to_string(B) + " " + std::to_string(T) +
                                                                          " " + q(work) + " " + q(work / "val.u16"));
  ASSERT_EQ(py.exit_code, 0) << py.out << py.err;
  const auto ref = nlohmann::json::parse(test::read_text(work / "entropy.json"));

  // Logits: float32 through different but equivalent products (one fused q|k|v matrix and
  // Conv1D's addmm in transformers); at |logit| ~ 10 float32 rounding is ~1e-6 (measured: 5e-7).
  // The issue asks for 1e-4; 1e-5 is used because on this 20-step model exporting GELU as
  // gelu_new (the tanh approximation) moves the logits by only 8e-5.
  torch::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    GPT model = m.model;
    logits = model->forward(x).logits.contiguous();  // (B, T, V)
  }
  const std::string ref_bytes = read_bytes(work / "logits.f32");
  ASSERT_EQ(ref_bytes.size(), static_cast<size_t>(B * T * V) * 4);
  const torch::Tensor ref_logits = torch::from_blob(const_cast<char*>(ref_bytes.data()), {B, T, V}, torch::kFloat32);
  const double max_logit_diff = (logits - ref_logits).abs().max().item<double>();
  EXPECT_LE(max_logit_diff, 1e-5);

  // Headwise entropy: entropix's record for this batch (eval --batches 1) against the entropy
  // computed in Python from output_attentions; values ~3 nats from float32 probabilities, means
  // over 256 rows (measured: 1e-8; the issue asks for 1e-4).
  auto e = run_entropix("eval " + q(run) + " --batches 1 --json");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const auto headwise = nlohmann::json::parse(e.out)["entropy"]["headwise"];
  ASSERT_EQ(headwise.size(), ref["headwise"].size());
  double max_entropy_diff = 0;
  for (size_t l = 0; l < headwise.size(); ++l) {
    ASSERT_EQ(headwise[l].size(), ref["headwise"][l].size());
    for (size_t h = 0; h < headwise[l].size(); ++h)
      max_entropy_diff = std::max(max_entropy_diff, std::abs(headwise[l][h].get<double>() - ref["headwise"][l][h].get<double>()));
  }
  EXPECT_LE(max_entropy_diff, 1e-6);

  // eval --full over the short val file against transformers over the same 63 windows, one at a
  // time in float64 log-softmax: the mean of ~2000 float32 losses (measured: 1e-8 apart).
  auto f = run_entropix("eval " + q(run) + " --full --batches 1 --json" + short_val_sets(val_file));
  ASSERT_EQ(f.exit_code, 0) << f.err;
  const auto full = nlohmann::json::parse(f.out)["full"];
  EXPECT_EQ(full["windows"], (kValTokens - 1) / T);
  EXPECT_EQ(ref["full"]["windows"], full["windows"]);
  const double full_diff = std::abs(full["val_loss"].get<double>() - ref["full"]["val_loss"].get<double>());
  EXPECT_LE(full_diff, 1e-6);
  std::cout << "[ parity ] " << run.filename().string() << ": max |logit diff| " << max_logit_diff
            << ", max |headwise entropy diff| " << max_entropy_diff << " nats, |full val loss diff| " << full_diff
            << " (full val loss " << full["val_loss"].get<double>() << ")\n";
}

TEST_F(ExportOfRun, HfGeluMatchesTransformers) {
  ENTROPIX_REQUIRE_REFERENCE_PYTHON();
  const fs::path work = dir() / "gelu-work";
  fs::create_directories(work);
  expect_hf_parity(trained_run("gelu"), work);
  const auto config = nlohmann::json::parse(test::read_text(work / "hf" / "config.json"));
  EXPECT_EQ(config["activation_function"], "gelu");  // entropix's GELU is the exact erf form
  EXPECT_EQ(config["n_inner"], 128);
}

// ReLU, spectral-normalised attention (its effective weight is exported) and one layer without an
// FFN (exported as zero matrices).
TEST_F(ExportOfRun, HfReluSpectralAndFfnFreeLayerMatchTransformers) {
  ENTROPIX_REQUIRE_REFERENCE_PYTHON();
  const fs::path work = dir() / "relu-work";
  fs::create_directories(work);
  expect_hf_parity(trained_run("relu", " --set model.activation=relu --set model.attn_reparam=spectral_norm "
                                       "--set model.attn_reparam_groups=qk,v,o "
                                       "--set 'model.layers=[{range: 1, ffn: none}]'"),
                   work);
  EXPECT_EQ(nlohmann::json::parse(test::read_text(work / "hf" / "config.json"))["activation_function"], "relu");
}

TEST_F(ExportOfRun, RefusesAnExistingOutAndReplacesAnEarlierExport) {
  const fs::path run = trained_run("gelu");
  const fs::path out = dir() / "again";
  ASSERT_EQ(run_entropix("export " + q(run) + " --format safetensors --out " + q(out)).exit_code, 0);
  const std::string first = read_bytes(out / "model.safetensors");
  test::expect_one_error_line(run_entropix("export " + q(run) + " --format hf --out " + q(out)), "already exists");
  EXPECT_FALSE(fs::exists(out / "config.json"));
  auto r = run_entropix("export " + q(run) + " --format hf --out " + q(out) + " --overwrite");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out / "config.json"));
  EXPECT_NE(read_bytes(out / "model.safetensors"), first);  // GPT-2's names and layout now
  // --overwrite replaces only an export (or an empty directory).
  const fs::path other = dir() / "not-an-export";
  fs::create_directories(other);
  test::write_text(other / "notes.txt", "keep me");
  test::expect_one_error_line(run_entropix("export " + q(run) + " --format hf --out " + q(other) + " --overwrite"),
                        "is not an entropix export");
  EXPECT_EQ(test::read_text(other / "notes.txt"), "keep me");
  test::expect_one_error_line(run_entropix("export " + q(run) + " --format onnx --out " + q(dir() / "x")), "--format");
  expect_no_temporaries(dir());
}

TEST(Export, HfRefusesVariantsWithoutAGpt2Equivalent) {
  TempDir dir;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"model.norm=none"}, "model.norm=none has no GPT-2 equivalent"},
      {{"model.activation=leaky_relu"}, "model.activation=leaky_relu has no GPT-2 equivalent"},
      {{"model.attention=softmax_temperature"}, "model.attention=softmax_temperature has no GPT-2 equivalent"},
      {{"model.final_norm=none"}, "model.final_norm=none has no GPT-2 equivalent"},
      {{"model.ffn_scaling=learnable_scale"}, "model.ffn_scaling=learnable_scale has no GPT-2 equivalent"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const fs::path run = dir / ("run" + std::to_string(i));
    hand_made_checkpoint(run, cases[i].first);
    const fs::path out = dir / ("hf" + std::to_string(i));
    test::expect_one_error_line(run_entropix("export " + q(run) + " --format hf --out " + q(out)), cases[i].second);
    EXPECT_FALSE(fs::exists(out));
    // safetensors takes any model.
    auto r = run_entropix("export " + q(run) + " --format safetensors --out " + q(dir / ("st" + std::to_string(i))));
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  expect_no_temporaries(dir.path());
  test::expect_one_error_line(run_entropix("export " + q(dir / "missing") + " --format hf --out " + q(dir / "o")),
                        "no such file or directory");
}

// eval --full against a loop written here: every window i of T tokens from i*T, one at a time,
// log-softmax in float64; and the same value whatever the seed and the batch size.
TEST_F(ExportOfRun, EvalFullIsEveryWindowInOrder) {
  const fs::path run = trained_run("gelu");
  const CheckpointModel m = load_here(run);
  const fs::path val_file = short_val_file(m.spec, dir());
  const std::vector<uint16_t> tokens = read_token_file(val_file).tokens;
  const int64_t T = m.spec.model.context;
  double sum = 0;
  int64_t windows = 0;
  {
    torch::NoGradGuard no_grad;
    GPT model = m.model;
    for (int64_t start = 0; start + T < static_cast<int64_t>(tokens.size()); start += T, ++windows) {
      std::vector<int64_t> w(tokens.begin() + start, tokens.begin() + start + T + 1);
      const torch::Tensor t = torch::tensor(w, torch::kInt64);                    // (T + 1)
      const torch::Tensor logp = torch::log_softmax(
          model->forward(t.narrow(0, 0, T).view({1, T})).logits[0].to(torch::kFloat64), -1);  // (T, V)
      sum -= logp.gather(1, t.narrow(0, 1, T).view({T, 1})).sum().item<double>();
    }
  }
  ASSERT_EQ(windows, 63);
  const double expected = sum / static_cast<double>(windows * T);
  // Batched forwards differ from one-window forwards only by float32 rounding (~1e-7 per loss).
  for (const std::string sets : {"", " --set train.batch_size=3 --set seed=5", " --set train.batch_size=64"}) {
    auto r = run_entropix("eval " + q(run) + " --full --batches 1 --json" + short_val_sets(val_file) + sets);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto full = nlohmann::json::parse(r.out)["full"];
    EXPECT_EQ(full["windows"], 63) << sets;
    EXPECT_EQ(full["tokens"], 63 * T) << sets;
    EXPECT_NEAR(full["val_loss"].get<double>(), expected, 1e-6) << sets;
    EXPECT_NEAR(full["val_ppl"].get<double>(), std::exp(expected), 1e-5 * std::exp(expected)) << sets;
  }
  auto text = run_entropix("eval " + q(run) + " --full --batches 1" + short_val_sets(val_file));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("full val ppl "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("63 windows of T = 32"), std::string::npos) << text.out;
}

}  // namespace
}  // namespace entropix
