// docs/c_abi.md's SKU table against include/mhc/mhc.h and the library.
//
// Every `#define MHC_SKU_<X> 0x...u` of the header has exactly one row in the table of the section
// "### `mhc_sku_t`" of docs/c_abi.md, and the table has no row for an id the header lacks. Each row
// gives the id's value, its op (`MHC_OP_...`, as mhc_op_name says for the op byte of the id) and
// its name: the name must be what mhc_sku_name returns. A host-only build does not register the
// CUDA SKUs (mhc_sku_name gives NULL for them); there the documented name must appear quoted in
// src/cuda/skus/*.cu, where the CUDA SKUs are named. The host SKUs are registered in every build.
//
// A second case checks that every SKU-like name quoted in README.md and docs/c_abi.md
// ("host_fp64_...", `sm90_...`) is one of the documented names, so that no stale name survives in
// an example or a comment.
//
// MHC_DOC_C_ABI=<path> runs the checks on another copy of c_abi.md (to see the test fail on a
// broken copy without touching the real file).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "mhc/mhc.h"

namespace {

namespace fs = std::filesystem;

const std::string kSourceDir = MHC_SOURCE_DIR;

std::string doc_path() {
  const char* env = std::getenv("MHC_DOC_C_ABI");
  return env != nullptr && *env != '\0' ? std::string(env) : kSourceDir + "/docs/c_abi.md";
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) FAIL("cannot read " << path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

// ---- include/mhc/mhc.h -----------------------------------------------------------------------

struct HeaderSku {
  std::string macro;  // "MHC_SKU_HOST_PRE"
  uint32_t value;
  int line;
};

// Every `#define MHC_SKU_<X> 0x...u`. MHC_SKU_NONE (0u, "let select choose") is not a SKU.
std::vector<HeaderSku> header_skus() {
  const std::string path = kSourceDir + "/include/mhc/mhc.h";
  const std::regex define_re(R"(^\s*#\s*define\s+(MHC_SKU_[A-Za-z0-9_]+)\b(.*)$)");
  const std::regex value_re(R"(^\s+0[xX]([0-9A-Fa-f]+)[uU]?\b.*$)");
  std::vector<HeaderSku> skus;
  const auto lines = lines_of(read_text(path));
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (!std::regex_match(lines[i], m, define_re)) continue;
    const std::string macro = m[1];
    const std::string rest = m[2];
    if (macro == "MHC_SKU_NONE") continue;
    std::smatch v;
    if (!std::regex_match(rest, v, value_re))
      FAIL(path << ":" << i + 1 << ": cannot read the value of " << macro << " (expected `#define " << macro
                << " 0x........u`): " << lines[i]);
    skus.push_back({macro, static_cast<uint32_t>(std::stoul(v[1].str(), nullptr, 16)), static_cast<int>(i + 1)});
  }
  return skus;
}

// ---- docs/c_abi.md ---------------------------------------------------------------------------

struct DocRow {
  std::string macro;  // "MHC_SKU_HOST_PRE"
  uint32_t value;
  std::string name;   // "host_fp64_pre"
  std::string op_cell;
  int line;
};

// The cells of a Markdown table row "| a | b | c |" (no escaped pipes in this table).
std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::string s = trim(line);
  if (!s.empty() && s.front() == '|') s.erase(0, 1);
  if (!s.empty() && s.back() == '|') s.pop_back();
  std::string cell;
  std::istringstream in(s);
  while (std::getline(in, cell, '|')) cells.push_back(trim(cell));
  return cells;
}

// The rows of every table in the section whose heading starts "### `mhc_sku_t`", up to the next
// "## " or "### " heading. A row is a SKU row when its first cell names `MHC_SKU_...`.
std::vector<DocRow> doc_rows(const std::string& path) {
  const auto lines = lines_of(read_text(path));
  size_t begin = lines.size();
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines[i].rfind("### `mhc_sku_t`", 0) == 0) {
      begin = i + 1;
      break;
    }
  if (begin == lines.size()) FAIL(path << ": no section heading starting with \"### `mhc_sku_t`\" (the SKU table)");

  const std::regex id_re(R"(`(MHC_SKU_[A-Za-z0-9_]+)`\s*(0[xX][0-9A-Fa-f]+)?)");
  const std::regex name_re(R"(`([^`]+)`)");
  std::vector<DocRow> rows;
  for (size_t i = begin; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.rfind("## ", 0) == 0 || line.rfind("### ", 0) == 0) break;
    if (trim(line).rfind('|', 0) != 0) continue;
    const auto cells = cells_of(line);
    if (cells.empty() || cells[0].find("`MHC_SKU_") == std::string::npos) continue;  // header, separator
    const std::string where = path + ":" + std::to_string(i + 1);
    if (cells.size() < 3)
      FAIL(where << ": a SKU row needs at least 3 cells (id and value | name | op): " << line);
    std::smatch id;
    if (!std::regex_search(cells[0], id, id_re) || !id[2].matched)
      FAIL(where << ": the first cell must be `MHC_SKU_<X>` followed by its value 0x........: " << line);
    std::smatch name;
    if (!std::regex_search(cells[1], name, name_re))
      FAIL(where << ": the second cell must give the SKU's name in backticks: " << line);
    rows.push_back({id[1], static_cast<uint32_t>(std::stoul(id[2].str(), nullptr, 16)), name[1], cells[2],
                    static_cast<int>(i + 1)});
  }
  if (rows.empty()) FAIL(path << ": the `mhc_sku_t` section has no table row naming `MHC_SKU_...`");
  return rows;
}

// ---- src/cuda/skus/*.cu ----------------------------------------------------------------------

