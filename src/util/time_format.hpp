// Timestamps for people: the index stores Unix seconds, reports show UTC.
#pragma once

#include <cstdint>
#include <string>

namespace hfaudit::util {

// "2026-11-26 17:05 UTC" for Unix seconds.
std::string format_utc_minutes(int64_t unix_seconds);

}  // namespace hfaudit::util
