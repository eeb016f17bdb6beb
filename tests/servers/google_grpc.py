"""Google Cloud Natural Language over gRPC: ``LanguageService/AnalyzeEntities`` (v1 and v2) with TLS on 127.0.0.1.

The wire format is the real one (protobuf over HTTP/2 with TLS, a self-signed
certificate for ``localhost`` and 127.0.0.1 that the client is told to trust
through ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``). Each call is turned into the REST
request the same SDK would send (``AnalyzeEntitiesRequest.to_json``) and answered
by :class:`~tests.servers.google.GoogleLanguageService`, so both transports share
one gazetteer, one request log, one bill and the same injected faults. The reply
or error goes back as gRPC: throttling is RESOURCE_EXHAUSTED (with a
google.rpc.RetryInfo of ``retry_after`` seconds when set), injected server faults
are ``fault_code`` (UNAVAILABLE), a ``BOOM`` document is INTERNAL, a ``GARBLE``
document gets bytes that are not a protobuf message. The HTTP server keeps
serving ``POST /token`` for google-auth.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from google.cloud import language_v1, language_v2
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from tests.servers.base import FAILING, MALFORMED, Request
from tests.servers.google import GoogleLanguageService

MODULES = {"v1": language_v1, "v2": language_v2}
SERVICE = "google.cloud.language.{}.LanguageService"
GARBAGE = b"\xff\xff\xff<html>upstream proxy error</html>"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A fresh EC key and a certificate for DNS ``localhost`` and IP 127.0.0.1, as (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "grpc-cert.pem", directory / "grpc-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class GoogleGrpcService(GoogleLanguageService):
    """The REST fake's answers, faults and token endpoint, served over gRPC as well."""

    def __init__(self) -> None:
        super().__init__()
        self.fault_code = grpc.StatusCode.UNAVAILABLE
        self.grpc_calls: list[str] = []  # the full method name of every call that reached the gRPC server
        self.call_times: list[float] = []  # time.monotonic() of each call, in order
        self.public_key = b""  # the service account's public key (PEM), for a test to verify the callers' JWTs
        self._grpc: grpc.Server | None = None
        self._port = 0

    def start_grpc(self, cert: Path, key: Path) -> str:
        """Serve both API versions on 127.0.0.1 with TLS (the HTTP token endpoint must be started too)."""
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        for version, module in MODULES.items():
            handler = grpc.unary_unary_rpc_method_handler(
                self._handler(version),
                request_deserializer=module.AnalyzeEntitiesRequest.deserialize,
                response_serializer=bytes,  # the handler serializes (or garbles) the reply itself
            )
            methods = {"AnalyzeEntities": handler}
            server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE.format(version), methods)])
        credentials = grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
        self._port = server.add_secure_port("127.0.0.1:0", credentials)
        server.start()
        self._grpc = server
        return self.target

    @property
    def target(self) -> str:
        """The ``api_endpoint`` a client uses: the certificate's DNS name and the bound port."""
        return f"localhost:{self._port}"

    def _handler(self, version: str) -> Callable[[Any, grpc.ServicerContext], bytes]:
        module = MODULES[version]
        method = f"/{SERVICE.format(version)}/AnalyzeEntities"

        def analyze_entities(message: Any, context: grpc.ServicerContext) -> bytes:
            with self.lock:
                self.grpc_calls.append(method)
                self.call_times.append(time.monotonic())
            body = module.AnalyzeEntitiesRequest.to_json(message)
            headers = {key: value for key, value in context.invocation_metadata() if isinstance(value, str)}
            request = Request("POST", f"/{version}/documents:analyzeEntities", headers, body.encode("utf-8"))
            reply = self.dispatch(request)
            text = json.loads(body)["document"].get("content", "")
            if reply.status == 200 and MALFORMED in text:
                return GARBAGE
            if reply.status != 200:
                self._abort(context, self._code(reply.status, text), json.loads(reply.body)["error"]["message"])
            return bytes(module.AnalyzeEntitiesResponse.serialize(module.AnalyzeEntitiesResponse.from_json(reply.body)))

        return analyze_entities

    def _abort(self, context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> None:
        """End the call with ``code``; throttling carries ``retry_after`` as a google.rpc.RetryInfo, as Google does."""
        status = status_pb2.Status(code=code.value[0], message=message)
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED and self.retry_after:
            delay = duration_pb2.Duration()
            delay.FromTimedelta(datetime.timedelta(seconds=float(self.retry_after)))
            detail = any_pb2.Any()
            detail.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
            status.details.append(detail)
        context.abort_with_status(rpc_status.to_status(status))

    def _code(self, status: int, text: str) -> grpc.StatusCode:
        if status == 429:
            return grpc.StatusCode.RESOURCE_EXHAUSTED
        if status == 401:
            return grpc.StatusCode.UNAUTHENTICATED
        if status >= 500:
            return grpc.StatusCode.INTERNAL if FAILING in text else self.fault_code
        return grpc.StatusCode.UNIMPLEMENTED

    def stop(self) -> None:
        if self._grpc is not None:
            self._grpc.stop(grace=None)
        super().stop()