std::string cuda_sku_sources() {
  const fs::path dir = fs::path(kSourceDir) / "src" / "cuda" / "skus";
  if (!fs::is_directory(dir)) FAIL(dir.string() << " is not a directory: cannot check the CUDA SKU names");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".cu") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) FAIL("no " << dir.string() << "/*.cu: cannot check the CUDA SKU names");
  std::string all;
  for (const auto& f : files) all += read_text(f.string()) + "\n";
  return all;
}

}  // namespace

TEST_CASE("docs/c_abi.md lists exactly the SKUs of mhc.h, with the library's names", "[docs]") {
  const auto header = header_skus();
  REQUIRE(!header.empty());
  const std::string path = doc_path();
  const auto rows = doc_rows(path);

  std::map<std::string, const HeaderSku*> by_macro;
  for (const auto& h : header) {
    INFO("include/mhc/mhc.h:" << h.line << ": " << h.macro << " is defined twice");
    CHECK(by_macro.emplace(h.macro, &h).second);
  }

  std::map<std::string, const DocRow*> documented;
  std::set<std::string> names;
  for (const auto& r : rows) {
    const std::string where = path + ":" + std::to_string(r.line);
    {
      INFO(where << ": a second row for " << r.macro);
      CHECK(documented.emplace(r.macro, &r).second);
    }
    {
      INFO(where << ": the name `" << r.name << "` is documented for two SKUs");
      CHECK(names.insert(r.name).second);
    }
    const auto h = by_macro.find(r.macro);
    if (h == by_macro.end()) {
      FAIL_CHECK(where << ": a row for " << r.macro << ", which include/mhc/mhc.h does not define");
      continue;
    }
    INFO(where << ": " << r.macro << " is " << hex(h->second->value) << " in include/mhc/mhc.h, the row says "
               << hex(r.value));
    CHECK(r.value == h->second->value);
  }

  std::string missing;
  for (const auto& h : header)
    if (documented.find(h.macro) == documented.end())
      missing += "\n  " + h.macro + " " + hex(h.value) + " (include/mhc/mhc.h:" + std::to_string(h.line) + ")";
  INFO(path << " has no row in the `mhc_sku_t` table for:" << missing);
  CHECK(missing.empty());
}

TEST_CASE("each documented SKU has the op and name the library gives it", "[docs]") {
  const auto header = header_skus();
  const std::string path = doc_path();
  const auto rows = doc_rows(path);
  std::map<std::string, uint32_t> value_of;
  for (const auto& h : header) value_of[h.macro] = h.value;

  std::string sources;  // src/cuda/skus/*.cu, read when a CUDA SKU is not registered in this build
  int from_library = 0, from_sources = 0;
  for (const auto& r : rows) {
    const auto v = value_of.find(r.macro);
    if (v == value_of.end()) continue;  // reported by the first case
    const uint32_t id = v->second;
    const std::string where = path + ":" + std::to_string(r.line) + ": " + r.macro;

    // The op: the id is (backend/arch << 16) | (op << 8) | variant.
    const char* op = mhc_op_name(static_cast<mhc_op_t>((id >> 8) & 0xffu));
    if (op == nullptr) {
      FAIL_CHECK(where << ": op byte " << ((id >> 8) & 0xffu) << " of " << hex(id) << " is no op (mhc_op_name)");
    } else {
      INFO(where << ": the op cell must name `" << op << "`; it says: " << r.op_cell);
      CHECK(r.op_cell.find(std::string("`") + op + "`") != std::string::npos);
    }

    const char* name = mhc_sku_name(id);
    if (name != nullptr) {
      ++from_library;
      INFO(where << ": documented as `" << r.name << "`, mhc_sku_name(" << hex(id) << ") is \"" << name << "\"");
      CHECK(r.name == name);
      continue;
    }
    if ((id >> 16) == 0x0001u) {
      FAIL_CHECK(where << ": a host SKU id (" << hex(id) << ") but mhc_sku_name returns NULL: the host backend "
                       << "registers every host SKU in every build");
      continue;
    }
    // A CUDA SKU in a host-only build: the name as the CUDA registry spells it in its sources.
    if (sources.empty()) sources = cuda_sku_sources();
    ++from_sources;
    INFO(where << ": mhc_sku_name(" << hex(id) << ") is NULL (a host-only build), and the documented name \""
               << r.name << "\" appears in no src/cuda/skus/*.cu (quoted)");
    CHECK(sources.find("\"" + r.name + "\"") != std::string::npos);
  }
  std::printf("test_docs_skus: %zu documented SKUs; names checked with mhc_sku_name: %d, against "
              "src/cuda/skus/*.cu: %d\n",
              rows.size(), from_library, from_sources);
}

TEST_CASE("SKU names quoted in README.md and docs/c_abi.md are documented SKUs", "[docs]") {
  std::set<std::string> names;
  for (const auto& r : doc_rows(doc_path())) names.insert(r.name);

  // A whole quoted token that looks like a SKU name: "host_fp64_pre", `sm90_tf32_pre_splitk_pdl`.
  const std::regex sku_like(R"([`"]((?:host_fp64|sm[0-9]{2,3})_[a-z0-9_]+)[`"])");
  for (const std::string& path : {kSourceDir + "/README.md", doc_path()}) {
    const auto lines = lines_of(read_text(path));
    for (size_t i = 0; i < lines.size(); ++i) {
      for (std::sregex_iterator it(lines[i].begin(), lines[i].end(), sku_like), end; it != end; ++it) {
        const std::string name = (*it)[1];
        INFO(path << ":" << i + 1 << ": \"" << name << "\" looks like a SKU name but is not in the `mhc_sku_t` "
                  << "table of docs/c_abi.md: " << lines[i]);
        CHECK(names.count(name) == 1);
      }
    }
  }
}
