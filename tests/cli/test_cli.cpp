// End-to-end: the real entropix binary, real files, real training.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "entropix/data/token_file.h"
#include "support/json_schema.h"
#include "support/records.h"
#include "support/cli_expect.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::run_entropix;
using test::TempDir;

using test::q;
std::string schema_path() { return (test::source_dir() / "docs" / "log-schema.json").string(); }

void expect_valid(const nlohmann::json& value, const std::string& definition) {
  auto problems = jsonschema::validate_json(value, jsonschema::load_schema(schema_path(), "#/definitions/" + definition));
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_TRUE(problems.empty()) << definition << ":\n" << all << value.dump();
}

// Asserts a command failed as bad input: exit 2 and error lines only.
TEST(Cli, VersionAndList) {
  auto v = run_entropix("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("entropix "), std::string::npos);
  EXPECT_NE(v.out.find("LibTorch"), std::string::npos);
  auto l = run_entropix("list");
  EXPECT_EQ(l.exit_code, 0);
  for (const char* name : {"layernorm", "gelu", "relu", "identity", "softmax", "mlp"})
    EXPECT_NE(l.out.find(name), std::string::npos) << name;
  EXPECT_EQ(run_entropix("").exit_code, 2);                  // a subcommand is required
  EXPECT_EQ(run_entropix("frobnicate").exit_code, 2);
}

TEST(Cli, ValidatePrintsResolvedSpec) {
  auto r = run_entropix("validate " + test::smoke_spec_arg() + " --set train.steps=7");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("steps: 7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("schedule: \"linear\""), std::string::npos) << r.out;  // a default, filled in
}

TEST(Cli, DescribeJson) {
  auto r = run_entropix("describe " + test::smoke_spec_arg() + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto d = nlohmann::json::parse(r.out);
  EXPECT_EQ(d["layers"].size(), 2u);
  EXPECT_EQ(d["nonlinearities"]["softmax"]["count"], 4);
  EXPECT_GT(d["params"]["total"].get<int64_t>(), d["params"]["non_embedding"].get<int64_t>());
  auto text = run_entropix("describe " + test::smoke_spec_arg() + " --set model.activation=relu");
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("relu"), std::string::npos);
}

