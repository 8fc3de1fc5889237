// A checkpoint's meta (step, sampler position, spec, versions) and its JSON sidecar
// step-<8 digit step>.ckpt.meta.json, written beside the archive before the .done marker, so that
// choosing a checkpoint to resume (or listing checkpoints) never opens an archive
// (docs/logs.md, "checkpoints/").
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace entropix {

struct CheckpointMeta {
  int64_t step = 0;                 // optimizer steps completed
  uint64_t sampler_position = 0;    // next training batch index
  std::string spec_yaml;            // the resolved spec (spec_to_yaml)
  std::string entropix_version;     // ENTROPIX_VERSION from "entropix/version.h"
  std::string libtorch_version;
  int64_t world_size = 1;           // ranks of the data-parallel run that wrote it (older files: 1)
};

// CHECKPOINT.meta.json for CHECKPOINT (step-<...>.ckpt).
std::filesystem::path meta_sidecar_of(const std::filesystem::path& checkpoint);

// The sidecar's text: the meta fields, the sidecar format and the archive's size in bytes.
std::string meta_sidecar_text(const CheckpointMeta& meta, uint64_t archive_bytes);

// The meta from CHECKPOINT's sidecar; nullopt when there is none (checkpoints written before
// sidecars existed). InputError naming the sidecar when it is not a valid sidecar, and naming the
// archive when the archive's size differs from the one recorded (truncated or replaced).
std::optional<CheckpointMeta> read_meta_sidecar(const std::filesystem::path& checkpoint);

}  // namespace entropix
