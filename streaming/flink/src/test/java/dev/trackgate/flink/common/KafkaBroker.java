package dev.trackgate.flink.common;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * A real single-node Kafka broker in KRaft mode (broker and controller in one process), started
 * from the kafka_2.13 artifacts on the test classpath in a child JVM, so its dependencies never
 * meet Flink's. One broker serves every test class of a run ({@link #shared()}); each test uses
 * its own topics. Stopped when the test JVM exits.
 */
public final class KafkaBroker {
    private static KafkaBroker shared;

    private final Process process;
    private final String bootstrap;
    private final Path directory;

    private KafkaBroker(Process process, String bootstrap, Path directory) {
        this.process = process;
        this.bootstrap = bootstrap;
        this.directory = directory;
    }

    /** The run's broker, started on first use. */
    public static synchronized KafkaBroker shared() throws Exception {
        if (shared == null) {
            shared = start();
            KafkaBroker broker = shared;
            Runtime.getRuntime().addShutdownHook(new Thread(broker::stop));
        }
        return shared;
    }

    /** {@code host:port} of the broker's client listener. */
    public String bootstrap() {
        return bootstrap;
    }

    /** Starts a broker on free loopback ports and waits (bounded) until it answers. */
    public static KafkaBroker start() throws Exception {
        Path directory = Files.createTempDirectory("trackgate-kafka");
        int brokerPort = freePort();
        int controllerPort = freePort();
        Path properties = directory.resolve("server.properties");
        Files.writeString(properties, String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + brokerPort,
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs=" + directory.resolve("logs"),
                "num.partitions=2",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=4",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=4",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "message.max.bytes=16777216",
                "replica.fetch.max.bytes=16777216",
                "auto.create.topics.enable=false",
                // Tests write records with fixed past times; time-based retention must not drop them.
                "log.retention.ms=-1",
                ""));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("java.class.path");
        Path log = directory.resolve("broker.log");
        run(List.of(java, "-cp", classpath, "kafka.tools.StorageTool", "format",
                "-t", Uuid.randomUuid().toString(), "-c", properties.toString()), log);
        Process process = new ProcessBuilder(java, "-Xmx768m", "-cp", classpath, "kafka.Kafka", properties.toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        KafkaBroker broker = new KafkaBroker(process, "127.0.0.1:" + brokerPort, directory);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (true) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the Kafka broker exited; see " + log);
            }
            try (Admin admin = broker.admin()) {
                admin.describeCluster().nodes().get(2, TimeUnit.SECONDS);
                return broker;
            } catch (Exception notYet) {
                if (System.nanoTime() > deadline) {
                    broker.stop();
                    throw new IllegalStateException("the Kafka broker did not answer within 90 s; see " + log);
                }
            }
        }
    }

    private static void run(List<String> command, Path log) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            process.destroyForcibly();
            throw new IllegalStateException(command.get(3) + " failed; see " + log);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** Stops the broker and removes its files. */
    public void stop() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
        }
        deleteTree(directory.toFile());
    }

    private static void deleteTree(File file) {
        File[] children = file.listFiles();
        if (children != null) {
            for (File child : children) {
                deleteTree(child);
            }
        }
        file.delete();
    }

    /** An admin client (close it). */
    public Admin admin() {
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        return Admin.create(properties);
    }

    /** Creates topics with {@code partitions} partitions; the control topic is compacted. */
    public void createTopics(int partitions, List<String> topics, String compacted) throws Exception {
        List<NewTopic> created = new ArrayList<>();
        for (String topic : topics) {
            NewTopic newTopic = new NewTopic(topic, topic.equals(compacted) ? 1 : partitions, (short) 1);
            if (topic.equals(compacted)) {
                newTopic.configs(Map.of("cleanup.policy", "compact"));
            }
            created.add(newTopic);
        }
        try (Admin admin = admin()) {
            admin.createTopics(created).all().get(30, TimeUnit.SECONDS);
            awaitLeaders(admin, topics);
        }
    }

    /**
     * Waits (at most 30 s) until every partition of {@code topics} has a leader in the broker's
     * metadata. createTopics returns before that: a producer writing at once got
     * NOT_LEADER_OR_FOLLOWER, and its idempotent retries then failed with
     * OUT_OF_ORDER_SEQUENCE_NUMBER until the batch expired (seen once in CI).
     */
    private static void awaitLeaders(Admin admin, List<String> topics) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            Map<String, TopicDescription> described = admin.describeTopics(topics).allTopicNames().get(10, TimeUnit.SECONDS);
            boolean ready = described.values().stream()
                    .allMatch(topic -> topic.partitions().stream().allMatch(partition -> partition.leader() != null
                            && !partition.leader().isEmpty()));
            if (ready) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("topics " + topics + " have partitions without a leader after 30 s: " + described);
            }
            Thread.sleep(20);
        }
    }

    /** A producer of byte records (close it). */
    public KafkaProducer<byte[], byte[]> producer() {
        Properties properties = new Properties();
        properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        properties.put(ProducerConfig.ACKS_CONFIG, "all");
        // One request in flight per connection: a retried batch can never be overtaken by the
        // next, so a transient NOT_LEADER_OR_FOLLOWER cannot turn into a sequence-number error.
        properties.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        properties.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        properties.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 * 1024));
        properties.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(16 << 20));
        return new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Sends {@code values} to {@code topic} with record time {@code timestamps[i]}, and waits for all. */
    public void produce(String topic, List<byte[]> values, long[] timestamps) throws Exception {
        produce(topic, values, timestamps, 0);
    }

    /**
     * As {@link #produce(String, List, long[])}, but record {@code i} goes to partition
     * {@code i % partitions}, so every reader of the topic gets its share (0: the producer picks).
     */
    public void produce(String topic, List<byte[]> values, long[] timestamps, int partitions) throws Exception {
        List<java.util.concurrent.Future<?>> sent = new ArrayList<>(values.size());
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            for (int index = 0; index < values.size(); index++) {
                Integer partition = partitions > 0 ? index % partitions : null;
                sent.add(producer.send(new ProducerRecord<>(topic, partition, timestamps[index], null, values.get(index))));
            }
            producer.flush();
        }
        for (java.util.concurrent.Future<?> send : sent) {
            send.get(); // a refused record fails the test here, not as missing output later
        }
    }

    /** Sends one keyed value (compacted topics refuse records without a key) and waits for it. */
    public void produce(String topic, String key, byte[] value) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            producer.send(new ProducerRecord<>(topic, key.getBytes(java.nio.charset.StandardCharsets.UTF_8), value))
                    .get(30, TimeUnit.SECONDS);
        }
    }

    /** The end offsets of {@code partitions} including records of open transactions. */
    private Map<TopicPartition, Long> writtenEnds(List<TopicPartition> partitions) {
        Properties properties = new Properties();
        properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            return consumer.endOffsets(partitions);
        }
    }

    /**
     * Reads the committed records of {@code topics} (read_committed, from the start) until
     * {@code done} holds for what was read, or fails after {@code timeout}.
     */
    public List<ConsumerRecord<byte[], byte[]>> readUntil(List<String> topics,
            Predicate<List<ConsumerRecord<byte[], byte[]>>> done, Duration timeout) {
        Properties properties = new Properties();
        properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        properties.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Integer.toString(16 << 20));
        List<ConsumerRecord<byte[], byte[]>> read = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : topics) {
                consumer.partitionsFor(topic).forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!done.test(read)) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("condition not met within " + timeout + " after reading "
                            + read.size() + " record(s) of " + topics + ": "
                            + read.stream().collect(Collectors.groupingBy(ConsumerRecord::topic, Collectors.counting()))
                            + "; committed ends " + consumer.endOffsets(partitions) + ", written ends "
                            + writtenEnds(partitions));
                }
                consumer.poll(Duration.ofMillis(200)).forEach(read::add);
            }
        }
        return read;
    }
}
