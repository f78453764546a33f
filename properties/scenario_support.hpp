#pragma once
// Scenario tests: a trace of corpus/regressions/ is replayed through model::System with
// the limits of its `# limits:` line, every `# = RESULT` is checked, and the test then
// asks questions of the observation, through matchers that read as a specification:
//
//   const Scenario s = replay_scenario("anon-fork-cow-isolation");
//   const World& w = s.at("shared");
//   EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}, {2, 0x100}}, .value = 7}));
//   EXPECT_THAT(w.page(2, 0x101), StateIs(PteState::none));
//
// A checkpoint is a comment-only line `# @NAME: what holds here`; the observation after
// the ops above it is kept under NAME. s.final() is the observation after the last op.
// Every matcher prints the page it was asked about and the whole observation it came
// from when it fails.
//
// Header-only, so that the one test binary built from properties/*_test.cpp needs no
// extra source file.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/system.hpp"
#include "ops/limits.hpp"
#include "ops/limits_text.hpp"
#include "ops/number_text.hpp"
#include "ops/observation.hpp"
#include "ops/trace.hpp"
#include "ops/types.hpp"

namespace scenario {

using ops::FrameKind;
using ops::PageKey;
using ops::Pid;
using ops::PteState;
using ops::Vpn;

// ---- text ----

inline std::string key_text(const PageKey& k) {
  std::string s = "(";
  ((s += std::to_string(k.first)) += ',') += ops::hex_text(k.second);
  return s += ')';
}

inline std::string pages_text(const std::vector<PageKey>& pages) {
  std::string s = "{";
  for (size_t i = 0; i < pages.size(); ++i) {
    if (i) s += ',';
    s += key_text(pages[i]);
  }
  return s += '}';
}

inline std::string_view kind_text(FrameKind k) {
  switch (k) {
    case FrameKind::anon:
      return "anon";
    case FrameKind::file:
      return "file";
    case FrameKind::shmem:
      return "shmem";
    case FrameKind::ksm:
      return "ksm";
  }
  return "?";
}

inline std::string_view state_text(PteState s) {
  switch (s) {
    case PteState::none:
      return "none";
    case PteState::zero:
      return "zero";
    case PteState::present:
      return "present";
    case PteState::swapped:
      return "swapped";
  }
  return "?";
}

// "anon private rw", "file:0@3 private r", "shmem@1 shared rw locked": the backing (with
// this page's offset in its object), private/shared, prot, then the flags that are set.
inline std::string vma_text(const ops::VmaAttrs& a) {
  std::string s;
  switch (a.kind) {
    case ops::MapKind::anon:
      s = "anon";
      break;
    case ops::MapKind::file:
      s = "file:" + std::to_string(a.file) + "@" + std::to_string(a.pgoff);
      break;
    case ops::MapKind::shmem:
      s = "shmem@" + std::to_string(a.pgoff);
      break;
  }
  s += a.shared ? " shared " : " private ";
  s += ops::prot_name(a.prot);
  if (a.locked) s += " locked";
  if (a.dontfork) s += " dontfork";
  if (a.wipeonfork) s += " wipeonfork";
  if (a.mergeable) s += " mergeable";
  if (a.hugepage) s += " hugepage";
  return s;
}

inline std::string class_text(const ops::FrameClass& c) {
  std::string s = pages_text(c.pages) + " " + std::string(kind_text(c.kind)) +
                  " value=" + std::to_string(c.value) + " mapcount=" + std::to_string(c.mapcount);
  if (c.pmd_mapped) s += " pmd";
  if (c.folio) s += " folio#" + std::to_string(c.folio);
  if (c.mlocked) s += " mlocked";
  if (c.pins) s += " pins=" + std::to_string(c.pins);
  return s;
}

// ---- one observation ----

class World;

// What a test asks about: a page, the frame class holding it, the large folio holding
// that, its swap class, or the whole swap partition. Each remembers its World so that a
// failing matcher can print the observation.
struct PageRef {
  const World* world;
  PageKey key;
};
struct ClassRef {
  const World* world;
  PageKey key;
};
struct FolioRef {
  const World* world;
  PageKey key;
};
struct SwapRef {
  const World* world;
  PageKey key;
};
struct SwapPartitionRef {
  const World* world;
};

class World {
 public:
  World() = default;
  World(std::string label, ops::Observation obs) : label_(std::move(label)), obs_(std::move(obs)) {}

