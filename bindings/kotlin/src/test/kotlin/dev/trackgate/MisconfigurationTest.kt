package dev.trackgate

import dev.trackgate.support.Publisher
import dev.trackgate.support.PublisherTest
import dev.trackgate.support.options
import dev.trackgate.support.standardPlan
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.nio.file.Files

/**
 * Strict start (`GateOptions.strict`): the usual misconfigurations fail `Gate(...)` with a typed
 * exception naming the cause; without it (production) the gate starts on the fail policy and
 * the cause is only in `status().lastError`.
 */
class MisconfigurationTest : PublisherTest() {
    private fun strictFailure(options: GateOptions): GateException =
        assertThrows(GateException::class.java) { Gate(options.copy(strict = true)) }

    private fun assertNames(error: GateException, vararg parts: String) {
        for (part in parts) assertTrue(error.message!!.contains(part), "expected '$part' in: ${error.message}")
    }

    @Test
    fun `plan JSON passed as the bundled plan names bad magic`() {
        val options = options(publisher, dir.resolve("store"), bundled = standardPlan(3).toByteArray())
        val error = strictFailure(options)
        assertTrue(error is GateException.BundledPlanRefused, "got $error")
        assertNames(error, "GateOptions.bundled_plan refused (malformed)", "bad magic", "these bytes are plan JSON")

        val gate = Gate(options)
        assertEquals(PlanSource.FAIL_POLICY, gate.status().source)
        assertTrue(gate.status().lastError!!.contains("bad magic"))
        gate.close()
    }

    @Test
    fun `a key from another keypair names the unknown key`() {
        val stranger = Publisher(dir.resolve("stranger"))
        val error = strictFailure(options(publisher, dir.resolve("store"), bundled = stranger.sealStandard(3)))
        assertTrue(error is GateException.BundledPlanRefused, "got $error")
        assertNames(error, "(unknown_key)", "is by unknown key", "not in GateOptions.trusted_keys")
    }

    @Test
    fun `a wrong app names both scopes`() {
        val options = options(publisher, dir.resolve("store"), bundled = publisher.sealStandard(3)).copy(app = "shopp")
        val error = strictFailure(options)
        assertTrue(error is GateException.BundledPlanRefused, "got $error")
        assertNames(error, "(wrong_scope)", "plan is for shop/prod, this device runs shopp/prod")
    }

    @Test
    fun `an unusable store is a store problem`() {
        val blocker = Files.writeString(dir.resolve("blocker"), "a file, not a directory")
        val error = strictFailure(options(publisher, blocker, bundled = publisher.sealStandard(3)))
        assertTrue(error is GateException.StoreProblem, "got $error")
        assertNames(error, "GateOptions.store_directory: ")
    }

    @Test
    fun `a good configuration starts strictly`() {
        Gate(options(publisher, dir.resolve("store"), bundled = publisher.sealStandard(3)).copy(strict = true)).use { gate ->
            assertEquals(PlanSource.BUNDLED, gate.status().source)
            assertEquals(3UL, gate.status().version)
        }
    }
}
