// `entropix cost`: several specs priced with one profile, side by side, with savings against a
// baseline spec; the text table and the JSON document (fields in docs/cost.md).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "entropix/picost/cost.h"
#include "entropix/picost/profile.h"

namespace entropix {

struct PricedSpec {
  std::string name;  // the spec's name
  std::string file;  // the spec file
  ModelSpec model;
  CostEstimate estimate;
};

struct CostComparison {
  CostProfile profile;
  std::vector<PricedSpec> specs;
  size_t baseline = 0;  // index into specs
};

// Loads and prices every spec (`sets` apply to each). The baseline is `baseline_file` when given:
// one of `spec_files` (same file) or else priced too and put first; otherwise the first spec.
CostComparison compare_costs(const std::vector<std::string>& spec_files, const std::string& baseline_file,
                             const std::vector<std::string>& sets, const CostProfile& profile);

std::string comparison_text(const CostComparison& comparison);
nlohmann::json comparison_json(const CostComparison& comparison);

}  // namespace entropix
