// The token-bound check of large shards, run on a thread of its own while training starts (see
// docs/data.md, "The token check and its sidecar"). load_tokens(TokenCheck::deferred) leaves a
// large shard without a matching sidecar unchecked, so the first step of a first-ever run on a
// 20 GB corpus does not wait for a full read of it; every batch is checked as it is drawn
// (BatchSampler), and this class scans the rest, writes the sidecar, and reports a bad token.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "entropix/data/token_file.h"

namespace entropix {

class BackgroundTokenCheck {
 public:
  // Starts one thread scanning the unchecked shards of `data` in order (none: no thread). With
  // `announce`, one note per such shard goes to stderr.
  explicit BackgroundTokenCheck(const std::vector<std::shared_ptr<const TokenData>>& data, bool announce = false);
  // Stops the scan between blocks (a shard not finished keeps no sidecar) and joins.
  ~BackgroundTokenCheck();
  BackgroundTokenCheck(const BackgroundTokenCheck&) = delete;
  BackgroundTokenCheck& operator=(const BackgroundTokenCheck&) = delete;

  // The error line for the first bad token found (out_of_vocab_message); empty while none.
  std::string failure() const;
  // Blocks until every shard is scanned (or a bad one is found).
  void wait();

 private:
  void scan_all();

  std::vector<TokenShard> pending_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::string failure_;
  std::thread thread_;
};

}  // namespace entropix
