#include "entropix/data/background_token_check.h"

#include <iostream>

#include "entropix/data/token_check.h"

namespace entropix {

BackgroundTokenCheck::BackgroundTokenCheck(const std::vector<std::shared_ptr<const TokenData>>& data, bool announce) {
  for (const auto& d : data) {
    if (!d) continue;
    for (const TokenShard& shard : d->shards) {
      if (shard.checked || !shard.file) continue;
      pending_.push_back(shard);  // shares the mapping
      if (announce)
        std::cerr << "note: " << shard.path << " (" << shard.file->size() / (1 << 20)
                  << " MiB) has no token-check sidecar yet: it is checked in the background while training "
                     "starts, and every batch is checked as it is read\n";
    }
  }
  if (!pending_.empty()) thread_ = std::thread([this] { scan_all(); });
}

BackgroundTokenCheck::~BackgroundTokenCheck() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void BackgroundTokenCheck::scan_all() {
  for (const TokenShard& shard : pending_) {
    const uint16_t max = scan_max_token(*shard.file, shard.offset, shard.size, &stop_);
    if (stop_) return;  // cut short: the partial maximum proves nothing, so no sidecar
    if (max >= shard.bound) {
      const std::string message = out_of_vocab_message(shard, max);
      std::lock_guard<std::mutex> lock(mutex_);
      failure_ = message;
      return;
    }
    remember_max_token(shard.path, shard.format, *shard.file, max);
  }
}

std::string BackgroundTokenCheck::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

void BackgroundTokenCheck::wait() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace entropix
