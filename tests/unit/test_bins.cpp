// Head bins against the seed papers' published tables (tests/fixtures/seed_headwise.txt).
#include <gtest/gtest.h>

#include <map>

#include "entropix/entropy/entropy.h"
#include "support/published.h"
#include "support/test_util.h"

namespace entropix {
namespace {

TEST(Bins, PublishedTablesHaveTheirPublishedShares) {
  auto tables = test::published_headwise_tables();
  ASSERT_EQ(tables.size(), 6u);
  // The shares the papers publish for max = 3.87, for the three tables whose transcription
  // reproduces them exactly (tests/fixtures/published_tables.yaml, bin_shares; docs/science.md), in
  // percent, rounded.
  const std::map<std::string, std::array<double, 4>> published = {
      {"SM+LN+G", {4, 14, 74, 8}}, {"SM+G", {1, 18, 23, 58}}, {"SM", {33, 10, 12, 45}}};
  for (const auto& [name, shares] : published) {
    const auto& table = tables.at(name);
    ASSERT_EQ(table.size(), 12u) << name;
    ASSERT_EQ(table[11].size(), 12u) << name;
    HeadBins bins = bin_heads(table, 3.87);
    for (int b = 0; b < 4; ++b)
      EXPECT_NEAR(100.0 * bins.fractions[b], shares[b], 0.5) << name << " bin " << b;  // 0.5: percent rounding
  }
}

TEST(Bins, ObservedMaxOfThePublishedTablesIsTheirLargestValue) {
  // The papers' max = 3.87 is the largest value in the tables; the "observed" mode finds it.
  EntropyRecord rec;
  for (const auto& [name, table] : test::published_headwise_tables()) {
    rec.headwise = table;
    rec.bin_max_mode = "observed";
    rebin(rec, 128);
    EXPECT_LE(rec.bins.max, 3.87 + 1e-12) << name;
  }
  rec.headwise = test::published_headwise_tables().at("SM+R");
  rebin(rec, 128);
  EXPECT_DOUBLE_EQ(rec.bins.max, 3.87);
}

TEST(Bins, CausalModeUsesTheUniformCeilingAndPerLayerShares) {
  EntropyRecord rec;
  rec.headwise = test::published_headwise_tables().at("SM");
  rec.bin_max_mode = "causal";
  rebin(rec, 128);
  EXPECT_NEAR(rec.bins.max, uniform_causal_entropy(128), 1e-12);
  ASSERT_EQ(rec.bins.layer_overload.size(), 12u);
  // Softmax-only: early layers overloaded, deep layers collapsed.
  EXPECT_DOUBLE_EQ(rec.bins.layer_overload[1], 1.0);
  EXPECT_DOUBLE_EQ(rec.bins.layer_collapse[11], 1.0);
  EXPECT_DOUBLE_EQ(rec.bins.layer_collapse[1], 0.0);
}

}  // namespace
}  // namespace entropix
