// The published headwise entropy tables of tests/fixtures/seed_headwise.txt, for tests.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace entropix::test {

// name ("SM+LN+G", ...) -> 12 x 12 table (layers x heads, nats), from the fixture's "(a) NAME"
// headers and "L0 ..." rows; '#' lines are comments.
std::map<std::string, std::vector<std::vector<double>>> published_headwise_tables();

}  // namespace entropix::test
