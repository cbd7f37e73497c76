package dev.trackgate.flink;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * The trackgate enforcement job: raw events from Kafka, decided in blocks by the Rust library
 * under the active signed plan, kept events routed by priority to output topics, per-window
 * filter stats and a control log, all written with Kafka transactions (exactly once).
 *
 * <pre>
 * events topic ──KafkaSource──▶ (before-filter hook) ──┐
 *                                                     ├─▶ EnforceOperator ──KafkaSink (EOS)──▶ P0..P3, unregistered,
 * control topic ──KafkaSource──broadcast──────────────┘                                        stats, control log
 * </pre>
 */
public final class TrackgateJob {
    private TrackgateJob() {}

    /** Runs the job with {@code --name value} options (README.md, "Configuration"). */
    public static void main(String[] args) throws Exception {
        JobConfig config = JobConfig.fromArgs(args);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(restarts());
        build(env, config, UnaryOperator.identity());
        env.execute("trackgate enforce " + config.app + "/" + config.env);
    }

    /** Restart on failure from the last checkpoint, a bounded number of times. */
    public static Configuration restarts() {
        Configuration configuration = new Configuration();
        configuration.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        configuration.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        configuration.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        return configuration;
    }

    /**
     * Adds the job to {@code env}. {@code beforeFilter} may add stages between reading events and
     * deciding them (tests inject a failure there; production passes the identity).
     */
    public static void build(StreamExecutionEnvironment env, JobConfig config,
            UnaryOperator<DataStream<byte[]>> beforeFilter) {
        env.enableCheckpointing(config.checkpointMillis, CheckpointingMode.EXACTLY_ONCE);
        env.setParallelism(config.parallelism);

        DataStream<byte[]> events = env.fromSource(
                source(config, config.eventsTopic, config.groupId),
                WatermarkStrategy.<byte[]>forBoundedOutOfOrderness(Duration.ofMillis(config.outOfOrdernessMillis))
                        .withIdleness(Duration.ofMillis(Math.max(1_000, config.outOfOrdernessMillis))),
                "events: " + config.eventsTopic);
        DataStream<byte[]> control = env.fromSource(
                        source(config, config.controlTopic, config.groupId + "-control"),
                        WatermarkStrategy.noWatermarks(), "plans: " + config.controlTopic)
                .setParallelism(1);

        DataStream<Routed> routed = enforce(beforeFilter.apply(events), control, config);

        routed.sinkTo(KafkaSink.<Routed>builder()
                        .setBootstrapServers(config.bootstrap)
                        .setRecordSerializer(new RoutedSerializer())
                        .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                        .setTransactionalIdPrefix(config.groupId)
                        // Below the broker's transaction.max.timeout.ms (15 min by default).
                        .setProperty("transaction.timeout.ms", "600000")
                        .setProperty("max.request.size", Integer.toString(16 << 20))
                        .build())
                .name("kafka: kept events, stats, control log")
                .uid("trackgate-sink");
    }

    /**
     * The decide path alone: raw events and signed envelopes ({@code control}, broadcast here to
     * every task) into {@link EnforceOperator}. {@link #build} surrounds it with the Kafka
     * sources and sink; the throughput benchmark ({@code streaming/flink/bench.sh}) feeds it
     * from memory.
     */
    public static DataStream<Routed> enforce(DataStream<byte[]> events, DataStream<byte[]> control, JobConfig config) {
        return events
                .connect(control.broadcast())
                .transform("trackgate enforce", TypeInformation.of(Routed.class), new EnforceOperator(config))
                .uid("trackgate-enforce");
    }

    private static KafkaSource<byte[]> source(JobConfig config, String topic, String groupId) {
        var builder = KafkaSource.<byte[]>builder()
                .setBootstrapServers(config.bootstrap)
                .setTopics(topic)
                .setGroupId(groupId)
                .setStartingOffsets(OffsetsInitializer.committedOffsets(
                        org.apache.kafka.clients.consumer.OffsetResetStrategy.EARLIEST))
                .setDeserializer(KafkaRecordDeserializationSchema.valueOnly(ByteArrayDeserializer.class))
                // Only committed records: upstream transactional producers' aborted data is never read.
                .setProperty("isolation.level", "read_committed");
        if (config.bounded) {
            builder.setBounded(OffsetsInitializer.latest());
        }
        return builder.build();
    }
}
