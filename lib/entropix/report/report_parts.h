// Small helpers shared by the report's sections (report.cpp, learned.cpp): labels and the range of
// a table of values.
#pragma once
#include <string>
#include <vector>

#include "entropix/report/report.h"

namespace entropix::report {

// "run 2: norm-free"
std::string run_label(const Report& r, size_t i);
// "step 12 (val batch)"
std::string step_text(const EntropyPoint& e);
// {"L0", "L1", ...}
std::vector<std::string> labels(const std::string& prefix, size_t n);
// The largest and smallest finite value of a table (-inf / +inf when there is none).
double max_finite(const std::vector<std::vector<double>>& m);
double min_finite(const std::vector<std::vector<double>>& m);

}  // namespace entropix::report
