// The three on-disk token formats and their header checks (see docs/data.md, "Corpora:
// formats, shards and memory mapping"). All store little-endian uint16 tokens after an
// optional header:
//   entropix  32-byte header: "ENTROPIX", version 1, vocab_size, n_tokens, token_bytes 2
//   nanogpt   no header (nanoGPT's train.bin / val.bin)
//   llmc      llm.c shard: 256 int32 header (magic 20240520, version 1, token count)
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace entropix {

// Where the tokens of one shard lie, read from (and checked against) its header.
struct ShardLayout {
  uint64_t token_offset = 0;    // bytes before the first token
  uint64_t n_tokens = 0;
  uint32_t header_vocab = 0;    // entropix: the header's vocab_size; 0 for formats without one
};

// "entropix", "nanogpt" or "llmc"; anything else is an InputError naming `path` and the
// valid formats.
void check_format_name(const std::string& format, const std::filesystem::path& path);

// The file name ending a directory of shards in `format` is filtered by: ".tok" for
// entropix, ".bin" for nanogpt and llmc.
std::string shard_extension(const std::string& format);

// Validates the header of a `file_size`-byte shard whose first bytes are `head` (at least
// min(file_size, 1024) of them) and returns where its tokens are. Throws InputError, one
// line naming the file, what was found and what was expected: an empty file, a bad magic,
// an unknown version or token width, zero tokens, a size that disagrees with the header.
ShardLayout parse_shard_header(const unsigned char* head, uint64_t file_size, const std::string& format,
                               const std::filesystem::path& path);

// Header bytes parse_shard_header needs to see (the file may be shorter).
constexpr uint64_t kMaxShardHeaderBytes = 1024;
// Size of the entropix header.
constexpr uint64_t kEntropixHeaderBytes = 32;
// Largest vocabulary a uint16 token file can hold: every uint16 value is a valid token.
constexpr uint64_t kMaxTokenVocab = 65536;
// The formats are little-endian; on such a host tokens are read without conversion.
constexpr bool kLittleEndianHost = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

// Builds the 32-byte entropix header for n_tokens tokens below vocab_size.
std::string entropix_header(uint32_t vocab_size, uint64_t n_tokens);

}  // namespace entropix