// The smoke run end to end: files exist, validate against the schema, and val loss falls.
TEST(Cli, SmokeRunWritesValidLogsAndLearns) {
  TempDir dir;
  const fs::path out = dir / "run";
  auto r = run_entropix("run " + test::smoke_spec_arg() + " --out " + q(out));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("step 40/40"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("final val loss"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("L1 "), std::string::npos) << r.out;  // the headwise grid

  for (const char* f : {"spec.yaml", "command.txt", "metrics.jsonl", "summary.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  EXPECT_NE(test::read_text(out / "command.txt").find("run"), std::string::npos);

  auto records = test::read_records(out / "metrics.jsonl");
  std::vector<double> val_losses;
  int train = 0, entropy = 0;
  for (const auto& rec : records) {
    expect_valid(rec, "metrics_record");
    if (rec["kind"] == "eval") val_losses.push_back(rec["val_loss"].get<double>());
    if (rec["kind"] == "train") ++train;
    if (rec["kind"] == "entropy") {
      ++entropy;
      EXPECT_EQ(rec["headwise"].size(), 2u);
      EXPECT_EQ(rec["headwise"][0].size(), 2u);
      EXPECT_NEAR(rec["max_entropy"].get<double>(), std::log(32.0), 1e-9);
      EXPECT_FALSE(rec.contains("temperature") || rec.contains("slope") || rec.contains("ffn_alpha"));
    }
  }
  EXPECT_EQ(train, 8);    // every 5 of 40 steps
  EXPECT_EQ(entropy, 3);  // steps 0, 20, 40
  ASSERT_EQ(val_losses.size(), 4u);
  // Byte-level text starts near ln 256 = 5.55; 40 steps must bring it clearly down.
  EXPECT_LT(val_losses.back(), val_losses.front() - 0.3);
  EXPECT_LT(val_losses.back(), std::log(256.0) - 1.0);

  auto summary = nlohmann::json::parse(test::read_text(out / "summary.json"));
  expect_valid(summary, "summary");
  EXPECT_EQ(summary["status"], "completed");
  EXPECT_EQ(summary["steps"], 40);
  EXPECT_DOUBLE_EQ(summary["final_val_loss"].get<double>(), val_losses.back());

  // The resolved spec in the run directory reproduces the run's configuration.
  auto again = run_entropix("validate " + q(out / "spec.yaml"));
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

// Two identical runs on the same machine give identical losses.
TEST(Cli, RunsAreDeterministic) {
  TempDir dir;
  const std::string args = " --set train.steps=6 --set log.every=1 --set train.eval_every=3 --quiet";
  ASSERT_EQ(run_entropix("run " + test::smoke_spec_arg() + args + " --out " + q(dir / "a")).exit_code, 0);
  ASSERT_EQ(run_entropix("run " + test::smoke_spec_arg() + args + " --out " + q(dir / "b")).exit_code, 0);
  auto a = test::read_records(dir / "a" / "metrics.jsonl"), b = test::read_records(dir / "b" / "metrics.jsonl");
  ASSERT_EQ(a.size(), b.size());
  int compared = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    for (const char* key : {"loss", "val_loss", "headwise", "grad_norm"}) {
      if (!a[i].contains(key)) continue;
      EXPECT_EQ(a[i][key], b[i][key]) << key << " at record " << i;
      ++compared;
    }
  }
  EXPECT_GT(compared, 10);
}

TEST(Cli, FinishedRunDirectoryIsNotClobbered) {
  TempDir dir;
  const fs::path out = dir / "run";
  const std::string args = "run " + test::smoke_spec_arg() + " --set train.steps=2 --quiet --out " + q(out);
  ASSERT_EQ(run_entropix(args).exit_code, 0);
  const std::string before = test::read_text(out / "metrics.jsonl");
  const auto mtime = fs::last_write_time(out / "summary.json");
  test::expect_bad_input(run_entropix(args), "already holds a run (status completed)");
  EXPECT_EQ(test::read_text(out / "metrics.jsonl"), before);
  EXPECT_EQ(fs::last_write_time(out / "summary.json"), mtime);
  EXPECT_EQ(run_entropix(args + " --overwrite").exit_code, 0);
  // A folder with unrelated files is never used, even with --overwrite.
  test::write_text(dir / "precious.txt", "keep");
  test::expect_bad_input(run_entropix("run " + test::smoke_spec_arg() + " --overwrite --out " + q(dir.path())), "holds no entropix run");
  EXPECT_TRUE(fs::exists(dir / "precious.txt"));
}

TEST(Cli, SpecErrorsExitTwoWithLocation) {
  TempDir dir;
  test::expect_bad_input(run_entropix("run " + q(dir / "missing.yaml")), "spec file not found");
  test::write_text(dir / "bad.yaml", "model:\n  n_layer: [1,\n");
  test::expect_bad_input(run_entropix("validate " + q(dir / "bad.yaml")), "malformed YAML");
  test::write_text(dir / "unknown.yaml", "model:\n  n_lyer: 2\n");
  test::expect_bad_input(run_entropix("run " + q(dir / "unknown.yaml")), "unknown.yaml:2:3: model.n_lyer: unknown key (did you mean model.n_layer?)");
  test::write_text(dir / "type.yaml", "train:\n  steps: many\n");
  test::expect_bad_input(run_entropix("run " + q(dir / "type.yaml")), "type.yaml:2:10: train.steps: expected an integer");
  test::write_text(dir / "registry.yaml", "model:\n  norm: batchnorm\n");
  test::expect_bad_input(run_entropix("describe " + q(dir / "registry.yaml")), "valid: layernorm, rmsnorm, none");
  test::expect_bad_input(run_entropix("run " + test::smoke_spec_arg() + " --set model.depth=3"), "--set model.depth=3");
  // Nothing was written for any of them.
  EXPECT_FALSE(fs::exists(dir / "runs"));
}

TEST(Cli, DataErrorsExitTwoAndWriteNothing) {
  TempDir dir;
  const fs::path out = dir / "run";
  auto run_with = [&](const fs::path& train, const fs::path& val, const std::string& extra = "") {
    return run_entropix("run " + test::smoke_spec_arg() + " --set data.source=files --set data.train=" + q(train) +
                        " --set data.val=" + q(val) + extra + " --quiet --out " + q(out));
  };
  std::vector<uint16_t> tokens(500);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<uint16_t>(i % 256);
  write_token_file(dir / "good.tok", tokens, 256);

  test::expect_bad_input(run_with(dir / "nope.tok", dir / "good.tok"), "nope.tok");
  test::write_text(dir / "empty.tok", "");
  test::expect_bad_input(run_with(dir / "empty.tok", dir / "good.tok"), "empty.tok");
  std::string bytes = test::read_text(dir / "good.tok");
  test::write_text(dir / "magic.tok", "NOTMAGIC" + bytes.substr(8));
  test::expect_bad_input(run_with(dir / "magic.tok", dir / "good.tok"), "magic");
  test::write_text(dir / "short.tok", bytes.substr(0, bytes.size() - 10));
  test::expect_bad_input(run_with(dir / "good.tok", dir / "short.tok"), "short.tok");
  std::vector<uint16_t> few(10, 1);
  write_token_file(dir / "few.tok", few, 256);
  test::expect_bad_input(run_with(dir / "few.tok", dir / "good.tok"), "few.tok");
  EXPECT_FALSE(fs::exists(out));

  // The same data is accepted, and trains, when it is well formed.
  auto ok = run_with(dir / "good.tok", dir / "good.tok", " --set train.steps=2");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST(Cli, NanoGptBinAndPrepare) {
  TempDir dir;
  // nanoGPT .bin: headerless uint16
  std::vector<uint16_t> tokens(400);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<uint16_t>((i * 7) % 300);
  std::ofstream(dir / "train.bin", std::ios::binary).write(reinterpret_cast<const char*>(tokens.data()), 800);
  std::ofstream(dir / "val.bin", std::ios::binary).write(reinterpret_cast<const char*>(tokens.data()), 800);
  const std::string base = "run " + test::smoke_spec_arg() + " --set data.source=files --set data.format=nanogpt --set data.train=" +
                           q(dir / "train.bin") + " --set data.val=" + q(dir / "val.bin") +
                           " --set train.steps=2 --quiet";
  test::expect_bad_input(run_entropix(base + " --out " + q(dir / "r1")), "vocab");  // 256 < 300
  auto ok = run_entropix(base + " --set model.vocab_size=320 --out " + q(dir / "r2"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;

  // prepare from a folder of text files
  fs::create_directories(dir / "src");
  for (int i = 0; i < 6; ++i) test::write_text(dir / "src" / ("f" + std::to_string(i) + ".txt"), std::string(300, 'a' + i));
  auto p = run_entropix("prepare " + q(dir / "src") + " --out " + q(dir / "corpus"));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_TRUE(fs::exists(dir / "corpus" / "train.tok"));
  EXPECT_TRUE(fs::exists(dir / "corpus" / "meta.json"));
  test::expect_bad_input(run_entropix("prepare " + q(dir / "src") + " --out " + q(dir / "corpus")), "--overwrite");
  test::expect_bad_input(run_entropix("prepare " + q(dir / "nothing-here") + " --out " + q(dir / "c2")), "nothing-here");
}


// A huge learning rate on a norm-free model blows the weights up within a few steps: the run must
// stop with exit 3, a divergence event, an entropy record for that step and a valid summary.
TEST(Cli, DivergenceStopsCleanlyWithExitThree) {
  TempDir dir;
  const fs::path out = dir / "run";
  auto r = run_entropix("run " + test::smoke_spec_arg() +
                        " --set model.norm=none --set model.final_norm=none --set train.lr=1e4 --set train.warmup=0"
                        " --set train.grad_clip=0 --set train.steps=40 --quiet --out " + q(out));
  ASSERT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("diverged at step"), std::string::npos) << r.err;
  auto records = test::read_records(out / "metrics.jsonl");
  ASSERT_FALSE(records.empty());
  for (const auto& rec : records) expect_valid(rec, "metrics_record");
  const auto& last = records.back();
  EXPECT_EQ(last["kind"], "entropy");
  EXPECT_EQ(last["split"], "train");
  bool event = false;
  for (const auto& rec : records) event = event || (rec["kind"] == "event" && rec["name"] == "divergence");
  EXPECT_TRUE(event);
  auto summary = nlohmann::json::parse(test::read_text(out / "summary.json"));
  expect_valid(summary, "summary");
  EXPECT_EQ(summary["status"], "diverged");
  EXPECT_EQ(summary["diverged_step"], last["step"]);
  ASSERT_TRUE(summary.contains("nan_layers"));
  for (size_t l = 0; l < last["nan_counts"].size(); ++l) {
    const bool listed = std::find(summary["nan_layers"].begin(), summary["nan_layers"].end(), l) != summary["nan_layers"].end();
    EXPECT_EQ(listed, last["nan_counts"][l].get<double>() > 0) << "layer " << l;
  }
  // No checkpoint of the diverged state is written.
  EXPECT_FALSE(fs::exists(out / "checkpoints"));
}


// Learned temperatures, slopes and FFN scales appear in every entropy record, shaped by layer
// (and head, and query position for head_query temperatures), and they move during training.
TEST(Cli, EntropyRecordsCarryLearnedParameters) {
  TempDir dir;
  const fs::path out = dir / "run";
  auto r = run_entropix("run " + test::smoke_spec_arg() +
                        " --set model.norm=none --set model.activation=learnable_leaky_relu"
                        " --set model.attention=softmax_temperature --set model.softmax_temperature.shape=head_query"
                        " --set model.ffn_scaling=learnable_scale --set train.steps=10 --set log.entropy_every=10"
                        " --quiet --out " + q(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto records = test::read_records(out / "metrics.jsonl");
  std::vector<nlohmann::json> entropy;
  for (const auto& rec : records)
    if (rec["kind"] == "entropy") entropy.push_back(rec), expect_valid(rec, "metrics_record");
  ASSERT_EQ(entropy.size(), 2u);  // steps 0 and 10
  const auto& first = entropy.front();
  const auto& last = entropy.back();
  ASSERT_TRUE(last.contains("temperature"));
  EXPECT_EQ(last["temperature"].size(), 2u);        // layers
  EXPECT_EQ(last["temperature"][0].size(), 2u);     // heads
  EXPECT_EQ(last["temperature"][0][0].size(), 32u); // query positions
  EXPECT_NEAR(first["temperature"][1][1][5].get<double>(), 1.0, 1e-12);  // temperature_init
  EXPECT_NE(first["temperature"], last["temperature"]);
  ASSERT_TRUE(last.contains("slope"));
  EXPECT_EQ(last["slope"].size(), 2u);
  EXPECT_NEAR(first["slope"][0].get<double>(), 0.01, 1e-7);  // slope_init (stored in float32)
  ASSERT_TRUE(last.contains("ffn_alpha") && last.contains("ffn_beta"));
  EXPECT_EQ(last["ffn_alpha"].size(), 2u);
  EXPECT_NE(first["ffn_alpha"], last["ffn_alpha"]);
}

// Norm-free (LN-free) models without GELU train stably at small size: no NaN in 30 steps.
TEST(Cli, NormFreeModelsWithoutGeluTrainWithoutNaN) {
  TempDir dir;
  for (const char* activation : {"relu", "identity", "leaky_relu"}) {
    const fs::path out = dir / activation;
    auto r = run_entropix("run " + test::smoke_spec_arg() + " --set model.norm=none --set model.activation=" + activation +
                          " --set train.steps=30 --set log.every=1 --quiet --out " + q(out));
    ASSERT_EQ(r.exit_code, 0) << activation << ": " << r.err;
    for (const auto& rec : test::read_records(out / "metrics.jsonl")) {
      if (rec["kind"] == "train") {
        ASSERT_TRUE(rec["loss"].is_number()) << activation;
        EXPECT_TRUE(std::isfinite(rec["loss"].get<double>())) << activation;
      }
      if (rec["kind"] == "entropy") {
        for (const auto& n : rec["nan_counts"]) EXPECT_EQ(n.get<double>(), 0.0) << activation;
      }
    }
  }
}

}  // namespace
}  // namespace entropix
