package dev.trackgate

import dev.trackgate.support.APP
import dev.trackgate.support.ENV
import dev.trackgate.support.PublisherTest
import dev.trackgate.support.gateWith
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** `take_report`: every decision counted once, by event and reason, as a record and as JSON. */
class ReportTest : PublisherTest() {
    private fun decideKnownMix(gate: Gate) {
        repeat(3) { gate.decide("checkout.completed", 100u) } // kept, 300 bytes
        gate.decide("legacy.banner_seen", 7u) // retired
        gate.decide("photo.uploaded", 2000u) // oversize
        gate.decide("photo.uploaded", 500u) // kept
        repeat(2) { gate.decide("scroll.depth", 1u) } // sampled out
        repeat(2) { gate.decide("search.typed", 10u) } // kept, then rate limited
        gate.decide("not.in.plan", 4u) // unregistered
        gate.decide("bad name!", 5u) // invalid name
    }

    @Test
    fun `the report counts every decision by reason and by event`(): Unit =
        gateWith(publisher, dir.resolve("store"), publisher.sealStandard(3)).use { gate ->
            decideKnownMix(gate)
            val report = gate.takeReport().report
            assertEquals(APP, report.app)
            assertEquals(ENV, report.env)
            assertEquals(3uL, report.planVersion)
            assertEquals(12uL, report.offered)
            assertEquals(5uL, report.kept)
            assertEquals(300uL + 500uL + 10uL, report.keptBytes)
            assertEquals(
                ReasonCounts(
                    disabled = 0u, invalidName = 1u, unregistered = 1u, retired = 1u, shed = 0u, oversize = 1u,
                    sampledOut = 2u, rateLimited = 1u,
                ),
                report.dropped,
            )
            assertEquals(7uL + 2000uL + 2uL + 10uL + 4uL + 5uL, report.droppedBytes)
            val byName = report.events.associateBy { it.name }
            assertEquals(
                listOf("checkout.completed", "legacy.banner_seen", "photo.uploaded", "scroll.depth", "search.typed"),
                report.events.map { it.name },
            )
            assertEquals(3uL, byName.getValue("checkout.completed").kept)
            assertEquals(3.0, byName.getValue("checkout.completed").keptWeighted)
            assertEquals(Priority.P0, byName.getValue("checkout.completed").priority)
            assertEquals(1uL, byName.getValue("photo.uploaded").dropped.oversize)
            assertEquals(2000uL, byName.getValue("photo.uploaded").droppedBytes)
            assertEquals(listOf("not.in.plan"), report.unregistered.map { it.name })
            assertEquals(1uL, report.unregistered.single().dropped)
            assertEquals(0uL, report.unregisteredOverflow)
            assertTrue(report.windowEndUnixMs >= report.windowStartUnixMs)
        }

    @Test
    fun `kept plus dropped equals offered, and a report empties the window`(): Unit =
        gateWith(publisher, dir.resolve("store"), publisher.sealStandard(1)).use { gate ->
            decideKnownMix(gate)
            val first = gate.takeReport().report
            val d = first.dropped
            val dropped = d.disabled + d.invalidName + d.unregistered + d.retired + d.shed + d.oversize +
                d.sampledOut + d.rateLimited
            assertEquals(first.offered, first.kept + dropped)
            val second = gate.takeReport().report
            assertEquals(0uL, second.offered)
            assertTrue(second.events.isEmpty() && second.unregistered.isEmpty())
            assertTrue(second.windowStartUnixMs >= first.windowEndUnixMs)
        }

    @Test
    fun `the JSON to upload says what the record says`(): Unit =
        gateWith(publisher, dir.resolve("store"), publisher.sealStandard(2)).use { gate ->
            decideKnownMix(gate)
            val taken = gate.takeReport()
            val json = Json.parseToJsonElement(taken.json).jsonObject
            assertEquals(taken.report.offered.toLong(), json.getValue("offered").jsonPrimitive.long)
            assertEquals(taken.report.kept.toLong(), json.getValue("kept").jsonPrimitive.long)
            assertEquals(2L, json.getValue("plan_version").jsonPrimitive.long)
            assertEquals(APP, json.getValue("app").jsonPrimitive.content)
            val dropped = json.getValue("dropped").jsonObject
            assertEquals(2L, dropped.getValue("sampled_out").jsonPrimitive.long)
            assertEquals(1L, dropped.getValue("rate_limited").jsonPrimitive.long)
            val events = json.getValue("events").jsonArray.map { it.jsonObject.getValue("name").jsonPrimitive.content }
            assertEquals(taken.report.events.map { it.name }, events)
            assertEquals(
                taken.report.windowStartUnixMs.toLong(),
                json.getValue("window_start_unix_ms").jsonPrimitive.long,
            )
        }

    @Test
    fun `batch decisions are counted like single ones`(): Unit =
        gateWith(publisher, dir.resolve("store"), publisher.sealStandard(1)).use { gate ->
            val names = listOf("checkout.completed", "scroll.depth", "not.in.plan", "legacy.banner_seen")
            val decided = gate.decideBatch(names, listOf(1u, 2u, 3u, 4u))
            assertEquals(listOf<Byte>(0, dropReasonCode(DropReason.SAMPLED_OUT).toByte(),
                dropReasonCode(DropReason.UNREGISTERED).toByte(), dropReasonCode(DropReason.RETIRED).toByte()),
                decided.codes.toList())
            val report = gate.takeReport().report
            assertEquals(4uL, report.offered)
            assertEquals(1uL, report.kept)
        }
}
