// The layout rules of docs/architecture.md, checked on the sources: only the op cards (src/ops)
// decide per op (no MHC_OP_* anywhere else under src/; the C layer in capi/ only forwards), every
// op of op_list.def has its card, host reference, CUDA SKU file, tests and page, all named by its
// tag, and src/cuda/kernels holds only <arch>_<dtype>_<what> files.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = MHC_SOURCE_DIR;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> op_tags() {
  std::vector<std::string> tags;
  const std::string def = read(kRoot / "src/ops/op_list.def");
  const std::regex line(R"(^MHC_OP_CARD\((\w+)\))");
  std::istringstream in(def);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, line)) tags.push_back(m[1]);
  }
  return tags;
}

}  // namespace

TEST_CASE("source rules: MHC_OP_* appears under src/ only in the op cards", "[rules]") {
  std::vector<std::string> offenders;
  for (const auto& e : fs::recursive_directory_iterator(kRoot / "src")) {
    if (!e.is_regular_file()) continue;
    const fs::path rel = fs::relative(e.path(), kRoot);
    if (rel.string().rfind("src/ops/", 0) == 0) continue;
    std::istringstream in(read(e.path()));
    int n = 0;
    for (std::string l; std::getline(in, l);) {
      ++n;
      if (l.find("MHC_OP_") != std::string::npos && l.find("MHC_OP_CARD") == std::string::npos)
        offenders.push_back(rel.string() + ":" + std::to_string(n) + ": " + l);
    }
  }
  for (const auto& o : offenders) UNSCOPED_INFO(o);
  CHECK(offenders.empty());
}

TEST_CASE("source rules: every op has its files, named by its tag", "[rules]") {
  const auto tags = op_tags();
  REQUIRE(tags.size() >= 9);
  for (const std::string& tag : tags) {
    INFO(tag);
    CHECK(fs::exists(kRoot / "src/ops" / (tag + ".cpp")));
    CHECK(fs::exists(kRoot / "src/host" / (tag + ".cpp")));
    CHECK(fs::exists(kRoot / "src/cuda/skus" / (tag + ".cu")));
    CHECK(fs::exists(kRoot / "tests" / ("test_" + tag + ".cpp")));
    CHECK(fs::exists(kRoot / "docs/ops" / (tag + ".md")));
    // The card file defines the card of that tag.
    CHECK(read(kRoot / "src/ops" / (tag + ".cpp")).find("const OpCard card_" + tag) != std::string::npos);
  }
}

TEST_CASE("source rules: kernel files are named <arch>_<dtype>_<what>", "[rules]") {
  const std::regex name(R"(sm\d{2,3}a?_(bf16|f32|f32acc|tf32|f16|fp8)_[a-z0-9_]+\.(cu|cuh))");
  int count = 0;
  for (const auto& e : fs::directory_iterator(kRoot / "src/cuda/kernels")) {
    const std::string f = e.path().filename().string();
    INFO(f);
    CHECK(std::regex_match(f, name));
    ++count;
  }
  CHECK(count > 0);
}

TEST_CASE("source rules: project files cite only documents a user has", "[rules]") {
  // The specification a user reads is docs/ (numerics.md, performance.md, ...); names of files
  // that only the developers have must not appear. Built by parts so this file does not match.
  const std::regex internal(std::string("\\b(MATH|PERF)") + "\\.md\\b|shared/(spec|research|seeds)");
  std::vector<std::string> offenders;
  auto scan = [&](const fs::path& p) {
    if (fs::file_size(p) > (1u << 20)) return;
    std::istringstream in(read(p));
    int n = 0;
    for (std::string l; std::getline(in, l);)
      if (++n && std::regex_search(l, internal))
        offenders.push_back(fs::relative(p, kRoot).string() + ":" + std::to_string(n) + ": " + l);
  };
  for (const char* f : {"README.md", "CMakeLists.txt"}) scan(kRoot / f);
  for (const char* dir : {"src", "include", "capi", "tests", "docs", "bench", "examples", "bindings", "scripts"}) {
    if (!fs::exists(kRoot / dir)) continue;
    for (auto it = fs::recursive_directory_iterator(kRoot / dir); it != fs::recursive_directory_iterator(); ++it) {
      const std::string name = it->path().filename().string();
      if (it->is_directory() && (name == "target" || name == "__pycache__" || name[0] == '.'))
        it.disable_recursion_pending();
      else if (it->is_regular_file())
        scan(it->path());
    }
  }
  for (const auto& o : offenders) UNSCOPED_INFO(o);
  CHECK(offenders.empty());
}
