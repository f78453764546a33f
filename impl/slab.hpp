#pragma once
// Allocation of the implementation's objects. A freed object is poisoned and kept, not
// released: whatever still points at it finds `freed` set, so a use after free is a
// reported finding instead of undefined behaviour. Memory lives as long as the Kernel
// (one op sequence).

#include <cstdint>
#include <memory>
#include <vector>

namespace impl {

template <class T>
class Slab {
 public:
  T* alloc() {
    objects_.push_back(std::make_unique<T>());
    T* obj = objects_.back().get();
    obj->id = next_id_++;
    ++live_;
    return obj;
  }

  void free(T* obj) {
    obj->freed = true;
    --live_;
  }

  // A freed object becomes a live one again (SLAB_TYPESAFE_BY_RCU reuse): its memory
  // and id stay, the caller sets its fields afresh.
  void revive(T* obj) {
    obj->freed = false;
    ++live_;
  }

  size_t live() const { return live_; }

  template <class Fn>
  void for_each_live(Fn fn) const {
    for (const auto& obj : objects_)
      if (!obj->freed) fn(*obj);
  }

 private:
  std::vector<std::unique_ptr<T>> objects_;
  uint64_t next_id_ = 1;
  size_t live_ = 0;
};

}  // namespace impl
