// `--group-by KEY`: runs whose resolved specs agree on every key except KEY (and the name) form a
// group, drawn as the mean of its members with a band of +/- one standard deviation, and shown in
// the group table as mean +/- std.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "entropix/report/charts.h"
#include "entropix/report/run_logs.h"
#include "entropix/report/run_table.h"

namespace entropix::report {

struct RunGroup {
  std::string label;            // "group 1: train.lr=0.03 (runs 1, 2)"
  std::vector<size_t> members;  // indices into the runs, in the order given
};

// The groups, in the order of their first run. Throws InputError (one problem per run) when a run
// has no spec.yaml or its spec has no KEY.
std::vector<RunGroup> group_runs(const std::vector<RunLogs>& runs, const std::string& key);

// Mean and sample standard deviation (n - 1 in the denominator; 0 for a single value).
double mean_of(const std::vector<double>& v);
double sample_std(const std::vector<double>& v);

// A curve: (x, y) points, e.g. (step, train loss).
using Curve = std::vector<std::pair<double, double>>;
struct Band {
  std::vector<double> x, mean, std;
};
// At every x that each curve has with a finite y (a step all members reached): the mean and the
// sample std of the members' values there.
Band aggregate(const std::vector<Curve>& curves);

// The series of a chart with the runs overlaid: one per run (its categorical colour), or, when
// `groups` is not empty, one per group: the mean line with a +/- std band, each point's tooltip
// giving mean, std and n. `unit` follows values in tooltips.
using Extract = std::function<Curve(const RunLogs&)>;
std::vector<charts::Series> overlay(const std::vector<RunLogs>& runs, const std::vector<RunGroup>& groups,
                                    const Extract& extract, const std::string& unit);

// The group table: per group its runs, the KEY values, and mean +/- std over the members of the
// final validation loss, perplexity, and the collapse and overload shares of the drawn records.
std::vector<TableColumn> group_table(const std::vector<RunLogs>& runs, const std::vector<const EntropyPoint*>& shown,
                                     const std::vector<RunGroup>& groups, const std::string& key);

// "2.3456 ± 0.0123" (mean ± std with `decimals`; "n/a" without finite values).
std::string mean_std_text(const std::vector<double>& values, int decimals);

}  // namespace entropix::report
