// train.attention_kernel: online_entropy end to end: a regularised run with entropy records
// every few steps trains as the explicit kernel does and logs the same entropies.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/json_schema.h"
#include "support/records.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::q;

TEST(AttentionKernel, OnlineEntropyRunMatchesTheExplicitRun) {
  test::TempDir dir;
  // The regulariser with a large coefficient and a narrow band, so that the entropy gradient
  // moves the weights as much as the loss does: a wrong entropy backward would show in the loss.
  const std::string common = " --quiet --set train.steps=6 --set log.every=1 --set log.entropy_every=2"
                             " --set log.entropy_split=step --set train.eval_every=6 --set train.threads=1"
                             " --set entropy_reg.enabled=true --set entropy_reg.coeff=0.5 --set entropy_reg.reduction=mean"
                             " --set entropy_reg.tolerance=0.05 --set train.attention_block=12";
  const fs::path smoke = test::source_dir() / "experiments" / "smoke.yaml";
  const auto a = test::run_entropix("run " + q(smoke) + " --out " + q(dir / "explicit") + common);
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  const auto b = test::run_entropix("run " + q(smoke) + " --out " + q(dir / "online") + common +
                                    " --set train.attention_kernel=online_entropy");
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err;

  const auto schema = jsonschema::load_schema((test::source_dir() / "docs" / "log-schema.json").string(),
                                              "#/definitions/metrics_record");
  for (const auto& rec : test::run_records(dir / "online", "entropy"))
    EXPECT_TRUE(jsonschema::validate_json(rec, schema).empty()) << rec.dump();

  // float32 with another summation order: the two runs separate by rounding only. Measured: at
  // most 9e-8 on losses and 1e-8 on entropies over the six steps. Leaving out the entropy term
  // of the kernel's backward (tried by hand) moves them by 1.6e-4 and 3.3e-4 in those six steps,
  // so 1e-5 is 100x the rounding and 16x below that error.
  const double tol = 1e-5;
  const auto train_a = test::run_records(dir / "explicit", "train"), train_b = test::run_records(dir / "online", "train");
  ASSERT_EQ(train_a.size(), 6u);
  ASSERT_EQ(train_b.size(), train_a.size());
  for (size_t i = 0; i < train_a.size(); ++i) {
    EXPECT_NEAR(train_b[i]["loss"].get<double>(), train_a[i]["loss"].get<double>(), tol) << "step " << i + 1;
    EXPECT_NEAR(train_b[i]["ereg_loss"].get<double>(), train_a[i]["ereg_loss"].get<double>(), tol) << "step " << i + 1;
  }
  const auto ent_a = test::run_records(dir / "explicit", "entropy"), ent_b = test::run_records(dir / "online", "entropy");
  ASSERT_EQ(ent_a.size(), ent_b.size());
  ASSERT_GE(ent_a.size(), 3u);
  for (size_t i = 0; i < ent_a.size(); ++i) {
    EXPECT_EQ(ent_b[i]["split"], ent_a[i]["split"]);
    for (size_t l = 0; l < ent_a[i]["layerwise"].size(); ++l)
      EXPECT_NEAR(ent_b[i]["layerwise"][l].get<double>(), ent_a[i]["layerwise"][l].get<double>(), tol)
          << "record " << i << " layer " << l;
  }
}

TEST(AttentionKernel, UnknownKernelIsRejectedWithTheValidChoices) {
  const auto r = test::run_entropix("validate " + q(test::source_dir() / "experiments" / "smoke.yaml") +
                                    " --set train.attention_kernel=flash");
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("train.attention_kernel"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("online_entropy"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace entropix
