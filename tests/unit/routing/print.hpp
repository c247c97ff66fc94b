#pragma once
// Readable gtest failure messages for the key-state enums. gtest finds PrintTo by
// argument-dependent lookup, so these live in the enums' namespace.

#include "videogate/routing/key_state.hpp"

#include <ostream>

namespace videogate::routing {

inline void PrintTo(key_health h, std::ostream* os) { *os << to_string(h); }

inline void PrintTo(admission a, std::ostream* os) {
  switch (a) {
    case admission::usable: *os << "usable"; return;
    case admission::probe: *os << "probe"; return;
    case admission::cooling: *os << "cooling"; return;
    case admission::disabled: *os << "disabled"; return;
  }
  *os << "admission(" << static_cast<int>(a) << ")";
}

inline void PrintTo(key_event e, std::ostream* os) {
  switch (e) {
    case key_event::success: *os << "success"; return;
    case key_event::rate_limited: *os << "rate_limited"; return;
    case key_event::invalid_key: *os << "invalid_key"; return;
    case key_event::out_of_credit: *os << "out_of_credit"; return;
    case key_event::transient: *os << "transient"; return;
  }
  *os << "key_event(" << static_cast<int>(e) << ")";
}

}  // namespace videogate::routing
