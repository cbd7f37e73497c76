package dev.trackgate.flink;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Publishes a signed envelope (from {@code trackgate build}) to the control topic, keyed by
 * {@code app/env} so the compacted topic keeps the latest plan per scope. The job verifies it;
 * this tool only carries bytes.
 *
 * <pre>java -cp JOB_CLASSPATH dev.trackgate.flink.PublishEnvelope BOOTSTRAP TOPIC APP/ENV FILE</pre>
 */
public final class PublishEnvelope {
    private PublishEnvelope() {}

    /** Entry point. */
    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: PublishEnvelope BOOTSTRAP TOPIC APP/ENV ENVELOPE_FILE");
            System.exit(2);
        }
        byte[] envelope = Files.readAllBytes(Path.of(args[3]));
        Properties properties = new Properties();
        properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        properties.put(ProducerConfig.ACKS_CONFIG, "all");
        // Large plans sign to megabytes (1,000,000 events: about 19 MB); the topic's
        // max.message.bytes must admit them too (streaming/flink/README.md).
        properties.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(Math.max(1 << 20, envelope.length + (64 << 10))));
        try (var producer = new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer())) {
            var metadata = producer.send(new ProducerRecord<>(args[1],
                    args[2].getBytes(StandardCharsets.UTF_8), envelope)).get();
            System.out.printf("published %d bytes to %s-%d at offset %d%n",
                    envelope.length, metadata.topic(), metadata.partition(), metadata.offset());
        }
    }
}
