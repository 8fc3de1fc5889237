#include "entropix/spec/spec_keys.h"

#include <algorithm>
#include <cctype>
#include <iomanip>
#include <sstream>

#include "entropix/spec/key_checks.h"
#include "entropix/util/error.h"
#include "entropix/util/mix.h"

namespace entropix::spec_detail {
namespace {

using E = ExperimentSpec;
using K = KeyType;

// Binds a key to a field reached by `access` (a lambda returning a reference into the spec).
template <typename Access>
KeyDef key(std::string path, KeyType type, Access access, std::string doc) {
  using Field = std::remove_reference_t<decltype(access(std::declval<E&>()))>;
  KeyDef def;
  def.path = std::move(path);
  def.type = type;
  def.doc = std::move(doc);
  def.assign = [access](E& s, const YAML::Node& n) {
    if constexpr (std::is_same_v<Field, std::vector<std::string>>) {
      access(s) = list_items(n);
    } else {
      access(s) = n.as<Field>();
    }
  };
  def.render = [access](const E& s) {
    const Field& v = access(const_cast<E&>(s));
    if constexpr (std::is_same_v<Field, std::vector<std::string>>) {
      YAML::Node list(YAML::NodeType::Sequence);
      for (const auto& item : v) list.push_back(item);
      list.SetStyle(YAML::EmitterStyle::Flow);
      return list;
    } else if constexpr (std::is_same_v<Field, std::string>) {
      return YAML::Node(v);
    } else if constexpr (std::is_same_v<Field, bool>) {
      return YAML::Node(v ? "true" : "false");
    } else if constexpr (std::is_floating_point_v<Field>) {
      return YAML::Node(format_double(v));
    } else {
      return YAML::Node(std::to_string(v));
    }
  };
  return def;
}

#define FIELD(expr) [](ExperimentSpec & s) -> auto& { return s.expr; }

std::function<std::vector<std::string>()> fixed(std::vector<std::string> names) {
  return [names] { return names; };
}
// The names the catalogue registers for a component kind.
std::function<std::vector<std::string>()> registry(const ComponentCatalog& catalog, std::string kind) {
  return [&catalog, kind] { return catalog.names(kind); };
}

KeyDef with(KeyDef def, std::function<std::string(double)> check) {
  def.check = std::move(check);
  return def;
}
KeyDef with(KeyDef def, std::function<std::vector<std::string>()> choices) {
  def.choices = std::move(choices);
  return def;
}

// A layer range: 3, "6-11" or [6, 11]; inclusive. Returns false (and describes why) when malformed.
bool parse_range(const YAML::Node& node, int64_t& first, int64_t& last, std::string& why) {
  try {
    if (node.IsSequence() && node.size() == 2) {
      first = node[0].as<int64_t>();
      last = node[1].as<int64_t>();
    } else if (node.IsScalar()) {
      const std::string text = node.Scalar();
      const auto dash = text.find('-', 1);
      if (dash == std::string::npos) {
        first = last = node.as<int64_t>();
      } else {
        first = std::stoll(text.substr(0, dash));
        last = std::stoll(text.substr(dash + 1));
      }
    } else {
      why = "expected a layer index, \"first-last\" or [first, last]";
      return false;
    }
  } catch (const std::exception&) {
    why = "expected a layer index, \"first-last\" or [first, last]";
    return false;
  }
  if (first < 0 || last < first) {
    why = "range " + std::to_string(first) + "-" + std::to_string(last) + " is empty or negative";
    return false;
  }
  return true;
}

void parse_layer_overrides(const ComponentCatalog& catalog, E& spec, const YAML::Node& node, const std::string& at,
                           Problems& problems) {
  const std::string prefix = at + ": model.layers";
  if (node.IsNull()) {
    spec.model.layers.clear();
    return;
  }
  if (!node.IsSequence()) {
    problems.add(prefix + ": expected a list of {range: ..., <component>: ...} entries");
    return;
  }
  std::vector<LayerOverride> overrides;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node& entry = node[i];
    const std::string here = where(at, entry) + ": model.layers[" + std::to_string(i) + "]";
    if (!entry.IsMap()) {
      problems.add(here + ": expected a mapping with range and component keys");
      continue;
    }
    LayerOverride o;
    bool ok = true;
    if (!entry["range"]) {
      problems.add(here + ": range is required (a layer index, \"first-last\" or [first, last])");
      ok = false;
    }
    for (const auto& item : entry) {
      const std::string name = item.first.Scalar();
      if (name == "range") {
        std::string why;
        if (!parse_range(item.second, o.first, o.last, why)) {
          problems.add(where(at, item.second) + ": model.layers[" + std::to_string(i) + "].range: " + why);
          ok = false;
        }
        continue;
      }
      auto lk = std::find_if(layer_keys().begin(), layer_keys().end(), [&](const LayerKey& k) { return k.name == name; });
      if (lk == layer_keys().end()) {
        std::vector<std::string> valid = {"range"};
        for (const auto& k : layer_keys()) valid.push_back(k.name);
        problems.add(where(at, item.first) + ": model.layers[" + std::to_string(i) + "]." + name +
                     ": unknown key (did you mean " + closest_key(name, valid) + "?); valid: " + join(valid, ", "));
        ok = false;
        continue;
      }
      const auto names = catalog.names(lk->kind);
      const std::string value = item.second.IsScalar() ? item.second.Scalar() : "";
      if (std::find(names.begin(), names.end(), value) == names.end()) {
        problems.add(where(at, item.second) + ": model.layers[" + std::to_string(i) + "]." + name + ": unknown value '" +
                     value + "'; valid: " + join(names, ", "));
        ok = false;
        continue;
      }
      o.values.emplace_back(name, value);
    }
    if (ok) overrides.push_back(o);
  }
  spec.model.layers = overrides;
}

YAML::Node render_layer_overrides(const E& spec) {
  YAML::Node list(YAML::NodeType::Sequence);
  for (const auto& o : spec.model.layers) {
    YAML::Node entry(YAML::NodeType::Map);
    entry["range"] = o.first == o.last ? std::to_string(o.first) : std::to_string(o.first) + "-" + std::to_string(o.last);
    for (const auto& [k, v] : o.values) entry[k] = v;
    entry.SetStyle(YAML::EmitterStyle::Flow);
    list.push_back(entry);
  }
  return list;
}

KeyDef layers_key(const ComponentCatalog& catalog) {
  KeyDef def;
  def.path = "model.layers";
  def.type = K::Custom;
  def.doc =
      "per-layer overrides: a list of {range: i, \"a-b\" or [a, b]; component keys: norm, activation, attention, ffn, "
      "ffn_reparam, attn_reparam, ffn_scaling}; later entries win";
  def.parse = [&catalog](E& spec, const YAML::Node& node, const std::string& at, Problems& problems) {
    parse_layer_overrides(catalog, spec, node, at, problems);
  };
  def.render = render_layer_overrides;
  return def;
}

std::vector<KeyDef> build_table(const ComponentCatalog& c) {
  return {
      key("name", K::String, FIELD(name), "run name; defaults to the spec file's stem"),
      with(key("seed", K::Int, FIELD(seed), "seed for initialisation and batch sampling"), at_least(0)),

      with(key("model.n_layer", K::Int, FIELD(model.n_layer), "decoder blocks (L), 1 to " + limit(kMaxLayers)), between(1, kMaxLayers)),
      with(key("model.n_head", K::Int, FIELD(model.n_head), "attention heads per block (H), 1 to " + limit(kMaxHeads)), between(1, kMaxHeads)),
      with(key("model.n_embd", K::Int, FIELD(model.n_embd), "model width d; divisible by n_head; 1 to " + limit(kMaxEmbd)), between(1, kMaxEmbd)),
      with(key("model.context", K::Int, FIELD(model.context), "tokens per sequence (T), 2 to " + limit(kMaxContext)), between(2, kMaxContext)),
      with(key("model.vocab_size", K::Int, FIELD(model.vocab_size),
               "vocabulary size; 256 for the byte tokenizer, up to 65536 for nanogpt .bin data"), positive()),
      with(key("model.norm", K::String, FIELD(model.blocks.norm), "normalisation before attention and before the FFN"),
           registry(c, "norm")),
      with(key("model.final_norm", K::String, FIELD(model.final_norm), "normalisation before the LM head"),
           registry(c, "norm")),
      with(key("model.activation", K::String, FIELD(model.blocks.activation), "FFN activation"), registry(c, "activation")),
      with(key("model.attention", K::String, FIELD(model.blocks.attention), "attention score normaliser"),
           registry(c, "attention")),
      with(key("model.ffn", K::String, FIELD(model.blocks.ffn), "feed-forward sub-block"), registry(c, "ffn")),
      with(key("model.ffn_mult", K::Int, FIELD(model.ffn_mult), "mlp hidden width as a multiple of n_embd, 1 to " + limit(kMaxFfnMult)), between(1, kMaxFfnMult)),
      with(key("model.ffn_reparam", K::String, FIELD(model.blocks.ffn_reparam),
               "weight reparameterisation of the FFN matrices"), registry(c, "reparam")),
      with(key("model.attn_reparam", K::String, FIELD(model.blocks.attn_reparam),
               "weight reparameterisation of the attention groups in model.attn_reparam_groups"), registry(c, "reparam")),
      with(key("model.attn_reparam_groups", K::StringList, FIELD(model.attn_reparam_groups),
               "attention projections model.attn_reparam applies to: any of qk, v, o"), fixed({"qk", "v", "o"})),
      with(key("model.ffn_scaling", K::String, FIELD(model.blocks.ffn_scaling),
               "how the FFN output joins the residual stream"), registry(c, "ffn_scaling")),
      key("model.scaled_residual_init", K::Bool, FIELD(model.scaled_residual_init),
          "true: GPT-2 init, residual projections (attn.o, FFN output) N(0, 0.02/sqrt(2L)); false: every weight "
          "N(0, 0.02), as the seed papers' released code"),
      with(key("model.dropout.embedding", K::Float, FIELD(model.dropout.embedding),
               "dropout probability after the token + position embeddings (training only; HF GPT-2 embd_pdrop)"),
           dropout_probability()),
      with(key("model.dropout.attention", K::Float, FIELD(model.dropout.attention),
               "dropout probability on the attention probabilities, after entropy is measured on them (training "
               "only; attn_pdrop); not with train.attention_kernel online_entropy"),
           dropout_probability()),
      with(key("model.dropout.residual", K::Float, FIELD(model.dropout.residual),
               "dropout probability on each sub-block's output before it joins the residual stream (training only; "
               "resid_pdrop)"),
           dropout_probability()),
      layers_key(c),

      with(key("train.steps", K::Int, FIELD(train.steps), "optimizer steps"), positive()),
      with(key("train.batch_size", K::Int, FIELD(train.batch_size), "sequences per micro-batch, 1 to " + limit(kMaxBatch)), between(1, kMaxBatch)),
      with(key("train.grad_accum", K::Int, FIELD(train.grad_accum), "micro-batches accumulated per optimizer step, 1 to " + limit(kMaxBatch)),
           between(1, kMaxBatch)),
      with(key("train.lr", K::Float, FIELD(train.lr), "peak learning rate"), positive()),
      with(key("train.warmup", K::Int, FIELD(train.warmup), "linear warm-up steps; when not given, 5% of train.steps"),
           at_least(0)),
      with(key("train.schedule", K::String, FIELD(train.schedule), "learning-rate decay after warm-up"),
           fixed({"linear", "cosine", "constant"})),
      with(key("train.min_lr_ratio", K::Float, FIELD(train.min_lr_ratio), "final learning rate as a fraction of train.lr"),
           in_unit_interval()),
      with(key("train.weight_decay", K::Float, FIELD(train.weight_decay),
               "AdamW weight decay, on the parameters train.decay_groups selects"),
           at_least(0)),
      with(key("train.decay_groups", K::String, FIELD(train.decay_groups),
               "parameters that decay, by role: matrices (weight matrices, weight-norm directions, embeddings) or "
               "released (the papers' released code: all but norm gains, biases, temperatures and regulariser "
               "thresholds, so learned slopes and FFN scales decay too)"),
           fixed({"matrices", "released"})),
      with(key("train.beta1", K::Float, FIELD(train.beta1), "AdamW beta1"), in_unit_interval()),
      with(key("train.beta2", K::Float, FIELD(train.beta2), "AdamW beta2"), in_unit_interval()),
      with(key("train.eps", K::Float, FIELD(train.eps), "AdamW epsilon"), positive()),
      with(key("train.grad_clip", K::Float, FIELD(train.grad_clip), "clip the global gradient norm to this value; 0 disables"),
           at_least(0)),
      with(key("train.device", K::String, FIELD(train.device), "auto = CUDA when LibTorch sees a GPU, else CPU"),
           fixed({"auto", "cpu", "cuda"})),
      with(key("train.precision", K::String, FIELD(train.precision),
               "fp32, or bf16: forward and loss under bfloat16 autocast (matmuls in bf16; softmax, norms, losses, "
               "parameters, gradients and AdamW state in fp32); CUDA or CPU"),
           fixed({"fp32", "bf16"})),
      key("train.tf32", K::Bool, FIELD(train.tf32),
          "CUDA: let fp32 matmuls and convolutions use TF32 tensor cores (10-bit mantissa inputs); no effect on CPU"),
      with(key("train.attention_kernel", K::String, FIELD(train.attention_kernel),
               "attention on the forwards that feed entropy (records, the regulariser): explicit keeps the T x T "
               "probabilities; online_entropy computes each row's entropy in an online softmax over key blocks "
               "without keeping them (docs/entropy.md, \"Attention kernels\")"),
           fixed({"explicit", "online_entropy"})),
      with(key("train.attention_block", K::Int, FIELD(train.attention_block),
               "keys per block of the online_entropy kernel"), positive()),
      with(key("train.threads", K::Int, FIELD(train.threads),
               "CPU threads for LibTorch and OpenBLAS; 0 = $OMP_NUM_THREADS when set, else the cores available to the "
               "process (docs/performance.md, \"Threads\")"),
           at_least(0)),
      with(key("train.eval_every", K::Int, FIELD(train.eval_every),
               "steps between validation evals (the last step is always evaluated)"), positive()),
      with(key("train.eval_batches", K::Int, FIELD(train.eval_batches), "fixed validation batches averaged per eval"),
           positive()),
      with(key("train.checkpoint_every", K::Int, FIELD(train.checkpoint_every),
               "steps between checkpoints in DIR/checkpoints (the last step always gets one); 0 = only the last"),
           at_least(0)),
      with(key("train.checkpoint_minutes", K::Float, FIELD(train.checkpoint_minutes),
               "minutes of training between checkpoints, counted from the start (or resume) of this process and "
               "from each checkpoint; 0 = off. Bounds what a kill without warning loses (docs/reliability.md)"),
           at_least(0)),
      with(key("train.keep_checkpoints", K::Int, FIELD(train.keep_checkpoints), "newest complete checkpoints kept"),
           positive()),

      with(key("data.source", K::String, FIELD(data.source),
               "pystdlib: the built-in CPython-stdlib corpus, prepared into a cache on first use; "
               "files: data.train and data.val"),
           fixed({"pystdlib", "files"})),
      key("data.train", K::String, FIELD(data.train),
          "training tokens (data.source: files): a file, a directory of shards or a glob, read in sorted order"),
      key("data.val", K::String, FIELD(data.val),
          "validation tokens (data.source: files): a file, a directory of shards or a glob"),
      with(key("data.format", K::String, FIELD(data.format),
               "token file format: entropix (header), nanogpt (headerless uint16 .bin) or llmc (llm.c shards)"),
           fixed({"entropix", "nanogpt", "llmc"})),
      with(key("data.sampling", K::String, FIELD(data.sampling),
               "windows: uniform random T+1-token windows; documents: each per-document chunk once per epoch, "
               "shuffled (the released code's scheme)"),
           fixed({"windows", "documents"})),
      with(key("data.eot_id", K::Int, FIELD(data.eot_id),
               "end-of-text token id for data.sampling documents; -1: the corpus meta.json's eot_id"),
           [](double v) { return v >= -1 && v <= 65535 ? std::string() : "must be in -1..65535, got " + format_double(v); }),
      with(key("data.tokenizer", K::String, FIELD(data.tokenizer), "tokenizer of the prepared corpus"), fixed({"byte"})),

      with(key("log.every", K::Int, FIELD(log.every), "steps between train records and progress lines"), positive()),
      with(key("log.entropy_every", K::Int, FIELD(log.entropy_every),
               "steps between entropy records (the last step always gets one)"), positive()),
      with(key("log.entropy_split", K::String, FIELD(log.entropy_split),
               "batch the entropy is measured on: val (a fixed validation batch), train (the step's batch, after "
               "the update, by an extra forward) or step (the step's own training forward, before the update: no extra "
               "forward, the cheapest)"),
           fixed({"val", "train", "step"})),
      with(key("log.bin_max", K::String, FIELD(log.bin_max),
               "top of the four entropy bins: causal (the uniform causal ceiling (1/T) sum ln i, one absolute scale "
               "as the papers' figures) or observed (the largest headwise entropy in each record)"),
           fixed({"causal", "observed"})),
      with(key("log.collapse_warning", K::Float, FIELD(log.collapse_warning),
               "warn (event + console) the first time a layer's mean entropy falls below this fraction of ln T"),
           in_unit_interval()),

      key("entropy_reg.enabled", K::Bool, FIELD(entropy_reg.enabled), "add the entropy regulariser to the loss"),
      with(key("entropy_reg.coeff", K::Float, FIELD(entropy_reg.coeff), "lambda: weight of the regulariser term"),
           at_least(0)),
      with(key("entropy_reg.tolerance", K::Float, FIELD(entropy_reg.tolerance),
               "gamma: no penalty while |E - theta ln T| <= gamma ln T"),
           in_unit_interval()),
      with(key("entropy_reg.threshold_init", K::Float, FIELD(entropy_reg.threshold_init),
               "initial learnable threshold theta (fraction of ln T), one per head per layer"),
           in_unit_interval()),
      with(key("entropy_reg.reduction", K::String, FIELD(entropy_reg.reduction),
               "sum: penalty on every (sequence, query) entropy, summed (the released code, for which the paper's "
               "lambda 1e-5 was tuned; the term scales with batch x T); mean: entropy averaged over batch and "
               "queries before the penalty (Algorithm 1; needs a lambda about batch x T times larger)"),
           fixed({"sum", "mean"})),
      with(key("entropy_reg.start_step", K::Int, FIELD(entropy_reg.start_step),
               "optimizer step from which the term is added (0 = from the start)"),
           at_least(0)),
  };
}

}  // namespace

