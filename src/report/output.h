#pragma once
// How a command that shows stored things prints them (`show`, `list`, `dlq list`): `text` for a
// person (the default), `tsv` (a tab-separated line each, for scripts), `json` (plain JSON),
// `dynamodb` (items as stored).

namespace qrl::report {

enum class Output { kText, kTsv, kJson, kDynamodb };

}  // namespace qrl::report
