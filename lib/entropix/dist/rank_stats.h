// Statistics the ranks of a data-parallel job measure on their shares of a batch, merged into the
// statistics of the whole batch, so rank 0 logs what one process would have logged.
#pragma once
#include <cstdint>

#include "entropix/dist/communicator.h"
#include "entropix/entropy/entropy.h"

namespace entropix::dist {

// Each head's entropy becomes the mean of the ranks' finite values (NaN where no rank has one);
// nan_counts become the sum over the ranks (the count on the whole batch); layerwise means and
// bins are recomputed (bins for context T). Unchanged for one process. Equal shares of rows make
// the mean of the ranks' means the mean over the whole batch.
void merge_entropy_over_ranks(EntropyRecord& record, Communicator& comm, int64_t T);

}  // namespace entropix::dist
