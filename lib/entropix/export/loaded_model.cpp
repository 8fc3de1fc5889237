#include "entropix/export/loaded_model.h"

#include "entropix/model/registry.h"
#include "entropix/train/setup.h"

namespace entropix {

LoadedModel load_trained_model(const std::filesystem::path& run_dir_or_checkpoint, torch::Device device) {
  LoadedModel out;
  out.checkpoint = resolve_checkpoint(run_dir_or_checkpoint);
  out.meta = read_checkpoint_meta(out.checkpoint);
  out.spec = parse_spec(out.meta.spec_yaml, out.checkpoint.string());
  out.model = build_model(out.spec);  // the checkpoint's weights replace the initial ones
  load_checkpoint(out.checkpoint, *out.model, /*optimizer=*/nullptr);
  out.model->to(device);
  out.model->eval();
  return out;
}

}  // namespace entropix
