#pragma once
// What a thread of control did at a scheduling point: the record an interleaving leaves,
// and what the Z3 search encodes (two events of different threads on one object, at
// least one of them a write, conflict; acquires and releases bound critical sections).

#include <cstdint>
#include <string>
#include <string_view>

namespace interleave {

using ThreadId = unsigned;

enum class EventKind : uint8_t {
  read,
  write,
  acquire_read,
  acquire_write,
  release,
  rcu_lock,
  rcu_unlock,
  free,
};

std::string_view event_kind_name(EventKind kind);

struct Event {
  ThreadId thread = 0;
  EventKind kind = EventKind::read;
  uint64_t object = 0;         // a stable id of what was touched (a lock, a PTE, a folio)
  std::string_view function;   // where it happened; a string literal
  bool operator==(const Event&) const = default;
};

// "T1 write 0x2a try_to_unmap"
std::string event_text(const Event& e);

// Whether two events of different threads touch one object, at least one writing.
bool conflict(const Event& a, const Event& b);

}  // namespace interleave
