// SPDX-License-Identifier: Apache-2.0
// The systemd input against real journal files: each test writes them with
// systemd-journal-remote from an export-format stream it generates (skipped when the tool is
// absent), into the folder the input's `path` names. Cases ported from fluent-plugin-systemd's
// test_in_systemd.rb and test_entry_mutator.rb (its fixture entry and expected records).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "core/json.h"
#include "plugins/in_systemd/systemd_input.h"
#include "support/test_support.h"

namespace sluice::plugins::in_systemd {
namespace {

namespace fs = std::filesystem;
using testing::PluginFactory;
using testing::readFile;
using testing::SluiceProcess;
using testing::TempDir;
using testing::waitFor;
using testing::writeFile;

std::string journalRemote() {
  for (const char* p : {"/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

#define REQUIRE_JOURNAL_REMOTE()                                                        \
  if (journalRemote().empty()) GTEST_SKIP() << "systemd-journal-remote is not installed"

using Fields = std::vector<std::pair<std::string, std::string>>;

// Appends entries to `file` (a .journal) with systemd-journal-remote, from the export format
// (systemd's JOURNAL_EXPORT_FORMATS): one FIELD=value per line, a blank line after each entry.
void appendEntries(const std::string& file, const std::vector<Fields>& entries, uint64_t first_usec = 1364519243563178) {
  static std::atomic<uint64_t> mono{1000};
  std::string text;
  uint64_t t = first_usec;
  for (const Fields& e : entries) {
    text += "__REALTIME_TIMESTAMP=" + std::to_string(t++) + "\n";
    text += "__MONOTONIC_TIMESTAMP=" + std::to_string(mono++) + "\n";
    for (const auto& [k, v] : e) text += k + "=" + v + "\n";
    text += "\n";
  }
  std::string cmd = journalRemote() + " --split-mode=none -o " + file + " - 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "w");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(std::fwrite(text.data(), 1, text.size(), p), text.size());
  ASSERT_EQ(::pclose(p), 0) << cmd;
}

// fluent-plugin-systemd's fixture entry (EntryTestData::ENTRY), field for field.
const Fields kFixtureEntry = {
    {"_BOOT_ID", "4737ffc504774b3ba67020bc947f1bc0"}, {"_UID", "0"}, {"_GID", "0"},
    {"_MACHINE_ID", "bb9d0a52a41243829ecd729b40ac0bce"}, {"_HOSTNAME", "arch"}, {"PRIORITY", "5"},
    {"_TRANSPORT", "syslog"}, {"SYSLOG_FACILITY", "10"}, {"SYSLOG_IDENTIFIER", "login"}, {"_PID", "141"},
    {"_COMM", "login"}, {"_EXE", "/bin/login"}, {"_AUDIT_SESSION", "1"}, {"_AUDIT_LOGINUID", "0"},
    {"MESSAGE", "ROOT LOGIN ON tty1"}, {"_CMDLINE", "login -- root      "}, {"_SYSTEMD_CGROUP", "/user/root/1"},
    {"_SYSTEMD_SESSION", "1"}, {"_SYSTEMD_OWNER_UID", "0"}, {"_SOURCE_REALTIME_TIMESTAMP", "1364519243563178"},
};

Fields unitEntry(const std::string& unit, const std::string& message, const std::string& priority = "6") {
  return {{"_BOOT_ID", "4737ffc504774b3ba67020bc947f1bc0"}, {"_SYSTEMD_UNIT", unit}, {"PRIORITY", priority},
          {"MESSAGE", message}};
}

// The cursor of the last entry matching `match` (FIELD=value) in `dir`.
std::string lastCursor(const std::string& dir, const std::string& match) {
  sd_journal* j = nullptr;
  if (sd_journal_open_directory(&j, dir.c_str(), 0) < 0) return "";
  sd_journal_add_match(j, match.data(), match.size());
  std::string out;
  char* c = nullptr;
  if (sd_journal_seek_tail(j) >= 0 && sd_journal_previous(j) > 0 && sd_journal_get_cursor(j, &c) >= 0) {
    out = c;
    free(c);
  }
  sd_journal_close(j);
  return out;
}

struct Got {
  std::string tag;
  int64_t time_ns;
  std::map<std::string, std::string> fields;
  uint64_t origin;
};

// Collects what the input emits; can refuse batches to test backpressure.
class Collector : public EventSink {
 public:
  Status emit(Batch& batch) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (refuse_ > 0) {
      --refuse_;
      ++refused_;
      return Status::ioError("buffer full (test)");
    }
    for (const Event& e : batch.events()) {
      Got g{std::string(e.tag), e.time_ns, {}, e.origin};
      for (const Member& m : e.record.members()) g.fields[std::string(m.key)] = std::string(m.value.asString());
      got_.push_back(std::move(g));
    }
    return Status::ok();
  }
  std::vector<Got> got() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_.size();
  }
  void refuse(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_ = n;
  }
  int refused() {
    std::lock_guard<std::mutex> lock(mu_);
    return refused_;
  }

 private:
  std::mutex mu_;
  std::vector<Got> got_;
  int refuse_ = 0;
  int refused_ = 0;
};

// One input instance running on its own thread, as the engine runs it.
class Running {
 public:
  Running(PluginFactory& f, const std::string& body) : input_(f.mustMake<SystemdInput>(PluginKind::Input, "systemd", body)) {
    Status s = input_->start();
    EXPECT_TRUE(s.isOk()) << s.message();
    thread_ = std::thread([this] { EXPECT_TRUE(input_->run(sink, stop_).isOk()); });
  }
  ~Running() { finish(); }
  void finish() {
    if (thread_.joinable()) {
      stop_.requestStop();
      thread_.join();
      input_->stop();
    }
  }
  Collector sink;

 private:
  std::unique_ptr<SystemdInput> input_;
  StopToken stop_;
  std::thread thread_;
};

std::vector<std::string> messages(const std::vector<Got>& got) {
  std::vector<std::string> out;
  for (const Got& g : got) out.push_back(g.fields.count("MESSAGE") ? g.fields.at("MESSAGE") : g.fields.count("msg") ? g.fields.at("msg") : "?");
  return out;
}

class SystemdInputTest : public ::testing::Test {
 protected:
  std::string journalDir() const { return dir_.file("journal"); }
  std::string journalFile() const { return dir_.file("journal/test.journal"); }
  void SetUp() override { fs::create_directories(journalDir()); }
  std::string base(const std::string& extra = "") const {
    return "tag test\npath " + journalDir() + "\n" + extra;
  }
  TempDir dir_;
  PluginFactory factory_;
};

TEST_F(SystemdInputTest, ReadsEveryEntryFromHeadWithTagTimeAndFields) {
  REQUIRE_JOURNAL_REMOTE();
  appendEntries(journalFile(), {kFixtureEntry});
  Running run(factory_, base("read_from_head true\n"));
  ASSERT_TRUE(waitFor([&] { return run.sink.size() >= 1; }));
  run.finish();
  auto got = run.sink.got();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].tag, "test");
  EXPECT_EQ(got[0].time_ns, 1364519243563178000);  // the entry's realtime, to the microsecond
  std::map<std::string, std::string> expected(kFixtureEntry.begin(), kFixtureEntry.end());
  EXPECT_EQ(got[0].fields, expected);  // EXPECTED[:no_transform]
  EXPECT_NE(got[0].origin, 0u);
}

// test_entry_mutator.rb's FIELD_MAP and EXPECTED records, through <entry>.
struct EntryCase {
  const char* name;
  const char* entry;
  std::map<std::string, std::string> expected;
};

std::map<std::string, std::string> transformed(bool strip, bool lower) {
  std::map<std::string, std::string> out;
  for (auto [k, v] : kFixtureEntry) {
    if (strip) k.erase(0, k.find_first_not_of('_'));
    if (lower) {
      for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    out[k] = v;
  }
  return out;
}

const char* kFieldMap = R"({"_PID":["msg","_PID"],"MESSAGE":"msg","_COMM":"_EXE","_CMDLINE":"command"})";

TEST_F(SystemdInputTest, EntryOptionsAsFluentPluginSystemd) {
  REQUIRE_JOURNAL_REMOTE();
  appendEntries(journalFile(), {kFixtureEntry});
  std::map<std::string, std::string> field_map = transformed(false, false);
  field_map.erase("_COMM");
  field_map.erase("MESSAGE");
  field_map.erase("_CMDLINE");
  field_map["_EXE"] = "/bin/login login";
  field_map["msg"] = "141 ROOT LOGIN ON tty1";
  field_map["command"] = "login -- root      ";
  const EntryCase cases[] = {
      {"fields_strip_underscores", "fields_strip_underscores true", transformed(true, false)},
      {"fields_lowercase", "fields_lowercase true", transformed(false, true)},
      {"field_map", nullptr, field_map},
      {"field_map_strict", nullptr,
       {{"_PID", "141"}, {"_EXE", "login"}, {"msg", "141 ROOT LOGIN ON tty1"}, {"command", "login -- root      "}}},
  };
  for (const EntryCase& c : cases) {
    std::string entry = c.entry ? c.entry : std::string("field_map ") + kFieldMap;
    if (std::string(c.name) == "field_map_strict") entry += "\nfield_map_strict true";
    Running run(factory_, base("read_from_head true\n<entry>\n" + entry + "\n</entry>\n"));
    ASSERT_TRUE(waitFor([&] { return run.sink.size() >= 1; })) << c.name;
    run.finish();
    auto got = run.sink.got();
    ASSERT_EQ(got.size(), 1u) << c.name;
    EXPECT_EQ(got[0].fields, c.expected) << c.name;
  }
}

TEST_F(SystemdInputTest, MatchesAndTheOldFiltersName) {
  REQUIRE_JOURNAL_REMOTE();
  appendEntries(journalFile(), {unitEntry("kubelet.service", "k1"), unitEntry("docker.service", "d1", "6"),
                                unitEntry("sshd.service", "s1"), unitEntry("docker.service", "d2", "3"),
                                unitEntry("kubelet.service", "k2"), unitEntry("containerd.service", "c1")});
  {
    // The DaemonSet's source: `filters` is fluent-plugin-systemd's old name of `matches`.
    Running run(factory_, base("read_from_head true\nfilters [{ \"_SYSTEMD_UNIT\": \"kubelet.service\" }]\n"));
    ASSERT_TRUE(waitFor([&] { return run.sink.size() >= 2; }));
    run.finish();
    EXPECT_EQ(messages(run.sink.got()), (std::vector<std::string>{"k1", "k2"}));
  }
  {
    // (kubelet) OR (docker AND PRIORITY=3) OR containerd, one field with an array of values.
    Running run(factory_, base("read_from_head true\nmatches [{\"_SYSTEMD_UNIT\": \"kubelet.service\"}, "
                               "{\"_SYSTEMD_UNIT\": \"docker.service\", \"PRIORITY\": 3}, "
                               "{\"_SYSTEMD_UNIT\": [\"containerd.service\", \"nothing.service\"]}]\n"));
    ASSERT_TRUE(waitFor([&] { return run.sink.size() >= 4; }));
    run.finish();
    EXPECT_EQ(messages(run.sink.got()), (std::vector<std::string>{"k1", "d2", "k2", "c1"}));
  }
}

TEST_F(SystemdInputTest, FromTailReadsOnlyWhatIsWrittenAfterStart) {
  REQUIRE_JOURNAL_REMOTE();
  appendEntries(journalFile(), {unitEntry("a.service", "old1"), unitEntry("a.service", "old2")});
  std::string cursor_file = dir_.file("state/cursor.json");
  Running run(factory_, base("<storage>\n@type local\npersistent true\npath " + cursor_file + "\n</storage>\n"));
  // Positioned at the tail: the cursor of the last entry present is kept at once.
  ASSERT_TRUE(waitFor([&] { return fs::exists(cursor_file); }));
  appendEntries(journalFile(), {unitEntry("a.service", "new1"), unitEntry("a.service", "new2")}, 1364519250000000);
  ASSERT_TRUE(waitFor([&] { return run.sink.size() >= 2; }));
  run.finish();
  EXPECT_EQ(messages(run.sink.got()), (std::vector<std::string>{"new1", "new2"}));
}

TEST_F(SystemdInputTest, CursorKeptAcrossRestartsNothingLostOrRepeated) {
  REQUIRE_JOURNAL_REMOTE();
  std::string cursor_file = dir_.file("state/cursor.json");
  std::string conf = base("read_from_head true\n<storage>\n@type local\npersistent true\npath " + cursor_file +
                          "\n</storage>\n");
  std::vector<Fields> first;
  for (int i = 0; i < 3000; ++i) first.push_back(unitEntry("a.service", "m" + std::to_string(i)));
  appendEntries(journalFile(), first);
  std::vector<std::string> all;
  {
    Running run(factory_, conf);
    ASSERT_TRUE(waitFor([&] { return run.sink.size() >= 3000; }));
    run.finish();
    for (auto& m : messages(run.sink.got())) all.push_back(m);
  }
  // Fluentd's local storage format.
  std::string stored = readFile(cursor_file);
  EXPECT_EQ(stored.rfind("{\"journal\":\"s=", 0), 0u) << stored;
  std::vector<Fields> second;
  for (int i = 3000; i < 3010; ++i) second.push_back(unitEntry("a.service", "m" + std::to_string(i)));
  appendEntries(journalFile(), second, 1364519300000000);
  {
    Running run(factory_, conf);
    ASSERT_TRUE(waitFor([&] { return run.sink.size() >= 10; }));
    // Nothing beyond the new entries arrives.
    appendEntries(journalFile(), {unitEntry("a.service", "m3010")}, 1364519400000000);
    ASSERT_TRUE(waitFor([&] { return run.sink.size() >= 11; }));
    run.finish();
    for (auto& m : messages(run.sink.got())) all.push_back(m);
  }
  ASSERT_EQ(all.size(), 3011u);
  for (int i = 0; i < 3011; ++i) ASSERT_EQ(all[static_cast<size_t>(i)], "m" + std::to_string(i));
}

TEST_F(SystemdInputTest, RefusedBatchesAreReadAgainFromTheLastAcceptedCursor) {
  REQUIRE_JOURNAL_REMOTE();
  std::vector<Fields> entries;
  for (int i = 0; i < 50; ++i) entries.push_back(unitEntry("a.service", "m" + std::to_string(i)));
  appendEntries(journalFile(), entries);
  PluginFactory f;
  auto input = f.mustMake<SystemdInput>(PluginKind::Input, "systemd", base("read_from_head true\n"));
  ASSERT_TRUE(input->start().isOk());
  Collector sink;
  sink.refuse(2);
  StopToken stop;
  std::thread t([&] { EXPECT_TRUE(input->run(sink, stop).isOk()); });
  ASSERT_TRUE(waitFor([&] { return sink.size() >= 50; }, std::chrono::seconds(20)));
  stop.requestStop();
  t.join();
  EXPECT_EQ(sink.refused(), 2);
  auto got = messages(sink.got());
  ASSERT_EQ(got.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(got[static_cast<size_t>(i)], "m" + std::to_string(i));
}

TEST_F(SystemdInputTest, StoredCursorFormsAndAnInvalidOne) {
  REQUIRE_JOURNAL_REMOTE();
  appendEntries(journalFile(), {unitEntry("a.service", "m0"), unitEntry("a.service", "m1"), unitEntry("a.service", "m2")});
  std::string cursor_file = dir_.file("cursor.json");
  std::string conf = base("read_from_head true\n<storage>\npersistent true\npath " + cursor_file + "\n</storage>\n");
  std::string cursor_of_m0;
  {
    Running run(factory_, conf);
    ASSERT_TRUE(waitFor([&] { return run.sink.size() >= 3; }));
  }
  // The bare cursor of the plugin's old pos_file, of the first entry: the rest follows.
  {
    char* c = nullptr;
    sd_journal* j = nullptr;
    ASSERT_GE(sd_journal_open_directory(&j, journalDir().c_str(), 0), 0);
    ASSERT_GT(sd_journal_next(j), 0);
    ASSERT_GE(sd_journal_get_cursor(j, &c), 0);
    cursor_of_m0 = c;
    free(c);
    sd_journal_close(j);
  }
  writeFile(cursor_file, cursor_of_m0 + "\n");
  {
    Running run(factory_, conf);
    ASSERT_TRUE(waitFor([&] { return run.sink.size() >= 2; }));
    run.finish();
    EXPECT_EQ(messages(run.sink.got()), (std::vector<std::string>{"m1", "m2"}));
  }
  // test_reading_from_an_invalid_pos: it continues as if no cursor were stored.
  writeFile(cursor_file, "{\"journal\":\"thisisinvalid\"}");
  {
    Running run(factory_, conf);
    ASSERT_TRUE(waitFor([&] { return run.sink.size() >= 3; }));
    run.finish();
    EXPECT_EQ(messages(run.sink.got()), (std::vector<std::string>{"m0", "m1", "m2"}));
  }
}

TEST_F(SystemdInputTest, MissingJournalIsRetriedUntilItAppears) {
  REQUIRE_JOURNAL_REMOTE();
  fs::remove_all(journalDir());
  Running run(factory_, base("read_from_head true\n"));
  // test_journal_not_present: the input keeps retrying (no crash, no exit).
  fs::create_directories(dir_.file("staging"));
  appendEntries(dir_.file("staging/test.journal"), {unitEntry("a.service", "late")});
  fs::rename(dir_.file("staging"), journalDir());
  ASSERT_TRUE(waitFor([&] { return run.sink.size() >= 1; }));
  run.finish();
  EXPECT_EQ(messages(run.sink.got()), (std::vector<std::string>{"late"}));
}

TEST(SystemdInputConfigTest, Errors) {
  PluginFactory f;
  auto bad = [&](const std::string& body, const std::string& needle) {
    auto p = f.make(PluginKind::Input, "systemd", body);
    ASSERT_FALSE(p.isOk()) << body;
    EXPECT_NE(p.status().message().find(needle), std::string::npos) << p.status().message();
  };
  bad("path /x\n", "tag");  // test_configure_requires_tag
  bad("tag t\nmatches {\"A\": \"b\"}\n", "JSON array of hashes");
  bad("tag t\nmatches [{\"_systemd_unit\": \"b\"}]\n", "not a journal field name");
  bad("tag t\nmatches [{\"A\": {\"b\": 1}}]\n", "must be a string");
  bad("tag t\n<storage>\npersistent true\n</storage>\n", "needs a path");
  bad("tag t\n<storage>\n@type redis\n</storage>\n", "local");
  bad("tag t\n<entry>\nfield_map {\"A\": 1}\n</entry>\n", "field_map");
  bad("tag t\n<entry>\nfield_map [1]\n</entry>\n", "field_map");
  for (const char* unwritable : {"/proc/nope/cursor.json", "/etc/hostname/cursor.json"}) {
    auto ok = f.make(PluginKind::Input, "systemd", std::string("tag t\n<storage>\npath ") + unwritable + "\n</storage>\n");
    ASSERT_TRUE(ok.isOk());
    EXPECT_FALSE((*ok)->checkState().isOk()) << unwritable;
  }
}

TEST(SystemdInputConfigTest, CursorFileForms) {
  EXPECT_EQ(SystemdInput::parseCursorFile("{\"journal\":\"s=1;i=2\"}"), "s=1;i=2");
  EXPECT_EQ(SystemdInput::parseCursorFile("s=1;i=2\n"), "s=1;i=2");
  EXPECT_EQ(SystemdInput::parseCursorFile(""), "");
  EXPECT_EQ(SystemdInput::parseCursorFile("{\"other\":1}"), "");
  EXPECT_EQ(SystemdInput::parseCursorFile("{broken"), "");
}

// A real sluice process reading the journal into a file: SIGKILL right after a cursor write,
// more entries while it is down, a restart: every entry delivered, none twice.
TEST_F(SystemdInputTest, SigkilledProcessResumesAtItsCursor) {
  REQUIRE_JOURNAL_REMOTE();
  std::string out = dir_.file("out.log");
  std::string cursor_file = dir_.file("state/cursor.json");
  std::string conf_path = dir_.file("sluice.conf");
  writeFile(conf_path, "<source>\n @type systemd\n tag journal\n path " + journalDir() +
                           "\n read_from_head true\n matches [{\"_SYSTEMD_UNIT\": \"kubelet.service\"}]\n"
                           " <storage>\n  @type local\n  persistent true\n  path " + cursor_file +
                           "\n </storage>\n <entry>\n  fields_strip_underscores true\n </entry>\n</source>\n"
                           "<match journal>\n @type file\n path " + out + "\n</match>\n");
  auto start = [&] {
    return std::make_unique<SluiceProcess>(std::vector<std::string>{"-c", conf_path}, dir_.file("stdout"));
  };
  auto delivered = [&] {
    std::map<std::string, int> count;
    std::string text = fs::exists(out) ? readFile(out) : "";
    for (size_t at = 0; (at = text.find("\"MESSAGE\":\"k", at)) != std::string::npos; ++at) {
      size_t end = text.find('"', at + 11);
      ++count[text.substr(at + 11, end - at - 11)];
    }
    return count;
  };
  int written = 0;
  auto write = [&](int n) {
    std::vector<Fields> entries;
    for (int i = 0; i < n; ++i) {
      entries.push_back(unitEntry("kubelet.service", "k" + std::to_string(written + i)));
      entries.push_back(unitEntry("other.service", "o" + std::to_string(written + i)));
    }
    appendEntries(journalFile(), entries, 1364519243563178 + uint64_t(written) * 2);
    written += n;
  };
  write(2000);
  for (int round = 0; round < 3; ++round) {
    auto p = start();
    ASSERT_TRUE(waitFor([&] { return delivered().size() == size_t(written); }, std::chrono::seconds(30)))
        << "round " << round << ": " << delivered().size() << " of " << written;
    // Delivered and recorded: the stored cursor names the last kubelet entry.
    std::string last = lastCursor(journalDir(), "_SYSTEMD_UNIT=kubelet.service");
    ASSERT_FALSE(last.empty());
    ASSERT_TRUE(waitFor([&] { return SystemdInput::parseCursorFile(readFile(cursor_file)) == last; }));
    p->signal(SIGKILL);
    EXPECT_EQ(p->wait(), 128 + SIGKILL);
    write(700);  // written while sluice is down
  }
  auto p = start();
  ASSERT_TRUE(waitFor([&] { return delivered().size() == size_t(written); }, std::chrono::seconds(30)));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  auto got = delivered();
  ASSERT_EQ(got.size(), size_t(written));
  for (const auto& [msg, n] : got) EXPECT_EQ(n, 1) << msg << " delivered " << n << " times";
  EXPECT_EQ(readFile(out).find("\"o"), std::string::npos);  // matches kept other units out
}

}  // namespace
}  // namespace sluice::plugins::in_systemd
