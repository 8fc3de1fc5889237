#include "entropix/spec/key_checks.h"

#include "entropix/spec/spec_keys.h"

namespace entropix::spec_detail {

std::function<std::string(double)> at_least(double lo) {
  return [lo](double v) {
    return v >= lo ? std::string() : "must be >= " + format_double(lo) + ", got " + format_double(v);
  };
}
std::function<std::string(double)> positive() {
  return [](double v) { return v > 0 ? std::string() : "must be > 0, got " + format_double(v); };
}
std::function<std::string(double)> between(double lo, double hi) {
  return [lo, hi](double v) {
    return (v >= lo && v <= hi) ? std::string()
                                : "must be from " + format_double(lo) + " to " + format_double(hi) + ", got " + format_double(v);
  };
}
std::function<std::string(double)> in_unit_interval() {
  return [](double v) {
    return (v >= 0 && v <= 1) ? std::string() : "must be in [0, 1], got " + format_double(v);
  };
}
std::function<std::string(double)> dropout_probability() {
  return [](double v) {
    return (v >= 0 && v < 1) ? std::string() : "must be in [0, 1), got " + format_double(v);
  };
}

std::string limit(int64_t v) { return std::to_string(v); }

}  // namespace entropix::spec_detail
