package dev.trackgate

import dev.trackgate.support.Cli
import dev.trackgate.support.PublisherTest
import dev.trackgate.support.options
import dev.trackgate.support.standardPlan
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.nio.file.Files
import java.nio.file.Path

/**
 * Reviews as signatures: under a two-role [SignaturePolicy] a plan signed by the business key
 * alone is refused (the active plan stays) and accepted once the technical key co-signs it with
 * `trackgate sign`. Keys come from `trackgate keygen --role`, envelopes from `trackgate build
 * --format 2`.
 */
class SignaturePolicyTest : PublisherTest() {
    private fun keygen(role: String): Pair<Path, String> {
        val keys = dir.resolve(role)
        Cli.run("keygen", "--out", keys.toString(), "--role", role)
        return keys.resolve("signing.key") to Files.readString(keys.resolve("public.hex")).trim()
    }

    @Test
    fun oneRoleAloneIsRefusedAndTheCoSignedPlanIsAccepted() {
        val (businessKey, businessHex) = keygen("business")
        val (technicalKey, technicalHex) = keygen("technical")
        val planFile = dir.resolve("plan.json")
        val envelope = dir.resolve("plan.tgplan")
        Files.writeString(planFile, standardPlan(4))
        Cli.run(
            "build", planFile.toString(), "--key", businessKey.toString(), "--format", "2",
            "--version", "4", "--out", envelope.toString(),
        )
        val policy = SignaturePolicy(
            keys = listOf(
                RoleKey(TrustedKey.Hex(businessHex), "business"),
                RoleKey(TrustedKey.Hex(technicalHex), "technical"),
            ),
            thresholds = listOf(RoleThreshold("business", 1u), RoleThreshold("technical", 1u)),
            revoked = emptyList(),
        )
        // The shared publisher's options; the policy replaces its plain trusted key.
        val base = options(publisher, dir.resolve("store"))
        Gate(base.copy(trustedKeys = emptyList(), signaturePolicy = policy)).use { gate ->
            val refused = gate.applyPlan(Files.readAllBytes(envelope))
            assertTrue(refused is ApplyOutcome.Refused, "expected a refusal, got $refused")
            refused as ApplyOutcome.Refused
            assertEquals("not_enough_signatures", refused.kind, refused.reason)
            assertTrue(refused.reason.contains("role `technical`: have 0 of 1"), refused.reason)
            assertEquals(0uL, gate.status().version)

            Cli.run("sign", envelope.toString(), "--key", technicalKey.toString())
            assertEquals(ApplyOutcome.Installed(0uL, 4uL), gate.applyPlan(Files.readAllBytes(envelope)))
        }
        // Today's options (plain hex, any one key) accept the co-signed plan too.
        val legacy = base.copy(trustedKeys = listOf(TrustedKey.Hex(businessHex)), storeDirectory = dir.resolve("legacy").toString())
        Gate(legacy).use { gate ->
            assertEquals(ApplyOutcome.Installed(0uL, 4uL), gate.applyPlan(Files.readAllBytes(envelope)))
        }
    }
}
