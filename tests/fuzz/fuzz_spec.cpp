// libFuzzer target: spec text through parse_spec. The input is YAML, optionally followed by a line
// "--set" and one override per line. Properties: parse_spec returns a spec or throws InputError,
// every problem is one non-empty line, and a spec it returns prints (spec_to_yaml) to YAML that
// parses back to the same YAML. Anything else (a crash, a sanitizer report, another exception, a
// hang) is a finding. scripts/fuzz.sh builds and runs it.
//
// The catalogue has the registry's shape (its kinds, components with options of every type, a
// numeric check, a layer check) without the model, so this builds without LibTorch.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "entropix/spec/component_catalog.h"
#include "entropix/spec/key_checks.h"
#include "entropix/spec/spec.h"
#include "entropix/util/error.h"

namespace {
using namespace entropix;

ComponentCatalog registry_shaped_catalog() {
  ComponentCatalog c;
  c.kinds = {"norm", "activation", "attention", "ffn", "reparam", "ffn_scaling"};
  auto add = [&c](const std::string& kind, const std::string& name) -> ComponentInfo& {
    c.components.push_back({kind, name, "a component", {}, {}});
    return c.components.back();
  };
  for (const char* n : {"layernorm", "rmsnorm", "identity"}) add("norm", n);
  for (const char* n : {"gelu", "relu", "identity"}) add("activation", n);
  add("activation", "leaky_relu").options.push_back({"slope", OptionType::Float, "0.1", "slope", {}, {}, "model.leaky_slope"});
  add("attention", "softmax");
  ComponentInfo& temperature = add("attention", "softmax_temperature");
  temperature.options.push_back({"init", OptionType::Float, "1", "t", {}, spec_detail::positive(), ""});
  temperature.options.push_back({"shape", OptionType::String, "head", "where", {"head", "layer", "model"}, {}, ""});
  add("ffn", "mlp");
  add("ffn", "identity");
  add("ffn", "fused").check_layer = [](const LayerSpec&) { return std::string(); };
  for (const char* n : {"none", "weight_norm", "spectral_norm"}) add("reparam", n);
  add("ffn_scaling", "none");
  ComponentInfo& scaling = add("ffn_scaling", "learnable");
  scaling.options.push_back({"alpha_init", OptionType::Float, "1", "alpha", {}, spec_detail::positive(), ""});
  scaling.options.push_back({"frozen", OptionType::Bool, "false", "flag", {}, {}, ""});
  scaling.options.push_back({"count", OptionType::Int, "3", "count", {}, {}, ""});
  return c;
}

// Splits "<yaml>\n--set\n<override>\n<override>..." into the YAML and its overrides.
std::vector<std::string> take_overrides(std::string& text) {
  std::vector<std::string> overrides;
  const size_t at = text.find("\n--set\n");
  if (at == std::string::npos) return overrides;
  const std::string rest = text.substr(at + 7);
  text.resize(at);
  for (size_t b = 0; b <= rest.size();) {
    size_t e = rest.find('\n', b);
    if (e == std::string::npos) e = rest.size();
    overrides.push_back(rest.substr(b, e - b));
    b = e + 1;
  }
  return overrides;
}

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "finding: %s\n", one_line(what).c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ComponentCatalog catalog = registry_shaped_catalog();
  std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> overrides = take_overrides(text);
  try {
    const std::string yaml = spec_to_yaml(parse_spec(text, "fuzz.yaml", overrides, catalog));
    const std::string again = spec_to_yaml(parse_spec(yaml, "printed.yaml", {}, catalog));
    if (again != yaml) finding("the printed spec reads back differently:\n" + yaml + "\n----\n" + again);
  } catch (const InputError& e) {
    for (const auto& p : e.problems())
      if (p.empty() || p.find('\n') != std::string::npos) finding("a problem that is not one line: [" + p + "]");
  }
  return 0;
}
