#include "entropix/spec/spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <optional>
#include <sstream>

#include "entropix/model/registry.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix {
namespace {

enum class KeyType { Int, Float, String, Bool };

// One key of the spec: how to check a YAML value and store it, how to read it back.
struct KeyDef {
  std::string path;
  KeyType type;
  std::string doc;
  // Valid values for string keys; empty = any string. A function so registry names stay current.
  std::function<std::vector<std::string>()> choices;
  // Range/other check on the parsed value; returns a problem description or "" when fine.
  std::function<std::string(double)> check;
  std::function<void(ExperimentSpec&, const YAML::Node&)> assign;
  std::function<std::string(const ExperimentSpec&)> render;
};

std::string format_double(double v) {
  std::ostringstream ss;
  ss << std::setprecision(12) << v;
  return ss.str();
}

template <typename Section, typename Field>
KeyDef field_key(std::string path, KeyType type, Section ExperimentSpec::*section, Field Section::*field,
            std::string doc) {
  KeyDef def;
  def.path = std::move(path);
  def.type = type;
  def.doc = std::move(doc);
  def.assign = [section, field](ExperimentSpec& s, const YAML::Node& n) {
    (s.*section).*field = n.as<Field>();
  };
  def.render = [section, field](const ExperimentSpec& s) {
    const Field& v = (s.*section).*field;
    if constexpr (std::is_same_v<Field, std::string>) return v;
    else if constexpr (std::is_same_v<Field, bool>) return std::string(v ? "true" : "false");
    else if constexpr (std::is_floating_point_v<Field>) return format_double(v);
    else return std::to_string(v);
  };
  return def;
}

// Top-level scalar keys (name, seed) are not in a section.
template <typename Field>
KeyDef top_key(std::string path, KeyType type, Field ExperimentSpec::*field, std::string doc) {
  KeyDef def;
  def.path = std::move(path);
  def.type = type;
  def.doc = std::move(doc);
  def.assign = [field](ExperimentSpec& s, const YAML::Node& n) { s.*field = n.as<Field>(); };
  def.render = [field](const ExperimentSpec& s) {
    if constexpr (std::is_same_v<Field, std::string>) return s.*field;
    else return std::to_string(s.*field);
  };
  return def;
}

std::function<std::string(double)> at_least(double lo) {
  return [lo](double v) {
    return v >= lo ? std::string() : "must be >= " + format_double(lo) + ", got " + format_double(v);
  };
}
std::function<std::string(double)> positive() {
  return [](double v) { return v > 0 ? std::string() : "must be > 0, got " + format_double(v); };
}
std::function<std::string(double)> in_unit_interval() {
  return [](double v) {
    return (v >= 0 && v <= 1) ? std::string() : "must be in [0, 1], got " + format_double(v);
  };
}
std::function<std::vector<std::string>()> fixed(std::vector<std::string> names) {
  return [names] { return names; };
}
std::function<std::vector<std::string>()> registry(std::string kind) {
  return [kind] { return registry_names(kind); };
}

KeyDef with(KeyDef def, std::function<std::string(double)> check) {
  def.check = std::move(check);
  return def;
}
KeyDef with(KeyDef def, std::function<std::vector<std::string>()> choices) {
  def.choices = std::move(choices);
  return def;
}

using E = ExperimentSpec;
using K = KeyType;

const std::vector<KeyDef>& key_table() {
  static const std::vector<KeyDef> table = {
      top_key("name", K::String, &E::name, "run name; defaults to the spec file's stem"),
      with(top_key("seed", K::Int, &E::seed, "seed for initialisation and batch sampling"), at_least(0)),

      with(field_key("model.n_layer", K::Int, &E::model, &ModelSpec::n_layer, "decoder blocks (L)"), positive()),
      with(field_key("model.n_head", K::Int, &E::model, &ModelSpec::n_head, "attention heads per block (H)"), positive()),
      with(field_key("model.n_embd", K::Int, &E::model, &ModelSpec::n_embd, "model width d; divisible by n_head"), positive()),
      with(field_key("model.context", K::Int, &E::model, &ModelSpec::context, "tokens per sequence (T)"), at_least(2)),
      with(field_key("model.vocab_size", K::Int, &E::model, &ModelSpec::vocab_size,
                "vocabulary size; 256 for the byte tokenizer, up to 65536 for nanogpt .bin data"), positive()),
      with(field_key("model.norm", K::String, &E::model, &ModelSpec::norm,
                "normalisation before attention and FFN in every block"), registry("norm")),
      with(field_key("model.final_norm", K::String, &E::model, &ModelSpec::final_norm,
                "normalisation before the LM head"), registry("norm")),
      with(field_key("model.activation", K::String, &E::model, &ModelSpec::activation,
                "FFN activation"), registry("activation")),
      with(field_key("model.attention", K::String, &E::model, &ModelSpec::attention,
                "attention score normaliser"), registry("attention")),
      with(field_key("model.ffn", K::String, &E::model, &ModelSpec::ffn, "feed-forward sub-block"), registry("ffn")),
      with(field_key("model.ffn_mult", K::Int, &E::model, &ModelSpec::ffn_mult,
                "FFN hidden width as a multiple of n_embd (mlp)"), positive()),

      with(field_key("train.steps", K::Int, &E::train, &TrainSpec::steps, "optimizer steps"), positive()),
      with(field_key("train.batch_size", K::Int, &E::train, &TrainSpec::batch_size, "sequences per micro-batch"), positive()),
      with(field_key("train.grad_accum", K::Int, &E::train, &TrainSpec::grad_accum,
                "micro-batches accumulated per optimizer step"), positive()),
      with(field_key("train.lr", K::Float, &E::train, &TrainSpec::lr, "peak learning rate"), positive()),
      with(field_key("train.warmup", K::Int, &E::train, &TrainSpec::warmup,
                "linear warm-up steps; when not given, 5% of train.steps"), at_least(0)),
      with(field_key("train.schedule", K::String, &E::train, &TrainSpec::schedule,
                "learning-rate decay after warm-up"), fixed({"linear", "cosine", "constant"})),
      with(field_key("train.min_lr_ratio", K::Float, &E::train, &TrainSpec::min_lr_ratio,
                "final learning rate as a fraction of train.lr"), in_unit_interval()),
      with(field_key("train.weight_decay", K::Float, &E::train, &TrainSpec::weight_decay,
                "AdamW weight decay, applied to weights with >= 2 dimensions only"), at_least(0)),
      with(field_key("train.beta1", K::Float, &E::train, &TrainSpec::beta1, "AdamW beta1"), in_unit_interval()),
      with(field_key("train.beta2", K::Float, &E::train, &TrainSpec::beta2, "AdamW beta2"), in_unit_interval()),
      with(field_key("train.eps", K::Float, &E::train, &TrainSpec::eps, "AdamW epsilon"), positive()),
      with(field_key("train.grad_clip", K::Float, &E::train, &TrainSpec::grad_clip,
                "clip the global gradient norm to this value; 0 disables"), at_least(0)),
      with(field_key("train.device", K::String, &E::train, &TrainSpec::device,
                "auto = CUDA when LibTorch sees a GPU, else CPU"), fixed({"auto", "cpu", "cuda"})),
      with(field_key("train.precision", K::String, &E::train, &TrainSpec::precision,
                "arithmetic precision of training"), fixed({"fp32"})),
      with(field_key("train.threads", K::Int, &E::train, &TrainSpec::threads,
                "CPU threads for LibTorch; 0 = $OMP_NUM_THREADS when set, else the cores available to the process"), at_least(0)),
      with(field_key("train.eval_every", K::Int, &E::train, &TrainSpec::eval_every,
                "steps between validation evals (the last step is always evaluated)"), positive()),
      with(field_key("train.eval_batches", K::Int, &E::train, &TrainSpec::eval_batches,
                "fixed validation batches averaged per eval"), positive()),

      with(field_key("data.source", K::String, &E::data, &DataSpec::source,
                "pystdlib: the built-in CPython-stdlib corpus, prepared into a cache on first use; "
                "files: data.train and data.val"), fixed({"pystdlib", "files"})),
      field_key("data.train", K::String, &E::data, &DataSpec::train, "training token file (data.source: files)"),
      field_key("data.val", K::String, &E::data, &DataSpec::val, "validation token file (data.source: files)"),
      with(field_key("data.format", K::String, &E::data, &DataSpec::format,
                "token file format: entropix (header) or nanogpt (headerless uint16 .bin)"),
           fixed({"entropix", "nanogpt"})),
      with(field_key("data.tokenizer", K::String, &E::data, &DataSpec::tokenizer,
                "tokenizer of the prepared corpus"), fixed({"byte"})),

      with(field_key("log.every", K::Int, &E::log, &LogSpec::every, "steps between train records and progress lines"),
           positive()),
      with(field_key("log.entropy_every", K::Int, &E::log, &LogSpec::entropy_every,
                "steps between entropy records (the last step always gets one)"), positive()),
      with(field_key("log.entropy_split", K::String, &E::log, &LogSpec::entropy_split,
                "batch the entropy is measured on: val (a fixed validation batch) or train (the current batch)"),
           fixed({"val", "train"})),
  };
  return table;
}

const std::vector<std::string>& section_names() {
  static const std::vector<std::string> names = {"model", "train", "data", "log"};
  return names;
}

const KeyDef* find_key(const std::string& path) {
  for (const auto& k : key_table())
    if (k.path == path) return &k;
  return nullptr;
}

bool is_section(const std::string& path) {
  return std::find(section_names().begin(), section_names().end(), path) != section_names().end();
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The valid key (or section) closest to an unknown one, for "did you mean".
std::string closest_key(const std::string& path) {
  std::vector<std::string> candidates = section_names();
  for (const auto& k : key_table()) candidates.push_back(k.path);
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = edit_distance(path, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string where(const std::string& origin, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  if (m.line < 0) return origin;
  return origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::string type_name(const KeyDef& k) {
  switch (k.type) {
    case K::Int: return "an integer";
    case K::Float: return "a number";
    case K::Bool: return "true or false";
    case K::String: return "a string";
  }
  return "?";
}

// Collects problems instead of throwing at the first, so users see them all at once.
class Problems {
 public:
  void add(std::string p) { list_.push_back(std::move(p)); }
  bool empty() const { return list_.empty(); }
  [[noreturn]] void raise() { throw InputError(list_); }
  void raise_if_any() {
    if (!list_.empty()) raise();
  }

 private:
  std::vector<std::string> list_;
};

// Type- and range-checks one value and stores it. `at` is "file:line:col" or "--set k=v".
void apply_value(ExperimentSpec& spec, const KeyDef& key, const YAML::Node& value, const std::string& at,
                 Problems& problems) {
  const std::string prefix = at + ": " + key.path + ": ";
  if (!value.IsScalar()) {
    problems.add(prefix + "expected " + type_name(key) + ", got a " + (value.IsMap() ? "mapping" : value.IsSequence() ? "list" : "null value"));
    return;
  }
  const std::string text = value.Scalar();
  try {
    double numeric = 0;
    switch (key.type) {
      case K::Int: {
        numeric = static_cast<double>(value.as<int64_t>());
        break;
      }
      case K::Float: {
        numeric = value.as<double>();
        if (!std::isfinite(numeric)) throw YAML::BadConversion(value.Mark());
        break;
      }
      case K::Bool: (void)value.as<bool>(); break;
      case K::String: break;
    }
    if (key.check) {
      std::string bad = key.check(numeric);
      if (!bad.empty()) {
        problems.add(prefix + bad);
        return;
      }
    }
    if (key.choices) {
      auto valid = key.choices();
      if (std::find(valid.begin(), valid.end(), text) == valid.end()) {
        problems.add(prefix + "unknown value '" + text + "'; valid: " + join(valid, ", "));
        return;
      }
    }
    key.assign(spec, value);
  } catch (const YAML::BadConversion&) {
    problems.add(prefix + "expected " + type_name(key) + ", got '" + text + "'");
  }
}

// Walks a YAML mapping, applying known keys and reporting unknown ones.
void walk(ExperimentSpec& spec, const YAML::Node& map, const std::string& prefix, const std::string& origin,
          Problems& problems) {
  for (const auto& item : map) {
    const std::string name = item.first.Scalar();
    const std::string path = prefix.empty() ? name : prefix + "." + name;
    const YAML::Node& value = item.second;
    if (is_section(path)) {
      if (value.IsMap()) walk(spec, value, path, origin, problems);
      else if (!value.IsNull()) problems.add(where(origin, value) + ": " + path + ": expected a mapping of keys");
      continue;
    }
    if (const KeyDef* key = find_key(path)) {
      apply_value(spec, *key, value, where(origin, value), problems);
      continue;
    }
    problems.add(where(origin, item.first) + ": " + path + ": unknown key (did you mean " + closest_key(path) + "?)");
  }
}

void apply_override(ExperimentSpec& spec, const std::string& assignment, Problems& problems) {
  const std::string at = "--set " + assignment;
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    problems.add(at + ": expected key=value, e.g. --set model.n_layer=6");
    return;
  }
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  const KeyDef* key = find_key(path);
  if (!key) {
    problems.add(at + ": " + path + ": unknown key (did you mean " + closest_key(path) + "?)");
    return;
  }
  YAML::Node value;
  try {
    value = text.empty() ? YAML::Node(std::string()) : YAML::Load(text);
  } catch (const YAML::Exception& e) {
    problems.add(at + ": " + path + ": cannot parse value: " + e.msg);
    return;
  }
  apply_value(spec, *key, value, at, problems);
}

// Checks that involve several keys, and defaults computed from other keys.
void resolve_and_cross_check(ExperimentSpec& spec, const std::string& origin, bool warmup_given, Problems& problems) {
  const auto& m = spec.model;
  if (m.n_head > 0 && m.n_embd % m.n_head != 0)
    problems.add(origin + ": model.n_embd (" + std::to_string(m.n_embd) + ") must be divisible by model.n_head (" +
                 std::to_string(m.n_head) + ")");
  if (m.vocab_size > 65536)
    problems.add(origin + ": model.vocab_size: must be <= 65536 (tokens are stored as uint16), got " +
                 std::to_string(m.vocab_size));
  if (spec.data.tokenizer == "byte" && spec.data.format == "entropix" && m.vocab_size < 256)
    problems.add(origin + ": model.vocab_size: the byte tokenizer needs at least 256, got " + std::to_string(m.vocab_size));
  if (spec.data.source == "files") {
    if (spec.data.train.empty()) problems.add(origin + ": data.train: required when data.source is files");
    if (spec.data.val.empty()) problems.add(origin + ": data.val: required when data.source is files");
  }
  if (spec.data.source == "pystdlib" && spec.data.format != "entropix")
    problems.add(origin + ": data.format: the pystdlib corpus is in entropix format; nanogpt needs data.source: files");
  if (!warmup_given) spec.train.warmup = static_cast<int64_t>(std::llround(0.05 * spec.train.steps));
}

bool mentions_warmup(const YAML::Node& root, const std::vector<std::string>& overrides) {
  if (root.IsMap() && root["train"] && root["train"].IsMap() && root["train"]["warmup"]) return true;
  for (const auto& o : overrides)
    if (o.rfind("train.warmup=", 0) == 0) return true;
  return false;
}

ExperimentSpec build(const YAML::Node& root, const std::string& origin, const std::vector<std::string>& overrides) {
  ExperimentSpec spec;
  spec.overrides = overrides;
  Problems problems;
  if (root.IsMap()) walk(spec, root, "", origin, problems);
  else if (!root.IsNull()) problems.add(where(origin, root) + ": expected a mapping of keys at the top level");
  for (const auto& o : overrides) apply_override(spec, o, problems);
  resolve_and_cross_check(spec, origin, mentions_warmup(root, overrides), problems);
  problems.raise_if_any();
  return spec;
}

}  // namespace

ExperimentSpec parse_spec(const std::string& yaml_text, const std::string& origin,
                          const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw InputError(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                     ": malformed YAML: " + e.msg);
  }
  return build(root, origin, overrides);
}

ExperimentSpec load_spec(const std::string& path, const std::vector<std::string>& overrides) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) throw InputError(path + ": spec file not found");
  if (fs::is_directory(path)) throw InputError(path + ": is a directory, expected a YAML spec file");
  const std::string text = read_file(path);
  // The name defaults to the file's stem unless the file or a --set gives one.
  ExperimentSpec spec = parse_spec(text, path, overrides);
  YAML::Node root = YAML::Load(text);
  bool named = (root.IsMap() && root["name"]);
  for (const auto& o : overrides)
    if (o.rfind("name=", 0) == 0) named = true;
  if (!named) spec.name = fs::path(path).stem().string();
  spec.source_file = path;
  return spec;
}

