#include "entropix/report/grouping.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "entropix/report/run_diff.h"
#include "entropix/util/error.h"

namespace entropix::report {

namespace {

std::string join_numbers(const std::vector<size_t>& members) {
  std::string out;
  for (size_t m : members) out += (out.empty() ? "" : ", ") + std::to_string(m + 1);
  return out;
}

std::vector<double> finite(const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v)
    if (std::isfinite(x)) out.push_back(x);
  return out;
}

// A sweep names a grid run "<variant>_<last key segment>=<value>" (docs/sweeps.md): the run's name
// without the grouped key's part, e.g. "sm-ln-g" for "sm-ln-g_seed=1337" grouped by seed; "" when
// the name holds no such part.
std::string name_without_key(const RunLogs& r, const std::string& key) {
  const std::string segment = key.substr(key.rfind('.') + 1);
  for (const std::string& k : {key, segment}) {
    const auto value = r.spec.find(key);
    if (value == r.spec.end()) continue;
    const std::string part = "_" + k + "=" + value->second;
    const size_t at = r.name.find(part);
    if (at != std::string::npos && at > 0) return r.name.substr(0, at) + r.name.substr(at + part.size());
  }
  return "";
}

}  // namespace

std::vector<RunGroup> group_runs(const std::vector<RunLogs>& runs, const std::string& key) {
  std::vector<std::string> problems;
  for (const auto& r : runs) {
    if (r.spec.empty())
      problems.push_back(r.dir.string() + ": no spec.yaml, so it cannot be grouped (--group-by " + key + ")");
    else if (!r.spec.count(key))
      problems.push_back(r.dir.string() + "/spec.yaml: no key " + key +
                         " (--group-by takes a resolved spec key such as seed or train.lr)");
  }
  if (!problems.empty()) throw InputError(problems);
  // The identity of a group: every key but KEY and the ignored ones.
  auto identity = [&](const RunLogs& r) {
    std::map<std::string, std::string> id = r.spec;
    id.erase(key);
    for (auto it = id.begin(); it != id.end();) it = ignored_difference(it->first) ? id.erase(it) : std::next(it);
    return id;
  };
  std::vector<std::map<std::string, std::string>> ids;
  std::vector<RunGroup> groups;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto id = identity(runs[i]);
    const auto at = std::find(ids.begin(), ids.end(), id);
    if (at == ids.end()) {
      ids.push_back(id);
      groups.push_back({"", {i}});
    } else {
      groups[static_cast<size_t>(at - ids.begin())].members.push_back(i);
    }
  }
  // Name each group by the keys that tell the groups apart (besides KEY, which varies inside).
  std::vector<RunLogs> firsts;
  for (const auto& g : groups) firsts.push_back(runs[g.members.front()]);
  std::vector<std::string> between;
  for (const auto& k : differing_keys(firsts))
    if (k != key) between.push_back(k);
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& m = groups[g].members;
    // Named after its runs when they share a name apart from KEY (a sweep's grid runs): short
    // enough for a legend. Otherwise after the keys that tell the groups apart.
    std::string what = name_without_key(runs[m.front()], key);
    for (size_t i : m)
      if (name_without_key(runs[i], key) != what) what.clear();
    if (what.empty())
      for (const auto& k : between) what += (what.empty() ? "" : ", ") + k + "=" + spec_value(firsts[g], k);
    groups[g].label = "group " + std::to_string(g + 1) + (what.empty() ? "" : ": " + what) + " (run" +
                      (m.size() == 1 ? " " : "s ") + join_numbers(m) + ")";
  }
  return groups;
}

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return std::nan("");
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

