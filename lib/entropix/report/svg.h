// A tiny SVG writer: elements with escaped text and attributes, nesting checked, numbers compact.
// Used by the report's charts; knows nothing about entropy.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace entropix::svg {

// Escapes text for XML character data and attribute values (& < > " '). Characters XML 1.0 does
// not allow (control characters other than tab, newline, carriage return) are dropped, and bytes
// that are not valid UTF-8 become U+FFFD, so any input yields a well-formed document.
std::string escape(std::string_view text);

// A coordinate or length: at most two decimals, no trailing zeros ("12", "3.5", "-0.25").
std::string num(double value);

using Attrs = std::vector<std::pair<std::string, std::string>>;

class Document {
 public:
  // `id` becomes the root element's id (figures are found by it in index.html); `title` its <title>.
  Document(double width, double height, const std::string& id, const std::string& title);

  // An element without content: <name a="v"/>.
  void empty(const std::string& name, const Attrs& attrs);
  // An element holding escaped text: <name a="v">text</name>.
  void text_element(const std::string& name, const Attrs& attrs, const std::string& text);
  void open(const std::string& name, const Attrs& attrs = {});
  void close();  // closes the innermost open element

  // Shorthands for what the charts draw.
  void rect(double x, double y, double w, double h, const std::string& fill, Attrs extra = {});
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1,
            Attrs extra = {});
  // anchor: start | middle | end.
  void text(double x, double y, const std::string& content, const std::string& anchor = "start", double size = 12,
            const std::string& fill = "#222", Attrs extra = {});

  double width() const { return width_; }
  double height() const { return height_; }
  // The finished document. `standalone` adds the XML declaration (for .svg files); without it the
  // markup can be inlined into HTML. Throws std::logic_error if an element is still open.
  std::string str(bool standalone) const;

 private:
  double width_, height_;
  std::string body_;
  std::vector<std::string> open_;
};

}  // namespace entropix::svg
