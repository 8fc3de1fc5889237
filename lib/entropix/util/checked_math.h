// Size arithmetic that cannot overflow silently: describe and cost multiply model sizes
// (T x T x H elements, T x d x V MACs) whose product can leave int64 for absurd shapes.
#pragma once
#include <cstdint>
#include <string>

#include "entropix/util/error.h"

namespace entropix {

// a * b, or InputError naming `what` when the product does not fit in int64.
inline int64_t checked_mul(int64_t a, int64_t b, const std::string& what) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out))
    throw InputError(what + ": " + std::to_string(a) + " x " + std::to_string(b) +
                     " overflows a 64-bit count; the model's sizes are beyond what entropix can describe");
  return out;
}

inline int64_t checked_add(int64_t a, int64_t b, const std::string& what) {
  int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out))
    throw InputError(what + ": " + std::to_string(a) + " + " + std::to_string(b) + " overflows a 64-bit count");
  return out;
}

}  // namespace entropix
