// The experiment spec: YAML -> typed, validated, fully-resolved ExperimentSpec.
// Every fixed key, its type, default and doc live in one table (spec_keys.cpp); the components'
// own keys (model.<component>.<key>) and names come from a ComponentCatalog that the model's
// registry supplies (model/registry.h has load_spec / parse_spec overloads that pass it).
// docs/spec.md lists every key and a test checks the two agree.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "entropix/spec/component_catalog.h"

namespace YAML { class Node; }

namespace entropix {

// The components of one decoder block: the keys `model.layers` can override per layer.
struct LayerSpec {
  std::string norm = "layernorm";      // registry "norm", before attention and before the FFN
  std::string activation = "gelu";     // registry "activation", inside the FFN
  std::string attention = "softmax";   // registry "attention"
  std::string ffn = "mlp";             // registry "ffn"
  std::string ffn_reparam = "none";    // registry "reparam", on the FFN's weight matrices
  std::string attn_reparam = "none";   // registry "reparam", on the attention groups below
  std::string ffn_scaling = "none";    // registry "ffn_scaling"
};

// One entry of `model.layers`: these keys replace the model-wide ones in layers first..last.
struct LayerOverride {
  int64_t first = 0, last = 0;  // inclusive
  std::vector<std::pair<std::string, std::string>> values;  // (key, value), e.g. ("ffn", "none")
};

struct ModelSpec {
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_embd = 128;
  int64_t context = 128;      // T: tokens per sequence
  int64_t vocab_size = 256;
  LayerSpec blocks;           // model-wide components (model.norm, model.activation, ...)
  std::string final_norm = "layernorm";  // registry "norm", before the LM head
  int64_t ffn_mult = 4;                  // mlp hidden width = ffn_mult * n_embd
  std::vector<std::string> attn_reparam_groups = {"qk"};  // subset of qk, v, o
  // The components' own keys, "<component>.<key>" -> value as YAML text ("softmax_temperature.init"
  // -> "0.1"). A parsed spec holds every registered component's options, defaults filled; a spec
  // built in code may hold only some, and components fall back to their declared defaults.
  std::map<std::string, std::string> options;
  bool scaled_residual_init = true;      // GPT-2: residual projections start at std 0.02 / sqrt(2 L)
  // Dropout probabilities while training (off in eval): after the token + position embeddings,
  // on the attention probabilities (after entropy is measured on them), and on each sub-block's
  // output before it joins the residual stream. HF GPT-2's embd_pdrop, attn_pdrop, resid_pdrop.
  struct Dropout {
    double embedding = 0, attention = 0, residual = 0;
  } dropout;
  std::vector<LayerOverride> layers;     // per-layer overrides, later entries win

