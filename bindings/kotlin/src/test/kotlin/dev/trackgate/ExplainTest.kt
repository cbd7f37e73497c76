package dev.trackgate

import dev.trackgate.support.PublisherTest
import dev.trackgate.support.gateWith
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** `Trackgate.explain`, `Trackgate.explainText` and `TakenReport.table`. */
class ExplainTest : PublisherTest() {
    @Test
    fun `explain names the rule and its values and counts nothing`() {
        Trackgate(gateWith(publisher, dir.resolve("store"), publisher.sealStandard(3))).use { trackgate ->
            val explained = trackgate.explain("photo.uploaded", 5000)
            assertEquals(Decision.Drop(DropReason.OVERSIZE), explained.decision)
            assertEquals(DropReason.OVERSIZE, explained.refusedBy)
            assertEquals(3UL, explained.planVersion)
            assertEquals(1000U, explained.maxBytes)
            val text = trackgate.explainText("photo.uploaded", 5000)
            assertTrue(text.contains("5000 bytes, cap 1000  <- refused here"), text)
            val sampled = trackgate.explain("scroll.depth", 1)
            assertEquals(DropReason.SAMPLED_OUT, sampled.refusedBy)
            assertNotNull(sampled.unitValue)
            repeat(3) { assertEquals(1U, trackgate.explain("search.typed", 1).tokensLeft) }
            assertEquals(0UL, trackgate.takeReport().report.offered)
            for (name in listOf("checkout.completed", "photo.uploaded", "scroll.depth", "typo.evnt")) {
                assertEquals(trackgate.explain(name, 5000).decision, trackgate.track(name, 5000), name)
            }
        }
    }

    @Test
    fun `a report prints as a table`() {
        Trackgate(gateWith(publisher, dir.resolve("store"), publisher.sealStandard(3))).use { trackgate ->
            trackgate.track("checkout.completed", 120)
            trackgate.track("typo.evnt", 7)
            val taken = trackgate.takeReport()
            val table = taken.table
            assertTrue(table.startsWith("shop/prod plan version 3, "), table)
            assertTrue(table.contains("offered 2, kept 1 (120 bytes), dropped 1 (7 bytes): unregistered 1"), table)
            assertTrue(table.lines().any { it.split(Regex("\\s+")).take(3) == listOf("checkout.completed", "P0", "1") }, table)
            assertTrue(taken.report.dropped.toString().contains("unregistered=1"))
        }
    }
}
