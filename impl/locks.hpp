#pragma once
// Locks are explicit objects. Every acquire and release goes through one hook, the
// LockTracker, which checks the nesting order below in sequential runs and is where
// an interleaving scheduler will later switch threads. Where the kernel says a lock
// must be held (lockdep_assert_held) the code says so too, through assert_held().
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

class LockTracker {
 public:
  void acquire(Lock& lock, LockMode mode);
  void release(Lock& lock);
  // lockdep_assert_held: `lock` must be held here, in write mode when `mode` says so;
  // `where` names the place in the report.
  void assert_held(const Lock& lock, LockMode mode, std::string_view where);
  // Ordering, state or assertion errors seen so far (empty when all is well).
  const std::vector<std::string>& violations() const { return violations_; }
  bool idle() const { return held_.empty(); }
  size_t held() const { return held_.size(); }

 private:
  struct Held {
    Lock* lock;
    LockMode mode;
  };
  std::vector<Held> held_;
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
