// What the registry's descriptors declare, held against what the model does and what the docs
// say: every parameter of every component has a role, roles (not names) drive initialisation and
// weight decay, learned values are logged as declared and documented in the schema and logs.md.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <set>

#include "entropix/entropy/attention_entropy.h"
#include "entropix/entropy/regulariser.h"
#include "entropix/model/gpt.h"
#include "entropix/model/registry.h"
#include "entropix/train/optimizer.h"
#include "support/test_util.h"

namespace entropix {
namespace {

ModelSpec descriptor_model_spec() {
  ModelSpec m;
  m.n_layer = 2;
  m.n_head = 2;
  m.n_embd = 8;
  m.context = 6;
  m.vocab_size = 16;
  return m;
}

// A model for every entry of every kind (the fused FFN with an absent activation), so that every
// component's parameters meet parameter_roles(), the init and the optimizer.
std::vector<ModelSpec> one_model_per_entry() {
  std::vector<ModelSpec> out;
  for (const auto& d : registry_entries()) {
    ModelSpec m = descriptor_model_spec();
    const std::string& kind = d.info.kind;
    const std::string& name = d.info.name;
    if (kind == "norm") m.blocks.norm = m.final_norm = name;
    if (kind == "activation") m.blocks.activation = name;
    if (kind == "attention") m.blocks.attention = name;
    if (kind == "ffn") m.blocks.ffn = name;
    if (kind == "reparam") m.blocks.ffn_reparam = m.blocks.attn_reparam = name, m.attn_reparam_groups = {"qk", "v", "o"};
    if (kind == "ffn_scaling") m.blocks.ffn_scaling = name;
    if (m.blocks.ffn == "fused") m.blocks.activation = "identity";
    out.push_back(m);
  }
  ModelSpec global = descriptor_model_spec();  // the model-wide shared slope
  global.blocks.activation = "learnable_leaky_relu";
  global.options["learnable_leaky_relu.scope"] = "global";
  out.push_back(global);
  return out;
}

TEST(Descriptors, EveryParameterOfEveryComponentHasARole) {
  for (const auto& m : one_model_per_entry()) {
    GPT model = build_model(m, EntropyRegSpec{true});
    const auto roles = parameter_roles(*model);  // throws on a parameter without one
    EXPECT_EQ(roles.size(), model->parameters().size());
  }
}

// Roles decide the initialisation: RMSNorm's gain is registered as "weight" (a name that a
// name-based rule would have treated as a matrix) and must keep its 1s; weight norm's magnitude
// must equal the row norms of its direction after the direction was redrawn.
TEST(Descriptors, InitialisationFollowsRolesNotNames) {
  torch::manual_seed(3);
  ModelSpec m = descriptor_model_spec();
  m.blocks.norm = m.final_norm = "rmsnorm";
  m.blocks.ffn_reparam = "weight_norm";
  GPT model(m);
  for (const auto& r : parameter_roles(*model)) {
    if (r.role == ParamRole::Gain) {
      EXPECT_TRUE(torch::equal(r.tensor, torch::ones_like(r.tensor)));
    }
    if (r.role == ParamRole::ReparamMagnitude) {
      EXPECT_TRUE(torch::allclose(r.tensor, r.pair.norm(2, 1), 1e-6, 1e-6));
    }
    if (r.role == ParamRole::Matrix || r.role == ParamRole::ReparamDirection) {
      // N(0, 0.02), or 0.02 / sqrt(2 L) = 0.01 for residual outputs: the sample std is near it.
      const double expected = r.residual_output ? 0.01 : 0.02;
      EXPECT_NEAR(r.tensor.std().item<double>(), expected, 0.4 * expected);
    }
  }
}

// Roles decide weight decay: the decayed group holds exactly the matrices, directions and embeddings.
TEST(Descriptors, WeightDecayGroupsFollowRoles) {
  ModelSpec m = descriptor_model_spec();
  m.blocks.attention = "softmax_temperature";
  m.options["softmax_temperature.shape"] = "head_query";  // a 2-D temperature must still not decay
  m.blocks.activation = "learnable_leaky_relu";
  m.blocks.ffn_scaling = "learnable_scale";
  GPT model = build_model(m, EntropyRegSpec{true});
  TrainSpec t;
  auto opt = make_optimizer(model, t);
  ASSERT_EQ(opt.param_groups().size(), 2u);
  std::set<const void*> decayed;
  for (const auto& p : opt.param_groups()[0].params()) decayed.insert(p.unsafeGetTensorImpl());
  int temperatures = 0;
  for (const auto& r : parameter_roles(*model)) {
    const bool expect = r.role == ParamRole::Matrix || r.role == ParamRole::Embedding ||
                        r.role == ParamRole::ReparamDirection;
    EXPECT_EQ(decayed.count(r.tensor.unsafeGetTensorImpl()) == 1, expect) << role_name(r.role);
    temperatures += r.role == ParamRole::Temperature && r.tensor.dim() == 2;
  }
  EXPECT_EQ(temperatures, 2);
}

// The learned values a model logs are exactly those its components declare, shaped as declared.
TEST(Descriptors, LearnedValuesAreTheDeclaredOnes) {
  ModelSpec m = descriptor_model_spec();
  m.blocks.attention = "softmax_temperature";
  m.blocks.activation = "learnable_leaky_relu";
  m.blocks.ffn_scaling = "learnable_scale";
  m.layers.push_back({1, 1, {{"activation", "gelu"}}});  // layer 1 has no slope: null there
  GPT model = build_model(m, EntropyRegSpec{true});
  const nlohmann::json learned = model->learned_parameters();
  std::set<std::string> names;
  for (const auto& [k, v] : learned.items()) names.insert(k);
  EXPECT_EQ(names, (std::set<std::string>{"temperature", "slope", "ffn_alpha", "ffn_beta", "threshold"}));
  EXPECT_EQ(learned["temperature"].size(), 2u);
  EXPECT_EQ(learned["temperature"][0].size(), 2u);  // [L][H]
  EXPECT_NEAR(learned["slope"][0].get<double>(), 0.01, 1e-7);
  EXPECT_TRUE(learned["slope"][1].is_null());
  EXPECT_EQ(learned["threshold"].size(), 2u);  // [L][H], model-wide
  std::set<std::string> declared;
  for (const auto& v : learned_value_catalog()) declared.insert(v.name);
  for (const auto& n : names) EXPECT_TRUE(declared.count(n)) << n << " logged but not declared";

  m.layers.clear();
  m.options["learnable_leaky_relu.scope"] = "global";
  GPT global(m);
  EXPECT_EQ(global->learned_parameters()["slope"].size(), 1u);  // one model-wide entry
}

// docs/log-schema.json and docs/logs.md document exactly the declared learned values.
TEST(Descriptors, SchemaAndLogsDocListTheDeclaredLearnedValues) {
  const auto schema = nlohmann::json::parse(test::read_text(test::source_dir() / "docs" / "log-schema.json"));
  const std::string logs = test::read_text(test::source_dir() / "docs" / "logs.md");
  std::set<std::string> in_schema;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& j) {
    if (j.is_object()) {
      if (j.contains("properties"))
        for (const auto& [k, v] : j["properties"].items())
          if (v.is_object() && v.value("$ref", "") == "#/definitions/learned_parameter") in_schema.insert(k);
      for (const auto& [k, v] : j.items()) walk(v);
    } else if (j.is_array()) {
      for (const auto& v : j) walk(v);
    }
  };
  walk(schema);
  std::set<std::string> declared;
  for (const auto& v : learned_value_catalog()) {
    declared.insert(v.name);
    EXPECT_NE(logs.find("`" + v.name + "`"), std::string::npos) << v.name << " missing from docs/logs.md";
  }
  EXPECT_EQ(in_schema, declared);
}

}  // namespace
}  // namespace entropix
