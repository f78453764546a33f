// VMA merges and splits as a table, in the style of the kernel's tools/testing/vma:
// every VMA-editing op × every geometry × every anon_vma state, each case with the
// exact extents it must leave. The model and the implementation must each give them,
// and the kernel must too where the oracle runs (it is where the table came from: each
// row was confirmed on Linux 6.18).
//
// mmap puts a new VMA between two; mremap grows, moves or shrinks one beside another.
// The flag edits work on three neighbouring VMAs, A [0x100,0x104), B [0x104,0x108) and
// C [0x108,0x10c), anon private rw. Each case makes B differ from its neighbours by the
// op's flag, possibly makes a neighbour incompatible by another flag (hugepage), puts
// the VMAs in an anon_vma state, and then applies the op that takes B's difference
// away over part or all of B.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "check/finding.hpp"
#include "impl/kernel.hpp"
#include "model/system.hpp"
#include "oracle/oracle.hpp"
#include "ops/layout_claim.hpp"
#include "ops/trace.hpp"

namespace {

struct LayoutCase {
  std::string name;   // "op/geometry/anon"
  std::string trace;  // setup, then the op under test last
  ops::Pid pid = 1;   // whose layout is stated
};

// ---- the flag edits ----

struct FlagEdit {
  std::string name;
  std::string base;                                   // after the mmap, on all three
  std::string (*differ)(const std::string& range);    // makes a range differ
  std::string (*undo)(const std::string& range);      // the op under test
};

const std::vector<FlagEdit>& flag_edits() {
  static const std::vector<FlagEdit> edits = {
      {"mprotect", "", [](const std::string& r) { return "mprotect 1 " + r + " rwx\n"; },
       [](const std::string& r) { return "mprotect P " + r + " rw\n"; }},
      {"mlock", "mlock 1 0x100 12\n", [](const std::string& r) { return "munlock 1 " + r + "\n"; },
       [](const std::string& r) { return "mlock P " + r + "\n"; }},
      {"munlock", "", [](const std::string& r) { return "mlock 1 " + r + "\n"; },
       [](const std::string& r) { return "munlock P " + r + "\n"; }},
      {"madvise", "", [](const std::string& r) { return "madvise 1 " + r + " dontfork\n"; },
       [](const std::string& r) { return "madvise P " + r + " dofork\n"; }},
  };
  return edits;
}

struct Geometry {
  std::string name;
  std::string incompatible;  // the neighbours that get hugepage, as ranges
  std::string range;         // where the op under test applies
};

const std::vector<Geometry>& geometries() {
  static const std::vector<Geometry> g = {
      {"both", "", "0x104 4"},                  // A and C match: all three merge
      {"prev", "0x108 4", "0x104 4"},           // only A matches
      {"next", "0x100 4", "0x104 4"},           // only C matches
      {"neither", "0x100 4,0x108 4", "0x104 4"},
      {"start", "", "0x104 2"},                 // the front of B, next to A
      {"end", "", "0x106 2"},                   // the back of B, next to C
      {"middle", "", "0x105 2"},                // inside B: B splits in three
  };
  return g;
}

// The anon_vma state, put in place around the flag edit: `before` runs after the mmap,
// `after` once B differs (and the neighbours are marked).
struct AnonState {
  std::string name;
  std::string before, after;
  bool in_child = false;  // fork, and apply the op in the child
};

const std::vector<AnonState>& anon_states() {
  static const std::vector<AnonState> a = {
      {"none", "", ""},
      {"same", "write 1 0x100 1\n", ""},                      // split from one faulted VMA
      {"middle-faulted", "", "write 1 0x105 2\n"},             // only B has one
      {"sides-faulted", "", "write 1 0x100 3\nwrite 1 0x10b 4\n"},  // A and C, each its own
      {"forked", "write 1 0x100 1\n", "fork 1\n", true},       // fork children, in the child
  };
  return a;
}

// The ops that make the geometry's incompatible neighbours differ (hugepage advice).
std::string mark_incompatible(const Geometry& g) {
  std::string out;
  for (size_t from = 0; from < g.incompatible.size();) {
    const size_t comma = g.incompatible.find(',', from);
    out += "madvise 1 " + g.incompatible.substr(from, comma - from) + " hugepage\n";
    from = comma == std::string::npos ? g.incompatible.size() : comma + 1;
  }
  return out;
}

std::string replace_pid(std::string op, ops::Pid pid) {
  op.replace(op.find(" P "), 3, " " + std::to_string(pid) + " ");
  return op;
}

std::vector<LayoutCase> flag_edit_cases() {
  std::vector<LayoutCase> out;
  for (const FlagEdit& e : flag_edits())
    for (const Geometry& g : geometries())
      for (const AnonState& a : anon_states()) {
        std::string t = "mmap 1 0x100 12 anon private rw\n" + e.base + a.before + e.differ("0x104 4");
        t += mark_incompatible(g);
        t += a.after;
        const ops::Pid pid = a.in_child ? 2 : 1;
        t += replace_pid(e.undo(g.range), pid);
        out.push_back({e.name + "/" + g.name + "/" + a.name, t, pid});
      }
  return out;
}

// ---- mremap ----

// A [0x100,0x104) and C [0x108,0x10c) with a gap between; what comes into the gap.
std::vector<LayoutCase> mremap_cases() {
  struct Shape {
    std::string name, setup_c;
  };
  const std::vector<Shape> shapes = {
      {"next", "mmap 1 0x108 4 anon private rw\n"},
      {"next-incompatible", "mmap 1 0x108 4 anon private rw\nmadvise 1 0x108 4 hugepage\n"},
      {"alone", ""},
  };
  const std::vector<AnonState> anon = {
      {"none", "", ""},
      {"moved-faulted", "write 1 0x101 1\n", ""},
      {"next-faulted", "", "write 1 0x109 2\n"},
      {"both-faulted", "write 1 0x101 1\n", "write 1 0x109 2\n"},
      {"forked", "write 1 0x101 1\n", "write 1 0x109 2\nfork 1\n", true},
  };
  struct Remap {
    std::string name, op;  // op: "mremap P ..."
  };
  // grow A in place into the gap; move a VMA from 0x200 into the gap; the same with
  // DONTUNMAP; shrink A.
  const std::vector<Remap> remaps = {
      {"grow", "mremap P 0x100 4 8\n"},
      {"move", "mremap P 0x200 4 4 to 0x104\n"},
      {"move-dontunmap", "mremap P 0x200 4 4 to 0x104 dontunmap\n"},
      {"shrink", "mremap P 0x100 4 2\n"},
  };
  std::vector<LayoutCase> out;
  for (const Remap& r : remaps)
    for (const Shape& s : shapes)
      for (const AnonState& a : anon) {
        std::string t = "mmap 1 0x100 4 anon private rw\n";
        // What moves comes from 0x200; its faults go there.
        std::string before = a.before;
        if (r.name.starts_with("move")) {
          t += "mmap 1 0x200 4 anon private rw\n";
          if (!before.empty()) before = "write 1 0x201 1\n";
        }
        t += before + s.setup_c + a.after;
        const ops::Pid pid = a.in_child ? 2 : 1;
        t += replace_pid(r.op, pid);
        out.push_back({"mremap-" + r.name + "/" + s.name + "/" + a.name, t, pid});
      }
  return out;
}

// ---- mmap ----

// A new mapping in the gap between A [0x100,0x104) and C [0x108,0x10c).
std::vector<LayoutCase> mmap_cases() {
  std::vector<LayoutCase> out;
  for (const Geometry& g : geometries()) {
    if (g.range != "0x104 4") continue;  // a new mapping fills the whole gap
    const std::vector<AnonState> states = {
        {"none", "", ""},
        {"sides-faulted", "write 1 0x100 1\nwrite 1 0x108 1\n", ""},  // A and C, each its own
        {"forked", "write 1 0x100 1\nwrite 1 0x108 1\n", "", true},
    };
    for (const AnonState& a : states) {
      std::string t = "mmap 1 0x100 4 anon private rw\nmmap 1 0x108 4 anon private rw\n" + a.before;
      t += mark_incompatible(g);
      if (a.in_child) t += "fork 1\n";
      const ops::Pid pid = a.in_child ? 2 : 1;
      t += "mmap " + std::to_string(pid) + " 0x104 4 anon private rw\n";
      out.push_back({"mmap/" + g.name + "/" + a.name, t, pid});
    }
  }
  return out;
}

std::vector<LayoutCase> all_cases() {
  std::vector<LayoutCase> out = flag_edit_cases();
  for (LayoutCase& c : mmap_cases()) out.push_back(std::move(c));
  for (LayoutCase& c : mremap_cases()) out.push_back(std::move(c));
  return out;
}

// ---- running a case ----

std::string model_layout(const LayoutCase& c) {
  model::System m{ops::Limits{}};
  for (const ops::Op& op : ops::parse_trace(c.trace).ops()) m.apply(op);
  EXPECT_EQ(m.check_vmas(), std::nullopt);
  return ops::layout_text(m.observe().vmas, c.pid);
}

std::string impl_layout(const LayoutCase& c) {
  impl::Kernel k{ops::Limits{}};
  for (const ops::Op& op : ops::parse_trace(c.trace).ops()) k.apply(op);
  EXPECT_EQ(k.check_invariants(), std::vector<std::string>{});
  return ops::layout_text(k.observe_page_tables().vmas, c.pid);
}

// The expected extents of each case's process after its last op, as Linux 6.18 left
// them (confirmed by the oracle test below).
const std::map<std::string, std::string>& expected_layouts();

// One test per side runs every case (a case each would be 600 test processes under
// ctest); a failure names the case and shows its trace.
std::string expected_for(const LayoutCase& c) {
  const auto it = expected_layouts().find(c.name);
  return it == expected_layouts().end() ? "(no expected layout for " + c.name + ")" : it->second;
}

TEST(VmaLayoutTable, TheModelLeavesTheKernelsExtentsInEveryCase) {
  for (const LayoutCase& c : all_cases()) EXPECT_EQ(model_layout(c), expected_for(c)) << c.name << "\n" << c.trace;
}

TEST(VmaLayoutTable, TheImplementationLeavesTheKernelsExtentsInEveryCase) {
  for (const LayoutCase& c : all_cases()) EXPECT_EQ(impl_layout(c), expected_for(c)) << c.name << "\n" << c.trace;
}

TEST(VmaLayoutTable, TheKernelAgreesWithTheModelInEveryCase) {
  if (!std::filesystem::exists("/proc/self/smaps") || !std::ifstream("/proc/self/pagemap"))
    GTEST_SKIP() << "no kernel oracle here";
  for (const LayoutCase& c : all_cases()) {
    const ops::Trace trace = ops::parse_trace(c.trace);
    const oracle::OracleRun run = oracle::run_oracle_confirmed(trace.ops(), ops::Limits{}, {});
    EXPECT_EQ(run.skipped(), 0u) << c.name << "\n" << c.trace;
    EXPECT_FALSE(run.difference) << c.name << "\n" << c.trace
                                 << (run.difference ? check::finding_text(*run.difference, "") : "");
  }
}

TEST(VmaLayoutTableItself, EveryExpectationBelongsToACase) {
  std::set<std::string> names;
  for (const LayoutCase& c : all_cases()) names.insert(c.name);
  for (const auto& [name, layout] : expected_layouts()) EXPECT_TRUE(names.count(name)) << name;
}

// Writes the table below from the model (RMAPCHECK_PRINT_LAYOUTS=1): for a new case,
// whose row is then checked against the kernel by the oracle test before it is kept.
TEST(VmaLayoutTableItself, PrintsItsRowsOnRequest) {
  if (!std::getenv("RMAPCHECK_PRINT_LAYOUTS")) GTEST_SKIP() << "set RMAPCHECK_PRINT_LAYOUTS=1 to print";
  for (const LayoutCase& c : all_cases()) std::printf("      {\"%s\", \"%s\"},\n", c.name.c_str(), model_layout(c).c_str());
}

// clang-format off
const std::map<std::string, std::string>& expected_layouts() {
  static const std::map<std::string, std::string> table = {
#include "vma_layout_table.inc"
  };
  return table;
}
// clang-format on

}  // namespace
