// An intrusive augmented red-black interval tree: the structure behind the kernel's
// address_space::i_mmap (VMAs keyed by their page-offset range [vm_pgoff, vm_pgoff +
// pages - 1]) and anon_vma::rb_root (anon_vma_chains keyed by their VMA's range).
//
// Elements embed an IntervalNode and are keyed by a closed interval [start, last] that a
// Traits type reads off them:
//
//   struct Vma { uint64_t pgoff, pages; IntervalNode shared_rb; ... };
//   struct VmaPgoffRange {
//     static uint64_t start(const Vma& v) { return v.pgoff; }
//     static uint64_t last(const Vma& v) { return v.pgoff + v.pages - 1; }
//   };
//   IntervalTree<Vma, &Vma::shared_rb, VmaPgoffRange> i_mmap;
//
// Ordered by start. Equal starts are allowed and keep insertion order (a new element goes
// after the ones with its start), so iteration is deterministic. Each node also holds
// subtree_last, the largest `last` in its subtree, which lets an overlap query skip every
// subtree that ends before the query begins.
//
// Rules for callers:
// - The tree never owns, allocates or frees elements; an element must stay put and keep
//   its key while linked (change a key by remove, change, insert). verify() notices a key
//   that changed under the tree.
// - Nothing may insert or remove while a walk (iteration, for_each_overlap, iter_first/
//   iter_next) is under way; the element the walk stands on must stay linked too.
// - The destructor leaves elements alone (they may be gone already); clear() unlinks all.
// - Without NDEBUG, misuse that would corrupt a tree silently (double insert, remove of an
//   element that is not in this tree, poisoned nodes, start > last, changed element
//   layout) aborts with a message naming the element.

#pragma once

#include <bit>
#include <cinttypes>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "impl/rbtree.hpp"

namespace impl {

// The hook an element embeds, one per tree it can sit in (linked(), poison(), poisoned()
// and clear() come from rb::Node).
struct IntervalNode : rb::Node {
  std::uint64_t subtree_last = 0;  // max `last` of this node and everything below it

  IntervalNode() = default;
  // Like rb::Node: a copy starts unlinked, assignment leaves the target's node alone.
  IntervalNode(const IntervalNode&) noexcept : rb::Node() {}
  IntervalNode& operator=(const IntervalNode&) noexcept { return *this; }
};

template <class Traits, class T>
concept IntervalTraits = requires(const T& x) {
  { Traits::start(x) } -> std::convertible_to<std::uint64_t>;
  { Traits::last(x) } -> std::convertible_to<std::uint64_t>;
};

namespace interval_tree_detail {

// "[0x10, 0x1f]", the way messages name an element.
inline std::string describe(std::uint64_t start, std::uint64_t last) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "[0x%" PRIx64 ", 0x%" PRIx64 "]", start, last);
  return buf;
}

[[noreturn]] inline void fail(const char* what, std::uint64_t start, std::uint64_t last) {
  std::fprintf(stderr, "interval tree: %s: element %s\n", what, describe(start, last).c_str());
  std::abort();
}

// A valid red-black tree of fewer than 2^64 nodes is less deep than this; walks that
// guard against corrupted (cyclic) links stop here.
inline constexpr int max_depth = 128;

}  // namespace interval_tree_detail

