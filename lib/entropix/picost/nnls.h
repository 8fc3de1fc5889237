// Non-negative least squares: min ||A x - b||_2 subject to x >= 0 (Lawson and Hanson's active-set
// method). Small dense problems only (the calibration of a cost profile: tens of rows, ~10 columns).
#pragma once
#include <cstddef>
#include <vector>

namespace entropix {

// A is row-major, A.size() rows of equal length. Returns x (one entry per column), all >= 0.
std::vector<double> nnls(const std::vector<std::vector<double>>& A, const std::vector<double>& b);

// Unconstrained least squares on the columns in `cols` (Householder QR); other entries 0.
std::vector<double> least_squares(const std::vector<std::vector<double>>& A, const std::vector<double>& b,
                                  const std::vector<std::size_t>& cols);

}  // namespace entropix
