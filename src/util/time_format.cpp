#include "util/time_format.hpp"

#include <ctime>

namespace hfaudit::util {

std::string format_utc_minutes(int64_t unix_seconds) {
  char buffer[32];
  const std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&time, &tm);
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M UTC", &tm);
  return buffer;
}

}  // namespace hfaudit::util
