#include "core/event.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/ids.h"
#include "core/json.h"

namespace qrl::core {

namespace {

Error bad_event(std::string message) {
  return invalid_data(Stage::kParse, "not a quiz complete event: " + std::move(message));
}

std::string optional_string(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

Event parse_event(std::string_view body) {
  std::string not_json;
  auto json = parse_json(body, &not_json);
  if (json.is_discarded()) throw bad_event("body " + not_json);
  if (!json.is_object()) throw bad_event("body is not a JSON object");

  auto type = json.find("type");
  if (type == json.end() || !type->is_string()) throw bad_event("field 'type' is missing");
  if (type->get_ref<const std::string&>() != kEventType) {
    throw bad_event("unexpected type " + printable(type->get_ref<const std::string&>()) + ", expected '" +
                    std::string(kEventType) + "'");
  }
  auto data = json.find("data");
  if (data == json.end() || !data->is_object()) throw bad_event("field 'data' is missing");
  auto quiz_id = data->find("quizId");
  if (quiz_id == data->end() || !quiz_id->is_string()) {
    throw bad_event("field 'data.quizId' is missing or not a string");
  }

  Event event;
  event.id = optional_string(json, "id");
  event.time = optional_string(json, "time");
  event.quiz_id = quiz_id->get<std::string>();
  require_valid_id(event.quiz_id, "quiz id");
  return event;
}

std::string make_event(std::string_view event_id, std::string_view time, std::string_view quiz_id) {
  nlohmann::ordered_json json = {{"type", kEventType},
                                 {"source", kEventSource},
                                 {"id", event_id},
                                 {"time", time},
                                 {"data", {{"quizId", quiz_id}}}};
  return json.dump();
}

}  // namespace qrl::core
