#include "interleave/lock_hook.hpp"

#include <fmt/format.h>

namespace interleave {

uint64_t lock_object(const impl::Lock& lock) { return reinterpret_cast<uintptr_t>(&lock); }

void SchedulerLockHook::acquire(const impl::Lock& lock, impl::LockMode mode, const std::function<bool()>& free,
                                const std::function<void()>& take) {
  const bool write = mode == impl::LockMode::write;
  sched_.acquire(free, take, write ? EventKind::acquire_write : EventKind::acquire_read, lock_object(lock),
                 impl::lock_class_name(lock.cls),
                 fmt::format("{} for {}", impl::lock_class_name(lock.cls), write ? "writing" : "reading"));
}

void SchedulerLockHook::release(const impl::Lock& lock) {
  sched_.point(EventKind::release, lock_object(lock), impl::lock_class_name(lock.cls));
}

}  // namespace interleave
