"""Reviews as signatures through the wheel: under a two-role `SignaturePolicy` a plan signed by
the business key alone is refused (the active plan stays) and accepted once the technical key
co-signs it with `trackgate sign`. Keys come from `trackgate keygen --role`, envelopes from
`trackgate build --format 2`."""

import json
import time

import trackgate
from conftest import DAY, run_cli, standard_plan

A = trackgate.ApplyOutcome


def keygen(directory, role):
    run_cli("keygen", "--out", directory, "--role", role)
    return directory / "signing.key", (directory / "public.hex").read_text().strip()


def test_one_role_alone_is_refused_and_the_co_signed_plan_is_accepted(tmp_path, make_options):
    business_key, business_hex = keygen(tmp_path / "business", "business")
    technical_key, technical_hex = keygen(tmp_path / "technical", "technical")
    plan_path, envelope = tmp_path / "plan.json", tmp_path / "plan.tgplan"
    plan_path.write_text(json.dumps(standard_plan(4)))
    run_cli("build", plan_path, "--key", business_key, "--format", "2", "--version", 4,
            "--issued-at", int(time.time()) - DAY, "--out", envelope)

    key = lambda text: trackgate.TrustedKey.HEX(text=text)
    policy = trackgate.SignaturePolicy(
        keys=[trackgate.RoleKey(key=key(business_hex), role="business"),
              trackgate.RoleKey(key=key(technical_hex), role="technical")],
        thresholds=[trackgate.RoleThreshold(role="business", count=1),
                    trackgate.RoleThreshold(role="technical", count=1)],
        revoked=[],
    )
    gate = trackgate.Gate(make_options(trusted_keys=[], signature_policy=policy))
    refused = gate.apply_plan(envelope.read_bytes())
    assert isinstance(refused, A.REFUSED) and refused.kind == "not_enough_signatures", refused
    assert "role `technical`: have 0 of 1" in refused.reason
    assert gate.status().version == 0

    run_cli("sign", envelope, "--key", technical_key)
    assert gate.apply_plan(envelope.read_bytes()) == A.INSTALLED(previous_version=0, version=4)

    # Today's options (plain hex, any one key) accept the co-signed plan too.
    legacy = trackgate.Gate(make_options(trusted_keys=[key(business_hex)],
                                         store_directory=str(tmp_path / "legacy-store")))
    assert legacy.apply_plan(envelope.read_bytes()) == A.INSTALLED(previous_version=0, version=4)
