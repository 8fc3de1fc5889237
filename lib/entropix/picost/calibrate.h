// Fitting a cost profile to published end-to-end measurements (`entropix cost --calibrate`).
// A calibration file (YAML, docs/cost.md) lists rows: a spec, --set overrides, the published
// communication (GB) and latency (minutes), and whether the row is held out (checked, not fitted).
// The fit is non-negative least squares on relative errors, one fit for bytes and one for seconds,
// over the quantities estimate_cost prices (priced_quantities), so the fitted profile reproduces
// its rows through the same code that `entropix cost` runs.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "entropix/picost/profile.h"
#include "entropix/spec/spec.h"

namespace entropix {

struct CalibrationRow {
  std::string label;
  ModelSpec model;
  double comm_gb = 0;
  double latency_min = 0;
  bool held_out = false;
};

struct CalibrationSet {
  CostProfile header;  // name, protocol, network, source for the fitted profile
  // Op kinds fitted as one constant: the rows cannot tell them apart, or never use some of them.
  std::vector<std::vector<std::string>> ties;
  std::vector<CalibrationRow> rows;
  std::string origin;  // the file
};

// Spec paths in the file are relative to the file's directory. InputError on any problem.
CalibrationSet load_calibration(const std::string& path);

struct CalibrationResidual {
  std::string label;
  bool held_out = false;
  double comm_gb = 0, latency_min = 0;          // published
  double est_comm_gb = 0, est_latency_min = 0;  // the fitted profile's estimate
  double comm_error() const { return est_comm_gb / comm_gb - 1; }
  double latency_error() const { return est_latency_min / latency_min - 1; }
};

struct Calibration {
  CostProfile profile;  // constants rounded to the 4 significant digits the profile file holds
  std::vector<CalibrationResidual> residuals;  // every row, estimated with the rounded profile
};

// InputError when an op kind is in no fitted row and not tied to one that is.
Calibration calibrate(const CalibrationSet& set);

// The profile file: YAML with the constants, the residuals as comments. `rows_file` is named in
// its header.
std::string calibration_yaml(const Calibration& calibration, const std::string& rows_file);
nlohmann::json calibration_json(const Calibration& calibration);

}  // namespace entropix
