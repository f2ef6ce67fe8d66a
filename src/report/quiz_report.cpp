#include "report/quiz_report.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <stdexcept>

#include "report/text_width.h"

namespace qrl::report {

namespace {

const nlohmann::json& attribute(const nlohmann::json& map, const char* name, const char* type) {
  auto it = map.find(name);
  if (it == map.end() || !it->is_object() || !it->contains(type)) {
    throw std::invalid_argument(std::string("the item has no ") + name + " of type " + type);
  }
  return (*it)[type];
}

std::string text_of(const nlohmann::json& map, const char* name) {
  return attribute(map, name, "S").get<std::string>();
}

std::int64_t number_of(const nlohmann::json& map, const char* name) {
  return std::stoll(attribute(map, name, "N").get<std::string>());
}

// Seconds since the epoch of "2022-01-27T08:54:38Z"; empty for another form.
std::optional<std::int64_t> epoch_of(const std::string& rfc3339) {
  std::tm tm{};
  if (rfc3339.size() < 20 || std::sscanf(rfc3339.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
                                         &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::vector<std::int64_t> numbers(const nlohmann::json& list) {
  std::vector<std::int64_t> out;
  for (const auto& n : list) out.push_back(std::stoll(n.at("N").get<std::string>()));
  std::sort(out.begin(), out.end());
  return out;
}

std::string letter(std::size_t index) {
  return index < 26 ? std::string(1, static_cast<char>('A' + index)) : std::to_string(index + 1);
}

}  // namespace

std::string duration_text(double seconds) {
  char text[48];
  if (seconds < 10) {
    std::snprintf(text, sizeof text, "%.1f s", seconds);
  } else if (seconds < 60) {
    std::snprintf(text, sizeof text, "%.0f s", seconds);
  } else if (seconds < 3600) {
    const auto s = static_cast<long long>(seconds);
    std::snprintf(text, sizeof text, "%lld min %02lld s", s / 60, s % 60);
  } else {
    const auto s = static_cast<long long>(seconds);
    std::snprintf(text, sizeof text, "%lld h %02lld min", s / 3600, (s % 3600) / 60);
  }
  return text;
}

QuizReport read_report(const nlohmann::json& item) {
  QuizReport report;
  report.id = text_of(item, "id");
  report.name = text_of(item, "Name");
  report.start = text_of(item, "StartTime");
  report.stop = text_of(item, "StopTime");
  report.question_nanoseconds = number_of(item, "QuestionDuration");
  const auto start = epoch_of(report.start), stop = epoch_of(report.stop);
  if (start && stop) report.seconds = *stop - *start;

  std::map<std::string, std::size_t> standing_of;  // user id -> index
  for (const auto& p : attribute(item, "Participants", "L")) {
    const auto& m = p.at("M");
    Standing standing;
    standing.name = text_of(m, "Name");
    standing.score = number_of(m, "Score");
    const auto stopped = epoch_of(text_of(m, "StopTime"));
    if (start && stopped) standing.seconds = *stopped - *start;
    standing_of[text_of(m, "UserId")] = report.standings.size();
    report.standings.push_back(std::move(standing));
  }
  for (std::size_t i = 0; i < report.standings.size(); ++i) {
    const bool tie = i > 0 && report.standings[i].score == report.standings[i - 1].score;
    report.standings[i].rank = tie ? report.standings[i - 1].rank : i + 1;
  }

  for (const auto& q : attribute(item, "Questions", "L")) {
    const auto& m = q.at("M");
    QuestionLine line;
    line.text = text_of(m, "Question");
    const auto& options = attribute(m, "Options", "L");
    const auto correct = numbers(attribute(m, "CorrectOptions", "L"));
    for (auto index : correct) {
      const auto at = static_cast<std::size_t>(index);
      line.correct_options.push_back(letter(at) + ") " +
                                     (at < options.size() ? options[at].at("S").get<std::string>() : "?"));
    }
    for (const auto& a : attribute(m, "ParticipantAnswers", "L")) {
      const auto& answer = a.at("M");
      if (numbers(attribute(answer, "ParticipantOptions", "L")) != correct) continue;
      auto who = standing_of.find(text_of(answer, "UserId"));
      if (who == standing_of.end()) continue;  // only participants count (docs/contract.md)
      ++line.right;
      ++report.standings[who->second].correct;
      const double seconds = static_cast<double>(number_of(answer, "AnsweredInDuration")) / 1e9;
      if (!line.fastest_name || seconds < line.fastest_seconds) {
        line.fastest_name = report.standings[who->second].name;
        line.fastest_seconds = seconds;
      }
    }
    report.questions.push_back(std::move(line));
  }
  return report;
}

std::string render(const QuizReport& report, std::size_t width) {
  constexpr std::size_t kNarrowest = 60;
  width = std::max<std::size_t>(width, kNarrowest);
  std::string out;
  const auto line = [&](const std::string& text) { out += text + "\n"; };
  const auto players = report.standings.size();
  const std::string quiz = "  (quiz " + report.id + ")";
  const std::size_t name_room = width - display_width(quiz);
  line(isolated(display_width(report.name) <= name_room ? report.name : fit(report.name, name_room)) + quiz);
  for (const auto& l : wrap(report.start + " to " + report.stop +
                                (report.seconds ? ", " + duration_text(static_cast<double>(*report.seconds)) : std::string()) +
                                ", " + duration_text(static_cast<double>(report.question_nanoseconds) / 1e9) + " a question",
                            width)) {
    line(l);
  }
  line(std::to_string(players) + (players == 1 ? " participant, " : " participants, ") +
       std::to_string(report.questions.size()) + (report.questions.size() == 1 ? " question" : " questions"));

  line("");
  line("Leaderboard");
  if (players == 0) line("  nobody took part");
  // indent, rank, then name, score, correct and time taken, two spaces apart.
  constexpr std::size_t kFixed = 2 + 4 + 2 + 2 + 6 + 2 + 7 + 2 + 11;
  const std::size_t name_width = std::clamp<std::size_t>(width - kFixed, 10, 32);
  if (players > 0) {
    line("  " + fit("rank", 4, true) + "  " + fit("name", name_width) + "  " + fit("score", 6, true) + "  " +
         fit("correct", 7, true) + "  " + fit("time taken", 11, true));
  }
  for (const auto& s : report.standings) {
    const std::string correct = std::to_string(s.correct) + "/" + std::to_string(report.questions.size());
    line("  " + fit(std::to_string(s.rank), 4, true) + "  " + isolated(fit(s.name, name_width)) + "  " +
         fit(std::to_string(s.score), 6, true) + "  " + fit(correct, 7, true) + "  " +
         fit(s.seconds ? duration_text(static_cast<double>(*s.seconds)) : "?", 11, true));
  }

  line("");
  line("Questions");
  if (report.questions.empty()) line("  none");
  for (std::size_t i = 0; i < report.questions.size(); ++i) {
    const auto& q = report.questions[i];
    const std::string number = std::to_string(i + 1) + ". ";
    const std::string indent(2 + number.size(), ' ');
    auto text = wrap(q.text, width - indent.size());
    for (std::size_t l = 0; l < text.size(); ++l) line((l == 0 ? "  " + number : indent) + isolated(text[l]));
    std::string answer;
    for (const auto& option : q.correct_options) answer += (answer.empty() ? "" : ", ") + option;
    for (const auto& l : wrap("answer: " + (answer.empty() ? std::string("none") : answer), width - indent.size())) {
      line(indent + isolated(l));
    }
    std::string right = std::to_string(q.right) + " of " + std::to_string(players) + " right";
    if (players > 0) right += " (" + std::to_string(q.right * 100 / players) + "%)";
    right += q.fastest_name ? ", fastest " + *q.fastest_name + " in " + duration_text(q.fastest_seconds)
                            : std::string(", nobody right");
    for (const auto& l : wrap(right, width - indent.size())) line(indent + isolated(l));
  }
  return out;
}

nlohmann::json plain(const nlohmann::json& attribute_map) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : attribute_map.items()) {
    const auto convert = [](const auto& self, const nlohmann::json& v) -> nlohmann::json {
      if (v.contains("S")) return v["S"];
      if (v.contains("N")) {
        const auto text = v["N"].get<std::string>();
        if (text.find_first_of(".eE") == std::string::npos) return std::stoll(text);
        return std::stod(text);
      }
      if (v.contains("BOOL")) return v["BOOL"];
      if (v.contains("NULL")) return nullptr;
      if (v.contains("L")) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& e : v["L"]) list.push_back(self(self, e));
        return list;
      }
      if (v.contains("M")) {
        nlohmann::json map = nlohmann::json::object();
        for (const auto& [k, e] : v["M"].items()) map[k] = self(self, e);
        return map;
      }
      if (v.contains("SS")) return v["SS"];
      throw std::invalid_argument("an attribute of a type the quiz item does not use");
    };
    out[name] = convert(convert, value);
  }
  return out;
}

}  // namespace qrl::report
