#pragma once
// RCU as far as the rmap needs it: read-side sections (rcu_read_lock/unlock, scheduling
// points of their own under a hook) and grace periods, for SLAB_TYPESAFE_BY_RCU
// anon_vmas: an anon_vma freed at RCU time t may become another anon_vma only once no
// thread of control is still in a read-side section it entered before t. A reader that
// kept a stale pointer so still finds an anon_vma there (maybe another one), which the
// kernel's re-checks must catch (folio_lock_anon_vma_read); one found freed and not yet
// reused is a poisoned-object use, recorded by use_after_free().

#include <fmt/format.h>

#include "impl/kernel.hpp"
#include "impl/sched_point.hpp"

namespace impl {

inline void rcu_read_lock(Kernel& k, std::string_view fn) {
  sched_point(k, Access::rcu_lock, rcu_id, fn);
  Kernel::OpContext& c = k.ctx();
  if (c.rcu_depth++ == 0) c.rcu_since = ++k.rcu_clock;
}

inline void rcu_read_unlock(Kernel& k, std::string_view fn) {
  sched_point(k, Access::rcu_unlock, rcu_id, fn);
  --k.ctx().rcu_depth;
}

// Whether every reader that was inside a read-side section at RCU time `t` has left it.
inline bool rcu_grace_period_over(const Kernel& k, uint64_t t) {
  for (const Kernel::OpContext& c : k.contexts)
    if (c.rcu_depth > 0 && c.rcu_since <= t) return false;
  return true;
}

// True (and recorded) when `obj` is freed: the caller must not go on with it.
inline bool use_after_free(Kernel& k, const Object* obj, std::string_view what, std::string_view where) {
  if (!obj->freed) [[likely]] return false;
  k.poison_uses.push_back(fmt::format("{} uses freed {} {}", where, what, obj->id));
  return true;
}

}  // namespace impl
