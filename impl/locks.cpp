#include "impl/locks.hpp"

#include <algorithm>
#include <stdexcept>

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

void LockTracker::set_hook(LockHook* hook) {
  if (!idle()) throw std::logic_error("LockTracker: a lock hook changes while locks are held");
  hook_ = hook;
}

std::vector<LockTracker::Held>& LockTracker::mine_under_hook() {
  const size_t t = hook_->thread();
  if (t >= held_.size()) held_.resize(t + 1);
  return held_[t];
}

const std::vector<LockTracker::Held>& LockTracker::mine_under_hook() const {
  static const std::vector<Held> none;
  const size_t t = hook_->thread();
  return t < held_.size() ? held_[t] : none;
}

bool LockTracker::idle() const { return held() == 0; }

size_t LockTracker::held() const {
  size_t n = 0;
  for (const auto& per_thread : held_) n += per_thread.size();
  return n;
}

bool LockTracker::compatible(const Lock& lock, LockMode mode) {
  return !lock.writer && (mode == LockMode::read || lock.readers == 0);
}

void LockTracker::take(Lock& lock, LockMode mode) {
  if (mode == LockMode::write) lock.writer = true;
  else ++lock.readers;
}

void LockTracker::assert_held(const Lock& lock, LockMode mode, std::string_view where) {
  for (const Held& h : mine())
    if (h.lock == &lock && (mode == LockMode::read || h.mode == LockMode::write)) return;
  violation(fmt::format("lockdep_assert_held: {} not held{} in {}", lock_class_name(lock.cls),
                        mode == LockMode::write ? " for writing" : "", where));
}

void LockTracker::check_order(const Lock& lock) {
  for (const Held& h : mine()) {
    if (h.lock == &lock) {
      violation(fmt::format("{} acquired twice", lock_class_name(lock.cls)));
    } else if (h.lock->cls > lock.cls || (h.lock->cls == lock.cls && !may_nest_same_class(lock.cls))) {
      violation(fmt::format("lock order: {} taken while holding {}",
                                        lock_class_name(lock.cls), lock_class_name(h.lock->cls)));
    }
  }
}

void LockTracker::acquire(Lock& lock, LockMode mode) {
  check_order(lock);
  if (hook_) {
    // Another thread of control may hold it: wait for it, as the kernel's lock would.
    hook_->acquire(lock, mode, [&] { return compatible(lock, mode); }, [&] { take(lock, mode); });
  } else {
    if (!compatible(lock, mode))
      violation(fmt::format("{} taken while already held incompatibly", lock_class_name(lock.cls)));
    take(lock, mode);
  }
  mine().push_back({&lock, mode});
}

bool LockTracker::holds(const Lock& lock) const {
  return std::any_of(mine().begin(), mine().end(), [&](const Held& h) { return h.lock == &lock; });
}

bool LockTracker::try_acquire(Lock& lock, LockMode mode) {
  if (holds(lock)) {
    violation(fmt::format("{} acquired twice", lock_class_name(lock.cls)));
    return false;
  }
  bool took;
  if (hook_) {
    took = hook_->try_acquire(lock, mode, [&] { return compatible(lock, mode); }, [&] { take(lock, mode); });
  } else {
    took = compatible(lock, mode);
    if (took) take(lock, mode);
  }
  if (took) mine().push_back({&lock, mode});
  return took;
}

std::vector<std::string> LockTracker::held_report() const {
  std::vector<std::string> out;
  for (size_t t = 0; t < held_.size(); ++t)
    for (const Held& h : held_[t])
      out.push_back(fmt::format("T{} holds {} for {}", t, lock_class_name(h.lock->cls),
                                h.mode == LockMode::write ? "writing" : "reading"));
  return out;
}

void LockHook::wait(const std::function<bool()>& ready, std::string_view what) {
  if (!ready()) throw std::logic_error(fmt::format("waits forever for {}", what));
}

void LockTracker::release(Lock& lock) {
  std::vector<Held>& held = mine();
  auto it = std::find_if(held.rbegin(), held.rend(), [&](const Held& h) { return h.lock == &lock; });
  if (it == held.rend()) {
    violation(fmt::format("{} released but not held", lock_class_name(lock.cls)));
    return;
  }
  // Other threads may run here; this thread's list stays where it is (held_ is a deque)
  // and only this thread changes it.
  if (hook_) hook_->release(lock);
  if (it->mode == LockMode::write) lock.writer = false;
  else --lock.readers;
  held.erase(std::next(it).base());
}

}  // namespace impl
