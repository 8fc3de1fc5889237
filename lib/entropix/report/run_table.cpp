#include "entropix/report/run_table.h"

#include <cmath>
#include <cstdio>

#include "entropix/picost/cost.h"
#include "entropix/report/charts.h"
#include "entropix/report/run_diff.h"
#include "entropix/spec/spec.h"
#include "entropix/util/error.h"
#include "entropix/model/registry.h"

namespace entropix::report {

namespace {

std::string percent_change(double value, double reference) {
  if (!std::isfinite(value) || !std::isfinite(reference) || reference == 0) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%+.2f%%", 100.0 * (value - reference) / reference);
  return buf;
}

}  // namespace

std::vector<TableColumn> run_table(const std::vector<RunLogs>& runs, const std::vector<const EntropyPoint*>& shown) {
  TableColumn index{"#", "", {}, true}, name{"run", "name from summary.json or spec.yaml", {}, false},
      dir{"directory", "", {}, false}, model{"model", "from spec.yaml: layers, heads, width, context, components", {}, false},
      status{"status", "summary.json status; unfinished when there is none", {}, false},
      steps{"steps", "optimizer steps completed", {}, true},
      loss{"val loss", "final validation loss, nats per token", {}, true},
      ppl{"val ppl", "final validation perplexity", {}, true},
      dloss{"Δ val loss", "change of the final validation loss against run 1, percent", {}, true},
      dppl{"Δ ppl", "change of the final validation perplexity against run 1, percent", {}, true},
      estep{"entropy step", "step (and split) of the entropy record drawn below", {}, true};
  const char* bin_names[4] = {"collapse [0, m/4)", "[m/4, m/2)", "[m/2, 3m/4)", "overload [3m/4, m]"};
  std::vector<TableColumn> bins;
  for (const char* b : bin_names)
    bins.push_back({b, "share of heads in this quartile of m, the bins' top (bin_max)", {}, true});

  for (size_t i = 0; i < runs.size(); ++i) {
    const RunLogs& r = runs[i];
    index.cells.push_back(std::to_string(i + 1));
    name.cells.push_back(r.name);
    dir.cells.push_back(r.dir.string());
    model.cells.push_back(r.model.empty() ? "n/a" : r.model);
    status.cells.push_back(to_string(r.status));
    steps.cells.push_back(std::to_string(r.steps));
    loss.cells.push_back(charts::fixed(r.final_val_loss, 4));
    ppl.cells.push_back(charts::fixed(r.final_val_ppl, 3));
    dloss.cells.push_back(i == 0 ? "reference" : percent_change(r.final_val_loss, runs[0].final_val_loss));
    dppl.cells.push_back(i == 0 ? "reference" : percent_change(r.final_val_ppl, runs[0].final_val_ppl));
    const EntropyPoint* e = shown[i];
    estep.cells.push_back(e ? std::to_string(e->step) + (e->split.empty() ? "" : " (" + e->split + ")") : "none");
    for (int b = 0; b < 4; ++b) bins[b].cells.push_back(e ? charts::fixed(100 * e->bins[b], 1) + "%" : "n/a");
  }
  std::vector<TableColumn> out = {index, name, dir, model, differs_column(runs), status, steps, loss, ppl, dloss, dppl, estep};
  out.insert(out.end(), bins.begin(), bins.end());
  for (auto& c : pi_cost_columns(runs)) out.push_back(std::move(c));
  return out;
}

std::vector<TableColumn> pi_cost_columns(const std::vector<RunLogs>& runs) {
  TableColumn comm{"PI comm GB", "estimated private-inference communication for one output token after T tokens (entropix cost, bumblebee-wan)", {}, true},
      latency{"PI latency min", "estimated private-inference latency, minutes (entropix cost, bumblebee-wan)", {}, true},
      saving{"PI comm saving", "communication of run 1 / this run's", {}, true};
  const CostProfile profile = load_profile("bumblebee-wan");
  std::vector<double> gb(runs.size(), std::nan(""));
  for (size_t i = 0; i < runs.size(); ++i) {
    // The architecture is in the run's spec.yaml; a run without one (or one the profile cannot
    // price) gets n/a rather than failing the report.
    try {
      const ExperimentSpec spec = load_spec((runs[i].dir / "spec.yaml").string());
      const CostEstimate cost = estimate_cost(spec.model, profile, runs[i].name);
      gb[i] = cost.comm_gb();
      comm.cells.push_back(charts::fixed(cost.comm_gb(), 2));
      latency.cells.push_back(charts::fixed(cost.latency_min(), 2));
    } catch (const InputError&) {
      comm.cells.push_back("n/a");
      latency.cells.push_back("n/a");
    }
  }
  for (size_t i = 0; i < runs.size(); ++i)
    saving.cells.push_back(std::isfinite(gb[i]) && std::isfinite(gb[0]) && gb[i] > 0 ? charts::fixed(gb[0] / gb[i], 2) + "x" : "n/a");
  return {comm, latency, saving};
}

}  // namespace entropix::report
