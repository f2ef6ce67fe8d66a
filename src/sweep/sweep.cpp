#include "sweep/sweep.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "core/keys.h"
#include "core/transform.h"
#include "log/log.h"

namespace qrl::sweep {

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kStored: return "stored";
    case Verdict::kLoaded: return "loaded";
    case Verdict::kWaiting: return "waiting";
    case Verdict::kInPlay: return "in play";
    case Verdict::kAbandoned: return "abandoned";
    case Verdict::kFailed: return "failed";
  }
  return "unknown";
}

std::size_t Report::count(Verdict verdict) const {
  return static_cast<std::size_t>(
      std::count_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.verdict == verdict; }));
}

namespace {

class Judge {
 public:
  Judge(const Options& options, Ports& ports) : options_(options), ports_(ports) {}

  void operator()(Entry& entry, const std::vector<std::string>& keys) {
    const auto& id = entry.quiz_id;
    // How long since anything used the quiz: asked first, since reading the quiz (below)
    // counts as a use. A sample of its keys is enough to tell active from idle.
    const std::vector<std::string> sample(
        keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(keys.size(), 100)));
    const auto idle_s = ports_.keys.idle_seconds(sample).value_or(0);
    const auto header = ports_.live.read_header(id);
    const auto placement = ports_.pipeline.place(id, header);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(ports_.clock.wall().time_since_epoch()).count();
    if (placement.loaded) {
      // Without a start time the keys could also be a new quiz's lobby under a reused id: only
      // keys idle for min_age are taken for leftovers.
      if (!header.start_time && idle_s < options_.min_age.count()) {
        entry.verdict = Verdict::kWaiting;
        entry.detail = "leftovers of stored item " + placement.item_id + " used in the last " +
                       std::to_string(options_.min_age.count()) + " s: left for a later sweep";
        return;
      }
      entry.verdict = Verdict::kStored;
      entry.detail = "item " + placement.item_id + " stored: " + std::to_string(keys.size()) +
                     " keys left (late joins, resends) and the question set file deleted";
      if (!options_.dry_run) remove(id, keys);
      return;
    }
    if (header.stop_time) {
      const auto stopped = core::epoch_seconds(*header.stop_time);
      const auto age = stopped ? now - *stopped : options_.min_age.count();
      if (age < options_.min_age.count()) {
        entry.verdict = Verdict::kWaiting;
        entry.detail = "stopped " + std::to_string(age) + " s ago, no item yet: its event is due";
        return;
      }
      entry.verdict = Verdict::kLoaded;
      entry.detail = "stopped " + std::to_string(age) + " s ago and never loaded: the event was lost";
      if (options_.dry_run) return;
      auto result = pipeline::process_quiz(ports_.pipeline, id, ports_.policy, ports_.sleep);
      if (result.failure) {
        entry.verdict = Verdict::kFailed;
        entry.detail = "load failed: " + std::string(result.failure->what());
      } else if (result.outcome == pipeline::Outcome::kAlreadyLoaded) {
        entry.detail = "found loaded meanwhile; sources cleaned up";
      }
      return;
    }
    const auto abandoned_s = options_.abandoned_after.count();
    if (idle_s < abandoned_s) {
      entry.verdict = Verdict::kInPlay;
      entry.detail = "no stop time, used " + std::to_string(idle_s) + " s ago";
      return;
    }
    entry.verdict = Verdict::kAbandoned;
    entry.detail = "no stop time, idle " + std::to_string(idle_s / 86400) + " days";
    if (options_.delete_abandoned && !options_.dry_run) {
      remove(id, keys);
      entry.detail += ": deleted (--delete-abandoned)";
    } else {
      entry.detail += ": kept (--delete-abandoned deletes it)";
    }
  }

 private:
  // Exactly the keys the walk found, in round trips of the store's size, then the file.
  void remove(const core::QuizId& quiz_id, const std::vector<std::string>& keys) {
    const std::size_t window = std::max<std::size_t>(ports_.live.keys_per_read(), 1);
    for (std::size_t from = 0; from < keys.size(); from += window) {
      ports_.live.remove(std::vector<std::string>(keys.begin() + static_cast<std::ptrdiff_t>(from),
                                                  keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), from + window))));
    }
    ports_.questions.remove(quiz_id);
  }

  const Options& options_;
  Ports& ports_;
};

}  // namespace

Report sweep(const Options& options, Ports ports) {
  Report report;
  std::map<core::QuizId, std::vector<std::string>> quizzes;
  std::string cursor = "0";
  do {
    auto page = ports.keys.scan(cursor, options.count);
    ++report.scans;
    report.keys_scanned += page.keys.size();
    if (options.on_page) options.on_page(page.keys.size());
    for (auto& key : page.keys) {
      if (auto id = core::keys::quiz_of_key(key)) quizzes[*id].push_back(std::move(key));
    }
    cursor = page.cursor;
  } while (cursor != "0" && ports.sleep(options.pace));
  if (cursor != "0") log::warn("sweep stopped before the end of the keyspace");

  Judge judge(options, ports);
  for (auto& [id, keys] : quizzes) {
    std::sort(keys.begin(), keys.end());  // SCAN may return a key twice
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    Entry entry{id, Verdict::kInPlay, keys.size(), {}};
    log::Context context({{"quiz", id}});
    try {
      judge(entry, keys);
    } catch (const core::Error& e) {
      // A wrong environment fails every quiz alike: one clear error instead of a table of them.
      if (e.environment()) throw;
      entry.verdict = Verdict::kFailed;
      entry.detail = e.what();
    }
    if (!options.dry_run) {
      auto name = "sweep_" + std::string(to_string(entry.verdict));
      std::replace(name.begin(), name.end(), ' ', '_');
      ports.recorder.event(name, 1);
    }
    if (entry.verdict == Verdict::kStored || entry.verdict == Verdict::kLoaded || entry.verdict == Verdict::kFailed ||
        entry.verdict == Verdict::kAbandoned) {
      log::info(options.dry_run ? "sweep would act" : "sweep acted",
                {{"verdict", std::string(to_string(entry.verdict))}, {"detail", entry.detail}});
    }
    report.entries.push_back(std::move(entry));
    if (!ports.sleep(options.pace)) break;
  }
  return report;
}

namespace {
constexpr Verdict kVerdicts[] = {Verdict::kStored,  Verdict::kLoaded,    Verdict::kWaiting,
                                 Verdict::kInPlay,  Verdict::kAbandoned, Verdict::kFailed};
}

std::vector<Total> totals(const Report& report) {
  std::vector<Total> out{{"quizzes", report.entries.size()}, {"keys_scanned", report.keys_scanned}};
  for (auto v : kVerdicts) {
    std::string name(to_string(v));
    std::replace(name.begin(), name.end(), ' ', '_');  // a key in logs and JSON: in_play
    out.push_back({std::move(name), report.count(v)});
  }
  return out;
}

std::string summary(const Report& report, bool dry_run) {
  std::ostringstream out;
  out << (dry_run ? "sweep plan (dry run: nothing changed)" : "sweep done") << ": " << report.keys_scanned
      << " keys in " << report.scans << " SCAN calls, " << report.entries.size() << " quizzes\n";
  out << "verdict\tquizzes\n";
  for (const auto& total : totals(report)) {
    if (total.name != "quizzes" && total.name != "keys_scanned") out << total.name << "\t" << total.count << "\n";
  }
  return out.str();
}

}  // namespace qrl::sweep
