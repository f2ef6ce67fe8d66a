#pragma once
// Reading the split form back (docs/contract.md, "The split form"): `show` prints a split
// quiz as the single item it stands for, `list` counts its items and skips continuation items.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qrl::split {

// A continuation item (it has PartOf), never a quiz of its own.
bool is_continuation(const nlohmann::json& item);
// A head (it has Split): the quiz is in this item and the ones part_ids() names.
bool is_head(const nlohmann::json& item);
std::vector<std::string> part_ids(const nlohmann::json& head);

// How many items the quiz uses, and its participants and questions, from its item alone.
struct Summary {
  std::size_t items = 1;
  std::size_t participants = 0;
  std::size_t questions = 0;
};
Summary summarize(const nlohmann::json& item);

// Fetches one item by id (empty when there is none).
using Fetch = std::function<std::optional<nlohmann::json>(const std::string& id)>;

// The quiz's item in the single-item form of the contract: `item` itself when it is not a
// head, else the head's scalars with Questions and Participants put back together from its
// continuation items. Throws a permanent core::Error naming what is missing or inconsistent.
nlohmann::json reassemble(const nlohmann::json& item, const Fetch& fetch);

}  // namespace qrl::split
