#include "sim/linearizability.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_set>

namespace phalanx::sim {
namespace {

using State = std::optional<Bytes>;  // the register: a value or absent

// Applies `op` to `state` if the reply it got is what a sequential register
// would have answered; pending operations accept any outcome.
bool step(const KvOperation& op, const State& state, State& next) {
  const kv::KvCommand& c = op.command;
  const std::optional<kv::KvReply>& r = op.reply;
  next = state;
  switch (c.op) {
    case kv::KvOp::kPut: next = c.value; return !r || r->status == kv::KvStatus::kOk;
    case kv::KvOp::kGet:
      if (!r) return true;
      return state ? r->status == kv::KvStatus::kOk && r->value == state
                   : r->status == kv::KvStatus::kNotFound;
    case kv::KvOp::kDelete:
      next = std::nullopt;
      if (!r) return true;
      return r->status == (state ? kv::KvStatus::kOk : kv::KvStatus::kNotFound);
    case kv::KvOp::kCompareAndSet:
      if (state == c.expected) {
        next = c.value;
        return !r || r->status == kv::KvStatus::kOk;
      }
      if (!r) return true;  // a pending CAS that failed changes nothing
      return r->status == kv::KvStatus::kCompareFailed && r->value == state;
    case kv::KvOp::kRange: break;  // several keys: left out by check_kv_linearizable
  }
  return false;
}

// Events in a doubly linked list, so linearized operations can be lifted
// out and put back while searching.
struct Event {
  bool is_call;
  std::size_t op;
  Event* match = nullptr;  // call <-> return
  Event* prev = nullptr;
  Event* next = nullptr;
};

void lift(Event* call) {
  call->prev->next = call->next;
  call->next->prev = call->prev;
  Event* ret = call->match;
  ret->prev->next = ret->next;
  if (ret->next != nullptr) ret->next->prev = ret->prev;
}

void unlift(Event* call) {
  Event* ret = call->match;
  ret->prev->next = ret;
  if (ret->next != nullptr) ret->next->prev = ret;
  call->prev->next = call;
  call->next->prev = call;
}

std::string cache_key(const std::vector<std::uint64_t>& done, const State& state) {
  std::string key(reinterpret_cast<const char*>(done.data()), done.size() * 8);
  key.push_back(state ? '1' : '0');
  if (state) key.append(state->begin(), state->end());
  return key;
}

bool check_key(const std::vector<const KvOperation*>& ops) {
  constexpr std::uint64_t kNever = UINT64_MAX;
  std::vector<Event> events;
  events.reserve(2 * ops.size() + 1);
  struct Stamp {
    std::uint64_t time;
    bool is_return;
    std::size_t op;
  };
  std::vector<Stamp> stamps;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    stamps.push_back({ops[i]->invoked_at, false, i});
    stamps.push_back({ops[i]->returned_at.value_or(kNever), true, i});
  }
  // At equal times calls come first: such operations count as concurrent.
  std::sort(stamps.begin(), stamps.end(), [](const Stamp& a, const Stamp& b) {
    return a.time != b.time ? a.time < b.time : a.is_return < b.is_return;
  });
  events.push_back({false, 0});  // head sentinel
  std::vector<Event*> call_of(ops.size()), return_of(ops.size());
  for (const Stamp& s : stamps) {
    events.push_back({!s.is_return, s.op});
    (s.is_return ? return_of : call_of)[s.op] = &events.back();
  }
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    events[i].next = &events[i + 1];
    events[i + 1].prev = &events[i];
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    call_of[i]->match = return_of[i];
    return_of[i]->match = call_of[i];
  }
  Event* head = &events[0];

  State state;
  std::vector<std::uint64_t> done((ops.size() + 63) / 64, 0);
  std::unordered_set<std::string> seen;
  struct Frame {
    Event* call;
    State state;
  };
  std::vector<Frame> stack;
  Event* entry = head->next;
  while (head->next != nullptr) {
    if (entry->is_call) {
      State next;
      const std::size_t op = entry->op;
      if (step(*ops[op], state, next)) {
        done[op / 64] |= std::uint64_t{1} << (op % 64);
        if (seen.insert(cache_key(done, next)).second) {
          stack.push_back({entry, state});
          state = std::move(next);
          lift(entry);
          entry = head->next;
          continue;
        }
        done[op / 64] &= ~(std::uint64_t{1} << (op % 64));
      }
      entry = entry->next;
    } else {
      // A return with its operation not yet placed: backtrack.
      if (stack.empty()) return false;
      Frame f = std::move(stack.back());
      stack.pop_back();
      state = std::move(f.state);
      done[f.call->op / 64] &= ~(std::uint64_t{1} << (f.call->op % 64));
      unlift(f.call);
      entry = f.call->next;
    }
  }
  return true;
}

std::string describe(const std::string& key, const std::vector<const KvOperation*>& ops) {
  std::string out = fmt::format("history of key '{}' is not linearizable:\n", key);
  for (const KvOperation* op : ops) {
    const char* name[] = {"put", "get", "delete", "cas"};
    std::string reply = "pending";
    if (op->reply) {
      reply = fmt::format("status {}", static_cast<int>(op->reply->status));
      if (op->reply->value)
        reply += " value " + std::string(op->reply->value->begin(), op->reply->value->end());
    }
    out += fmt::format("    client {} seq {} {} [{} .. {}] {} -> {}\n", op->command.client.value(),
                       op->command.sequence, name[static_cast<int>(op->command.op)], op->invoked_at,
                       op->returned_at ? std::to_string(*op->returned_at) : "never",
                       std::string(op->command.value.begin(), op->command.value.end()), reply);
  }
  return out;
}

}  // namespace

LinearizabilityResult check_kv_linearizable(const std::vector<KvOperation>& history) {
  std::map<std::string, std::vector<const KvOperation*>> by_key;
  for (const KvOperation& op : history) {
    // The model is one register per key; a range reads several at one point,
    // which this check cannot express (the simulated clients issue none).
    if (op.command.op == kv::KvOp::kRange) continue;
    by_key[op.command.key].push_back(&op);
  }
  LinearizabilityResult result;
  result.operations = history.size();
  result.keys = by_key.size();
  for (const auto& [key, ops] : by_key) {
    if (!check_key(ops)) {
      result.ok = false;
      result.explanation = describe(key, ops);
      return result;
    }
  }
  return result;
}

}  // namespace phalanx::sim
