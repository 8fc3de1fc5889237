// The safetensors file format (https://github.com/huggingface/safetensors, "Format"), written here:
//   8 bytes   N, the header's length, uint64 little-endian
//   N bytes   a JSON object: for each tensor name {"dtype": "F32", "shape": [...],
//             "data_offsets": [begin, end]} (byte offsets into the data section), plus an optional
//             "__metadata__" object of string -> string; padded with spaces so the data section
//             starts at a multiple of 8 bytes
//   the data  each tensor's elements, row-major, little-endian, back to back in the order of their
//             offsets, with no gaps (the reader checks that the offsets cover the buffer exactly)
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace entropix {

struct NamedTensor {
  std::string name;
  torch::Tensor tensor;  // any device; written as its dtype (F32, F64, F16, BF16, I64, I32, U8, BOOL ...)
};

// The safetensors dtype string of a LibTorch dtype; std::invalid_argument for one without.
std::string safetensors_dtype(torch::ScalarType type);

// The whole file as bytes: tensors in the given order (names must be unique and must not be
// "__metadata__": std::invalid_argument). Little-endian hosts only (static_assert in the source).
std::string safetensors_bytes(const std::vector<NamedTensor>& tensors,
                              const std::map<std::string, std::string>& metadata = {});

// safetensors_bytes written to `path` (plain write; callers write into a temporary directory).
void write_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace entropix