void Problems::raise_if_any() const {
  if (!list_.empty()) throw InputError(list_);
}

const std::vector<LayerKey>& layer_keys() {
  static const std::vector<LayerKey> keys = {
      {"norm", "norm", &LayerSpec::norm},
      {"activation", "activation", &LayerSpec::activation},
      {"attention", "attention", &LayerSpec::attention},
      {"ffn", "ffn", &LayerSpec::ffn},
      {"ffn_reparam", "reparam", &LayerSpec::ffn_reparam},
      {"attn_reparam", "reparam", &LayerSpec::attn_reparam},
      {"ffn_scaling", "ffn_scaling", &LayerSpec::ffn_scaling},
  };
  return keys;
}

namespace {

const std::vector<std::string>& sections() {
  static const std::vector<std::string> names = {"model", "model.dropout", "train", "data", "log", "entropy_reg"};
  return names;
}

std::string option_path(const ComponentInfo& c, const ComponentOption& o) { return "model." + c.name + "." + o.key; }

KeyType key_type(OptionType t) {
  switch (t) {
    case OptionType::Int: return KeyType::Int;
    case OptionType::Float: return KeyType::Float;
    case OptionType::Bool: return KeyType::Bool;
    case OptionType::String: return KeyType::String;
  }
  return KeyType::String;
}

// model.<component>.<key>: stored in ModelSpec::options as canonical text; the component's
// default when the spec does not give it.
KeyDef option_key(const ComponentInfo& c, const ComponentOption& o) {
  KeyDef def;
  def.path = option_path(c, o);
  def.type = key_type(o.type);
  def.doc = c.name + ": " + o.doc;
  if (!o.choices.empty()) def.choices = fixed(o.choices);
  def.check = o.check;
  const std::string id = c.name + "." + o.key;
  const OptionType type = o.type;
  def.assign = [id, type](E& s, const YAML::Node& n) {
    std::string text = n.Scalar();
    if (type == OptionType::Float) text = format_double(n.as<double>());
    if (type == OptionType::Int) text = std::to_string(n.as<int64_t>());
    if (type == OptionType::Bool) text = n.as<bool>() ? "true" : "false";
    s.model.options[id] = text;
  };
  const std::string fallback = o.default_value;
  def.render = [id, fallback](const E& s) {
    auto it = s.model.options.find(id);
    return YAML::Node(it == s.model.options.end() ? fallback : it->second);
  };
  return def;
}

}  // namespace

