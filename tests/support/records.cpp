#include "support/records.h"

#include <fstream>

#include "support/test_util.h"

namespace entropix::test {

std::vector<nlohmann::json> read_records(const std::filesystem::path& jsonl, const std::string& kind) {
  std::vector<nlohmann::json> out;
  std::ifstream in(jsonl);
  for (std::string line; std::getline(in, line);) {
    auto rec = nlohmann::json::parse(line);
    if (kind.empty() || rec["kind"] == kind) out.push_back(std::move(rec));
  }
  return out;
}

nlohmann::json summary_of(const std::filesystem::path& run) {
  return nlohmann::json::parse(read_text(run / "summary.json"));
}

}  // namespace entropix::test
