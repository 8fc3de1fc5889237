// Spec parsing: defaults, overrides, and every kind of bad input the issue lists.
#include <gtest/gtest.h>

#include <regex>

#include "entropix/spec/spec.h"
#include "entropix/util/error.h"
#include "support/test_util.h"
#include "entropix/model/registry.h"

namespace entropix {
namespace {

// Parses text and returns the problems reported (empty when it parsed).
std::vector<std::string> problems_of(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  try {
    parse_spec(yaml, "spec.yaml", sets);
  } catch (const InputError& e) {
    return e.problems();
  }
  return {};
}

TEST(Spec, EmptySpecGetsDocumentedDefaults) {
  ExperimentSpec s = parse_spec("", "spec.yaml");
  EXPECT_EQ(s.model.n_layer, 4);
  EXPECT_EQ(s.model.blocks.norm, "layernorm");
  EXPECT_EQ(s.train.steps, 200);
  EXPECT_EQ(s.train.warmup, 10);  // resolved: 5% of 200 steps
  EXPECT_EQ(s.seed, 1337u);
  EXPECT_EQ(s.data.source, "pystdlib");
}

TEST(Spec, ValuesFromFileAndOverridesInOrder) {
  ExperimentSpec s = parse_spec("model:\n  n_layer: 6\ntrain:\n  lr: 3e-4\n  steps: 100\n", "spec.yaml",
                                {"model.n_layer=8", "train.schedule=cosine", "model.n_layer=2"});
  EXPECT_EQ(s.model.n_layer, 2);
  EXPECT_DOUBLE_EQ(s.train.lr, 3e-4);
  EXPECT_EQ(s.train.schedule, "cosine");
  EXPECT_EQ(s.train.warmup, 5);
}

TEST(Spec, ExplicitWarmupIsKept) {
  EXPECT_EQ(parse_spec("train: {steps: 100, warmup: 0}", "s").train.warmup, 0);
  EXPECT_EQ(parse_spec("train: {steps: 100}", "s", {"train.warmup=7"}).train.warmup, 7);
}

TEST(Spec, ResolvedYamlRoundTrips) {
  ExperimentSpec a = parse_spec("name: rt\nmodel: {n_layer: 3, activation: relu}\ntrain: {lr: 0.00025}\n", "s");
  ExperimentSpec b = parse_spec(spec_to_yaml(a), "resolved");
  EXPECT_EQ(spec_to_yaml(a), spec_to_yaml(b));
  EXPECT_EQ(b.model.n_layer, 3);
  EXPECT_EQ(b.model.blocks.activation, "relu");
  EXPECT_DOUBLE_EQ(b.train.lr, 0.00025);
  EXPECT_EQ(b.name, "rt");
}

TEST(Spec, UnknownKeyNamesLineColumnAndClosestKey) {
  auto p = problems_of("model:\n  n_layr: 3\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("spec.yaml:2:3"), std::string::npos) << p[0];
  EXPECT_NE(p[0].find("model.n_layr: unknown key"), std::string::npos) << p[0];
  EXPECT_NE(p[0].find("did you mean model.n_layer?"), std::string::npos) << p[0];
}

TEST(Spec, UnknownTopLevelSection) {
  auto p = problems_of("trian:\n  steps: 3\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("did you mean train?"), std::string::npos) << p[0];
}

TEST(Spec, WrongTypesAreReportedWithLocation) {
  auto p = problems_of("model:\n  n_layer: three\ntrain:\n  lr: fast\n  steps: 2.5\n");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_NE(p[0].find("spec.yaml:2:12: model.n_layer: expected an integer, got 'three'"), std::string::npos) << p[0];
  EXPECT_NE(p[1].find("train.lr: expected a number"), std::string::npos) << p[1];
  EXPECT_NE(p[2].find("train.steps: expected an integer, got '2.5'"), std::string::npos) << p[2];
}

TEST(Spec, MappingWhereScalarExpected) {
  auto p = problems_of("model:\n  n_layer: {a: 1}\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("expected an integer, got a mapping"), std::string::npos) << p[0];
}

TEST(Spec, ImpossibleValues) {
  auto p = problems_of("model: {n_embd: 100, n_head: 3, n_layer: 0}\ntrain: {lr: 0, batch_size: -2}\n");
  std::string all;
  for (auto& x : p) all += x + "\n";
  EXPECT_EQ(p.size(), 4u) << all;
  EXPECT_NE(all.find("model.n_layer: must be from 1 to 4096, got 0"), std::string::npos) << all;
  EXPECT_NE(all.find("train.lr: must be > 0, got 0"), std::string::npos) << all;
  EXPECT_NE(all.find("train.batch_size: must be from 1 to 1048576, got -2"), std::string::npos) << all;
  EXPECT_NE(all.find("model.n_embd (100) must be divisible by model.n_head (3)"), std::string::npos) << all;
}

TEST(Spec, UnknownRegistryNameListsValidOnes) {
  auto p = problems_of("model:\n  activation: swish\n");
  ASSERT_EQ(p.size(), 1u);
  std::string valid;
  for (const auto& name : registry_names("activation")) valid += (valid.empty() ? "" : ", ") + name;
  EXPECT_NE(valid.find("gelu, relu"), std::string::npos) << valid;
  EXPECT_NE(p[0].find("spec.yaml:2:15: model.activation: unknown value 'swish'; valid: " + valid), std::string::npos)
      << p[0];
}

TEST(Spec, AllProblemsAreCollected) {
  auto p = problems_of("model: {n_layr: 1, norm: batchnorm}\ntrain: {lr: -1}\nlog: {every: x}\n", {"train.stepz=3"});
  EXPECT_EQ(p.size(), 5u);
}

TEST(Spec, SetOnUnknownKeyIsAnError) {
  auto p = problems_of("", {"model.n_layers=3"});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("--set model.n_layers=3: model.n_layers: unknown key (did you mean model.n_layer?)"),
            std::string::npos)
      << p[0];
}

TEST(Spec, SetUsesTheSameTypeChecks) {
  auto p = problems_of("", {"model.n_layer=two", "train.lr=-3", "model.norm=batchnorm", "noequals"});
  ASSERT_EQ(p.size(), 4u);
  EXPECT_NE(p[0].find("expected an integer, got 'two'"), std::string::npos);
  EXPECT_NE(p[1].find("must be > 0"), std::string::npos);
  EXPECT_NE(p[2].find("valid: layernorm, rmsnorm, none"), std::string::npos);
  EXPECT_NE(p[3].find("expected key=value"), std::string::npos);
}

TEST(Spec, MalformedYamlNamesLineAndColumn) {
  auto p = problems_of("model:\n  n_layer: [1, 2\ntrain: {}\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(std::regex_search(p[0], std::regex("^spec\\.yaml:[0-9]+:[0-9]+: malformed YAML"))) << p[0];
}

TEST(Spec, FilesSourceNeedsPaths) {
  auto p = problems_of("data: {source: files}\n");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_NE(p[0].find("data.train: required"), std::string::npos);
}

TEST(Spec, PerLayerOverrides) {
  ExperimentSpec s = parse_spec(
      "model:\n  n_layer: 12\n  norm: none\n  layers:\n    - {range: 0, norm: layernorm}\n"
      "    - {range: 6-11, ffn: none}\n    - {range: [10, 11], attention: softmax_temperature}\n",
      "spec.yaml");
  ASSERT_EQ(s.model.layers.size(), 3u);
  EXPECT_EQ(s.model.layer(0).norm, "layernorm");
  EXPECT_EQ(s.model.layer(1).norm, "none");
  EXPECT_EQ(s.model.layer(5).ffn, "mlp");
  EXPECT_EQ(s.model.layer(6).ffn, "none");
  EXPECT_EQ(s.model.layer(11).attention, "softmax_temperature");
  EXPECT_EQ(s.model.layer(9).attention, "softmax");
  // The resolved spec keeps the overrides.
  ExperimentSpec again = parse_spec(spec_to_yaml(s), "resolved");
  EXPECT_EQ(again.model.layer(7).ffn, "none");
  EXPECT_EQ(again.model.layer(11).attention, "softmax_temperature");
  EXPECT_EQ(spec_to_yaml(again), spec_to_yaml(s));
  // From the command line too.
  ExperimentSpec set = parse_spec("model: {n_layer: 4}", "s", {"model.layers=[{range: 2-3, ffn: none}]"});
  EXPECT_EQ(set.model.layer(3).ffn, "none");
}

TEST(Spec, BadPerLayerOverrides) {
  auto p = problems_of("model:\n  n_layer: 4\n  layers:\n    - {range: 2-7, ffn: none}\n    - {range: 1, fnn: none}\n"
                       "    - {ffn: none}\n    - {range: x-y, norm: none}\n    - {range: 0, norm: batchnorm}\n");
  std::string all;
  for (auto& x : p) all += x + "\n";
  EXPECT_EQ(p.size(), 5u) << all;
  EXPECT_NE(all.find("layers 2-7 reach outside the model (model.n_layer is 4: valid layers 0-3)"), std::string::npos) << all;
  EXPECT_NE(all.find("model.layers[1].fnn: unknown key (did you mean ffn?)"), std::string::npos) << all;
  EXPECT_NE(all.find("model.layers[2]: range is required"), std::string::npos) << all;
  EXPECT_NE(all.find("model.layers[3].range: expected a layer index"), std::string::npos) << all;
  EXPECT_NE(all.find("model.layers[4].norm: unknown value 'batchnorm'; valid: layernorm, rmsnorm, none"), std::string::npos) << all;
}

TEST(Spec, FusedFfnNeedsIdentityActivation) {
  auto p = problems_of("model: {ffn: fused}\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("fused needs model.activation: identity"), std::string::npos) << p[0];
  EXPECT_TRUE(problems_of("model: {ffn: fused, activation: identity}\n").empty());
  // Fused only where the activation is removed, per layer.
  EXPECT_FALSE(problems_of("model: {n_layer: 2, activation: identity, layers: [{range: 1, ffn: fused, activation: gelu}]}").empty());
}

TEST(Spec, ListKeys) {
  ExperimentSpec s = parse_spec("model: {attn_reparam: weight_norm, attn_reparam_groups: [qk, v, o]}", "s");
  EXPECT_EQ(s.model.attn_reparam_groups, (std::vector<std::string>{"qk", "v", "o"}));
  EXPECT_EQ(parse_spec("", "s", {"model.attn_reparam_groups=qk,o"}).model.attn_reparam_groups,
            (std::vector<std::string>{"qk", "o"}));
  auto p = problems_of("model: {attn_reparam_groups: [qk, ffn]}");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("unknown value 'ffn'; valid: qk, v, o"), std::string::npos) << p[0];
}

TEST(Spec, MissingFileAndNameFromStem) {
  EXPECT_THROW(load_spec("/nonexistent/dir/spec.yaml"), InputError);
  test::TempDir dir;
  test::write_text(dir / "my-exp.yaml", "seed: 7\n");
  ExperimentSpec s = load_spec((dir / "my-exp.yaml").string());
  EXPECT_EQ(s.name, "my-exp");
  EXPECT_EQ(s.seed, 7u);
  EXPECT_EQ(load_spec((dir / "my-exp.yaml").string(), {"name=other"}).name, "other");
}

// docs/spec.md's key table must be what scripts/update-spec-doc.py writes from the parser's keys:
// every key, with its type (the "one of ..." lists come from the registry), default and doc. A new
// component or option that is not in the page fails here until the script is rerun.
TEST(Spec, ReferenceDocListsEveryKey) {
  const std::string doc = test::read_text(test::source_dir() / "docs" / "spec.md");
  ASSERT_FALSE(doc.empty());
  const auto keys = spec_key_reference(component_catalog());
  for (const auto& key : keys) {
    const auto at = doc.find("| `" + key.path + "` |");
    ASSERT_NE(at, std::string::npos) << key.path << " missing from docs/spec.md";
    const std::string row = doc.substr(at, doc.find('\n', at) - at);
    std::string type = key.type;
    for (size_t i = 0; (i = type.find('|', i)) != std::string::npos;) type.replace(i, 1, ", ");
    EXPECT_NE(row.find("| " + type + " |"), std::string::npos) << key.path << ": type drifted: " << row;
    if (key.path != "train.warmup") {
      EXPECT_NE(row.find("| `" + key.default_value + "` |"), std::string::npos) << key.path << ": default drifted: " << row;
    }
  }
  // And no row for a key that no longer exists.
  size_t rows = 0;
  for (size_t i = 0; (i = doc.find("\n| `", i)) != std::string::npos; ++i) ++rows;
  EXPECT_EQ(rows, keys.size()) << "docs/spec.md has rows for keys the parser does not know";
}

}  // namespace
}  // namespace entropix
