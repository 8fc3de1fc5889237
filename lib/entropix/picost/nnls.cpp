#include "entropix/picost/nnls.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace entropix {

std::vector<double> least_squares(const std::vector<std::vector<double>>& A, const std::vector<double>& b,
                                  const std::vector<size_t>& cols) {
  const size_t m = A.size(), k = cols.size();
  const size_t n = m ? A[0].size() : 0;
  if (k > m) throw std::invalid_argument("least_squares: more columns than rows");
  // Work on a copy of the chosen columns: R overwrites it, Q^T b overwrites y.
  std::vector<std::vector<double>> R(m, std::vector<double>(k));
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < k; ++j) R[i][j] = A[i][cols[j]];
  std::vector<double> y = b;
  for (size_t j = 0; j < k; ++j) {
    double norm = 0;
    for (size_t i = j; i < m; ++i) norm += R[i][j] * R[i][j];
    norm = std::sqrt(norm);
    if (norm == 0) continue;
    const double alpha = R[j][j] > 0 ? -norm : norm;
    std::vector<double> v(m, 0.0);
    for (size_t i = j; i < m; ++i) v[i] = R[i][j];
    v[j] -= alpha;
    double vv = 0;
    for (size_t i = j; i < m; ++i) vv += v[i] * v[i];
    if (vv == 0) continue;
    for (size_t c = j; c < k; ++c) {
      double s = 0;
      for (size_t i = j; i < m; ++i) s += v[i] * R[i][c];
      for (size_t i = j; i < m; ++i) R[i][c] -= 2 * s / vv * v[i];
    }
    double s = 0;
    for (size_t i = j; i < m; ++i) s += v[i] * y[i];
    for (size_t i = j; i < m; ++i) y[i] -= 2 * s / vv * v[i];
  }
  std::vector<double> z(k, 0.0);
  for (size_t jj = k; jj-- > 0;) {
    double s = y[jj];
    for (size_t c = jj + 1; c < k; ++c) s -= R[jj][c] * z[c];
    // A column that is (numerically) a combination of earlier ones gets 0.
    z[jj] = std::abs(R[jj][jj]) > 1e-12 ? s / R[jj][jj] : 0.0;
  }
  std::vector<double> x(n, 0.0);
  for (size_t j = 0; j < k; ++j) x[cols[j]] = z[j];
  return x;
}

namespace {

// Lawson-Hanson on a problem whose columns and right-hand side have unit norm.
std::vector<double> nnls_unit(const std::vector<std::vector<double>>& A, const std::vector<double>& b) {
  const size_t m = A.size();
  const size_t n = m ? A[0].size() : 0;
  std::vector<double> x(n, 0.0);
  std::vector<bool> passive(n, false);
  auto gradient = [&] {  // A^T (b - A x)
    std::vector<double> r = b, w(n, 0.0);
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < n; ++j) r[i] -= A[i][j] * x[j];
    for (size_t j = 0; j < n; ++j)
      for (size_t i = 0; i < m; ++i) w[j] += A[i][j] * r[i];
    return w;
  };
  const double tol = 1e-12 * static_cast<double>(m);

  for (size_t outer = 0; outer < 3 * n + 3; ++outer) {
    const std::vector<double> w = gradient();
    size_t best = n;
    for (size_t j = 0; j < n; ++j)
      if (!passive[j] && w[j] > tol && (best == n || w[j] > w[best])) best = j;
    if (best == n) break;  // Kuhn-Tucker conditions hold
    passive[best] = true;
    for (size_t inner = 0; inner < 3 * n + 3; ++inner) {
      std::vector<size_t> cols;
      for (size_t j = 0; j < n; ++j)
        if (passive[j]) cols.push_back(j);
      if (cols.size() > m) break;
      const std::vector<double> z = least_squares(A, b, cols);
      bool feasible = true;
      for (size_t j : cols) feasible = feasible && z[j] > 0;
      if (feasible) {
        x = z;
        break;
      }
      // Step from x towards z until the first passive entry reaches 0, then drop the zeros.
      double step = 1;
      for (size_t j : cols)
        if (z[j] <= 0) step = std::min(step, x[j] / (x[j] - z[j]));
      for (size_t j = 0; j < n; ++j) x[j] += step * (z[j] - x[j]);
      for (size_t j : cols)
        if (x[j] <= 1e-14) {
          passive[j] = false;
          x[j] = 0;
        }
    }
  }
  for (double& v : x) v = std::max(v, 0.0);
  return x;
}

}  // namespace

std::vector<double> nnls(const std::vector<std::vector<double>>& A, const std::vector<double>& b) {
  // Scale every column and b to unit norm so the tolerances above mean the same for any units.
  const size_t m = A.size();
  const size_t n = m ? A[0].size() : 0;
  std::vector<double> norm(n, 0.0);
  for (const auto& row : A)
    for (size_t j = 0; j < n; ++j) norm[j] += row[j] * row[j];
  double bnorm = 0;
  for (double v : b) bnorm += v * v;
  bnorm = std::sqrt(bnorm);
  if (bnorm == 0) return std::vector<double>(n, 0.0);
  for (double& v : norm) v = std::sqrt(v);
  std::vector<std::vector<double>> As = A;
  for (auto& row : As)
    for (size_t j = 0; j < n; ++j) row[j] = norm[j] > 0 ? row[j] / norm[j] : 0.0;
  std::vector<double> bs = b;
  for (double& v : bs) v /= bnorm;
  std::vector<double> x = nnls_unit(As, bs);
  for (size_t j = 0; j < n; ++j) x[j] = norm[j] > 0 ? x[j] * bnorm / norm[j] : 0.0;
  return x;
}

}  // namespace entropix
