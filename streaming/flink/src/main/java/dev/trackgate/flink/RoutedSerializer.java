package dev.trackgate.flink;

import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.nio.charset.StandardCharsets;

/** Writes a {@link Routed} to its topic, with the deciding plan version as a header. */
public final class RoutedSerializer implements KafkaRecordSerializationSchema<Routed> {
    /** The header carrying the plan version (decimal ASCII). */
    public static final String PLAN_VERSION_HEADER = "trackgate-plan-version";

    @Override
    public ProducerRecord<byte[], byte[]> serialize(Routed routed, KafkaSinkContext context, Long timestamp) {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(routed.topic, null, null, null, routed.value);
        record.headers().add(PLAN_VERSION_HEADER,
                Long.toString(routed.planVersion).getBytes(StandardCharsets.US_ASCII));
        return record;
    }
}
