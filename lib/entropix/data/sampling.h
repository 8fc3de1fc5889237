// data.sampling and data.eot_id, resolved for one split (see docs/data.md, "Sampling:
// windows or documents").
#pragma once
#include <cstdint>

#include "entropix/data/batches.h"
#include "entropix/spec/spec.h"

namespace entropix {

// The Sampling a spec asks for on `data`. For documents the end-of-text id is data.eot_id
// when set (>= 0), else the integer "eot_id" of the meta.json beside the first shard;
// InputError naming both when neither gives one. rows_per_batch is world_size * batch_size.
Sampling sampling_for(const ExperimentSpec& spec, const TokenData& data, int64_t world_size = 1);

}  // namespace entropix