KeyTable::KeyTable(const ComponentCatalog& catalog) : catalog_(catalog), keys_(build_table(catalog)) {
  // The components' options go after the fixed model keys, grouped by component.
  auto after_model = std::find_if(keys_.begin(), keys_.end(), [](const KeyDef& k) { return k.path.rfind("train.", 0) == 0; });
  std::vector<KeyDef> options;
  for (const auto& c : catalog.components)
    for (const auto& o : c.options) options.push_back(option_key(c, o));
  keys_.insert(after_model, options.begin(), options.end());
}

const KeyDef* KeyTable::find(const std::string& path) const {
  for (const auto& k : keys_)
    if (k.path == path) return &k;
  return nullptr;
}

bool KeyTable::is_section(const std::string& path) const {
  if (std::find(sections().begin(), sections().end(), path) != sections().end()) return true;
  return path.rfind("model.", 0) == 0 && catalog_.with_options(path.substr(6)) != nullptr;
}

std::vector<std::string> KeyTable::all_paths() const {
  std::vector<std::string> paths = sections();
  for (const auto& k : keys_) paths.push_back(k.path);
  return paths;
}

std::string KeyTable::renamed(const std::string& path) const {
  for (const auto& c : catalog_.components)
    for (const auto& o : c.options)
      if (!o.formerly.empty() && o.formerly == path) return option_path(c, o);
  return "";
}

