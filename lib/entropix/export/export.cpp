#include "entropix/export/export.h"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "entropix/export/hf_gpt2.h"
#include "entropix/export/loaded_model.h"
#include "entropix/export/safetensors_writer.h"
#include "entropix/model/registry.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/util/remove_tree.h"
#include "entropix/version.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

void write_json(const fs::path& path, const nlohmann::ordered_json& j) { write_file_atomic(path, j.dump(2) + "\n"); }

// Checks `out` before any work: absent, or replaceable with --overwrite.
void check_destination(const ExportOptions& o) {
  if (o.format != "safetensors" && o.format != "hf")
    throw InputError("--format: unknown format '" + o.format + "'; valid: safetensors, hf");
  std::error_code ec;
  if (!fs::exists(o.out, ec)) return;
  if (!o.overwrite)
    throw InputError(o.out.string() + ": already exists; pass --overwrite to replace an earlier export, or choose another --out");
  const bool is_export = fs::is_directory(o.out, ec) && fs::exists(o.out / kExportManifest, ec);
  if (!is_export && !(fs::is_directory(o.out, ec) && fs::is_empty(o.out, ec)))
    throw InputError(o.out.string() + ": exists and is not an entropix export (no " + kExportManifest +
                     "); --overwrite replaces only an earlier export or an empty directory");
}

// Every parameter and buffer of the model under its checkpoint name, with its role.
std::vector<NamedTensor> entropix_tensors(GPT& model, nlohmann::ordered_json& mapping) {
  std::map<const void*, std::string> roles;
  for (const auto& r : parameter_roles(*model)) roles[r.tensor.unsafeGetTensorImpl()] = role_name(r.role);
  std::vector<NamedTensor> out;
  for (const auto& p : model->named_parameters(/*recurse=*/true)) {
    out.push_back({p.key(), p.value().detach()});
    mapping.push_back({{"name", p.key()}, {"kind", "parameter"}, {"role", roles[p.value().unsafeGetTensorImpl()]},
                       {"shape", p.value().sizes().vec()}, {"dtype", safetensors_dtype(p.value().scalar_type())}});
  }
  for (const auto& b : model->named_buffers(/*recurse=*/true)) {
    out.push_back({b.key(), b.value().detach()});
    mapping.push_back({{"name", b.key()}, {"kind", "buffer"},
                       {"shape", b.value().sizes().vec()}, {"dtype", safetensors_dtype(b.value().scalar_type())}});
  }
  return out;
}

// Writes the export's files into `dir`; returns the number of tensors.
int64_t write_export(const ExportOptions& o, LoadedModel& m, const fs::path& dir) {
  nlohmann::ordered_json manifest;
  manifest["format"] = o.format == "hf" ? "entropix-hf-gpt2" : "entropix-safetensors";
  manifest["version"] = 1;
  manifest["entropix_version"] = ENTROPIX_VERSION;
  manifest["checkpoint"] = fs::absolute(m.checkpoint).string();
  manifest["step"] = m.meta.step;
  manifest["spec_yaml"] = m.meta.spec_yaml;
  nlohmann::ordered_json mapping = nlohmann::ordered_json::array();
  int64_t n = 0;
  if (o.format == "safetensors") {
    const std::vector<NamedTensor> tensors = entropix_tensors(m.model, mapping);
    write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}, {"producer", "entropix"}});
    n = static_cast<int64_t>(tensors.size());
  } else {
    std::vector<NamedTensor> tensors;
    for (auto& t : hf_tensors(m.model)) {
      mapping.push_back({{"name", t.tensor.name}, {"from", t.source}, {"shape", t.tensor.tensor.sizes().vec()}});
      tensors.push_back(std::move(t.tensor));
    }
    write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}, {"producer", "entropix"}});
    write_json(dir / "config.json", hf_config(m.model->spec()));
    n = static_cast<int64_t>(tensors.size());
  }
  manifest["tensors"] = mapping;
  write_json(dir / kExportManifest, manifest);
  return n;
}

}  // namespace

ExportResult export_model(const ExportOptions& o) {
  check_destination(o);
  LoadedModel m = load_trained_model(o.source);
  if (o.format == "hf") {
    const std::string why = hf_unmappable(m.spec.model);
    if (!why.empty())
      throw InputError(m.checkpoint.string() + ": --format hf: " + why + "; --format safetensors exports any model");
  }
  fs::path out = fs::absolute(o.out).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();  // "dir/"
  const fs::path parent = out.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  const fs::path tmp = parent / ("." + out.filename().string() + ".tmp." + std::to_string(::getpid()));
  remove_tree(tmp);
  try {
    fs::create_directory(tmp);
    ExportResult r{m.checkpoint, m.meta.step, write_export(o, m, tmp)};
    if (fs::exists(out, ec) && !remove_tree(out)) throw std::runtime_error(out.string() + ": could not remove the earlier export");
    fs::rename(tmp, out);
    fsync_directory(parent);
    return r;
  } catch (...) {
    remove_tree(tmp);
    throw;
  }
}

}  // namespace entropix