  // The components of block `l` after applying the overrides.
  LayerSpec layer(int64_t l) const;
};

struct TrainSpec {
  int64_t steps = 200;
  int64_t batch_size = 16;      // sequences per micro-batch
  int64_t grad_accum = 1;       // micro-batches per optimizer step
  double lr = 1e-3;             // peak learning rate
  int64_t warmup = -1;          // linear warm-up steps; unset -> 5% of steps (resolved)
  std::string schedule = "linear";  // decay after warm-up: linear | cosine | constant
  double min_lr_ratio = 0.0;    // lr at the last step = lr * min_lr_ratio
  double weight_decay = 0.1;    // AdamW, on the parameters train.decay_groups selects
  // Which parameters decay: matrices (weight matrices, weight-norm directions, embeddings) or
  // released (as the papers' released code: everything but norm gains, biases, temperatures and
  // the regulariser's thresholds).
  std::string decay_groups = "matrices";
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double grad_clip = 1.0;       // max global grad norm; 0 disables
  std::string device = "auto";  // auto | cpu | cuda
  std::string precision = "fp32";  // fp32 | bf16 (autocast: matmuls in bf16, parameters and optimizer fp32)
  bool tf32 = false;               // CUDA: allow TF32 tensor cores for fp32 matmuls
  // Attention on forwards that feed entropy: explicit (probabilities) | online_entropy (row
  // entropies from an online softmax, no T x T probabilities kept), keys per block of the latter.
  std::string attention_kernel = "explicit";
  int64_t attention_block = 128;
  int64_t threads = 0;          // CPU threads; 0 = the cores available
  int64_t eval_every = 100;     // steps between evals (and at the last step)
  int64_t eval_batches = 8;     // fixed val batches averaged per eval
  int64_t checkpoint_every = 0; // steps between checkpoints; 0 = only the final one
  double checkpoint_minutes = 0; // minutes of training between checkpoints; 0 = off
  int64_t keep_checkpoints = 3; // newest complete checkpoints kept
};

struct DataSpec {
  std::string source = "pystdlib";  // pystdlib | files
  std::string train;                // token file (source: files)
  std::string val;                  // token file (source: files)
  std::string format = "entropix";  // entropix | nanogpt | llmc
  std::string tokenizer = "byte";
  std::string sampling = "windows";  // windows | documents (docs/data.md)
  int64_t eot_id = -1;               // documents: end-of-text id; -1: meta.json's eot_id
};

struct LogSpec {
  int64_t every = 10;             // steps between train records / progress lines
  int64_t entropy_every = 100;    // steps between entropy records (and at the last step)
  std::string entropy_split = "val";  // val: a fixed val batch; train: the current training batch
  std::string bin_max = "causal";     // quartile bins of: causal (uniform causal ceiling) | observed (largest headwise)
  double collapse_warning = 0.05;     // warn when a layer's mean entropy < this fraction of ln T
};

// Entropy regulariser (Algorithm 1 of the seed paper), docs/entropy.md.
struct EntropyRegSpec {
  bool enabled = false;
  double coeff = 1e-5;           // lambda
  double tolerance = 0.2;        // gamma, as a fraction of ln T: no penalty inside the band
  double threshold_init = 0.5;   // initial theta (learned, one per head per layer), fraction of ln T
  // sum: the penalty on every (sequence, query) entropy, summed (the released code, for which the
  // published lambda was tuned); mean: entropy averaged over batch and queries first (Algorithm 1).
  std::string reduction = "sum";
  int64_t start_step = 0;        // the term is off before this step
};

struct ExperimentSpec {
  std::string name = "experiment";
  uint64_t seed = 1337;
  ModelSpec model;
  TrainSpec train;
  DataSpec data;
  LogSpec log;
  EntropyRegSpec entropy_reg;

  std::string source_file;              // where it was read from ("" when built in code)
};

// Parses a spec file, applies `--set key=value` overrides, fills defaults and validates against
// the catalogue's components. Throws InputError listing every problem found (one line each,
// file:line:column where known).
ExperimentSpec load_spec(const std::string& path, const std::vector<std::string>& overrides,
                         const ComponentCatalog& catalog);

// Same from YAML text (tests); `origin` names the text in messages.
ExperimentSpec parse_spec(const std::string& yaml_text, const std::string& origin,
                          const std::vector<std::string>& overrides, const ComponentCatalog& catalog);

// Whether `path` is a spec key (`--set`, sweep axes); when not, `closest` gets the nearest one.
bool is_spec_key(const std::string& path, const ComponentCatalog& catalog, std::string* closest = nullptr);

// The resolved spec as YAML (every key, defaults filled), in documentation order.
std::string spec_to_yaml(const ExperimentSpec& spec);

// One documented key of the spec.
struct SpecKeyInfo {
  std::string path;     // "model.n_layer"
  std::string type;     // "int", "float", "string", "bool" or "one of a|b|c"
  std::string default_value;
  std::string doc;
};
std::vector<SpecKeyInfo> spec_key_reference(const ComponentCatalog& catalog);

}  // namespace entropix