  const std::string& label() const { return label_; }
  const ops::Observation& observation() const { return obs_; }

  PageRef page(Pid pid, Vpn vpn) const { return {this, {pid, vpn}}; }
  ClassRef class_of(Pid pid, Vpn vpn) const { return {this, {pid, vpn}}; }
  FolioRef folio_of(Pid pid, Vpn vpn) const { return {this, {pid, vpn}}; }
  SwapRef swap_of(Pid pid, Vpn vpn) const { return {this, {pid, vpn}}; }
  SwapPartitionRef swap_partition() const { return {this}; }

  const ops::PageObs* find_page(const PageKey& k) const {
    for (const ops::PageObs& p : obs_.pages)
      if (p.pid == k.first && p.vpn == k.second) return &p;
    return nullptr;
  }
  const ops::FrameClass* find_class(const PageKey& k) const {
    for (const ops::FrameClass& c : obs_.frames)
      if (std::find(c.pages.begin(), c.pages.end(), k) != c.pages.end()) return &c;
    return nullptr;
  }
  const ops::SwapClass* find_swap(const PageKey& k) const {
    for (const ops::SwapClass& c : obs_.swap)
      if (std::find(c.pages.begin(), c.pages.end(), k) != c.pages.end()) return &c;
    return nullptr;
  }
  // Every page of every class in the large folio that holds k's frame (just k's class
  // for a small folio); empty if k is not present.
  std::vector<PageKey> folio_pages(const PageKey& k) const {
    const ops::FrameClass* mine = find_class(k);
    if (!mine) return {};
    if (mine->folio == 0) return mine->pages;
    std::vector<PageKey> out;
    for (const ops::FrameClass& c : obs_.frames)
      if (c.folio == mine->folio) out.insert(out.end(), c.pages.begin(), c.pages.end());
    std::sort(out.begin(), out.end());
    return out;
  }

  // "(1,0x100) anon private rw: present" or "(1,0x100): not mapped".
  std::string page_text(const PageKey& k) const {
    const ops::PageObs* p = find_page(k);
    if (!p) return key_text(k) + ": not mapped";
    return key_text(k) + " " + vma_text(p->vma) + ": " + std::string(state_text(p->state));
  }

  // The whole observation, one page, class or swap slot a line.
  std::string describe() const {
    std::ostringstream os;
    os << "observation " << label_ << "\n  pages:\n";
    for (const ops::PageObs& p : obs_.pages) os << "    " << page_text({p.pid, p.vpn}) << "\n";
    os << "  frames:\n";
    for (const ops::FrameClass& c : obs_.frames) os << "    " << class_text(c) << "\n";
    os << "  swap:\n";
    for (const ops::SwapClass& c : obs_.swap) os << "    " << pages_text(c.pages) << "\n";
    return os.str();
  }

