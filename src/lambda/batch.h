#pragma once
// An SQS batch as Lambda delivers it, and the partial batch response. Records are processed
// concurrently in lanes: with a FIFO queue one lane per message group, in order, and once a
// record of a group fails every later record of that group is reported as failed without
// being processed (SQS redelivers them in order); with a standard queue, one lane per record.

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace qrl::lambda {

struct Record {
  std::string message_id;
  std::string body;
  std::string group_id;  // attributes.MessageGroupId; empty for a standard queue
};

struct Batch {
  std::vector<Record> records;
  bool fifo = false;  // eventSourceARN ends in .fifo
};

// The invocation is not an SQS batch at all (it goes to the invocation error endpoint): a
// core::Error, permanent, with code kNotABatch.
class NotABatch : public core::Error {
 public:
  explicit NotABatch(const std::string& message)
      : core::Error(core::FailureKind::kPermanent, core::Stage::kParse, message, {}, core::DataProblem::kInvalid,
                    core::Code::kNotABatch) {}
};

Batch parse_batch(std::string_view event);

// An EventBridge scheduled event ({"source":"aws.events","detail-type":"Scheduled Event",...}):
// Lambda mode runs a sweep for it (sweep/sweep.h).
bool is_scheduled_event(std::string_view event);

// Index lists of records to run in order, one lane after another on a free worker.
std::vector<std::vector<std::size_t>> lanes(const Batch& batch);

enum class RecordResult { kSucceeded, kFailed, kSkipped };

// Runs `process(record, worker)` over the lanes on `workers` threads. `may_start()` is asked
// before each record; when it says no (the deadline is near) the record fails unprocessed.
// Returns one result per record.
std::vector<RecordResult> run_batch(const Batch& batch, int workers,
                                    const std::function<bool(const Record&, int worker)>& process,
                                    const std::function<bool()>& may_start);

// {"batchItemFailures":[{"itemIdentifier":"<messageId>"},...]} for every record not succeeded.
std::string batch_response(const Batch& batch, const std::vector<RecordResult>& results);

}  // namespace qrl::lambda
