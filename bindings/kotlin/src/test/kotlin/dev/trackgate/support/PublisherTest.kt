package dev.trackgate.support

import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

/**
 * The setup most gate tests share: a fresh temporary directory per test and a [Publisher]
 * (a key pair that signs plans) in it. Subclasses put their stores under [dir].
 */
abstract class PublisherTest {
    @TempDir
    lateinit var dir: Path
    protected lateinit var publisher: Publisher

    @BeforeEach
    fun keys() {
        publisher = Publisher(dir.resolve("publisher"))
    }
}
