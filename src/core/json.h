#pragma once
// The one way the loader parses JSON it is handed (events, answers, question sets, Lambda
// batches). nlohmann's parser takes a NUL byte for the end of the text, so "[1]\0 garbage"
// would parse as [1]; JSON text has no NUL byte, so here it is refused like any other text that
// is not exactly one JSON value.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace qrl::core {

// The value, or a discarded one when `text` is not exactly one JSON value; `problem` (if given)
// then says why: "holds a NUL byte" or "is not JSON".
nlohmann::json parse_json(std::string_view text, std::string* problem = nullptr);

}  // namespace qrl::core
