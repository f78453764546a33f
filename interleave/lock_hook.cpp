#include "interleave/lock_hook.hpp"

#include <fmt/format.h>

namespace interleave {

uint64_t lock_object(const impl::Lock& lock) { return lock.id ? lock.id : reinterpret_cast<uintptr_t>(&lock); }

EventKind event_kind(impl::Access kind) {
  switch (kind) {
    case impl::Access::read: return EventKind::read;
    case impl::Access::write: return EventKind::write;
    case impl::Access::free: return EventKind::free;
    case impl::Access::rcu_lock: return EventKind::rcu_lock;
    case impl::Access::rcu_unlock: return EventKind::rcu_unlock;
  }
  return EventKind::read;
}

bool SchedulerLockHook::try_acquire(const impl::Lock& lock, impl::LockMode mode, const std::function<bool()>& free,
                                    const std::function<void()>& take) {
  const bool write = mode == impl::LockMode::write;
  return sched_.try_acquire(free, take, write ? EventKind::acquire_write : EventKind::acquire_read, lock_object(lock),
                            impl::lock_class_name(lock.cls));
}

void SchedulerLockHook::point(impl::Access kind, uint64_t object, std::string_view function) {
  sched_.point(event_kind(kind), object, function);
}

void SchedulerLockHook::wait(const std::function<bool()>& ready, std::string_view what) {
  sched_.wait_until(ready, std::string(what));
}

void SchedulerLockHook::acquire(const impl::Lock& lock, impl::LockMode mode, const std::function<bool()>& free,
                                const std::function<void()>& take) {
  const bool write = mode == impl::LockMode::write;
  sched_.acquire(free, take, write ? EventKind::acquire_write : EventKind::acquire_read, lock_object(lock),
                 impl::lock_class_name(lock.cls),
                 fmt::format("{} for {}", impl::lock_class_name(lock.cls), write ? "writing" : "reading"));
}

void SchedulerLockHook::release(const impl::Lock& lock) {
  // Releases run in destructors (LockGuard): an execution that ends early must not throw
  // Aborted out of one. The thread goes on to its next point, which throws it.
  try {
    sched_.point(EventKind::release, lock_object(lock), impl::lock_class_name(lock.cls));
  } catch (const Aborted&) {
  }
}

}  // namespace interleave
