// The card list (op_list.def order) and lookups by id.
#include <string>

#include "op_card.hpp"

namespace mhc {
namespace {

#define MHC_OP_CARD(tag) &card_##tag,
const OpCard* const kCards[] = {
#include "op_list.def"
};
#undef MHC_OP_CARD

}  // namespace

const std::vector<const OpCard*>& op_cards() {
  static const std::vector<const OpCard*> cards(std::begin(kCards), std::end(kCards));
  return cards;
}

const OpCard* find_card(mhc_op_t op) {
  for (const OpCard* c : kCards)
    if (c->id == op) return c;
  return nullptr;
}

const char* op_id_list() {
  static const std::string list = [] {
    std::string s;
    for (const OpCard* c : kCards) s += (s.empty() ? "" : ", ") + std::string(c->name) + "(" + std::to_string(c->id) + ")";
    return s;
  }();
  return list.c_str();
}

const char* OpCard::short_tag() const {
  const char* u = tag;
  while (*u != '\0' && *u != '_') ++u;
  return *u == '_' ? u + 1 : tag;
}

}  // namespace mhc
