#include "support/records.h"

#include <fstream>

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

}  // namespace entropix::test
