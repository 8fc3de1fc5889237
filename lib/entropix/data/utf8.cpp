#include "entropix/data/utf8.h"

namespace entropix {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

char32_t next_code_point(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  // Sequence length and the allowed range of the second byte (Unicode Table 3-7), which excludes
  // overlong forms (E0, F0), surrogates (ED) and values above U+10FFFF (F4).
  int len = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  char32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {  // a continuation byte or C0, C1, F5..FF: never valid at the start
    ++i;
    return kReplacement;
  }
  size_t j = i + 1;
  for (int k = 1; k < len; ++k, ++j) {
    if (j >= s.size()) {
      i = j;
      return kReplacement;  // truncated at the end: the whole prefix is one subpart
    }
    const auto c = static_cast<unsigned char>(s[j]);
    const bool ok = k == 1 ? (c >= lo && c <= hi) : is_cont(c);
    if (!ok) {
      i = j;  // the maximal subpart ends before the byte that breaks it
      return kReplacement;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  i = j;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t start = i;
    const char32_t cp = next_code_point(s, i);
    // A genuine U+FFFD is three bytes EF BF BD; a replaced subpart is anything else.
    if (cp == kReplacement && s.substr(start, i - start) != "\xEF\xBF\xBD") return false;
  }
  return true;
}

std::string repair_utf8(std::string_view s) {
  if (is_valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) append_utf8(out, next_code_point(s, i));
  return out;
}

}  // namespace entropix
