#include "interleave/event.hpp"

#include <fmt/format.h>

namespace interleave {

std::string_view event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::read: return "read";
    case EventKind::write: return "write";
    case EventKind::acquire_read: return "acquire-read";
    case EventKind::acquire_write: return "acquire-write";
    case EventKind::release: return "release";
    case EventKind::rcu_lock: return "rcu-lock";
    case EventKind::rcu_unlock: return "rcu-unlock";
    case EventKind::free: return "free";
  }
  return "?";
}

std::string event_text(const Event& e) {
  return fmt::format("T{} {} {:#x} {}", e.thread, event_kind_name(e.kind), e.object, e.function);
}

namespace {

bool writes(EventKind kind) { return kind == EventKind::write || kind == EventKind::free; }
bool accesses(EventKind kind) { return kind == EventKind::read || writes(kind); }

}  // namespace

bool conflict(const Event& a, const Event& b) {
  return a.thread != b.thread && a.object == b.object && accesses(a.kind) && accesses(b.kind) &&
         (writes(a.kind) || writes(b.kind));
}

}  // namespace interleave
