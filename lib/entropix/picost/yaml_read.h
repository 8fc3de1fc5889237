// Checked reading of small YAML data files (profiles, calibration rows): every problem becomes one
// line "origin:line:column: key: what is wrong; what is valid", collected before throwing.
#pragma once
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace entropix::picost_detail {

class YamlReader {
 public:
  explicit YamlReader(std::string origin) : origin_(std::move(origin)) {}

  // Parses text; malformed YAML throws InputError at once with its line:column.
  YAML::Node load(const std::string& text) const;

  // "origin:line:column" of a node (just the origin when the node has no position).
  std::string at(const YAML::Node& node) const;
  void problem(const YAML::Node& node, const std::string& key, const std::string& what);
  void add(std::string line) { problems_.push_back(std::move(line)); }  // an already formatted problem

  // A map's keys must be among `allowed` and include `required`; reports the others. False when
  // `node` is not a map at all.
  bool check_map(const YAML::Node& node, const std::string& key, const std::vector<std::string>& allowed,
                 const std::vector<std::string>& required);
  // A finite number >= 0 (reported and 0 otherwise).
  double non_negative(const YAML::Node& node, const std::string& key);
  std::string text(const YAML::Node& node, const std::string& key);

  const std::string& origin() const { return origin_; }
  bool ok() const { return problems_.empty(); }
  void raise_if_any() const;  // throws InputError with every problem

 private:
  std::string origin_;
  std::vector<std::string> problems_;
};

std::string join_names(const std::vector<std::string>& names);

}  // namespace entropix::picost_detail
