package dev.trackgate.flink;

import dev.trackgate.flink.common.KafkaBroker;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The local run behind {@code run-local.sh}: a real KRaft broker (child JVM), the job's topics,
 * the job on a local mini-cluster, the events of a file in, a second signed plan published
 * live, and what the job committed printed. Everything stops when it returns.
 *
 * <pre>LocalRun EVENTS.ndjson PLAN-1.tgplan PLAN-2.tgplan PUBLIC.key APP ENV</pre>
 */
public final class LocalRun {
    private LocalRun() {}

    /** Entry point. */
    public static void main(String[] args) throws Exception {
        KafkaBroker broker = KafkaBroker.start();
        try {
            System.out.println("Kafka (KRaft) on " + broker.bootstrap());
            List<String> outputs = List.of("events.P0", "events.P1", "events.P2", "events.P3", "events.unregistered");
            List<String> topics = new ArrayList<>(outputs);
            topics.addAll(List.of("events.raw", "trackgate.plans", "trackgate.stats", "trackgate.control-log"));
            broker.createTopics(2, topics, "trackgate.plans");
            JobConfig config = JobConfig.fromArgs(new String[] {
                "--bootstrap", broker.bootstrap(), "--app", args[4], "--env", args[5],
                "--trusted-keys", args[3], "--initial-envelope", args[1], "--parallelism", "2",
                "--checkpoint-ms", "1000", "--window-ms", "10000", "--out-of-orderness-ms", "1000"});
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(TrackgateJob.restarts());
            TrackgateJob.build(env, config, UnaryOperator.identity());
            JobClient job = env.executeAsync("trackgate local run");
            List<byte[]> events = new ArrayList<>();
            for (String line : Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8)) {
                events.add(line.getBytes(StandardCharsets.UTF_8));
            }
            long[] times = new long[events.size()];
            java.util.Arrays.fill(times, System.currentTimeMillis());
            broker.produce("events.raw", events, times);
            System.out.println(events.size() + " events written to events.raw");
            broker.produce("trackgate.plans", args[4] + "/" + args[5], Files.readAllBytes(Path.of(args[2])));
            System.out.println("plan 2 published to trackgate.plans");
            List<ConsumerRecord<byte[], byte[]>> log = broker.readUntil(List.of("trackgate.control-log"),
                    read -> read.size() >= 2, Duration.ofSeconds(60));
            log.forEach(record -> System.out.println("control log: " + new String(record.value(), StandardCharsets.UTF_8)));
            List<ConsumerRecord<byte[], byte[]>> kept = broker.readUntil(outputs, read -> !read.isEmpty(), Duration.ofSeconds(60));
            kept.stream().limit(10).forEach(record -> System.out.println(record.topic() + " (plan "
                    + new String(record.headers().lastHeader(RoutedSerializer.PLAN_VERSION_HEADER).value(),
                            StandardCharsets.US_ASCII) + "): " + new String(record.value(), StandardCharsets.UTF_8)));
            job.cancel().get();
        } finally {
            broker.stop();
        }
    }
}
