#include "entropix/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <algorithm>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix {
namespace fs = std::filesystem;
using torch::serialize::InputArchive;
using torch::serialize::OutputArchive;

namespace {

constexpr int64_t kFormatVersion = 1;
const char* const kMarkerSuffix = ".done";

fs::path marker_of(const fs::path& file) { return fs::path(file.string() + kMarkerSuffix); }

// "step-<digits>.ckpt" -> the step; -1 for any other name.
int64_t parse_step(const std::string& name) {
  const std::string prefix = "step-", suffix = ".ckpt";
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

// The first line of a LibTorch error (the rest is a backtrace).
std::string first_line(const c10::Error& e) {
  std::string msg = e.what_without_backtrace();
  return msg.substr(0, msg.find('\n'));
}

// ---- the tensor index: names and shapes, compared before any weight is copied ----

struct TensorEntry {
  std::string kind;  // "parameter" | "buffer"
  std::string name;
  std::vector<int64_t> shape;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::vector<TensorEntry> tensor_index(const torch::nn::Module& model) {
  std::vector<TensorEntry> out;
  for (const auto& p : model.named_parameters()) out.push_back({"parameter", p.key(), p.value().sizes().vec()});
  for (const auto& b : model.named_buffers()) out.push_back({"buffer", b.key(), b.value().sizes().vec()});
  return out;
}

// One line per tensor: "<kind> <name> <d0,d1,...>" (names never contain spaces).
std::string encode_index(const std::vector<TensorEntry>& index) {
  std::ostringstream out;
  for (const auto& e : index) {
    out << e.kind << ' ' << e.name << ' ';
    for (size_t i = 0; i < e.shape.size(); ++i) out << (i ? "," : "") << e.shape[i];
    out << '\n';
  }
  return out.str();
}

std::vector<TensorEntry> decode_index(const std::string& text) {
  std::vector<TensorEntry> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    TensorEntry e;
    std::string dims;
    fields >> e.kind >> e.name >> dims;  // dims is empty for a 0-d tensor
    std::istringstream d(dims);
    for (std::string v; std::getline(d, v, ',');) e.shape.push_back(std::stoll(v));
    out.push_back(std::move(e));
  }
  return out;
}

// Names the first tensor whose name, kind or shape differs; "" when the two indexes agree.
std::string index_mismatch(const std::vector<TensorEntry>& saved, const std::vector<TensorEntry>& model) {
  for (size_t i = 0; i < std::max(saved.size(), model.size()); ++i) {
    if (i >= saved.size()) return model[i].kind + " " + model[i].name + " is in the model but not in the checkpoint";
    if (i >= model.size()) return saved[i].kind + " " + saved[i].name + " is in the checkpoint but not in the model";
    const auto &s = saved[i], &m = model[i];
    if (s.name != m.name || s.kind != m.kind)
      return "the checkpoint has " + s.kind + " " + s.name + " where the model has " + m.kind + " " + m.name;
    if (s.shape != m.shape)
      return s.kind + " " + s.name + " has shape " + shape_text(s.shape) + " in the checkpoint but " +
             shape_text(m.shape) + " in the model";
  }
  return "";
}

// ---- archive I/O ----

torch::Tensor cpu_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_cpu_rng_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state.to(torch::kCPU));
}

// One generator per CUDA device; reached through the global context so this file needs no CUDA
// headers and builds against CPU-only LibTorch (where there are no devices to save).
int64_t cuda_device_count() { return torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0; }

at::Generator cuda_generator(int64_t index) {
  return at::globalContext().defaultGenerator(c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(index)));
}

std::string cuda_rng_key(int64_t index) { return "rng_cuda_" + std::to_string(index); }

// The device the model's tensors are on: loaded tensors go straight there.
c10::optional<torch::Device> model_device(const torch::nn::Module& model) {
  for (const auto& p : model.parameters()) return p.device();
  for (const auto& b : model.buffers()) return b.device();
  return c10::nullopt;
}

// Opens a complete checkpoint; InputError for a missing, incomplete or unreadable file.
InputArchive open_checkpoint(const fs::path& file, c10::optional<torch::Device> device = c10::nullopt) {
  if (!fs::is_regular_file(file)) throw InputError(file.string() + ": no such checkpoint file");
  if (!fs::exists(marker_of(file)))
    throw InputError(file.string() + ": incomplete checkpoint (no " + marker_of(file).filename().string() +
                     " marker: the save was interrupted); use an earlier checkpoint");
  InputArchive archive;
  try {
    archive.load_from(file.string(), device);
  } catch (const c10::Error& e) {
    throw InputError(file.string() + ": unreadable checkpoint, truncated or corrupt (" + first_line(e) + ")");
  }
  return archive;
}

c10::IValue read_entry(InputArchive& archive, const std::string& key, const fs::path& file) {
  c10::IValue value;
  if (!archive.try_read(key, value))
    throw InputError(file.string() + ": not an entropix checkpoint (no '" + key + "' entry)");
  return value;
}