template <class T, IntervalNode T::*Hook, class Traits>
requires IntervalTraits<Traits, T>
class IntervalTree {
 public:
  IntervalTree() = default;
  IntervalTree(const IntervalTree&) = delete;
  IntervalTree& operator=(const IntervalTree&) = delete;
  // Moving hands the elements over (no node points at the tree object itself).
  IntervalTree(IntervalTree&& other) noexcept
      : root_(std::exchange(other.root_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  // The target must be empty: its elements would otherwise be left linked to nothing.
  IntervalTree& operator=(IntervalTree&& other) noexcept {
    if (this != &other) {
#ifndef NDEBUG
      if (root_) fail("move-assignment onto a non-empty tree", elem(root_));
#endif
      root_ = std::exchange(other.root_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~IntervalTree() = default;

  bool empty() const { return root_ == nullptr; }
  std::size_t size() const { return size_; }

  // O(log n). `x` must be unlinked and have start <= last.
  void insert(T& x) {
    IntervalNode& node = x.*Hook;
    const std::uint64_t start = Traits::start(x);
    const std::uint64_t last = Traits::last(x);
#ifndef NDEBUG
    if (reinterpret_cast<char*>(&node) - reinterpret_cast<char*>(&x) != hook_offset())
      fail("element layout does not match the hook offset", x);
    if (node.poisoned()) fail("insert of a poisoned node (freed element?)", x);
    if (node.linked()) fail("insert of a node that is already linked (double insert?)", x);
    if (start > last) fail("insert of an interval whose start is above its last", x);
#endif
    rb::Node* parent = nullptr;
    rb::Node** slot = &root_;
    while (*slot) {
      parent = *slot;
      IntervalNode* p = inode(parent);
      if (p->subtree_last < last) p->subtree_last = last;  // x will sit below p
      slot = start < start_of(parent) ? &parent->left : &parent->right;
    }
    node.subtree_last = last;
    rb::link(&node, parent, slot);
    rb::insert_rebalance<Augment>(&node, root_);
    ++size_;
  }

  // O(log n). `x` must be linked in this tree; afterwards its node is unlinked.
  void remove(T& x) {
    IntervalNode& node = x.*Hook;
#ifndef NDEBUG
    if (node.poisoned()) fail("remove of a poisoned node (freed element?)", x);
    if (!node.linked()) fail("remove of a node that is not linked (double remove?)", x);
    if (!contains(x)) fail("remove of a node that is linked in another tree", x);
#endif
    rb::erase<Augment>(&node, root_);
    node.subtree_last = 0;
    --size_;
  }

  // Whether `x` sits in this tree: climbs from its node to a root, O(depth).
  bool contains(const T& x) const {
    const rb::Node* n = &(x.*Hook);
    if (!n->linked()) return false;
    for (int depth = 0; depth < interval_tree_detail::max_depth; ++depth) {
      if (!n->parent) return n == root_;
      if (n->parent == rb::Node::poison_pointer()) return false;
      n = n->parent;
    }
    return false;
  }

  // Unlinks every element, O(n).
  void clear() {
    clear_below(root_);
    root_ = nullptr;
    size_ = 0;
  }

  // ---- In-order walk (ascending start; equal starts in insertion order) ----

  T* first() { return mut(rb::leftmost(root_)); }
  const T* first() const { return ptr(rb::leftmost(root_)); }
  T* last() { return mut(rb::rightmost(root_)); }
  const T* last() const { return ptr(rb::rightmost(root_)); }
  // Neighbours of a linked element; nullptr past either end.
  static T* next(T& x) { return mut(rb::next(linked_node(x))); }
  static const T* next(const T& x) { return ptr(rb::next(linked_node(x))); }
  static T* prev(T& x) { return mut(rb::prev(linked_node(x))); }
  static const T* prev(const T& x) { return ptr(rb::prev(linked_node(x))); }

  template <bool Const>
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = std::conditional_t<Const, const T&, T&>;
    using pointer = std::conditional_t<Const, const T*, T*>;

    Iterator() = default;
    explicit Iterator(const rb::Node* n) : n_(n) {}
    operator Iterator<true>() const requires(!Const) { return Iterator<true>(n_); }

    reference operator*() const { return *mut(n_); }
    pointer operator->() const { return mut(n_); }
    Iterator& operator++() {
      n_ = rb::next(n_);
      return *this;
    }
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const Iterator&) const = default;

   private:
    const rb::Node* n_ = nullptr;
  };
  using iterator = Iterator<false>;
  using const_iterator = Iterator<true>;

  iterator begin() { return iterator(rb::leftmost(root_)); }
  iterator end() { return iterator(); }
  const_iterator begin() const { return const_iterator(rb::leftmost(root_)); }
  const_iterator end() const { return const_iterator(); }

  // ---- Overlap queries: elements with start <= b and a <= last, for a <= b ----

  // Calls fn(x) for every element x meeting [a, b], in ascending start order. fn may
  // return void, or bool: false stops the walk. Returns false iff fn stopped it. Visits
  // O(log n + k log(n/k)) nodes for k hits (never more than the tree).
  template <class Fn>
  bool for_each_overlap(std::uint64_t a, std::uint64_t b, Fn&& fn) {
    check_query(a, b);
    return visit_overlaps(root_, a, b, [&](const rb::Node* n) { return call(fn, *mut(n)); });
  }
  template <class Fn>
  bool for_each_overlap(std::uint64_t a, std::uint64_t b, Fn&& fn) const {
    check_query(a, b);
    return visit_overlaps(root_, a, b, [&](const rb::Node* n) { return call(fn, *ptr(n)); });
  }

  // The kernel-style cursor: the first element meeting [a, b], then the next one after
  // `x` (which must be linked and must itself have come from this walk). O(log n) each.
  //   for (Vma* v = t.iter_first(a, b); v; v = t.iter_next(*v, a, b)) ...
  T* iter_first(std::uint64_t a, std::uint64_t b) {
    check_query(a, b);
    return mut(first_overlap(root_, a, b));
  }
  const T* iter_first(std::uint64_t a, std::uint64_t b) const {
    check_query(a, b);
    return ptr(first_overlap(root_, a, b));
  }
  static T* iter_next(T& x, std::uint64_t a, std::uint64_t b) {
    check_query(a, b);
    return mut(next_overlap(linked_node(x), a, b));
  }
  static const T* iter_next(const T& x, std::uint64_t a, std::uint64_t b) {
    check_query(a, b);
    return ptr(next_overlap(linked_node(x), a, b));
  }

  // ---- Checks (for the checker and tests; never on hot paths) ----

  // nullopt when every invariant holds, else what is wrong, naming the element:
  // root black, no red node with a red child, equal black height on every path, parent
  // links agree with child links, no poisoned node linked, start <= last, starts
  // non-decreasing in order, subtree_last = max(last, children's subtree_last), and the
  // number of reachable elements equals size(). O(n).
  std::optional<std::string> verify() const {
    if (root_) {
      if (root_ == rb::Node::poison_pointer()) return "the root pointer is poisoned";
      if (!root_->poisoned() && !root_->parent && root_->color != rb::Color::black)
        return "root " + name(root_) + " is red";
    }
    VerifyWalk walk;
    if (walk_check(root_, nullptr, 0, walk) < 0) return walk.error;
    if (walk.count != size_)
      return "the tree holds " + std::to_string(walk.count) + " elements but size() is " +
             std::to_string(size_);
    return std::nullopt;
  }

  // Number of nodes on the longest root-to-leaf path (0 when empty). O(n).
  int height() const { return height_below(root_); }

 private:
  struct Augment {
    static std::uint64_t compute(const rb::Node* n) {
      std::uint64_t m = last_of(n);
      if (n->left && inode(n->left)->subtree_last > m) m = inode(n->left)->subtree_last;
      if (n->right && inode(n->right)->subtree_last > m) m = inode(n->right)->subtree_last;
      return m;
    }
    static void rotated(rb::Node* down, rb::Node* up) {
      inode(up)->subtree_last = inode(down)->subtree_last;
      inode(down)->subtree_last = compute(down);
    }
    // All the way up: an erased element's `last` may be counted in every ancestor, so a
    // level whose value did not change does not prove the levels above are right.
    static void propagate(rb::Node* n) {
      for (; n; n = n->parent) inode(n)->subtree_last = compute(n);
    }
  };

  // ---- Node <-> element ----

  // Where the hook sits inside T. A pointer to data member is that byte offset in the
  // Itanium C++ ABI (g++, clang++); insert() cross-checks it on every element in debug.
  static std::ptrdiff_t hook_offset() {
    static_assert(sizeof(Hook) == sizeof(std::ptrdiff_t),
                  "expects the Itanium C++ ABI layout of pointers to data members");
    return std::bit_cast<std::ptrdiff_t>(Hook);
  }
  static IntervalNode* inode(rb::Node* n) { return static_cast<IntervalNode*>(n); }
  static const IntervalNode* inode(const rb::Node* n) {
    return static_cast<const IntervalNode*>(n);
  }
  static const T* ptr(const rb::Node* n) {
    if (!n) return nullptr;
    return reinterpret_cast<const T*>(reinterpret_cast<const char*>(inode(n)) - hook_offset());
  }
  static T* mut(const rb::Node* n) { return const_cast<T*>(ptr(n)); }
  static const T& elem(const rb::Node* n) { return *ptr(n); }
  static std::uint64_t start_of(const rb::Node* n) { return Traits::start(elem(n)); }
  static std::uint64_t last_of(const rb::Node* n) { return Traits::last(elem(n)); }
  static std::uint64_t sub_last(const rb::Node* n) { return inode(n)->subtree_last; }
  static std::string name(const rb::Node* n) {
    return interval_tree_detail::describe(start_of(n), last_of(n));
  }

  [[noreturn]] static void fail(const char* what, const T& x) {
    interval_tree_detail::fail(what, Traits::start(x), Traits::last(x));
  }
  static const rb::Node* linked_node(const T& x) {
#ifndef NDEBUG
    if (!(x.*Hook).linked()) fail("stepping from a node that is not linked", x);
#endif
    return &(x.*Hook);
  }
  static void check_query([[maybe_unused]] std::uint64_t a, [[maybe_unused]] std::uint64_t b) {
#ifndef NDEBUG
    if (a > b) interval_tree_detail::fail("overlap query with a above b", a, b);
#endif
  }

  // ---- Overlap search ----

  // First node in order below `n` (n included) that meets [a, b], or nullptr.
  // Going left never needs undoing: if the left subtree reaches a (its subtree_last >= a),
  // it holds some y with last(y) >= a. Either start(y) <= b and y is a hit, so the first
  // hit is on the left; or start(y) > b, and then n and its right subtree, which start at
  // or after y, hold no hit either.
  static const rb::Node* first_overlap(const rb::Node* n, std::uint64_t a, std::uint64_t b) {
    if (!n || sub_last(n) < a) return nullptr;
    for (;;) {
      if (n->left && sub_last(n->left) >= a) {
        n = n->left;
        continue;
      }
      if (start_of(n) > b) return nullptr;  // n and all after it start too late
      if (last_of(n) >= a) return n;
      n = n->right;
      if (!n || sub_last(n) < a) return nullptr;
    }
  }

  // First node after `n` in order that meets [a, b]. The rest of the order is n's right
  // subtree, then each ancestor that has n on its left, followed by that ancestor's right
  // subtree. A right subtree that reaches a decides the answer (see first_overlap).
  static const rb::Node* next_overlap(const rb::Node* n, std::uint64_t a, std::uint64_t b) {
    for (;;) {
      if (n->right && sub_last(n->right) >= a) return first_overlap(n->right, a, b);
      const rb::Node* from;
      do {
        from = n;
        n = n->parent;
        if (!n) return nullptr;
      } while (n->right == from);
      if (start_of(n) > b) return nullptr;
      if (last_of(n) >= a) return n;
    }
  }

  // In-order walk of the hits below `n`, skipping subtrees that end before a and stopping
  // at the first node that starts after b. Recursion depth is the tree height.
  template <class Visit>
  static bool visit_overlaps(const rb::Node* n, std::uint64_t a, std::uint64_t b,
                             const Visit& visit) {
    while (n && sub_last(n) >= a) {
      if (!visit_overlaps(n->left, a, b, visit)) return false;
      if (start_of(n) > b) return true;
      if (last_of(n) >= a && !visit(n)) return false;
      n = n->right;
    }
    return true;
  }

  template <class Fn, class U>
  static bool call(Fn& fn, U& x) {
    if constexpr (std::is_void_v<std::invoke_result_t<Fn&, U&>>) {
      fn(x);
      return true;
    } else {
      return static_cast<bool>(fn(x));
    }
  }

  // ---- Whole-tree helpers ----

  static void clear_below(rb::Node* n) {
    while (n) {
      clear_below(n->left);
      rb::Node* right = n->right;
      n->clear();
      inode(n)->subtree_last = 0;
      n = right;
    }
  }

  static int height_below(const rb::Node* n) {
    if (!n) return 0;
    const int l = height_below(n->left), r = height_below(n->right);
    return 1 + (l > r ? l : r);
  }

  struct VerifyWalk {
    const rb::Node* prev = nullptr;  // previous node in order
    std::size_t count = 0;
    std::string error;
  };

  // Black height of the subtree at `n` (missing children count 0), or -1 with
  // walk.error set. Links are checked before they are followed, so a corrupted tree is
  // reported, not looped over: a child whose parent link disagrees is never entered.
  int walk_check(const rb::Node* n, const rb::Node* parent, int depth, VerifyWalk& walk) const {
    if (!n) return 0;
    auto bad = [&](std::string what) {
      walk.error = std::move(what);
      return -1;
    };
    if (n == rb::Node::poison_pointer())
      return bad("node " + name(parent) + " has a poisoned child link");
    if (n->poisoned()) return bad("node " + name(n) + " is poisoned but still linked");
    if (depth >= interval_tree_detail::max_depth)
      return bad("the tree is deeper than " + std::to_string(depth) + " levels at " + name(n));
    if (n->parent != parent) {
      if (!parent) return bad("root " + name(n) + " has a parent link");
      return bad("node " + name(n) + " is a child of " + name(parent) +
                 " but its parent link points elsewhere");
    }
    if (n->color != rb::Color::red && n->color != rb::Color::black)
      return bad("node " + name(n) + " has an invalid colour value " +
                 std::to_string(static_cast<int>(n->color)));
    if (n->left && n->left == n->right)
      return bad("node " + name(n) + " has the same node as both children");
    if (rb::is_red(n) && rb::is_red(parent))
      return bad("red node " + name(parent) + " has a red child " + name(n));

    const int left_height = walk_check(n->left, n, depth + 1, walk);
    if (left_height < 0) return -1;

    if (start_of(n) > last_of(n)) return bad("node " + name(n) + " has start above last");
    if (walk.prev && start_of(walk.prev) > start_of(n))
      return bad("in-order starts decrease: " + name(walk.prev) + " comes before " + name(n));
    walk.prev = n;
    if (++walk.count > size_)
      return bad("more elements are reachable than size() " + std::to_string(size_) + " (reached " +
                 name(n) + ")");

    const int right_height = walk_check(n->right, n, depth + 1, walk);
    if (right_height < 0) return -1;

    if (left_height != right_height)
      return bad("black height differs below " + name(n) + ": left " + std::to_string(left_height) +
                 ", right " + std::to_string(right_height));
    if (sub_last(n) != Augment::compute(n))
      return bad("subtree_last of " + name(n) + " is " + hex(sub_last(n)) + ", expected " +
                 hex(Augment::compute(n)));
    return left_height + (n->color == rb::Color::black ? 1 : 0);
  }

  static std::string hex(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
    return buf;
  }

  rb::Node* root_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace impl
