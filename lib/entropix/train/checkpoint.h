// Checkpoints: everything needed to evaluate a model or resume its training, one file per save.
//
// Layout (docs/logs.md, "checkpoints/"): CHECKPOINT_DIR/step-<8 digit step>.ckpt, a LibTorch
// archive; step-<...>.ckpt.meta.json, its meta as JSON (checkpoint_meta.h); and an empty marker
// step-<...>.ckpt.done written after both are durable. A checkpoint counts only when archive and
// marker exist, so a crash while saving never leaves one that looks complete.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "entropix/train/checkpoint_meta.h"

namespace entropix {

// "step-00000040.ckpt" for step 40.
std::string checkpoint_file_name(int64_t step);

// Writes CHECKPOINT_DIR/step-<8 digit step>.ckpt atomically: a torch OutputArchive (model
// parameters and buffers, optimizer state when non-null, the CPU RNG state and one state per CUDA
// device when CUDA is available, meta fields) streamed to a temporary file through checked
// write(2) calls (AtomicFileWriter; LibTorch's own file writer throws from a destructor on a full
// disk), fsync'd, renamed into place; then the meta sidecar and an empty completion marker
// step-<...>.ckpt.done, each atomically, and the directory fsync'd. Creates the directory if
// needed. Returns the checkpoint's path. Any write error (disk full, I/O error) is one
// std::runtime_error line "cannot write PATH: <reason>", after the temporary file and whatever
// this save had already put in place are removed.
std::filesystem::path save_checkpoint(const std::filesystem::path& checkpoint_dir, const CheckpointMeta& meta,
                                      torch::nn::Module& model, torch::optim::Optimizer* optimizer);

// Complete checkpoints (file and marker both present) sorted by step, oldest first. Empty when
// the directory does not exist.
std::vector<std::filesystem::path> complete_checkpoints(const std::filesystem::path& checkpoint_dir);

// Deletes all but the newest `keep` complete checkpoints, plus leftovers of interrupted saves
// (*.tmp.* files, archives without a marker, markers or sidecars without an archive) up to the step of the
// newest complete checkpoint; later ones may belong to a save in progress.
// keep < 1 is std::invalid_argument: it would delete every checkpoint.
void prune_checkpoints(const std::filesystem::path& checkpoint_dir, int64_t keep);

// Reads only the meta (for choosing a checkpoint, or building the model from its spec before
// loading weights): from the sidecar, without opening the archive. A checkpoint written before
// sidecars existed has its archive opened once instead (the fallback). Same InputErrors as
// load_checkpoint for missing or incomplete files, plus read_meta_sidecar's.
CheckpointMeta read_checkpoint_meta(const std::filesystem::path& file);

// Loads weights (and optimizer state when non-null; and restores the CPU RNG state, and the CUDA
// generators saved for devices this machine has, when
// restore_rng) onto the device the model is on. Errors are InputError naming the file: missing
// file, no completion marker ("incomplete checkpoint"), unreadable/truncated archive, parameter
// or buffer names or shapes that differ from the model's (naming the first that differs),
// optimizer state asked for but not saved. The model is unchanged when an error is reported
// before the weights are copied (every check above comes first).
CheckpointMeta load_checkpoint(const std::filesystem::path& file, torch::nn::Module& model,
                               torch::optim::Optimizer* optimizer, bool restore_rng = false);

// A run directory -> the newest complete checkpoint in RUN/checkpoints/ (a checkpoints directory
// itself works too); a checkpoint file -> itself. InputError when there is none.
std::filesystem::path resolve_checkpoint(const std::filesystem::path& run_dir_or_checkpoint);

}  // namespace entropix
