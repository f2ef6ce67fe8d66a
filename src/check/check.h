#pragma once
// `quiz-result-loader check`: the configuration validated and every server reached as `serve`
// reaches it (log in, authenticate, describe the table), declaring nothing; one line per server
// with what was found and how long it took. For operators before a deploy.

#include <cstdio>

#include "config/config.h"
#include "core/clock.h"

namespace qrl::check {

// Returns the exit code: 0 when every server answered as it should, 1 otherwise.
int run(config::Config config, const config::Env& env, std::FILE* out,
        const core::Clock& clock = core::system_clock());

}  // namespace qrl::check