std::string closest_key(const std::string& path, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = edit_distance(path, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

std::vector<std::string> list_items(const YAML::Node& node) {
  std::vector<std::string> items;
  if (node.IsSequence()) {
    for (const auto& item : node) items.push_back(item.Scalar());
  } else {
    std::stringstream ss(node.Scalar());
    for (std::string item; std::getline(ss, item, ',');)
      if (!item.empty()) items.push_back(item);
  }
  return items;
}

std::string format_double(double v) {
  std::ostringstream ss;
  ss << std::setprecision(12) << v;
  return ss.str();
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string where(const std::string& origin, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  if (m.line < 0 || origin.rfind("--set ", 0) == 0) return origin;
  return file_of(origin) + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::string file_of(const std::string& at) {
  // Strips a trailing ":line:col" (both all digits), so that a location is never nested.
  auto strip_number = [](const std::string& s, size_t& end) {
    size_t i = end;
    while (i > 0 && std::isdigit(static_cast<unsigned char>(s[i - 1]))) --i;
    if (i == end || i == 0 || s[i - 1] != ':') return false;
    end = i - 1;
    return true;
  };
  size_t end = at.size();
  if (strip_number(at, end) && strip_number(at, end)) return at.substr(0, end);
  return at;
}

}  // namespace entropix::spec_detail
