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

  return Event{optional_string(json, "id"), optional_string(json, "time"),
               QuizId(quiz_id->get_ref<const std::string&>())};
}

std::string make_event(std::string_view event_id, std::string_view time, std::string_view quiz_id) {
  nlohmann::ordered_json json = {{"type", kEventType},
                                 {"source", kEventSource},
                                 {"id", event_id},
                                 {"time", time},
                                 {"data", {{"quizId", quiz_id}}}};
  return json.dump();
}

std::optional<std::chrono::system_clock::time_point> event_time(std::string_view time) {
  // YYYY-MM-DDTHH:MM:SS, then an optional .fraction, then Z.
  if (time.size() < 20 || time.back() != 'Z') return std::nullopt;
  auto digits = [&](std::size_t at, std::size_t n, int& out) {
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (time[i] < '0' || time[i] > '9') return false;
      out = out * 10 + (time[i] - '0');
    }
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(0, 4, year) || time[4] != '-' || !digits(5, 2, month) || time[7] != '-' || !digits(8, 2, day) ||
      time[10] != 'T' || !digits(11, 2, hour) || time[13] != ':' || !digits(14, 2, minute) || time[16] != ':' ||
      !digits(17, 2, second)) {
    return std::nullopt;
  }
  std::chrono::nanoseconds fraction{0};
  if (time.size() > 20) {
    if (time[19] != '.') return std::nullopt;
    std::int64_t scale = 100'000'000;
    for (std::size_t i = 20; i + 1 < time.size(); ++i) {
      if (time[i] < '0' || time[i] > '9') return std::nullopt;
      fraction += std::chrono::nanoseconds((time[i] - '0') * scale);
      scale /= 10;
    }
  }
  const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::sys_days(date).time_since_epoch() + std::chrono::hours(hour) +
          std::chrono::minutes(minute) + std::chrono::seconds(second) + fraction));
}

}  // namespace qrl::core
