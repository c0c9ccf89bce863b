// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cassert>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sluice {

enum class Code { Ok, InvalidConfig, NotFound, IoError, Corruption, Unavailable, Rejected, Internal };

std::string_view codeName(Code code);

// A code and a message. OK allocates nothing. sluice code returns Status instead of throwing.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message)
      : state_(std::make_unique<State>(State{code, std::move(message)})) {}
  Status(const Status& other)
      : state_(other.state_ ? std::make_unique<State>(*other.state_) : nullptr) {}
  Status(Status&&) noexcept = default;
  Status& operator=(const Status& other) {
    state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
    return *this;
  }
  Status& operator=(Status&&) noexcept = default;

  static Status ok() { return {}; }
  static Status invalidConfig(std::string m) { return {Code::InvalidConfig, std::move(m)}; }
  static Status notFound(std::string m) { return {Code::NotFound, std::move(m)}; }
  static Status ioError(std::string m) { return {Code::IoError, std::move(m)}; }
  static Status corruption(std::string m) { return {Code::Corruption, std::move(m)}; }
  static Status unavailable(std::string m) { return {Code::Unavailable, std::move(m)}; }
  static Status rejected(std::string m) { return {Code::Rejected, std::move(m)}; }
  static Status internal(std::string m) { return {Code::Internal, std::move(m)}; }

  bool isOk() const { return state_ == nullptr; }
  explicit operator bool() const { return isOk(); }
  Code code() const { return state_ ? state_->code : Code::Ok; }
  const std::string& message() const {
    static const std::string kEmpty;
    return state_ ? state_->message : kEmpty;
  }
  // Prefixes the message with context ("file:3: ").
  Status withPrefix(std::string_view prefix) const {
    if (isOk()) return {};
    return {code(), std::string(prefix) + message()};
  }

 private:
  struct State {
    Code code;
    std::string message;
  };
  std::unique_ptr<State> state_;
};

// A value or the Status that explains why there is none (the shape of std::expected).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Status status) : data_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    assert(!std::get<1>(data_).isOk());
  }
  template <class U>
    requires(std::is_convertible_v<U&&, T> && !std::is_same_v<std::decay_t<U>, T> &&
             !std::is_same_v<std::decay_t<U>, Status>)
  Result(U&& value) : data_(std::in_place_index<0>, T(std::forward<U>(value))) {}  // NOLINT

  bool isOk() const { return data_.index() == 0; }
  explicit operator bool() const { return isOk(); }
  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Status& status() const {
    static const Status kOk;
    return isOk() ? kOk : std::get<1>(data_);
  }
  Status takeStatus() { return isOk() ? Status() : std::move(std::get<1>(data_)); }

 private:
  std::variant<T, Status> data_;
};

#define SLUICE_CHECK(cond)                                                               \
  do {                                                                                   \
    if (!(cond)) ::sluice::checkFailed(#cond, __FILE__, __LINE__);                       \
  } while (0)
#ifdef NDEBUG
#define SLUICE_DCHECK(cond) \
  do {                      \
  } while (0)
#else
#define SLUICE_DCHECK(cond) SLUICE_CHECK(cond)
#endif

[[noreturn]] void checkFailed(const char* expr, const char* file, int line);

}  // namespace sluice
