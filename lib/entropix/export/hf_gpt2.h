// Hugging Face GPT-2 (transformers' GPT2LMHeadModel) as a target for entropix models: which
// variants it can express exactly, its config.json, and entropix's weights under GPT-2's names.
// docs/export.md has the name table.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "entropix/export/safetensors_writer.h"
#include "entropix/model/gpt.h"
#include "entropix/spec/spec.h"

namespace entropix {

// "" when every layer of `model` computes exactly what a GPT-2 block computes (LayerNorm before
// attention, the FFN and the head; plain softmax attention over q.k / sqrt(head_dim); an mlp FFN
// with gelu (exact erf), relu or no activation, or no FFN; no FFN scaling); otherwise one phrase
// naming the first key that does not map, e.g. "model.norm=none has no GPT-2 equivalent (...)".
std::string hf_unmappable(const ModelSpec& model);

// GPT2Config's fields for the model (n_layer, n_head, n_embd, n_positions, n_inner, vocab_size,
// activation_function, layer_norm_epsilon, the dropouts, tie_word_embeddings, ...).
nlohmann::ordered_json hf_config(const ModelSpec& model);

// One GPT-2 tensor and where it comes from in entropix.
struct HfTensor {
  NamedTensor tensor;  // GPT-2's name, float32, GPT-2's layout (Conv1D weights are [in, out])
  std::string source;  // e.g. "cat(h0.attn.q.weight, h0.attn.k.weight, h0.attn.v.weight)^T"
};

// Every tensor of GPT2LMHeadModel's state except lm_head.weight (tied to transformer.wte.weight).
// Biases entropix lacks are zeros; a reparameterised linear contributes the effective weight it
// uses in eval mode. The model must satisfy hf_unmappable() == "" (std::invalid_argument
// otherwise). Leaves the model in eval mode.
std::vector<HfTensor> hf_tensors(GPT& model);

}  // namespace entropix
