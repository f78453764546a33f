#pragma once
// Locks are explicit objects. Every acquire and release goes through one place, the
// LockTracker, which checks the nesting order below. With a LockHook (an interleaving
// scheduler, interleave/) each acquire and release is also a scheduling point, an
// acquire that finds the lock held incompatibly waits for it, and each thread of
// control has its own held locks; without one (sequential runs) such an acquire is a
// violation. Where the kernel says a lock must be held (lockdep_assert_held) the code
// says so too, through assert_held().
// What the rmap locks guard, and so where it is asserted:
//   i_mmap_rwsem (write)       changes of a file's i_mmap interval tree;
//   anon_vma->root->rwsem      changes of an anon_vma's interval tree of chains;
//   both (when needed)         page-table moves of mremap that an rmap walk could
//                              otherwise miss (copy_vma's need_rmap_locks);
//   lru_lock                   LRU list adds, removals and moves (isolate, putback).
//
// Lock order (outermost first), as mm/rmap.c documents it for Linux:
//   mmap_lock
//     folio_lock
//       i_mmap_rwsem
//         anon_vma->root->rwsem
//           page table lock (PTL)
//             lru_lock
// Two locks of one class may nest only where the kernel nests them: a parent's and a
// child's mmap_lock in fork, two page table locks in fork and mremap.

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace impl {

enum class LockClass : uint8_t { mmap_lock, folio_lock, i_mmap_rwsem, anon_vma_rwsem, ptl, lru_lock };

std::string_view lock_class_name(LockClass c);

enum class LockMode : uint8_t { read, write };

struct Lock {
  explicit Lock(LockClass c) : cls(c) {}
  LockClass cls;
  // A stable name for the scheduler's events (lock_id()), set by whoever creates the
  // owner: the same lock has the same id in every execution from one prefix, which an
  // address is not.
  uint64_t id = 0;
  unsigned readers = 0;
  bool writer = false;
};

// What a thread of control does at a named scheduling point (impl/sched_point.hpp):
// an access other CPUs can see, the end of a lifetime, or an RCU read-side section's
// start or end.
enum class Access : uint8_t { read, write, free, rcu_lock, rcu_unlock };

// What a concurrent run plugs into the LockTracker.
class LockHook {
 public:
  virtual ~LockHook() = default;
  // The thread of control running now: 0 .. threads-1.
  virtual unsigned thread() const = 0;
  // A scheduling point; then waits while `free()` is false; then `take()`, with no
  // switch between the last check and the take.
  virtual void acquire(const Lock& lock, LockMode mode, const std::function<bool()>& free,
                       const std::function<void()>& take) = 0;
  // A scheduling point; then, with no switch, `take()` if `free()` holds. Whether it
  // took the lock (down_read_trylock and friends).
  virtual bool try_acquire(const Lock& lock, LockMode mode, const std::function<bool()>& free,
                           const std::function<void()>& take) {
    if (!free()) return false;
    take();
    (void)lock, (void)mode;
    return true;
  }
  // A scheduling point just before the lock is released.
  virtual void release(const Lock& lock) = 0;
  // A named scheduling point just before an access of `object` (a stable id) in
  // `function` (a string literal).
  virtual void point(Access kind, uint64_t object, std::string_view function) {
    (void)kind, (void)object, (void)function;
  }
  // Returns once `ready()` holds, letting the other threads run meanwhile (a fault that
  // met a migration entry waits for it to go). `what` names the wait in a report.
  virtual void wait(const std::function<bool()>& ready, std::string_view what);
};

// The id of a lock of class `cls` owned by the object named `owner` (a pid, a pfn, a
// slab id...): what Lock::id holds.
inline uint64_t lock_id(LockClass cls, uint64_t owner) {
  return uint64_t{0xff} << 56 | uint64_t(cls) << 48 | (owner & ((uint64_t{1} << 48) - 1));
}

class LockTracker {
 public:
  // With a hook, from now on (none: sequential again). Only while no lock is held.
  void set_hook(LockHook* hook);
  void acquire(Lock& lock, LockMode mode);
  // down_read_trylock / spin_trylock: takes the lock if that needs no wait.
  // It cannot deadlock, so it may be taken against the lock order (as lockdep allows).
  bool try_acquire(Lock& lock, LockMode mode);
  // Whether the running thread of control holds `lock`.
  bool holds(const Lock& lock) const;
  void release(Lock& lock);
  LockHook* hook() const { return hook_; }
  // The thread of control running now (0 when sequential).
  unsigned thread() const { return hook_ ? hook_->thread() : 0; }
  // lockdep_assert_held: `lock` must be held here, in write mode when `mode` says so;
  // `where` names the place in the report.
  void assert_held(const Lock& lock, LockMode mode, std::string_view where);
  // Ordering, state or assertion errors seen so far (empty when all is well).
  const std::vector<std::string>& violations() const { return violations_; }
  bool idle() const;
  size_t held() const;
  // The held locks, one line each ("T1 holds mmap_lock for writing"), for reports.
  std::vector<std::string> held_report() const;

 private:
  struct Held {
    Lock* lock;
    LockMode mode;
  };
  // The locks the running thread of control holds (sequentially, held_'s first list:
  // the hot path, inline).
  std::vector<Held>& mine() { return hook_ ? mine_under_hook() : held_.front(); }
  const std::vector<Held>& mine() const { return hook_ ? mine_under_hook() : held_.front(); }
  std::vector<Held>& mine_under_hook();
  const std::vector<Held>& mine_under_hook() const;
  void check_order(const Lock& lock);
  static bool compatible(const Lock& lock, LockMode mode);
  static void take(Lock& lock, LockMode mode);
  LockHook* hook_ = nullptr;
  // Per thread of control; a deque, so that one thread's list stays where it is when a
  // thread with a higher number first takes a lock.
  std::deque<std::vector<Held>> held_ = std::deque<std::vector<Held>>(1);
  void violation(std::string what);
  std::vector<std::string> violations_;
};

// RAII holder: `LockGuard g(tracker, vma->anon_vma->root->rwsem, LockMode::read);`
class LockGuard {
 public:
  LockGuard(LockTracker& t, Lock& l, LockMode m) : tracker_(&t), lock_(&l) { t.acquire(l, m); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;
  LockGuard(LockGuard&& o) noexcept : tracker_(o.tracker_), lock_(o.lock_) { o.lock_ = nullptr; }
  ~LockGuard() {
    if (lock_) tracker_->release(*lock_);
  }

 private:
  LockTracker* tracker_;
  Lock* lock_;
};

}  // namespace impl
