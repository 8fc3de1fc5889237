// FNV-1a-64 and its 16-hex-digit form: the content and key hashes of prepared corpora (meta.json),
// the train/validation split, document hashes and token-check sidecars. One definition, because
// these values are written to disk and compared across versions: every user must agree.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace entropix {

constexpr uint64_t kFnv1aOffset = 14695981039346656037ULL;

// FNV-1a-64 of `n` bytes, continuing from `h` (the offset basis for a fresh hash). A name of its
// own, so that fnv1a64("\n", h) cannot bind a string literal to the pointer form.
inline uint64_t fnv1a64_bytes(const void* data, size_t n, uint64_t h = kFnv1aOffset) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

inline uint64_t fnv1a64(std::string_view bytes, uint64_t h = kFnv1aOffset) {
  return fnv1a64_bytes(bytes.data(), bytes.size(), h);
}

// 16 lower-case hex digits, zero-padded.
inline std::string hex16(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

}  // namespace entropix
