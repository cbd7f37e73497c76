package dev.trackgate.flink;

/**
 * One record the job writes: a kept event (tagged by the Rust filter), a filter-stats record or
 * a control-log entry, with its destination topic and the plan version that decided it (sent
 * as the Kafka header {@value RoutedSerializer#PLAN_VERSION_HEADER}). A Flink POJO.
 */
public class Routed {
    /** The Kafka topic it goes to. */
    public String topic;
    /** The record's value. */
    public byte[] value;
    /** The plan version that decided it (for stats: counted under; for the log: active after). */
    public long planVersion;

    /** For Flink's POJO serializer. */
    public Routed() {}

    /** A record for {@code topic}. */
    public Routed(String topic, byte[] value, long planVersion) {
        this.topic = topic;
        this.value = value;
        this.planVersion = planVersion;
    }
}
