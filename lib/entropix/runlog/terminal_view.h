// One frame of `entropix watch` as text: a status line (step, throughput, ETA), the loss
// sparkline, the latest validation loss and the latest headwise entropy table, its cells
// coloured by viridis over [0, causal ceiling] when colour is on.
#pragma once
#include <string>

#include "entropix/runlog/watch_state.h"

namespace entropix::runlog {

enum class Colour { none, ansi256, truecolor };

struct ViewOptions {
  Colour colour = Colour::none;
  int width = 80;  // terminal columns (the sparkline fills what the label leaves)
};

// The frame, lines ending in '\n'; plain text when colour is none.
std::string render_frame(const WatchState& state, const ViewOptions& options);

// "1h02m", "4m14s", "12s".
std::string format_duration(double seconds);

// The xterm 256-colour index nearest an RGB colour in the 6x6x6 cube (16..231).
int ansi256_index(int r, int g, int b);

}  // namespace entropix::runlog
