#include "support/published.h"

#include <fstream>
#include <sstream>

#include "support/test_util.h"

namespace entropix::test {

std::map<std::string, std::vector<std::vector<double>>> published_headwise_tables() {
  std::ifstream in(source_dir() / "tests" / "fixtures" / "seed_headwise.txt");
  std::map<std::string, std::vector<std::vector<double>>> tables;
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string first;
    ss >> first;
    if (first.front() == '(') {
      ss >> current;
      continue;
    }
    std::vector<double> row;
    for (double v; ss >> v;) row.push_back(v);
    tables[current].push_back(row);
  }
  return tables;
}

}  // namespace entropix::test
