#pragma once
// The scheduler as the implementation's lock hook: with it installed (LockTracker::
// set_hook), every lock acquire and release in impl/ is a scheduling point and an
// event, an acquire of a lock another thread of control holds incompatibly waits for
// it, and a cycle of such waits ends the execution as a deadlock.

#include "impl/locks.hpp"
#include "interleave/scheduler.hpp"

namespace interleave {

class SchedulerLockHook : public impl::LockHook {
 public:
  explicit SchedulerLockHook(Scheduler& sched) : sched_(sched) {}
  unsigned thread() const override { return sched_.active() ? sched_.self() : 0; }
  void acquire(const impl::Lock& lock, impl::LockMode mode, const std::function<bool()>& free,
               const std::function<void()>& take) override;
  bool try_acquire(const impl::Lock& lock, impl::LockMode mode, const std::function<bool()>& free,
                   const std::function<void()>& take) override;
  void release(const impl::Lock& lock) override;
  void point(impl::Access kind, uint64_t object, std::string_view function) override;
  void wait(const std::function<bool()>& ready, std::string_view what) override;

 private:
  Scheduler& sched_;
};

EventKind event_kind(impl::Access kind);

// The event object of a lock: the stable id its owner gave it (impl::Lock::id), the
// same in every execution from one prefix; its address for a lock nobody named.
uint64_t lock_object(const impl::Lock& lock);

}  // namespace interleave
