// A sparkline: one of eight block characters (U+2581..U+2588) per column, low to high.
#pragma once
#include <string>
#include <vector>

namespace entropix::runlog {

// `values` drawn in at most `width` columns (UTF-8): with more values than columns, each column
// is the mean of a run of consecutive values; the scale is the finite minimum to maximum (all
// equal: the middle block). A non-finite value or column is a space.
std::string sparkline(const std::vector<double>& values, int width);

}  // namespace entropix::runlog