int64_t read_int(InputArchive& archive, const std::string& key, const fs::path& file) {
  auto v = read_entry(archive, key, file);
  if (!v.isInt()) throw InputError(file.string() + ": checkpoint entry '" + key + "' is not an integer");
  return v.toInt();
}

std::string read_string(InputArchive& archive, const std::string& key, const fs::path& file) {
  auto v = read_entry(archive, key, file);
  if (!v.isString()) throw InputError(file.string() + ": checkpoint entry '" + key + "' is not a string");
  return v.toStringRef();
}

CheckpointMeta read_meta(InputArchive& archive, const fs::path& file) {
  const int64_t format = read_int(archive, "format", file);
  if (format != kFormatVersion)
    throw InputError(file.string() + ": checkpoint format " + std::to_string(format) + " is not supported (this " +
                     "entropix reads format " + std::to_string(kFormatVersion) + ")");
  CheckpointMeta meta;
  meta.step = read_int(archive, "step", file);
  meta.sampler_position = static_cast<uint64_t>(read_int(archive, "sampler_position", file));
  meta.spec_yaml = read_string(archive, "spec_yaml", file);
  meta.entropix_version = read_string(archive, "entropix_version", file);
  meta.libtorch_version = read_string(archive, "libtorch_version", file);
  c10::IValue world;  // optional: checkpoints from before data-parallel training lack it
  if (archive.try_read("world_size", world) && world.isInt()) meta.world_size = world.toInt();
  return meta;
}

void write_meta(OutputArchive& archive, const CheckpointMeta& meta) {
  archive.write("format", c10::IValue(kFormatVersion));
  archive.write("step", c10::IValue(meta.step));
  archive.write("sampler_position", c10::IValue(static_cast<int64_t>(meta.sampler_position)));
  archive.write("spec_yaml", c10::IValue(meta.spec_yaml));
  archive.write("entropix_version", c10::IValue(meta.entropix_version));
  archive.write("libtorch_version", c10::IValue(meta.libtorch_version));
  archive.write("world_size", c10::IValue(meta.world_size));
}

InputArchive read_nested(InputArchive& archive, const std::string& key, const fs::path& file) {
  InputArchive nested;
  if (!archive.try_read(key, nested))
    throw InputError(file.string() + ": checkpoint has no " + key + " state");
  return nested;
}

}  // namespace

std::string checkpoint_file_name(int64_t step) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "step-%08lld.ckpt", static_cast<long long>(step));
  return buf;
}

fs::path save_checkpoint(const fs::path& checkpoint_dir, const CheckpointMeta& meta, torch::nn::Module& model,
                         torch::optim::Optimizer* optimizer) {
  std::error_code ec;
  fs::create_directories(checkpoint_dir, ec);
  if (ec) throw std::runtime_error("cannot write " + checkpoint_dir.string() + ": " + ec.message());
  const fs::path file = checkpoint_dir / checkpoint_file_name(meta.step);

  OutputArchive archive;
  write_meta(archive, meta);
  archive.write("tensor_index", c10::IValue(encode_index(tensor_index(model))));
  archive.write("rng_cpu", cpu_rng_state(), /*is_buffer=*/true);
  for (int64_t i = 0; i < cuda_device_count(); ++i) {
    auto gen = cuda_generator(i);
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write(cuda_rng_key(i), gen.get_state(), /*is_buffer=*/true);
  }
  // Nested archives share the root's compilation unit, as Module::save does for its children.
  OutputArchive model_archive(archive.compilation_unit());
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    OutputArchive optimizer_archive(archive.compilation_unit());
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  // The writer function never reports a short write to LibTorch (whose zip writer would then
  // throw, possibly from a destructor, and terminate the process): it keeps the first error and
  // commit() reports it, removing the temporary file.
  uint64_t bytes = 0;
  {
    AtomicFileWriter out(file);
    try {
      archive.save_to([&out](const void* data, size_t size) -> size_t {
        out.append(data, size);
        return size;
      });
    } catch (const c10::Error& e) {
      throw std::runtime_error("cannot write " + file.string() + ": " + first_line(e));
    }
    out.commit();
    bytes = out.bytes();
  }
  // The sidecar, then the marker last, once everything is durable: whoever sees the marker can
  // trust the archive and its meta. A failure in between takes back what this save put in place.
  try {
    write_file_atomic(meta_sidecar_of(file), meta_sidecar_text(meta, bytes));
    write_file_atomic(marker_of(file), "");
  } catch (...) {
    fs::remove(meta_sidecar_of(file), ec);
    fs::remove(file, ec);
    throw;
  }
  fsync_directory(checkpoint_dir);
  return file;
}

