// SPDX-License-Identifier: Apache-2.0
// kafka2 to librdkafka's mock cluster, end to end: this process runs the mock cluster (3
// brokers on 127.0.0.1, topic `bench`), then runs sluice (stdin → json → kafka2, memory
// buffer) on a file of JSON lines and reports sluice's wall and CPU time, events per second,
// and the messages Kafka then holds. The mock cluster's own CPU (this process) is reported
// apart: on a small machine it competes with sluice for the cores.
//   sluice_kafka_bench SLUICE INPUT LINES [PARTITIONS] [COMPRESSION]
// Environment: SLUICE_KAFKA_FLUSH_THREADS (default 2), SLUICE_LOG_LEVEL (default warn).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "plugins/out_kafka2/kafka_mock_support.h"

using sluice::plugins::out_kafka2::testing::messagesIn;
using sluice::plugins::out_kafka2::testing::MockKafka;

namespace {

double cpuSeconds(const struct rusage& u) {
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s SLUICE INPUT LINES [PARTITIONS] [COMPRESSION]\n", argv[0]);
    return 2;
  }
  const std::string sluice = argv[1], input = argv[2];
  const int64_t lines = std::atoll(argv[3]);
  const int partitions = argc > 4 ? std::atoi(argv[4]) : 3;
  const std::string codec = argc > 5 ? argv[5] : "none";
  MockKafka kafka(3);
  if (!kafka.ok() || !kafka.createTopic("bench", partitions, 1)) {
    std::fprintf(stderr, "cannot start the mock cluster\n");
    return 1;
  }
  char dir_template[] = "/tmp/sluice-kafka-bench-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const std::string conf = dir + "/bench.conf";
  std::ofstream(conf) << "<source>\n @type stdin\n tag bench\n <parse>\n  @type json\n </parse>\n</source>\n"
                         "<match bench>\n @type kafka2\n brokers " << kafka.bootstraps()
                      << "\n default_topic bench\n compression_codec " << codec
                      << "\n <buffer>\n  @type memory\n  flush_interval 1s\n  flush_thread_count "
                      << (getenv("SLUICE_KAFKA_FLUSH_THREADS") ? getenv("SLUICE_KAFKA_FLUSH_THREADS") : "2") << "\n"
                         "  chunk_limit_size 8m\n  total_limit_size 512m\n  overflow_action block\n </buffer>\n</match>\n";
  struct rusage self_before;
  getrusage(RUSAGE_SELF, &self_before);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(input.c_str(), O_RDONLY);
    dup2(fd, 0);
    execl(sluice.c_str(), sluice.c_str(), "-c", conf.c_str(), "--log-level", getenv("SLUICE_LOG_LEVEL") ? getenv("SLUICE_LOG_LEVEL") : "warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  struct rusage child;
  wait4(pid, &status, 0, &child);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  struct rusage self_after;
  getrusage(RUSAGE_SELF, &self_after);
  int64_t in_kafka = messagesIn(kafka.bootstraps(), "bench", partitions);
  const double cpu = cpuSeconds(child);
  std::printf("run: sluice exit %d, wall %.2f s, cpu %.2f s, %.0f events/s wall, %.0f events per cpu-second, "
              "peak RSS %.1f MiB; mock cluster cpu %.2f s; %lld messages in Kafka (%lld expected)\n",
              WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), wall, cpu, lines / wall, lines / cpu,
              child.ru_maxrss / 1024.0, cpuSeconds(self_after) - cpuSeconds(self_before),
              static_cast<long long>(in_kafka), static_cast<long long>(lines));
  std::remove(conf.c_str());
  rmdir(dir.c_str());
  return in_kafka == lines ? 0 : 1;
}
