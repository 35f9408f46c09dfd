// Result<T>: a value or an Error, for failures a caller is expected to handle
// (files that cannot be read, bad arguments, Hub errors). Exceptions are kept
// for "abort this command" only and are caught once, in main.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace hfaudit::util {

enum class ErrorCode {
  not_found,
  io,
  network,
  http,
  integrity,
  corrupt_input,
  invalid_argument,
  policy_denied,
};

struct Error {
  ErrorCode code;
  std::string message;
};

// E is the error type: util::Error here; modules with richer errors (the Hub
// client's HubError) reuse the template with their own.
template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_state(std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : m_state(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(m_state); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(m_state); }
  const T& value() const& { return std::get<T>(m_state); }
  T&& value() && { return std::get<T>(std::move(m_state)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const { return std::get<E>(m_state); }

 private:
  std::variant<T, E> m_state;
};

// Result<void> equivalent.
struct Ok {};
using Status = Result<Ok>;

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace hfaudit::util

// Propagates an error from an expression returning Result<T>; evaluates to the value.
// __extension__ keeps -Wpedantic quiet about the GNU statement expression.
#define HFAUDIT_TRY(expr)                                         \
  __extension__({                                                 \
    auto hfaudit_try_result_ = (expr);                            \
    if (!hfaudit_try_result_) return hfaudit_try_result_.error(); \
    std::move(hfaudit_try_result_).value();                       \
  })