std::vector<fs::path> complete_checkpoints(const fs::path& checkpoint_dir) {
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  if (!fs::is_directory(checkpoint_dir, ec)) return {};
  for (const auto& entry : fs::directory_iterator(checkpoint_dir)) {
    const int64_t step = parse_step(entry.path().filename().string());
    if (step >= 0 && entry.is_regular_file() && fs::exists(marker_of(entry.path()))) found.emplace_back(step, entry.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

void prune_checkpoints(const fs::path& checkpoint_dir, int64_t keep) {
  if (keep < 1) throw std::invalid_argument("prune_checkpoints: keep must be at least 1");
  const auto complete = complete_checkpoints(checkpoint_dir);
  if (complete.empty()) return;
  // Marker first: a prune cut short leaves an archive that no longer counts, never a marker
  // that points at nothing.
  for (size_t i = 0; i + static_cast<size_t>(keep) < complete.size(); ++i) {
    fs::remove(marker_of(complete[i]));
    fs::remove(complete[i]);
    fs::remove(meta_sidecar_of(complete[i]));
  }
  // Leftovers of interrupted saves up to the newest complete checkpoint. Newer ones are left
  // alone: they may belong to a save still in progress.
  const int64_t newest = parse_step(complete.back().filename().string());
  std::vector<fs::path> leftovers;
  for (const auto& entry : fs::directory_iterator(checkpoint_dir)) {
    const std::string name = entry.path().filename().string();
    const auto ckpt_end = name.find(".ckpt");
    if (ckpt_end == std::string::npos) continue;
    const fs::path archive = checkpoint_dir / name.substr(0, ckpt_end + 5);
    const int64_t step = parse_step(archive.filename().string());
    if (step < 0 || step > newest) continue;
    const std::string rest = name.substr(ckpt_end + 5);
    const bool tmp = rest.find(".tmp.") != std::string::npos;
    const bool orphan_archive = rest.empty() && !fs::exists(marker_of(archive));
    const bool orphan_marker = (rest == kMarkerSuffix || rest == ".meta.json") && !fs::exists(archive);
    if (tmp || orphan_archive || orphan_marker) leftovers.push_back(entry.path());
  }
  for (const auto& p : leftovers) fs::remove(p);
}

CheckpointMeta read_checkpoint_meta(const fs::path& file) {
  if (!fs::is_regular_file(file)) throw InputError(file.string() + ": no such checkpoint file");
  if (!fs::exists(marker_of(file)))
    throw InputError(file.string() + ": incomplete checkpoint (no " + marker_of(file).filename().string() +
                     " marker: the save was interrupted); use an earlier checkpoint");
  if (auto meta = read_meta_sidecar(file)) return *meta;
  // Written before sidecars existed: the archive is opened once (docs/logs.md, "checkpoints/").
  InputArchive archive = open_checkpoint(file);
  return read_meta(archive, file);
}

CheckpointMeta load_checkpoint(const fs::path& file, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                               bool restore_rng) {
  InputArchive archive = open_checkpoint(file, model_device(model));
  CheckpointMeta meta = read_meta(archive, file);
  const std::string mismatch =
      index_mismatch(decode_index(read_string(archive, "tensor_index", file)), tensor_index(model));
  if (!mismatch.empty())
    throw InputError(file.string() + ": checkpoint does not fit the model: " + mismatch);
  InputArchive model_archive = read_nested(archive, "model", file);
  InputArchive optimizer_archive;
  if (optimizer) optimizer_archive = read_nested(archive, "optimizer", file);
  torch::Tensor rng;
  if (restore_rng && !archive.try_read("rng_cpu", rng, /*is_buffer=*/true))
    throw InputError(file.string() + ": checkpoint has no RNG state");
  try {
    model.load(model_archive);
    if (optimizer) optimizer->load(optimizer_archive);
  } catch (const c10::Error& e) {
    throw InputError(file.string() + ": cannot load checkpoint state (" + first_line(e) + ")");
  }
  if (restore_rng) {
    set_cpu_rng_state(rng);
    // CUDA generators saved on a machine with as many devices or more; a checkpoint from a CPU
    // run leaves them as seeded.
    for (int64_t i = 0; i < cuda_device_count(); ++i) {
      torch::Tensor state;
      if (!archive.try_read(cuda_rng_key(i), state, /*is_buffer=*/true)) continue;
      auto gen = cuda_generator(i);
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(state.to(torch::kCPU));
    }
  }
  return meta;
}

fs::path resolve_checkpoint(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw InputError(path.string() + ": no such file or directory (expected a run directory or a checkpoint file)");
  if (!fs::is_directory(path, ec)) return path;
  const fs::path dir = fs::is_directory(path / "checkpoints", ec) ? path / "checkpoints" : path;
  const auto all = complete_checkpoints(dir);
  if (all.empty())
    throw InputError(dir.string() + ": no complete checkpoint (step-<step>.ckpt with its .done marker)");
  return all.back();
}

}  // namespace entropix
