// log.entropy_split: step — entropy records from the training forward itself, end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/json_schema.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::q;

TEST(EntropyStepSplit, RecordsComeFromTheTrainingStepsAndMatchTheSchema) {
  test::TempDir dir;
  const fs::path out = dir / "run";
  const auto r = test::run_entropix("run " + q(test::source_dir() / "experiments" / "smoke.yaml") + " --out " + q(out) +
                                    " --quiet --set train.steps=6 --set log.entropy_every=3 --set log.entropy_split=step"
                                    " --set train.eval_every=100");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto schema = jsonschema::load_schema((test::source_dir() / "docs" / "log-schema.json").string(),
                                              "#/definitions/metrics_record");
  std::ifstream in(out / "metrics.jsonl");
  std::vector<std::pair<int64_t, std::string>> seen;  // (step, split) of each entropy record
  for (std::string line; std::getline(in, line);) {
    const auto rec = nlohmann::json::parse(line);
    const auto problems = jsonschema::validate_json(rec, schema);
    EXPECT_TRUE(problems.empty()) << (problems.empty() ? "" : problems.front()) << "\n" << line;
    if (rec["kind"] != "entropy") continue;
    seen.emplace_back(rec["step"].get<int64_t>(), rec["split"].get<std::string>());
    EXPECT_EQ(rec["headwise"].size(), 2u);
    for (const auto& layer : rec["headwise"])
      for (const auto& h : layer) {
        ASSERT_TRUE(h.is_number());
        // A causal head's mean entropy lies between 0 (one-hot) and the uniform ceiling
        // (1/T) sum ln i < ln T (T = 32 here).
        EXPECT_GE(h.get<double>(), 0.0);
        EXPECT_LT(h.get<double>(), std::log(32.0));
      }
  }
  // Step 0 has no training step yet: the validation batch, as for every split.
  const std::vector<std::pair<int64_t, std::string>> expected = {{0, "val"}, {3, "step"}, {6, "step"}};
  EXPECT_EQ(seen, expected);
}

}  // namespace
}  // namespace entropix
