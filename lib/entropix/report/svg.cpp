#include "entropix/report/svg.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>

namespace entropix::svg {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if the bytes there are not one.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xE0) == 0xC0) n = 2, cp = b0 & 0x1F;
  else if ((b0 & 0xF0) == 0xE0) n = 3, cp = b0 & 0x0F;
  else if ((b0 & 0xF8) == 0xF0) n = 4, cp = b0 & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates, and code points beyond Unicode are not valid UTF-8; U+FFFE and
  // U+FFFF are valid UTF-8 but not allowed in XML.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF || cp == 0xFFFE || cp == 0xFFFF) return 0;
  return n;
}

std::string attrs_markup(const Attrs& attrs) {
  std::string out;
  for (const auto& [key, value] : attrs) out += " " + key + "=\"" + escape(value) + "\"";
  return out;
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default:
          if (u >= 0x20 || c == '\t' || c == '\n' || c == '\r') out += c;
          // other control characters are not allowed in XML 1.0: dropped
      }
      ++i;
      continue;
    }
    const size_t n = utf8_sequence_length(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for a byte that starts no valid sequence
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string num(double value) {
  if (!std::isfinite(value)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f", value);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

Document::Document(double width, double height, const std::string& id, const std::string& title)
    : width_(width), height_(height) {
  body_ = "<svg xmlns=\"http://www.w3.org/2000/svg\"" +
          attrs_markup({{"id", id},
                        {"width", num(width)},
                        {"height", num(height)},
                        {"viewBox", "0 0 " + num(width) + " " + num(height)},
                        {"font-family", "DejaVu Sans, Helvetica, Arial, sans-serif"},
                        {"role", "img"}}) +
          ">\n";
  text_element("title", {}, title);
  rect(0, 0, width, height, "#ffffff");
}

void Document::empty(const std::string& name, const Attrs& attrs) {
  body_ += std::string(open_.size() + 1, ' ') + "<" + name + attrs_markup(attrs) + "/>\n";
}

void Document::text_element(const std::string& name, const Attrs& attrs, const std::string& text) {
  body_ += std::string(open_.size() + 1, ' ') + "<" + name + attrs_markup(attrs) + ">" + escape(text) + "</" +
           name + ">\n";
}

void Document::open(const std::string& name, const Attrs& attrs) {
  body_ += std::string(open_.size() + 1, ' ') + "<" + name + attrs_markup(attrs) + ">\n";
  open_.push_back(name);
}

void Document::close() {
  if (open_.empty()) throw std::logic_error("svg::Document::close: no open element");
  const std::string name = open_.back();
  open_.pop_back();
  body_ += std::string(open_.size() + 1, ' ') + "</" + name + ">\n";
}

void Document::rect(double x, double y, double w, double h, const std::string& fill, Attrs extra) {
  Attrs a = {{"x", num(x)}, {"y", num(y)}, {"width", num(w)}, {"height", num(h)}, {"fill", fill}};
  a.insert(a.end(), extra.begin(), extra.end());
  empty("rect", a);
}

void Document::line(double x1, double y1, double x2, double y2, const std::string& stroke, double width,
                    Attrs extra) {
  Attrs a = {{"x1", num(x1)}, {"y1", num(y1)}, {"x2", num(x2)}, {"y2", num(y2)}, {"stroke", stroke},
             {"stroke-width", num(width)}};
  a.insert(a.end(), extra.begin(), extra.end());
  empty("line", a);
}

void Document::text(double x, double y, const std::string& content, const std::string& anchor, double size,
                    const std::string& fill, Attrs extra) {
  Attrs a = {{"x", num(x)}, {"y", num(y)}, {"font-size", num(size)}, {"fill", fill}};
  if (anchor != "start") a.push_back({"text-anchor", anchor});
  a.insert(a.end(), extra.begin(), extra.end());
  text_element("text", a, content);
}

std::string Document::str(bool standalone) const {
  if (!open_.empty()) throw std::logic_error("svg::Document::str: <" + open_.back() + "> is still open");
  return (standalone ? std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") : std::string()) + body_ +
         "</svg>\n";
}

}  // namespace entropix::svg
