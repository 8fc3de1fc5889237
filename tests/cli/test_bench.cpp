// End-to-end: `entropix bench` with the real binary on a tiny spec. Checks that every documented
// field is there and that the figures relate as they must; never a wall-clock threshold.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "entropix/util/cpu_load.h"
#include "support/records.h"
#include "support/test_util.h"

namespace entropix {
namespace {
using test::q;
using test::run_entropix;


// Relative closeness for figures bench derives from others (same doubles, a few operations).
void expect_rel(double a, double b, const std::string& what) {
  EXPECT_NEAR(a / b, 1.0, 1e-9) << what << ": " << a << " vs " << b;
}

void expect_ordered(const nlohmann::json& s, const std::string& what) {
  SCOPED_TRACE(what);
  for (const char* k : {"median", "mean", "min", "max", "p10", "p90"}) ASSERT_TRUE(s[k].is_number()) << k;
  EXPECT_GT(s["min"].get<double>(), 0);
  EXPECT_LE(s["min"].get<double>(), s["p10"].get<double>());
  EXPECT_LE(s["p10"].get<double>(), s["median"].get<double>());
  EXPECT_LE(s["median"].get<double>(), s["p90"].get<double>());
  EXPECT_LE(s["p90"].get<double>(), s["max"].get<double>());
  EXPECT_LE(s["min"].get<double>(), s["mean"].get<double>());
  EXPECT_LE(s["mean"].get<double>(), s["max"].get<double>());
}

TEST(BenchCli, JsonHasEveryFieldAndConsistentFigures) {
  test::TempDir dir("entropix-bench");
  const auto trace = dir / "trace.json";
  const auto r = run_entropix("bench " + test::smoke_spec_arg() + " --steps 4 --warmup 1 --peak-size 128 --peak-repeats 2 --json --profile " +
                              q(trace) + " --set train.batch_size=4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);

  EXPECT_EQ(j["schema"], "entropix-bench/1");
  EXPECT_EQ(j["name"], "smoke");
  EXPECT_NE(j["command"].get<std::string>().find("bench"), std::string::npos);
  EXPECT_TRUE(j["versions"]["entropix"].is_string());
  EXPECT_TRUE(j["versions"]["libtorch"].is_string());
  EXPECT_EQ(j["device"]["type"], "cpu");
  EXPECT_GE(j["device"]["threads"].get<int>(), 1);
  EXPECT_TRUE(j["device"].contains("blas"));
  // The wait policy the process ran with: the environment's; else PASSIVE, which entropix sets
  // by starting again (apps/entropix/openmp_wait.cpp), except with OMP_NUM_THREADS=1 (as ctest
  // runs the suite) or a single core, where it keeps libgomp's default (null).
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const char* omp_threads = std::getenv("OMP_NUM_THREADS");
  const bool single = (omp_threads && std::string(omp_threads) == "1") || j["device"]["threads"] == 1;
  const nlohmann::json expected_policy = policy ? nlohmann::json(policy) : single ? nlohmann::json(nullptr) : nlohmann::json("PASSIVE");
  EXPECT_EQ(j["device"]["openmp_wait_policy"], expected_policy);
  // GOMP_SPINCOUNT likewise: the environment's, else none where entropix did not start again,
  // else 0 or the short spin, as the CPUs' load decided (test_openmp_wait.cpp).
  const auto& spin = j["device"]["openmp_spin_count"];
  if (const char* env_spin = std::getenv("GOMP_SPINCOUNT")) EXPECT_EQ(spin, env_spin);
  else if (policy || single) EXPECT_TRUE(spin.is_null()) << spin;
  else EXPECT_TRUE(spin == "0" || spin == std::to_string(kShortOpenmpSpin)) << spin;
  EXPECT_TRUE(j["device"].contains("load_average"));
  EXPECT_TRUE(j["started_at"].is_string());

  // Shapes from the spec (smoke.yaml: L=2, H=2, d=32, T=32; batch 4 from --set).
  EXPECT_EQ(j["model"]["n_layer"], 2);
  EXPECT_EQ(j["model"]["n_head"], 2);
  EXPECT_EQ(j["model"]["n_embd"], 32);
  EXPECT_EQ(j["model"]["context"], 32);
  EXPECT_EQ(j["model"]["vocab_size"], 256);
  EXPECT_EQ(j["batch"]["batch_size"], 4);
  EXPECT_EQ(j["batch"]["grad_accum"], 1);
  EXPECT_EQ(j["batch"]["tokens_per_step"], 4 * 32);
  EXPECT_EQ(j["precision"], "fp32");
  EXPECT_EQ(j["tf32"], false);
  EXPECT_EQ(j["attention_kernel"], "explicit");
  EXPECT_EQ(j["data"], "synthetic");
  EXPECT_EQ(j["steps"], 4);
  EXPECT_EQ(j["warmup"], 1);

  // The parameter count is the model's, as describe reports it.
  const auto d = run_entropix("describe " + test::smoke_spec_arg() + " --json");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(j["model"]["params"], nlohmann::json::parse(d.out)["params"]["total"]);

  // Step times.
  expect_ordered(j["ms_per_step"], "ms_per_step");
  const double median_s = j["ms_per_step"]["median"].get<double>() / 1000.0;
  expect_rel(j["tokens_per_s"].get<double>(), 4 * 32 / median_s, "tokens_per_s = tokens/step / median");

  // FLOPs, counted by hand for smoke.yaml (T = d = 32, V = 256, mlp width 4d; docs/performance.md):
  // per layer 8 T d^2 (projections) + 3 T^2 d (scores, weighted values) + 16 T d^2 (mlp)
  // = 262144 + 98304 + 524288 = 884736; two layers 1769472; LM head 2 T d V = 524288; forward
  // 2293760 per sequence; training 3 x forward x 4 sequences = 27525120.
  const auto& f = j["flops"];
  EXPECT_DOUBLE_EQ(f["forward_blocks_per_sequence"].get<double>(), 1769472.0);
  EXPECT_DOUBLE_EQ(f["lm_head_per_sequence"].get<double>(), 524288.0);
  EXPECT_DOUBLE_EQ(f["forward_per_sequence"].get<double>(), 2293760.0);
  EXPECT_EQ(f["sequences_per_step"], 4);
  EXPECT_DOUBLE_EQ(f["train_per_step"].get<double>(), 27525120.0);
  expect_rel(j["achieved_flops_per_s"].get<double>(), 27525120.0 / median_s, "achieved = train FLOPs / median");

  // Peak and MFU.
  const auto& p = j["peak"];
  EXPECT_EQ(p["matmul"], (nlohmann::json{128, 128, 128}));
  EXPECT_EQ(p["dtype"], "fp32");
  EXPECT_EQ(p["repeats"], 2);
  expect_rel(p["flops_per_s"].get<double>(), 2.0 * 128 * 128 * 128 / (p["best_ms"].get<double>() / 1000.0),
             "peak = 2 n^3 / best time");
  expect_rel(j["mfu"].get<double>(), j["achieved_flops_per_s"].get<double>() / p["flops_per_s"].get<double>(),
             "mfu = achieved / peak");

  // Memory: the process's max RSS, at least what the model's parameters alone take.
  EXPECT_EQ(j["memory"]["source"], "max_rss");
  EXPECT_GT(j["memory"]["peak_bytes"].get<double>(), 4.0 * j["model"]["params"].get<double>());

  // Entropy overhead from the same run's interleaved steps.
  EXPECT_EQ(j["entropy"]["mode"], "step");
  expect_ordered(j["entropy"]["ms_per_step"], "entropy.ms_per_step");
  expect_rel(j["entropy"]["overhead_ratio"].get<double>(),
             j["entropy"]["ms_per_step"]["median"].get<double>() / j["ms_per_step"]["median"].get<double>(),
             "overhead = median with entropy / median without");

  // The profile: a Chrome trace holding operator events.
  EXPECT_EQ(j["profile"], trace.string());
  const auto t = nlohmann::json::parse(test::read_text(trace));
  const auto& events = t.is_object() ? t["traceEvents"] : t;
  ASSERT_TRUE(events.is_array());
  bool saw_mm = false;
  for (const auto& e : events) saw_mm = saw_mm || e.value("name", "").find("mm") != std::string::npos;
  EXPECT_TRUE(saw_mm) << "no matrix product in the trace";

  // Progress lines go to stderr, one per measured step.
  EXPECT_NE(r.err.find("step 4/4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("peak:"), std::string::npos) << r.err;
}

TEST(BenchCli, SpecDataForwardEntropyAndTextOutput) {
  const auto r = run_entropix("bench " + test::smoke_spec_arg() + " --steps 2 --warmup 0 --peak-size 64 --data spec --entropy forward");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* needle : {"ms/step", "tokens/s", "MFU", "peak memory", "entropy"})
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle << "\n" << r.out;
  const auto none = run_entropix("bench " + test::smoke_spec_arg() + " --steps 2 --warmup 0 --peak-size 64 --entropy none --json");
  ASSERT_EQ(none.exit_code, 0) << none.err;
  const auto j = nlohmann::json::parse(none.out);
  EXPECT_EQ(j["entropy"]["mode"], "none");
  EXPECT_TRUE(j["entropy"]["overhead_ratio"].is_null());
}

// bench takes the steps `run` takes: the same model, batches (--data spec), learning rates and
// regulariser (off before entropy_reg.start_step), numbered as a run's first steps, so its step k
// has the training loss of run's step k. A bench with its own set-up, a constant learning rate
// or the regulariser on from step 1 would differ from step 2 on.
TEST(BenchCli, StepsAreTheFirstStepsOfARun) {
  test::TempDir dir("entropix-bench-run");
  const std::string sets =
      " --set entropy_reg.enabled=true --set entropy_reg.coeff=1.0 --set entropy_reg.tolerance=0.05"
      " --set entropy_reg.start_step=3 --set log.every=1 --set train.steps=12";
  const auto run = run_entropix("run " + test::smoke_spec_arg() + sets + " --quiet --out " + q(dir / "run"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::map<int64_t, std::string> run_loss;
  for (const auto& r : test::run_records(dir / "run", "train")) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.4f", r["loss"].get<double>());
    run_loss[r["step"].get<int64_t>()] = buf;
  }
  const auto bench = run_entropix("bench " + test::smoke_spec_arg() + sets +
                                  " --steps 6 --warmup 0 --entropy none --data spec --peak-size 32 --peak-repeats 1");
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  EXPECT_NE(bench.err.find("entropy_reg.start_step is 3"), std::string::npos) << bench.err;
  std::istringstream lines(bench.err);
  int compared = 0;
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, std::regex(R"(^step (\d+)/6: .*, loss (\S+)$)"))) continue;
    const int64_t step = std::stoll(m[1]);
    EXPECT_EQ(m[2].str(), run_loss.at(step)) << "step " << step;
    ++compared;
  }
  EXPECT_EQ(compared, 6) << bench.err;
}

TEST(BenchCli, BadOptionsAreInputErrors) {
  const auto r = run_entropix("bench " + test::smoke_spec_arg() + " --steps 0");
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--steps"), std::string::npos) << r.err;
  const auto s = run_entropix("bench " + test::smoke_spec_arg() + " --set train.precision=fp16");
  EXPECT_EQ(s.exit_code, 2) << s.out << s.err;
  EXPECT_NE(s.err.find("train.precision"), std::string::npos) << s.err;
}

}  // namespace
}  // namespace entropix
