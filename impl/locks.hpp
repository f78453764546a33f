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
  unsigned readers = 0;
  bool writer = false;
};

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
  // A scheduling point just before the lock is released.
  virtual void release(const Lock& lock) = 0;
};

class LockTracker {
 public:
  // With a hook, from now on (none: sequential again). Only while no lock is held.
  void set_hook(LockHook* hook);
  void acquire(Lock& lock, LockMode mode);
  void release(Lock& lock);
  // lockdep_assert_held: `lock` must be held here, in write mode when `mode` says so;
  // `where` names the place in the report.
  void assert_held(const Lock& lock, LockMode mode, std::string_view where);
  // Ordering, state or assertion errors seen so far (empty when all is well).
  const std::vector<std::string>& violations() const { return violations_; }
  bool idle() const;
  size_t held() const;

 private:
  struct Held {
    Lock* lock;
    LockMode mode;
  };
  // The locks the running thread of control holds.
  std::vector<Held>& mine();
  const std::vector<Held>& mine() const;
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
