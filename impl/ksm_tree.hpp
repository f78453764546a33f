// A red-black tree ordered by page content: KSM's stable tree (of stable nodes, keyed
// by the content of their KSM page) and unstable tree (of rmap items, keyed by the
// content their page had when it went in). Built on impl/rbtree.hpp's machinery.
//
// The key is not stored in the tree: callers pass key_of(element), which reads the
// page. A stable node's page is write-protected, so its key cannot change under the
// tree. An unstable tree's keys could in the kernel (its pages are still writable; that
// is why it is rebuilt every scan); in this implementation nothing writes during a scan.
// Keys are unique: insert() hands back the element with an equal key instead of adding.
//
// Elements derive from rb::Node (each kind of element sits in one such tree only).

#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "impl/rbtree.hpp"

namespace impl {

template <class T>
class ContentTree {
 public:
  bool empty() const { return root_ == nullptr; }

  // The element whose key equals `key`, or null.
  template <class KeyOf>
  T* search(uint64_t key, KeyOf key_of) const {
    for (rb::Node* n = root_; n;) {
      const uint64_t k = key_of(*elem(n));
      if (key == k) return elem(n);
      n = key < k ? n->left : n->right;
    }
    return nullptr;
  }

  // Links `x` under `key`; if an element with that key is already there, returns it
  // and leaves `x` out.
  template <class KeyOf>
  T* insert(T& x, uint64_t key, KeyOf key_of) {
    rb::Node* parent = nullptr;
    rb::Node** slot = &root_;
    while (*slot) {
      parent = *slot;
      const uint64_t k = key_of(*elem(parent));
      if (key == k) return elem(parent);
      slot = key < k ? &parent->left : &parent->right;
    }
    rb::link(&x, parent, slot);
    rb::insert_rebalance<rb::NoAugment>(&x, root_);
    return nullptr;
  }

  void erase(T& x) { rb::erase<rb::NoAugment>(&x, root_); }

  // Unlinks every element (the unstable tree, thrown away after each full scan).
  void clear() {
    clear_below(root_);
    root_ = nullptr;
  }

  // fn(element) in key order.
  template <class Fn>
  void for_each(Fn fn) const {
    for (const rb::Node* n = rb::leftmost(root_); n; n = rb::next(n)) fn(*elem(n));
  }

  // The red-black rules, parent links, and strictly ascending keys; the first
  // problem found, or nothing.
  template <class KeyOf>
  std::optional<std::string> verify(KeyOf key_of) const {
    if (root_ && (root_->parent || rb::is_red(root_))) return "the root is red or has a parent";
    std::optional<std::string> why;
    black_height(root_, why);
    if (why) return why;
    std::optional<uint64_t> prev;
    for (const rb::Node* n = rb::leftmost(root_); n; n = rb::next(n)) {
      const uint64_t k = key_of(*elem(n));
      if (prev && *prev >= k) return "keys out of order: " + std::to_string(*prev) + " before " + std::to_string(k);
      prev = k;
    }
    return std::nullopt;
  }

 private:
  static T* elem(const rb::Node* n) { return static_cast<T*>(const_cast<rb::Node*>(n)); }

  static void clear_below(rb::Node* n) {
    if (!n) return;
    clear_below(n->left);
    clear_below(n->right);
    n->clear();
  }

  // Black nodes on every path down from n (the same on all), noting the first rule broken.
  static int black_height(const rb::Node* n, std::optional<std::string>& why) {
    if (!n) return 1;
    for (const rb::Node* c : {n->left, n->right})
      if (c && c->parent != n && !why) why = "a child does not point back at its parent";
    if (rb::is_red(n) && (rb::is_red(n->left) || rb::is_red(n->right)) && !why) why = "a red node has a red child";
    const int l = black_height(n->left, why), r = black_height(n->right, why);
    if (l != r && !why) why = "paths of different black height";
    return l + (rb::is_black(n) ? 1 : 0);
  }

  rb::Node* root_ = nullptr;
};

}  // namespace impl