 private:
  std::string label_;
  ops::Observation obs_;
};

// gmock prints these as the "Actual:" of a failed expectation; the matcher then adds
// why it failed and the whole observation.
inline void PrintTo(const PageRef& r, std::ostream* os) { *os << r.world->page_text(r.key); }
inline void PrintTo(const ClassRef& r, std::ostream* os) {
  const ops::FrameClass* c = r.world->find_class(r.key);
  *os << "the class of " << key_text(r.key) << ": "
      << (c ? class_text(*c) : "none (" + r.world->page_text(r.key) + ")");
}
inline void PrintTo(const FolioRef& r, std::ostream* os) {
  *os << "the folio of " << key_text(r.key) << ": " << pages_text(r.world->folio_pages(r.key));
}
inline void PrintTo(const SwapRef& r, std::ostream* os) {
  const ops::SwapClass* c = r.world->find_swap(r.key);
  *os << "the swap class of " << key_text(r.key) << ": "
      << (c ? pages_text(c->pages) : "none (" + r.world->page_text(r.key) + ")");
}
inline void PrintTo(const SwapPartitionRef& r, std::ostream* os) {
  *os << "the swap partition {";
  const auto& swap = r.world->observation().swap;
  for (size_t i = 0; i < swap.size(); ++i) *os << (i ? ", " : "") << pages_text(swap[i].pages);
  *os << "}";
}

// ---- matchers ----

// A matcher from a check that explains itself: it writes why it failed (or, negated,
// why it held) to the stream it is given.
template <class Ref>
class CheckMatcher : public testing::MatcherInterface<const Ref&> {
 public:
  using Check = std::function<bool(const Ref&, std::ostream&)>;
  CheckMatcher(std::string what, Check check) : what_(std::move(what)), check_(std::move(check)) {}
  bool MatchAndExplain(const Ref& r, testing::MatchResultListener* listener) const override {
    std::ostringstream why;
    bool ok = check_(r, why);
    *listener << why.str();
    if (!ok) *listener << "\n" << r.world->describe();
    return ok;
  }
  void DescribeTo(std::ostream* os) const override { *os << what_; }
  void DescribeNegationTo(std::ostream* os) const override { *os << "not: " << what_; }

