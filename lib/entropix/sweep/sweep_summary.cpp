#include "entropix/sweep/sweep_summary.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "entropix/picost/cost.h"
#include "entropix/sweep/sweep_runner.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

std::optional<double> number(const nlohmann::json& j, const char* key) {
  if (j.contains(key) && j[key].is_number()) return j[key].get<double>();
  return std::nullopt;
}

std::string fixed(const std::optional<double>& v, int digits) {
  if (!v) return "";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, *v);
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out.empty() ? "–" : out;
}

}  // namespace

std::vector<SweepRow> summarize_sweep(const SweepPlan& plan) {
  const CostProfile profile = load_profile("bumblebee-wan");
  std::vector<SweepRow> rows;
  for (const auto& run : plan.runs) {
    SweepRow row;
    row.run = run.name;
    row.overrides = overrides_text(run.overrides);
    row.status = run_state(run.dir);
    row.baseline = run.name == plan.baseline;
    row.dir = run.dir.string();
    try {
      const CostEstimate cost = estimate_cost(run.spec.model, profile, run.name);
      row.comm_gb = cost.comm_gb();
      row.latency_min = cost.latency_min();
    } catch (const InputError&) {
      // An operation the profile has no price for: the columns stay empty.
    }
    try {
      const auto s = nlohmann::json::parse(read_file(run.dir / "summary.json"));
      if (s["steps"].is_number_integer()) row.steps = s["steps"].get<int64_t>();
      row.val_loss = number(s, "final_val_loss");
      row.val_ppl = number(s, "final_val_ppl");
      const auto& e = s["final_entropy"];
      if (e.is_object() && e["bins"].is_array() && e["bins"].size() == 4) {
        row.collapse_share = e["bins"][0].get<double>();
        row.overload_share = e["bins"][3].get<double>();
      }
    } catch (...) {
      // No summary yet (new or killed run): the row says so through its status.
    }
    rows.push_back(std::move(row));
  }
  std::optional<double> base;
  for (const auto& r : rows)
    if (r.baseline) base = r.val_ppl;
  if (base && *base > 0)
    for (auto& r : rows)
      if (r.val_ppl) r.ppl_change_pct = 100.0 * (*r.val_ppl - *base) / *base;
  return rows;
}

std::string sweep_csv(const std::vector<SweepRow>& rows) {
  std::ostringstream out;
  out << "run,overrides,status,baseline,steps,final_val_loss,final_val_ppl,ppl_vs_baseline_pct,collapse_share,"
         "overload_share,pi_comm_gb,pi_latency_min,run_dir\n";
  for (const auto& r : rows) {
    out << csv_field(r.run) << ',' << csv_field(r.overrides) << ',' << r.status << ',' << (r.baseline ? "yes" : "")
        << ',' << (r.steps ? std::to_string(*r.steps) : "") << ',' << fixed(r.val_loss, 6) << ',' << fixed(r.val_ppl, 4)
        << ',' << fixed(r.ppl_change_pct, 2) << ',' << fixed(r.collapse_share, 4) << ',' << fixed(r.overload_share, 4)
        << ',' << fixed(r.comm_gb, 3) << ',' << fixed(r.latency_min, 3) << ',' << csv_field(r.dir) << '\n';
  }
  return out.str();
}

std::string sweep_markdown(const SweepPlan& plan, const std::vector<SweepRow>& rows) {
  std::ostringstream out;
  out << "# Sweep " << plan.name << "\n\n"
      << "Spec: `" << plan.spec_file.string() << "`; baseline: `" << plan.baseline << "`. Perplexity change is "
      << "relative to the baseline (positive = worse). Head shares are the final entropy record's bins "
      << "(collapse: below a quarter of the top entropy; overload: above three quarters). PI cost: "
      << "`entropix cost` with the bumblebee-wan profile, one output token after T tokens.\n\n"
      << "| run | overrides | status | steps | val loss | val ppl | ppl vs baseline | collapse | overload | PI comm GB | PI latency min |\n"
      << "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  auto pct = [](const std::optional<double>& v) { return v ? fixed(100.0 * *v, 1) + "%" : std::string(); };
  for (const auto& r : rows) {
    std::string change = r.ppl_change_pct ? (*r.ppl_change_pct >= 0 ? "+" : "") + fixed(r.ppl_change_pct, 1) + "%" : "";
    if (r.baseline) change = "baseline";
    out << "| " << md_cell(r.run) << " | " << md_cell(r.overrides) << " | " << r.status << " | "
        << md_cell(r.steps ? std::to_string(*r.steps) : "") << " | " << md_cell(fixed(r.val_loss, 4)) << " | "
        << md_cell(fixed(r.val_ppl, 2)) << " | " << md_cell(change) << " | " << md_cell(pct(r.collapse_share)) << " | "
        << md_cell(pct(r.overload_share)) << " | " << md_cell(fixed(r.comm_gb, 2)) << " | " << md_cell(fixed(r.latency_min, 2))
        << " |\n";
  }
  return out.str();
}

std::vector<SweepRow> write_sweep_summary(const SweepPlan& plan) {
  auto rows = summarize_sweep(plan);
  fs::create_directories(plan.dir);
  write_file_atomic(plan.dir / "summary.csv", sweep_csv(rows));
  write_file_atomic(plan.dir / "summary.md", sweep_markdown(plan, rows));
  return rows;
}

}  // namespace entropix
