// `entropix export`: a trained model's weights out of entropix, as a safetensors file with its
// spec, or as a Hugging Face GPT-2 directory (docs/export.md).
#pragma once
#include <filesystem>
#include <string>

namespace entropix {

struct ExportOptions {
  std::filesystem::path source;  // a run directory (its newest complete checkpoint) or a .ckpt file
  std::string format;            // "safetensors" | "hf"
  std::filesystem::path out;     // the directory to create
  bool overwrite = false;        // replace `out` when it holds an earlier export (or is empty)
};

struct ExportResult {
  std::filesystem::path checkpoint;
  int64_t step = 0;
  int64_t tensors = 0;  // tensors written
};

// The file every export writes (format, checkpoint, step, the resolved spec, the name mapping);
// its presence marks a directory as an export that --overwrite may replace.
inline constexpr const char* kExportManifest = "entropix-export.json";

// Writes the export into a temporary directory beside `out`, then renames it into place, so `out`
// is either absent, the previous export, or complete. InputError (exit 2) for a bad format, an
// existing `out` without overwrite (or, with it, one that is not an export), a bad checkpoint, or
// --format hf for a model that GPT-2 cannot express (the message names the key). Leaves no
// temporary directory behind.
ExportResult export_model(const ExportOptions& options);

}  // namespace entropix
