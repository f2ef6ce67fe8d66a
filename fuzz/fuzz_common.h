#pragma once
// What every fuzz target that makes an item checks of it: the encoded body is JSON that parses
// (nlohmann refuses invalid UTF-8), is valid UTF-8 byte for byte, and its size by DynamoDB's
// rules, computed independently from the JSON, equals core::item_size.
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "core/item.h"
#include "core/utf8.h"
#include "support/dynamo_size.h"

inline void check_item(const qrl::core::Quiz& quiz) {
  auto body = qrl::core::encode_item(quiz);
  if (!qrl::core::is_valid_utf8(body)) std::abort();
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) std::abort();
  if (qrl::testing::dynamo_item_size(json) != qrl::core::item_size(quiz)) std::abort();
}
