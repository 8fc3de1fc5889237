// Document-aware sampling's unit: per-document chunks of T + 1 tokens (see docs/data.md,
// "Sampling: windows or documents").
//
// A document is a run of tokens ended by the end-of-text token (which belongs to it) or by
// the end of its shard; documents never span shards. A document of L tokens (its
// end-of-text included) gives floor((L - 1) / T) chunks; chunk j holds its tokens
// [j*T, j*T + T], so x = tokens j*T .. j*T+T-1 and y = tokens j*T+1 .. j*T+T. Consecutive chunks
// share one token (the last target of one is the first input of the next); the tail after
// the last whole chunk (fewer than T + 1 tokens) is not used, and a document shorter than
// T + 1 tokens gives no chunk. For a corpus whose documents are each followed by end-of-text
// this is the released code's scheme: a document of n tokens (without end-of-text) gives
// floor(n / T) chunks with the same inputs; the partial last chunk is dropped.
#pragma once
#include <cstdint>
#include <vector>

#include "entropix/data/token_file.h"

namespace entropix {

struct ChunkPlace {
  uint32_t shard;
  uint64_t offset;  // token index of the chunk's first token in that shard
};

class DocumentChunks {
 public:
  // Scans every shard of `data` once (sequentially, releasing pages as it goes). Throws
  // InputError naming data.path when no document holds T + 1 tokens.
  DocumentChunks(const TokenData& data, uint16_t eot_id, int64_t context);

  uint64_t count() const { return total_; }       // chunks in one epoch
  uint64_t documents() const { return docs_; }    // documents seen (with or without chunks)
  ChunkPlace place(uint64_t chunk) const;          // chunk < count()

 private:
  // One entry per document with at least one chunk (memory: 20 bytes per such document).
  std::vector<uint64_t> first_chunk_;  // chunk id of the document's first chunk (ascending)
  std::vector<uint64_t> start_;        // the document's first token in its shard
  std::vector<uint32_t> shard_;
  uint64_t total_ = 0;
  uint64_t docs_ = 0;
  int64_t context_;
};

// A pseudo-random permutation of [0, n) keyed by `key`: a 6-round Feistel network on the
// smallest even number of bits covering n, walked until it lands below n (cycle walking keeps
// it a bijection). O(1) memory: chunk p of an epoch is permute(p) without storing a shuffle.
uint64_t permute(uint64_t p, uint64_t n, uint64_t key);

}  // namespace entropix
