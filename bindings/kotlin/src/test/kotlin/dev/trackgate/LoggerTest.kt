package dev.trackgate

import dev.trackgate.support.Publisher
import dev.trackgate.support.PublisherTest
import dev.trackgate.support.options
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.util.Collections

/** `GateOptions.logger`: delivery events reach a Kotlin logger; one that throws breaks nothing. */
class LoggerTest : PublisherTest() {
    private class Recorder : DeliveryLogger {
        val events: MutableList<DeliveryEvent> = Collections.synchronizedList(mutableListOf())
        override fun log(event: DeliveryEvent) {
            events.add(event)
        }
    }

    @Test
    fun `start, install and refusal reach the logger with their cause`() {
        val stranger = Publisher(dir.resolve("stranger"))
        val recorder = Recorder()
        val options = options(publisher, dir.resolve("store"), bundled = stranger.sealStandard(3)).copy(logger = recorder)
        Gate(options).use { gate ->
            val started = recorder.events.single() as DeliveryEvent.Started
            assertEquals(PlanSource.FAIL_POLICY, started.source)
            assertTrue(started.problem!!.contains("unknown key"), started.problem)

            recorder.events.clear()
            gate.applyPlan(publisher.sealStandard(4))
            gate.applyPlan(stranger.sealStandard(5))
            val (installed, refused) = recorder.events.toList()
            assertEquals(4UL, (installed as DeliveryEvent.Installed).version)
            assertEquals("unknown_key", (refused as DeliveryEvent.Refused).kind)
        }
    }

    @Test
    fun `a throwing logger breaks nothing`() {
        val throwing = object : DeliveryLogger {
            override fun log(event: DeliveryEvent): Unit = throw IllegalStateException("logger broke")
        }
        Gate(options(publisher, dir.resolve("store")).copy(logger = throwing)).use { gate ->
            assertTrue(gate.applyPlan(publisher.sealStandard(6)) is ApplyOutcome.Installed)
            assertEquals(6UL, gate.status().version)
        }
    }
}
