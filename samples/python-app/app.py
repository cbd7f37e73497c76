"""The quickstart's Python app (docs/quickstart.md): fetches the signed plan from `trackgate
serve`, decides a few events, and uploads the drop report to the server's collector.

    python app.py SERVER_URL PUBLIC_HEX_FILE STORE_DIR

Prints one line per decision and exits 0; exits 1 if no plan could be installed.
"""

import pathlib
import socket
import sys
import urllib.error
import urllib.request

import trackgate


class UrllibTransport(trackgate.HttpTransport):
    """Plan fetches with the standard library. Every HTTP status is an answer (304 included);
    only a failure to get one raises, as a `trackgate.TransportError`."""

    def get(self, request):
        http = urllib.request.Request(request.url, headers={h.name: h.value for h in request.headers})
        try:
            with urllib.request.urlopen(http, timeout=30) as response:
                status, headers, stream = response.status, response.headers, response
                body = stream.read(request.body_limit + 1)
        except urllib.error.HTTPError as answer:  # 304, 404, 503...: answers, not failures
            status, headers, body = answer.code, answer.headers, answer.read(request.body_limit + 1)
        except (TimeoutError, socket.timeout) as error:
            raise trackgate.TransportError.Timeout(reason=str(error))
        except (urllib.error.URLError, OSError) as error:
            raise trackgate.TransportError.Connect(reason=str(error))
        if len(body) > request.body_limit:
            raise trackgate.TransportError.BodyTooLarge(reason=f"more than {request.body_limit} bytes")
        return trackgate.HttpResponse(
            status=status, headers=[trackgate.HttpHeader(name=k, value=v) for k, v in headers.items()], body=body)


def main(server: str, public_hex_file: str, store: str) -> int:
    gate = trackgate.Gate(trackgate.GateOptions(
        app="shop", env="prod",
        trusted_keys=[trackgate.TrustedKey.HEX(text=pathlib.Path(public_hex_file).read_text().strip())],
        store_directory=store,
        fail_policy=trackgate.FailPolicy.KEEP_P0_ONLY,
        plan_url=f"{server}/v1/plans/shop/prod",
        transport=UrllibTransport(),
    ))
    # Apps call on_foreground() (it fetches when due); refresh_now() fetches at once.
    fetched = gate.refresh_now()
    if not fetched.is_INSTALLED():
        print(f"no plan installed: {fetched} ({gate.status().last_error})", file=sys.stderr)
        return 1
    print(f"plan version {fetched.version} installed")

    for name, size in [("checkout.completed", 512), ("legacy.banner_seen", 64),
                       ("photo.uploaded", 2_000_000), ("serach.typed", 16)]:
        decision = gate.decide(name, size)
        if decision.is_KEEP():
            print(f"{name}: keep (weight {decision.weight})")
        else:
            print(f"{name}: drop ({decision.reason.name.lower()})")

    taken = gate.take_report()
    upload = urllib.request.Request(f"{server}/v1/collect", data=taken.json.encode(),
                                    headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(upload, timeout=30) as response:
        print(f"report: {taken.report.offered} offered, {taken.report.kept} kept, upload HTTP {response.status}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python app.py SERVER_URL PUBLIC_HEX_FILE STORE_DIR")
    sys.exit(main(*sys.argv[1:]))
