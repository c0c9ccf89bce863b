// SPDX-License-Identifier: Apache-2.0
// detect_exceptions in real pipelines, with stack traces from fluent-plugin-detect-exceptions'
// test_exception_detector.rb (Java, complex Java with "Caused by", Node.js, Python, PHP, Go
// with a signal, C#, Ruby, Dart), fed line by line as container logs carry them (each line
// ending in "\n"), between ordinary log lines.

#include <gtest/gtest.h>

#include "core/json.h"
#include "plugins/out_detect_exceptions/detect_exceptions_output.h"
#include "support/capture_output.h"
#include "support/pipeline_fixture.h"
#include "support/test_support.h"

namespace sluice::plugins::out_detect_exceptions {
namespace {

using testing::CaptureStore;

const char* kJava =
    "Jul 09, 2015 3:23:29 PM com.google.devtools.search.cloud.feeder.MakeLog: RuntimeException: Run from this message!\n"
    "  at com.my.app.Object.do$a1(MakeLog.java:50)\n"
    "  at java.lang.Thing.call(Thing.java:10)\n"
    "  at com.my.app.Object.help(MakeLog.java:40)\n"
    "  at sun.javax.API.method(API.java:100)\n"
    "  at com.jetty.Framework.main(MakeLog.java:30)\n";
const char* kComplexJava =
    "javax.servlet.ServletException: Something bad happened\n"
    "    at com.example.myproject.OpenSessionInViewFilter.doFilter(OpenSessionInViewFilter.java:60)\n"
    "    at org.mortbay.jetty.servlet.ServletHandler$CachedChain.doFilter(ServletHandler.java:1157)\n"
    "    at org.mortbay.thread.QueuedThreadPool$PoolThread.run(QueuedThreadPool.java:582)\n"
    "Caused by: com.example.myproject.MyProjectServletException\n"
    "    at com.example.myproject.MyServlet.doPost(MyServlet.java:169)\n"
    "    at javax.servlet.http.HttpServlet.service(HttpServlet.java:727)\n"
    "    ... 27 more\n";
const char* kNode =
    "ReferenceError: myArray is not defined\n"
    "  at next (/app/node_modules/express/lib/router/index.js:256:14)\n"
    "  at /app/node_modules/express/lib/router/index.js:615:15\n"
    "  at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)\n"
    "  at /app/app.js:52:3\n";
const char* kPython =
    "Traceback (most recent call last):\n"
    "  File \"/base/data/home/runtimes/python27/python27_lib/versions/third_party/webapp2-2.5.2/webapp2.py\", line 1535, "
    "in __call__\n"
    "    rv = self.handle_exception(request, response, e)\n"
    "  File \"/base/data/home/apps/s~nearfieldspy/1.378705245900539993/nearfieldspy.py\", line 17, in start\n"
    "    return get()\n"
    "  File \"/base/data/home/apps/s~nearfieldspy/1.378705245900539993/nearfieldspy.py\", line 5, in get\n"
    "    raise Exception('spam', 'eggs')\n"
    "Exception: ('spam', 'eggs')\n";
const char* kPhp =
    "PHP Fatal error:  Uncaught exception 'Exception' with message 'message' in "
    "/base/data/home/apps/s~crash-example-php/1.388306779641080894/errors.php:60\n"
    "Stack trace:\n"
    "#0 [internal function]: ErrorEntryGenerator::{closure}()\n"
    "#1 /base/data/home/apps/s~crash-example-php/1.388306779641080894/errors.php(20): "
    "call_user_func_array(Object(Closure), Array)\n"
    "#2 {main}\n"
    "  thrown in /base/data/home/apps/s~crash-example-php/1.388306779641080894/errors.php on line 60\n";
const char* kGo =
    "panic: runtime error: invalid memory address or nil pointer dereference\n"
    "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x7fd34f]\n"
    "\n"
    "goroutine 5 [running]:\n"
    "panics.nilPtrDereference()\n"
    "\tpanics/panics.go:33 +0x1f\n"
    "panics.Wait()\n"
    "\tpanics/panics.go:16 +0x3b\n"
    "created by main.main\n"
    "\tserver.go:20 +0x91\n";
const char* kCsharp =
    "System.Collections.Generic.KeyNotFoundException: The given key was not present in the dictionary.\n"
    "  at File3.Consolidator_Class.Function3 (Int32 param_3) [0x0000f] in /usr/local/google/home/Csharp/another "
    "file.csharp:27\n"
    "  at File2.Processor.Random2 () [0x00037] in /usr/local/google/home/Csharp/File2.csharp:28\n"
    "  at System.Threading.Thread.StartInternal () [0x00000] in <filename unknown>:0\n";
const char* kRuby =
    " NoMethodError (undefined method `resursivewordload' for #<BooksController:0x007f8dd9a0c738>):\n"
    "  app/controllers/books_controller.rb:69:in `recursivewordload'\n"
    "  app/controllers/books_controller.rb:75:in `loadword'\n"
    "  config/error_reporting_logger.rb:62:in `tagged'\n";
const char* kDart =
    "Unhandled exception:\n"
    "Exception: exception message\n"
    "#0      main.<anonymous closure> (file:///path/to/code/dartFile.dart:17:20)\n"
    "#1      printError (file:///path/to/code/dartFile.dart:37:13)\n"
    "#4      _RawReceivePortImpl._handleMessage (dart:isolate-patch/isolate_patch.dart:151)\n";

std::vector<std::string> linesOf(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    out.emplace_back(text.substr(start, nl + 1 - start));
    start = nl + 1;
  }
  return out;
}

std::string record(const std::string& field, const std::string& message, const std::string& stream = "stderr") {
  std::string out = "{\"" + field + "\":";
  appendJsonString(out, message);
  return out + ",\"stream\":\"" + stream + "\"}";
}

class DetectExceptionsTest : public testing::PipelineFixture {
 protected:
  // detect_exceptions on raw.** (removing the prefix), then everything captured.
  void start(const std::string& params) {
    mustBuild("<match raw.**>\n @type detect_exceptions\n remove_tag_prefix raw\n" + params +
              "</match>\n<match **>\n @type capture\n @id out\n</match>\n");
  }
  void emit(const std::vector<std::string>& records, size_t batch_size = 3) {
    for (size_t i = 0; i < records.size(); i += batch_size) {
      Batch b = testing::batchOf(
          std::vector<std::string>(records.begin() + i, records.begin() + std::min(records.size(), i + batch_size)),
          "raw.kubernetes.app");
      ASSERT_TRUE(pipeline().inputs()[0]->emit(b).isOk());
    }
  }
  std::vector<std::string> out() { return CaptureStore::get().lines("out"); }
};

TEST_F(DetectExceptionsTest, EachLanguagesTraceBecomesOneRecord) {
  struct Case {
    const char* name;
    const char* trace;
  };
  for (const Case& c : {Case{"java", kJava}, Case{"complex java", kComplexJava}, Case{"node", kNode},
                        Case{"python", kPython}, Case{"php", kPhp}, Case{"go", kGo}, Case{"csharp", kCsharp},
                        Case{"ruby", kRuby}, Case{"dart", kDart}}) {
    CaptureStore::get().clear();
    start("");
    std::vector<std::string> in = {record("log", "2024-01-01 INFO before\n")};
    for (const auto& l : linesOf(c.trace)) in.push_back(record("log", l));
    in.push_back(record("log", "2024-01-01 INFO after\n"));
    emit(in);
    pipeline().stopFiltersAndOutputs();  // flushes what is held
    EXPECT_EQ(out(), (std::vector<std::string>{"kubernetes.app " + record("log", "2024-01-01 INFO before\n"),
                                               "kubernetes.app " + record("log", c.trace),
                                               "kubernetes.app " + record("log", "2024-01-01 INFO after\n")}))
        << c.name;
  }
}

TEST_F(DetectExceptionsTest, LanguagesLimitWhatIsJoined) {
  start(" languages python\n");
  std::vector<std::string> in;
  for (const auto& l : linesOf(kJava)) in.push_back(record("message", l));
  for (const auto& l : linesOf(kPython)) in.push_back(record("message", l));
  emit(in, 100);
  pipeline().stopFiltersAndOutputs();
  auto got = out();
  ASSERT_EQ(got.size(), linesOf(kJava).size() + 1);  // Java lines one by one, Python joined
  EXPECT_EQ(got.back(), "kubernetes.app " + record("message", kPython));
}

TEST_F(DetectExceptionsTest, StreamsAreSeparateAndMaxLinesCutsATrace) {
  start(" stream stream\n max_lines 3\n message log\n");
  auto lines = linesOf(kJava);  // 6 lines
  std::vector<std::string> in;
  for (size_t i = 0; i < lines.size(); ++i) {
    in.push_back(record("log", lines[i], "stderr"));
    in.push_back(record("log", "out " + std::to_string(i) + "\n", "stdout"));
  }
  emit(in, 5);
  pipeline().stopFiltersAndOutputs();
  auto got = out();
  std::vector<std::string> stderr_records;
  for (const auto& g : got) {
    if (g.find("\"stderr\"") != std::string::npos) stderr_records.push_back(g);
  }
  // stdout lines interleave without breaking the stderr trace; max_lines flushes it at 3 lines
  // and resets the detector, so the rest of the frames come one by one (as in Fluentd).
  ASSERT_EQ(stderr_records.size(), 4u);
  EXPECT_EQ(stderr_records[0], "kubernetes.app " + record("log", lines[0] + lines[1] + lines[2]));
  EXPECT_EQ(stderr_records[1], "kubernetes.app " + record("log", lines[3]));
  EXPECT_EQ(got.size(), 10u);
}

TEST_F(DetectExceptionsTest, FlushIntervalFlushesAnUnfinishedTrace) {
  start(" multiline_flush_interval 0.5s\n");
  std::vector<std::string> in;
  for (const auto& l : linesOf(kPython)) {
    if (l.rfind("Exception:", 0) != 0) in.push_back(record("log", l));  // never ends
  }
  emit(in, 100);
  EXPECT_TRUE(out().empty());
  ASSERT_TRUE(testing::waitFor([&] { return !out().empty(); }));
  std::string joined;
  for (const auto& l : linesOf(kPython)) {
    if (l.rfind("Exception:", 0) != 0) joined += l;
  }
  EXPECT_EQ(out(), std::vector<std::string>{"kubernetes.app " + record("log", joined)});
}

TEST_F(DetectExceptionsTest, JoinSeparatorAndMaxBytes) {
  start(" join_separator |\n max_bytes 200\n");
  std::vector<std::string> in;
  for (const auto& l : linesOf(kNode)) in.push_back(record("log", l));
  emit(in, 100);
  pipeline().stopFiltersAndOutputs();
  auto got = out();
  ASSERT_EQ(got.size(), 3u);  // 200 bytes cut the trace after 3 lines; the rest come alone
  EXPECT_NE(got[0].find("not defined\\n|  at next"), std::string::npos) << got[0];
}

TEST_F(DetectExceptionsTest, ConfigErrorsAndALoopIsCut) {
  auto p = build("<match **>\n @type detect_exceptions\n languages cobol\n</match>\n");
  ASSERT_FALSE(p.isOk());
  EXPECT_NE(p.status().message().find("cobol"), std::string::npos);
  // Without a prefix to remove, re-emitted events come back to it: cut, counted, no crash.
  p = build("<match **>\n @type detect_exceptions\n</match>\n");
  ASSERT_TRUE(p.isOk()) << p.status().message();
  ASSERT_TRUE((*p)->start().isOk());
  Batch b = testing::batchOf({record("log", "plain\n")}, "app");
  EXPECT_TRUE((*p)->inputs()[0]->emit(b).isOk());
}

TEST(ExceptionDetectorTest, StatesOfAJavaTrace) {
  auto d = ExceptionDetector::build({"java"});
  ASSERT_TRUE(d.isOk());
  int state = 0;
  using S = ExceptionDetector::Verdict;
  EXPECT_EQ((*d)->update(state, "plain line\n"), S::NoTrace);
  // As the gem's update: a rule taken from the start state counts as "seen before".
  EXPECT_EQ((*d)->update(state, "java.lang.Exception: x\n"), S::InsideTrace);
  EXPECT_EQ((*d)->update(state, "\tat a.b(C.java:1)\n"), S::InsideTrace);
  EXPECT_EQ((*d)->update(state, "next\n"), S::NoTrace);  // no rule: back at the start, nothing begins
  EXPECT_EQ((*d)->update(state, "java.lang.Error: y\n"), S::InsideTrace);
  // A line with no rule of the trace that starts another: the trace ends, a new one starts.
  EXPECT_EQ((*d)->update(state, "java.lang.Error: z\n"), S::StartTrace);
  EXPECT_EQ((*d)->update(state, "\n"), S::InsideTrace);  // /^$/: an empty line after the exception
  EXPECT_EQ((*d)->update(state, "after\n"), S::NoTrace);  // "after\n" is no empty line
  auto py = ExceptionDetector::build({"python"});
  ASSERT_TRUE(py.isOk());
  state = 0;
  EXPECT_EQ((*py)->update(state, "Traceback (most recent call last):\n"), S::InsideTrace);
  EXPECT_EQ((*py)->update(state, "  File \"a.py\", line 1, in <module>\n"), S::InsideTrace);
  EXPECT_EQ((*py)->update(state, "    main()\n"), S::InsideTrace);
  EXPECT_EQ((*py)->update(state, "ValueError: bad\n"), S::EndTrace);  // its rule leads back to the start
}

}  // namespace
}  // namespace sluice::plugins::out_detect_exceptions
