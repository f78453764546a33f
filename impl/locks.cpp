#include "impl/locks.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace impl {
namespace {

bool may_nest_same_class(LockClass c) { return c == LockClass::mmap_lock || c == LockClass::ptl; }

}  // namespace

std::string_view lock_class_name(LockClass c) {
  switch (c) {
    case LockClass::mmap_lock: return "mmap_lock";
    case LockClass::folio_lock: return "folio_lock";
    case LockClass::i_mmap_rwsem: return "i_mmap_rwsem";
    case LockClass::anon_vma_rwsem: return "anon_vma->rwsem";
    case LockClass::ptl: return "ptl";
    case LockClass::lru_lock: return "lru_lock";
  }
  return "?";
}

void LockTracker::violation(std::string what) {
  // A broken rule in a loop says so once, not once per page.
  if (violations_.empty() || violations_.back() != what) violations_.push_back(std::move(what));
}

void LockTracker::assert_held(const Lock& lock, LockMode mode, std::string_view where) {
  for (const Held& h : held_)
    if (h.lock == &lock && (mode == LockMode::read || h.mode == LockMode::write)) return;
  violation(fmt::format("lockdep_assert_held: {} not held{} in {}", lock_class_name(lock.cls),
                        mode == LockMode::write ? " for writing" : "", where));
}

void LockTracker::acquire(Lock& lock, LockMode mode) {
  for (const Held& h : held_) {
    if (h.lock == &lock) {
      violation(fmt::format("{} acquired twice", lock_class_name(lock.cls)));
    } else if (h.lock->cls > lock.cls || (h.lock->cls == lock.cls && !may_nest_same_class(lock.cls))) {
      violation(fmt::format("lock order: {} taken while holding {}",
                                        lock_class_name(lock.cls), lock_class_name(h.lock->cls)));
    }
  }
  if (lock.writer || (mode == LockMode::write && lock.readers))
    violation(fmt::format("{} taken while already held incompatibly", lock_class_name(lock.cls)));
  if (mode == LockMode::write) lock.writer = true;
  else ++lock.readers;
  held_.push_back({&lock, mode});
}

void LockTracker::release(Lock& lock) {
  auto it = std::find_if(held_.rbegin(), held_.rend(), [&](const Held& h) { return h.lock == &lock; });
  if (it == held_.rend()) {
    violation(fmt::format("{} released but not held", lock_class_name(lock.cls)));
    return;
  }
  if (it->mode == LockMode::write) lock.writer = false;
  else --lock.readers;
  held_.erase(std::next(it).base());
}

}  // namespace impl
