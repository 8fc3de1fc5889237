#include "entropix/data/sampling.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

// meta.json's "eot_id", or -1 when the file or the key is absent.
int64_t meta_eot_id(const fs::path& meta) {
  std::error_code ec;
  if (!fs::exists(meta, ec)) return -1;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(meta));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(meta.string() + ": not valid JSON (" + e.what() + "); needed for its eot_id");
  }
  if (!j.is_object() || !j.contains("eot_id")) return -1;
  if (!j["eot_id"].is_number_integer() || j["eot_id"].get<int64_t>() < 0 || j["eot_id"].get<int64_t>() > 65535)
    throw InputError(meta.string() + ": eot_id is " + j["eot_id"].dump() + "; expected an integer 0..65535");
  return j["eot_id"].get<int64_t>();
}

}  // namespace

Sampling sampling_for(const ExperimentSpec& spec, const TokenData& data, int64_t world_size) {
  Sampling s;
  s.scheme = spec.data.sampling;
  s.rows_per_batch = world_size * spec.train.batch_size;
  if (s.scheme != "documents") return s;
  s.eot_id = spec.data.eot_id;
  if (s.eot_id >= 0) return s;
  const fs::path meta =
      (data.shards.empty() ? fs::path(data.path) : fs::path(data.shards.front().path)).parent_path() / "meta.json";
  s.eot_id = meta_eot_id(meta);
  if (s.eot_id < 0)
    throw InputError(data.path + ": data.sampling documents needs the end-of-text token id: set data.eot_id (50256 "
                     "for GPT-2 BPE), or give the corpus a meta.json with \"eot_id\" (looked for in " +
                     meta.string() + ")");
  return s;
}

}  // namespace entropix