 private:
  std::string what_;
  Check check_;
};

template <class Ref>
testing::Matcher<const Ref&> make_matcher(std::string what,
                                          typename CheckMatcher<Ref>::Check check) {
  return testing::MakeMatcher(new CheckMatcher<Ref>(std::move(what), std::move(check)));
}

inline std::vector<PageKey> sorted(std::vector<PageKey> pages) {
  std::sort(pages.begin(), pages.end());
  return pages;
}

// The PTE state of a mapped page (none, zero, present, swapped).
inline testing::Matcher<const PageRef&> StateIs(PteState want) {
  return make_matcher<PageRef>("is mapped with PTE state " + std::string(state_text(want)),
                               [want](const PageRef& r, std::ostream& why) {
                                 const ops::PageObs* p = r.world->find_page(r.key);
                                 if (!p) {
                                   why << "it is not mapped";
                                   return false;
                                 }
                                 why << "its state is " << state_text(p->state);
                                 return p->state == want;
                               });
}

// No VMA covers the page.
inline testing::Matcher<const PageRef&> Unmapped() {
  return make_matcher<PageRef>("is not mapped", [](const PageRef& r, std::ostream& why) {
    const ops::PageObs* p = r.world->find_page(r.key);
    if (p) why << "it is mapped: " << r.world->page_text(r.key);
    return p == nullptr;
  });
}

// The page's VMA attributes, written as vma_text() writes them: "anon private rw locked".
inline testing::Matcher<const PageRef&> VmaIs(std::string want) {
  return make_matcher<PageRef>("lies in a VMA \"" + want + "\"",
                               [want](const PageRef& r, std::ostream& why) {
                                 const ops::PageObs* p = r.world->find_page(r.key);
                                 if (!p) {
                                   why << "it is not mapped";
                                   return false;
                                 }
                                 why << "its VMA is \"" << vma_text(p->vma) << "\"";
                                 return vma_text(p->vma) == want;
                               });
}

// Exactly these pages share the frame (in any order).
inline testing::Matcher<const ClassRef&> ClassIs(std::vector<PageKey> want) {
  want = sorted(std::move(want));
  return make_matcher<ClassRef>("is the class " + pages_text(want),
                                [want](const ClassRef& r, std::ostream& why) {
                                  const ops::FrameClass* c = r.world->find_class(r.key);
                                  if (!c) {
                                    why << "the page is not present";
                                    return false;
                                  }
                                  why << "the class is " << pages_text(c->pages);
                                  return c->pages == want;
                                });
}

// Everything the observation says about one frame. Defaults describe a private anon
// page in a small folio: no PMD, no mlock, no pins, mapcount = the number of pages.
struct ClassSpec {
  std::vector<PageKey> pages = {};
  FrameKind kind = FrameKind::anon;
  uint64_t value = 0;
  std::optional<unsigned> mapcount = std::nullopt;  // default: pages.size()
  bool pmd_mapped = false;
  bool large_folio = false;  // part of a large folio (see FolioIs for which)
  bool mlocked = false;
  unsigned pins = 0;
};

inline std::string spec_text(const ClassSpec& spec, unsigned mapcount) {
  std::string s = pages_text(spec.pages) + " " + std::string(kind_text(spec.kind)) +
                  " value=" + std::to_string(spec.value) + " mapcount=" + std::to_string(mapcount);
  s += spec.pmd_mapped ? " pmd" : " not-pmd";
  s += spec.large_folio ? " large-folio" : " small-folio";
  s += spec.mlocked ? " mlocked" : " not-mlocked";
  return s + " pins=" + std::to_string(spec.pins);
}

inline testing::Matcher<const ClassRef&> IsFrame(ClassSpec spec) {
  spec.pages = sorted(std::move(spec.pages));
  const unsigned mapcount = spec.mapcount.value_or(static_cast<unsigned>(spec.pages.size()));
  return make_matcher<ClassRef>(
      "is the class " + spec_text(spec, mapcount),
      [spec, mapcount](const ClassRef& r, std::ostream& why) {
        const ops::FrameClass* c = r.world->find_class(r.key);
        if (!c) {
          why << "the page is not present";
          return false;
        }
        std::vector<std::string> wrong;
        auto check = [&](std::string_view field, auto got, auto expected) {
          if (got == expected) return;
          std::ostringstream s;
          s << std::boolalpha << field << " is " << got << " (expected " << expected << ")";
          wrong.push_back(s.str());
        };
        check("class", pages_text(c->pages), pages_text(spec.pages));
        check("kind", kind_text(c->kind), kind_text(spec.kind));
        check("value", c->value, spec.value);
        check("mapcount", c->mapcount, mapcount);
        check("pmd_mapped", c->pmd_mapped, spec.pmd_mapped);
        check("large folio", c->folio != 0, spec.large_folio);
        check("mlocked", c->mlocked, spec.mlocked);
        check("pins", c->pins, spec.pins);
        for (size_t i = 0; i < wrong.size(); ++i) why << (i ? ", " : "") << wrong[i];
        return wrong.empty();
      });
}

// Exactly these pages are mapped from the large folio holding the page's frame.
inline testing::Matcher<const FolioRef&> FolioIs(std::vector<PageKey> want) {
  want = sorted(std::move(want));
  return make_matcher<FolioRef>("is a large folio mapped at " + pages_text(want),
                                [want](const FolioRef& r, std::ostream& why) {
                                  const ops::FrameClass* c = r.world->find_class(r.key);
                                  if (!c || c->folio == 0) {
                                    why << (c ? "it is a small folio" : "the page is not present");
                                    return false;
                                  }
                                  auto got = r.world->folio_pages(r.key);
                                  why << "the folio is mapped at " << pages_text(got);
                                  return got == want;
                                });
}

// Exactly these pages hold swap entries for the page's slot.
inline testing::Matcher<const SwapRef&> SwapClassIs(std::vector<PageKey> want) {
  want = sorted(std::move(want));
  return make_matcher<SwapRef>("is the swap class " + pages_text(want),
                               [want](const SwapRef& r, std::ostream& why) {
                                 const ops::SwapClass* c = r.world->find_swap(r.key);
                                 if (!c) {
                                   why << "the page is not swapped";
                                   return false;
                                 }
                                 why << "the swap class is " << pages_text(c->pages);
                                 return c->pages == want;
                               });
}

// The whole partition of swapped pages by slot (classes in any order).
inline testing::Matcher<const SwapPartitionRef&> SwapPartitionIs(
    std::vector<std::vector<PageKey>> want) {
  for (auto& c : want) c = sorted(std::move(c));
  std::sort(want.begin(), want.end());
  std::string what = "is the swap partition {";
  for (size_t i = 0; i < want.size(); ++i) what += (i ? ", " : "") + pages_text(want[i]);
  what += "}";
  return make_matcher<SwapPartitionRef>(what, [want](const SwapPartitionRef& r, std::ostream&) {
    std::vector<std::vector<PageKey>> got;
    for (const ops::SwapClass& c : r.world->observation().swap) got.push_back(c.pages);
    std::sort(got.begin(), got.end());
    return got == want;
  });
}

// ---- replaying a trace ----

class Scenario {
 public:
  // Loads, checks and replays one trace file. Every `# = RESULT` that does not hold is a
  // test failure naming the trace line; a file that cannot be read or parsed, or bad
  // limits, throw (GoogleTest reports the message and ends the test).
  static Scenario replay_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    ops::Trace trace;
    try {
      trace = ops::parse_trace(text.str());
    } catch (const ops::ParseError& e) {
      throw std::runtime_error(path + ": " + e.what());  // what(): "line L, column C: ..."
    }
    EXPECT_EQ(ops::print_trace(trace), text.str()) << path << " does not print back to itself";

