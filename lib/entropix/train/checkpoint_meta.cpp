#include "entropix/train/checkpoint_meta.h"

#include <nlohmann/json.hpp>

#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {
constexpr int64_t kSidecarFormat = 1;
}  // namespace

fs::path meta_sidecar_of(const fs::path& checkpoint) { return fs::path(checkpoint.string() + ".meta.json"); }

std::string meta_sidecar_text(const CheckpointMeta& meta, uint64_t archive_bytes) {
  const nlohmann::json j = {
      {"format", kSidecarFormat},
      {"step", meta.step},
      {"sampler_position", meta.sampler_position},
      {"world_size", meta.world_size},
      {"entropix_version", meta.entropix_version},
      {"libtorch_version", meta.libtorch_version},
      {"archive_bytes", archive_bytes},
      {"spec_yaml", meta.spec_yaml},
  };
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::optional<CheckpointMeta> read_meta_sidecar(const fs::path& checkpoint) {
  const fs::path file = meta_sidecar_of(checkpoint);
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::exception&) {
    throw InputError(file.string() + ": checkpoint meta is not JSON (damaged)");
  }
  CheckpointMeta meta;
  uint64_t archive_bytes = 0;
  try {
    if (j.at("format").get<int64_t>() != kSidecarFormat)
      throw InputError(file.string() + ": checkpoint meta format " + j.at("format").dump() +
                       " is not supported (this entropix reads format " + std::to_string(kSidecarFormat) + ")");
    meta.step = j.at("step").get<int64_t>();
    meta.sampler_position = j.at("sampler_position").get<uint64_t>();
    meta.world_size = j.at("world_size").get<int64_t>();
    meta.entropix_version = j.at("entropix_version").get<std::string>();
    meta.libtorch_version = j.at("libtorch_version").get<std::string>();
    meta.spec_yaml = j.at("spec_yaml").get<std::string>();
    archive_bytes = j.at("archive_bytes").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(file.string() + ": checkpoint meta lacks a field or has one of the wrong type (" +
                     std::string(e.what()) + ")");
  }
  const uintmax_t size = fs::file_size(checkpoint, ec);
  if (ec || size != archive_bytes)
    throw InputError(checkpoint.string() + ": checkpoint is " + (ec ? std::string("unreadable") : std::to_string(size) + " bytes") +
                     " but was written with " + std::to_string(archive_bytes) + " (truncated or replaced)");
  return meta;
}

}  // namespace entropix