std::string spec_to_yaml(const ExperimentSpec& spec) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  std::string open_section;
  for (const auto& key : key_table()) {
    auto dot = key.path.find('.');
    std::string section = dot == std::string::npos ? "" : key.path.substr(0, dot);
    std::string leaf = dot == std::string::npos ? key.path : key.path.substr(dot + 1);
    if (section != open_section) {
      if (!open_section.empty()) out << YAML::EndMap;
      if (!section.empty()) out << YAML::Key << section << YAML::Value << YAML::BeginMap;
      open_section = section;
    }
    std::string text = key.render(spec);
    out << YAML::Key << leaf << YAML::Value;
    // Keep strings that look like numbers or booleans quoted so they round-trip as strings.
    if (key.type == K::String) out << YAML::DoubleQuoted << text;
    else out << text;
  }
  if (!open_section.empty()) out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::vector<SpecKeyInfo> spec_key_reference() {
  ExperimentSpec defaults;
  std::vector<SpecKeyInfo> out;
  for (const auto& key : key_table()) {
    SpecKeyInfo info;
    info.path = key.path;
    info.doc = key.doc;
    info.default_value = key.render(defaults);
    if (key.choices) info.type = "one of " + join(key.choices(), "|");
    else info.type = key.type == K::Int ? "int" : key.type == K::Float ? "float" : key.type == K::Bool ? "bool" : "string";
    out.push_back(info);
  }
  return out;
}

}  // namespace entropix