    Scenario s;
    s.name_ = path.substr(path.find_last_of('/') + 1);
    s.limits_ = ops::limits_from_trace(trace, ops::Limits{});
    ops::validate_limits(s.limits_);
    model::System system(s.limits_);
    for (size_t i = 0; i < trace.lines.size(); ++i) {
      const ops::Line& line = trace.lines[i];
      const std::string where = path + ":" + std::to_string(i + 1);
      if (!line.op) {
        if (auto name = checkpoint_name(line.comment)) {
          EXPECT_FALSE(s.checkpoints_.count(*name))
              << where << ": checkpoint @" << *name << " twice";
          s.checkpoints_[*name] = World(s.name_ + " @" + *name, system.observe());
        }
        continue;
      }
      ops::Result result;
      try {
        result = system.apply(*line.op);
      } catch (const std::exception& e) {
        throw std::runtime_error(where + ": " + ops::print_op(*line.op) +
                                 ": the model threw: " + e.what());
      }
      if (line.expect && !(*line.expect == result)) {
        ADD_FAILURE() << where << ": " << ops::print_op(*line.op) << "\n  expected "
                      << ops::result_text(*line.expect) << ", actual " << ops::result_text(result);
      }
    }
    s.final_ = World(s.name_ + " at the end", system.observe());
    return s;
  }

  const World& at(std::string_view checkpoint) const {
    auto it = checkpoints_.find(std::string(checkpoint));
    if (it == checkpoints_.end()) {
      std::string known;
      for (const auto& [name, w] : checkpoints_) known += " @" + name;
      throw std::out_of_range(name_ + " has no checkpoint @" + std::string(checkpoint) +
                              " (it has:" + known + ")");
    }
    return it->second;
  }
  const World& final() const { return final_; }
  const ops::Limits& limits() const { return limits_; }

  // "# @NAME: ..." -> NAME.
  static std::optional<std::string> checkpoint_name(std::string_view comment) {
    if (!comment.starts_with("# @")) return std::nullopt;
    comment.remove_prefix(3);
    size_t end = comment.find(':');
    if (end == 0 || end == std::string_view::npos) return std::nullopt;
    return std::string(comment.substr(0, end));
  }

 private:
  std::string name_;
  ops::Limits limits_;
  std::map<std::string, World> checkpoints_;
  World final_;
};

}  // namespace scenario