double sample_std(const std::vector<double>& v) {
  if (v.size() < 2) return v.empty() ? std::nan("") : 0.0;
  const double m = mean_of(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

Band aggregate(const std::vector<Curve>& curves) {
  Band band;
  if (curves.empty()) return band;
  // x -> the members' values there (the last one where a member logged an x twice, as on resume).
  std::vector<std::map<double, double>> at(curves.size());
  for (size_t c = 0; c < curves.size(); ++c)
    for (const auto& [x, y] : curves[c])
      if (std::isfinite(x) && std::isfinite(y)) at[c][x] = y;
  for (const auto& [x, y0] : at[0]) {
    std::vector<double> ys;
    for (const auto& member : at) {
      const auto it = member.find(x);
      if (it == member.end()) break;
      ys.push_back(it->second);
    }
    if (ys.size() != curves.size()) continue;
    band.x.push_back(x);
    band.mean.push_back(mean_of(ys));
    band.std.push_back(sample_std(ys));
  }
  return band;
}

std::string mean_std_text(const std::vector<double>& values, int decimals) {
  const auto f = finite(values);
  if (f.empty()) return "n/a";
  return charts::fixed(mean_of(f), decimals) + " \xC2\xB1 " + charts::fixed(sample_std(f), decimals) +
         (f.size() < values.size() ? " (n=" + std::to_string(f.size()) + ")" : "");
}

std::vector<charts::Series> overlay(const std::vector<RunLogs>& runs, const std::vector<RunGroup>& groups,
                                    const Extract& extract, const std::string& unit) {
  std::vector<charts::Series> out;
  const std::string u = unit.empty() ? "" : " " + unit;
  if (groups.empty()) {
    for (size_t i = 0; i < runs.size(); ++i) {
      charts::Series s{run_label(runs[i], i), colormap::categorical(static_cast<int>(i)), {}, {}};
      s.marker = static_cast<int>(i);
      for (const auto& [x, y] : extract(runs[i])) {
        s.x.push_back(x);
        s.y.push_back(y);
        s.tips.push_back(s.name + ", step " + charts::fixed(x, 0) + ": " + charts::fixed(y, 4) + u);
      }
      out.push_back(s);
    }
    return out;
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<Curve> curves;
    for (size_t m : groups[g].members) curves.push_back(extract(runs[m]));
    const Band band = aggregate(curves);
    charts::Series s{groups[g].label, colormap::categorical(static_cast<int>(g)), band.x, band.mean};
    s.marker = static_cast<int>(g);
    for (size_t k = 0; k < band.x.size(); ++k) {
      s.band_lo.push_back(band.mean[k] - band.std[k]);
      s.band_hi.push_back(band.mean[k] + band.std[k]);
      s.tips.push_back(groups[g].label + ", step " + charts::fixed(band.x[k], 0) + ": mean " + charts::fixed(band.mean[k], 4) +
                       " \xC2\xB1 " + charts::fixed(band.std[k], 4) + u + " (n=" + std::to_string(curves.size()) + ")");
    }
    out.push_back(s);
  }
  return out;
}

std::vector<TableColumn> group_table(const std::vector<RunLogs>& runs, const std::vector<const EntropyPoint*>& shown,
                                     const std::vector<RunGroup>& groups, const std::string& key) {
  TableColumn name{"group", "", {}, false}, members{"runs", "the runs of the group, by their number in the table of runs", {}, false},
      values{key, "the values of the grouping key in the group", {}, false}, n{"n", "runs in the group", {}, true},
      loss{"val loss", "final validation loss: mean ± sample std over the group", {}, true},
      ppl{"val ppl", "final validation perplexity: mean ± sample std", {}, true},
      collapse{"collapse [0, m/4)", "share of heads in the bottom bin of the drawn records, percent: mean ± std", {}, true},
      overload{"overload [3m/4, m]", "share of heads in the top bin of the drawn records, percent: mean ± std", {}, true};
  for (const auto& g : groups) {
    name.cells.push_back(g.label);
    members.cells.push_back(join_numbers(g.members));
    std::string vals;
    std::vector<double> l, p, c, o;
    for (size_t m : g.members) {
      vals += (vals.empty() ? "" : ", ") + spec_value(runs[m], key);
      l.push_back(runs[m].final_val_loss);
      p.push_back(runs[m].final_val_ppl);
      c.push_back(shown[m] ? 100 * shown[m]->bins[0] : std::nan(""));
      o.push_back(shown[m] ? 100 * shown[m]->bins[3] : std::nan(""));
    }
    values.cells.push_back(vals);
    n.cells.push_back(std::to_string(g.members.size()));
    loss.cells.push_back(mean_std_text(l, 4));
    ppl.cells.push_back(mean_std_text(p, 3));
    collapse.cells.push_back(mean_std_text(c, 1));
    overload.cells.push_back(mean_std_text(o, 1));
  }
  return {name, members, values, n, loss, ppl, collapse, overload};
}

}  // namespace entropix::report
