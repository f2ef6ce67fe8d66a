#include "split/reassemble.h"

#include <stdexcept>

#include "core/error.h"

namespace qrl::split {

namespace {

std::size_t count(const nlohmann::json& item, const char* name) {
  auto it = item.find(name);
  if (it == item.end() || !it->is_object()) return 0;
  if (it->contains("L")) return (*it)["L"].size();
  if (it->contains("N")) return static_cast<std::size_t>(std::stoull((*it)["N"].get<std::string>()));
  return 0;
}

const nlohmann::json& split_map(const nlohmann::json& head) {
  return head.at("Split").at("M");
}

}  // namespace

bool is_continuation(const nlohmann::json& item) {
  return item.contains("PartOf");
}
bool is_head(const nlohmann::json& item) {
  return item.contains("Split");
}

std::vector<std::string> part_ids(const nlohmann::json& head) {
  std::vector<std::string> ids;
  for (const auto& id : split_map(head).at("Parts").at("L")) ids.push_back(id.at("S").get<std::string>());
  return ids;
}

Summary summarize(const nlohmann::json& item) {
  if (!is_head(item)) return {1, count(item, "Participants"), count(item, "Questions")};
  const auto& split = split_map(item);
  return {1 + split.at("Parts").at("L").size(), count(split, "ParticipantCount"),
          count(split, "QuestionCount")};
}

nlohmann::json reassemble(const nlohmann::json& item, const Fetch& fetch) {
  if (!is_head(item)) return item;
  const std::string quiz_id = item.at("id").at("S").get<std::string>();
  nlohmann::json whole = item;
  whole.erase("Split");
  auto questions = nlohmann::json::array();
  auto participants = nlohmann::json::array();
  const auto ids = part_ids(item);
  for (std::size_t n = 0; n < ids.size(); ++n) {
    auto part = fetch(ids[n]);
    auto damaged = [&](const std::string& what) {
      return core::invalid_data(core::Stage::kRead, "quiz '" + quiz_id + "' is split, and its item '" + ids[n] + "' " + what);
    };
    if (!part) throw damaged("is missing");
    if (!part->contains("PartOf") || (*part)["PartOf"].value("S", "") != quiz_id ||
        (*part)["Part"].value("N", "") != std::to_string(n + 1)) {
      throw damaged("is not part " + std::to_string(n + 1) + " of it");
    }
    if (part->contains("Participants")) {
      for (auto& p : (*part)["Participants"]["L"]) participants.push_back(std::move(p));
    }
    if (!part->contains("Questions")) continue;
    for (auto& fragment : (*part)["Questions"]["L"]) {
      auto& map = fragment.at("M");
      const auto index = std::stoull(map.at("Index").at("N").get<std::string>());
      auto& answers = map.at("ParticipantAnswers").at("L");
      if (index == questions.size()) {
        if (!map.contains("Question"))
          throw damaged("starts question " + std::to_string(index) + " without its text");
        nlohmann::json question = {{"Question", map["Question"]},
                                   {"Options", map.at("Options")},
                                   {"CorrectOptions", map.at("CorrectOptions")},
                                   {"ParticipantAnswers", {{"L", std::move(answers)}}}};
        questions.push_back({{"M", std::move(question)}});
      } else if (!questions.empty() && index + 1 == questions.size() && !map.contains("Question")) {
        auto& into = questions.back()["M"]["ParticipantAnswers"]["L"];
        for (auto& a : answers) into.push_back(std::move(a));
      } else {
        throw damaged("holds question " + std::to_string(index) + " out of order");
      }
    }
  }
  const auto summary = summarize(item);
  if (questions.size() != summary.questions || participants.size() != summary.participants) {
    throw core::invalid_data(core::Stage::kRead, 
        "quiz '" + quiz_id + "' is split, and its items hold " + std::to_string(participants.size()) +
        " participants and " + std::to_string(questions.size()) + " questions where its head says " +
        std::to_string(summary.participants) + " and " + std::to_string(summary.questions));
  }
  whole["Questions"] = {{"L", std::move(questions)}};
  whole["Participants"] = {{"L", std::move(participants)}};
  return whole;
}

}  // namespace qrl::split
