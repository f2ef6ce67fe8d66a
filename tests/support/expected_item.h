#pragma once
// The item a sample quiz must become, computed from its Redis commands and question file by
// this code alone (nlohmann::json, no core transform or encoder), so that the loader's streamed,
// possibly split, output is compared with something it did not compute itself.

#include <nlohmann/json.hpp>

#include "core/sample.h"

namespace qrl::testing {

nlohmann::json expected_item(const core::SampleQuiz& quiz);

}  // namespace qrl::testing
