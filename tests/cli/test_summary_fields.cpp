// summary.json's provenance (git state of the spec's repository, host, seed, versions, world size,
// wall time) and the eval and entropy record fields of issue 17, from real runs.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/json_schema.h"
#include "support/report_inspect.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using test::q;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

json run_and_read_summary(const fs::path& spec, const fs::path& out, const std::string& sets = "") {
  const auto r = test::run_entropix("run " + q(spec) + " --set train.steps=10 " + sets + " --quiet --out " + q(out));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(test::read_text(out / "summary.json"));
}

void expect_valid(const json& value, const std::string& definition) {
  const auto schema = jsonschema::load_schema((test::source_dir() / "docs" / "log-schema.json").string(),
                                              "#/definitions/" + definition);
  const auto problems = jsonschema::validate_json(value, schema);
  EXPECT_TRUE(problems.empty()) << (problems.empty() ? "" : problems.front()) << "\n" << value.dump();
}

TEST(SummaryFields, GitStateOfTheSpecsRepository) {
  if (test::run_shell("command -v git").exit_code != 0)
    FAIL() << "git is not installed: install the Debian package git (scripts/bootstrap.sh test does)";
  test::TempDir dir("entropix-summary");
  const fs::path repo = dir / "repo";
  fs::create_directories(repo);
  fs::copy_file(test::source_dir() / "experiments" / "smoke.yaml", repo / "smoke.yaml");
  const std::string git = "git -C " + q(repo) + " ";
  ASSERT_EQ(test::run_shell(git + "init -q && " + git + "add smoke.yaml && " + git +
                            "-c user.name=test -c user.email=test@example.com commit -qm spec").exit_code, 0);
  const std::string head = trimmed(test::run_shell(git + "rev-parse HEAD").out);
  ASSERT_EQ(head.size(), 40u) << head;

  // Committed spec; the run directory itself lies inside the repository, untracked: still clean.
  const json clean = run_and_read_summary(repo / "smoke.yaml", repo / "runs" / "clean");
  ASSERT_TRUE(clean.contains("git")) << clean.dump(2);
  EXPECT_EQ(clean["git"]["commit"], head);
  EXPECT_EQ(clean["git"]["dirty"], false);
  expect_valid(clean, "summary");

  // A tracked file edited: dirty, same commit.
  test::write_text(repo / "smoke.yaml", test::read_text(repo / "smoke.yaml") + "# edited\n");
  const json dirty = run_and_read_summary(repo / "smoke.yaml", dir / "dirty");
  EXPECT_EQ(dirty["git"]["commit"], head);
  EXPECT_EQ(dirty["git"]["dirty"], true);

  // Not in a repository: no git field at all.
  fs::create_directories(dir / "plain");
  fs::copy_file(test::source_dir() / "experiments" / "smoke.yaml", dir / "plain" / "smoke.yaml");
  ASSERT_NE(test::run_shell("git -C " + q(dir / "plain") + " rev-parse HEAD").exit_code, 0) << "temp dir inside a repository";
  const json plain = run_and_read_summary(dir / "plain" / "smoke.yaml", dir / "plain-run");
  EXPECT_FALSE(plain.contains("git")) << plain.dump(2);
  expect_valid(plain, "summary");
}

TEST(SummaryFields, HostSeedVersionsAndRecordFields) {
  test::TempDir dir("entropix-summary");
  const fs::path run = dir / "run";
  const json s = run_and_read_summary(test::source_dir() / "experiments" / "smoke.yaml", run, "--set seed=4242");
  expect_valid(s, "summary");
  EXPECT_EQ(s["host"], trimmed(test::read_text("/proc/sys/kernel/hostname")));
  EXPECT_EQ(s["seed"], 4242);
  EXPECT_EQ(s["world_size"], 1);
  EXPECT_GT(s["wall_time_s"].get<double>(), 0.0);
  EXPECT_FALSE(s["versions"]["libtorch"].get<std::string>().empty());
  EXPECT_TRUE(s["versions"].contains("cuda"));  // null on a CPU-only LibTorch, a version string otherwise

  // Eval records: the training tokens of their step (as the train record of that step says) and
  // the elapsed time, no earlier than that train record's and no later than the summary's.
  std::map<int64_t, json> train;
  int evals = 0;
  std::istringstream lines(test::read_text(run / "metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const json r = json::parse(line);
    expect_valid(r, "metrics_record");
    if (r["kind"] == "train") train[r["step"].get<int64_t>()] = r;
    if (r["kind"] == "eval") {
      ++evals;
      const int64_t step = r["step"];
      ASSERT_TRUE(train.count(step)) << "no train record at eval step " << step;
      EXPECT_EQ(r["tokens"], train[step]["tokens"]);
      EXPECT_GE(r["elapsed_s"].get<double>(), train[step]["elapsed_s"].get<double>());
      EXPECT_LE(r["elapsed_s"].get<double>(), s["wall_time_s"].get<double>());
    }
    if (r["kind"] == "entropy") {
      for (const auto& n : r["nan_counts"]) EXPECT_TRUE(n.is_number_integer()) << r["nan_counts"].dump();
    }
  }
  EXPECT_EQ(evals, 1);  // smoke evaluates every 10 steps
  for (const auto& n : s["final_entropy"]["nan_counts"]) EXPECT_TRUE(n.is_number_integer());
}

}  // namespace
}  // namespace entropix
