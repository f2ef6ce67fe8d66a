#!/usr/bin/python3
"""What AWS enforces and dynalite does not, for the test suite, on loopback.

- A DynamoDB front that verifies every request's SigV4 signature with botocore (Debian's
  python3-botocore: an implementation independent of libcurl's), then forwards it to the
  upstream (dynalite). It rejects, with the error type and HTTP status AWS uses:
    * a header named in SignedHeaders that the request does not carry;
    * a signature that does not match, an X-Amz-Date more than 5 minutes off;
    * an unknown access key, a session token missing, unsigned or wrong;
    * credentials past their expiry (ExpiredTokenException);
    * an action the caller's policy does not allow (AccessDeniedException), evaluated like IAM:
      an explicit Deny wins, else some Allow must match the action and the table's ARN.
- Credential endpoints that issue short-lived keys the front then knows: STS
  AssumeRoleWithWebIdentity, the ECS/Fargate container endpoint, and IMDSv2.
- A capacity mode, as a provisioned table has (POST /capacity): read and write capacity units a
  second in token buckets holding one second of them, or, with a burst, up to 300 s of unused
  capacity as DynamoDB keeps. A write costs its item's size by DynamoDB's rules in KB, rounded up;
  a strongly consistent read the stored item's size in 4 KB, rounded up (half that eventually
  consistent), whatever the projection, at least one. A request is admitted when the bucket holds
  its cost (or is full, for a cost above a full bucket) and leaves the bucket in debt by the rest;
  else it is refused with ProvisionedThroughputExceededException. DescribeTable says PROVISIONED
  with those units, and a request asking ReturnConsumedCapacity gets what it cost.
- An admin endpoint for the tests: GET /stats, POST /policy, POST /lifetime, POST /keys, POST /capacity.

Started with the ports to use (0: any free one); prints one JSON line with the ports it got.
"""

import argparse
import base64
import datetime
import fnmatch
import hmac
import http.client
import json
import os
import re
import secrets
import socket
import sys
import threading
import math
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCOUNT = "000000000000"
MAX_SKEW = datetime.timedelta(minutes=5)
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/,]+)/(\d{8})/([^/,]+)/([^/,]+)/aws4_request, ?"
    r"SignedHeaders=([a-z0-9;\-]+), ?Signature=([0-9a-f]{64})$")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    def __init__(self, lifetime, policy):
        self.lock = threading.Lock()
        self.keys = {}  # access key id -> {secret, token, expires, principal}
        self.policies = {"static": policy, "role": policy}  # principal -> policy (None: allow all)
        self.lifetime = lifetime
        self.stats = {"verified": 0, "rejected": {}, "denied": {}, "issued": {}, "by_key": {},
                      "signed_headers": [], "operations": {}, "capacity": {}}
        self.capacity = None  # Capacity, in capacity mode
        self.sizes = {}       # (table, id) -> the stored item's size, in capacity mode
        self.imds_tokens = set()

    def count(self, group, name):
        with self.lock:
            self.stats[group][name] = self.stats[group].get(name, 0) + 1

    def issue(self, source):
        akid = "ASIA" + secrets.token_hex(8).upper()
        expires = utcnow() + datetime.timedelta(seconds=self.lifetime)
        entry = {"secret": secrets.token_urlsafe(30), "token": secrets.token_urlsafe(60),
                 "expires": expires, "principal": "role"}
        with self.lock:
            self.keys[akid] = entry
        self.count("issued", source)
        return akid, entry


def number_size(text):
    digits = text.lstrip("-").split("E")[0].split("e")[0].replace(".", "").strip("0")
    return 1 + (len(digits) + 1) // 2 + (1 if text.startswith("-") else 0) if digits else 1


def value_size(value):
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return number_size(v)
    if kind == "B":
        return len(base64.b64decode(v))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(e) for e in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(e) for k, e in v.items())
    if kind in ("SS", "NS", "BS"):
        return sum(len(e.encode()) if kind == "SS" else number_size(e) if kind == "NS" else len(base64.b64decode(e))
                   for e in v)
    return 0


def item_size(item):
    """DynamoDB's item size: attribute names' UTF-8 bytes plus their values'."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


class Capacity:
    """A provisioned table's capacity: a token bucket per kind (read, write)."""

    def __init__(self, write, read, burst_s, start_s):
        self.rates = {"write": float(write), "read": float(read)}
        self.max = {k: r * max(1.0, float(burst_s)) for k, r in self.rates.items()}
        self.tokens = {k: r * (float(start_s) if start_s is not None else max(1.0, float(burst_s)))
                       for k, r in self.rates.items()}
        self.tokens = {k: min(self.tokens[k], self.max[k]) for k in self.tokens}
        self.at = time.monotonic()

    def admit(self, kind, cost):
        now = time.monotonic()
        for k in self.tokens:
            self.tokens[k] = min(self.max[k], self.tokens[k] + (now - self.at) * self.rates[k])
        self.at = now
        if self.tokens[kind] < min(cost, self.max[kind]):
            return False
        self.tokens[kind] -= cost
        return True


class Rejection(Exception):
    def __init__(self, status, kind, message):
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def matches(patterns, value):
    if isinstance(patterns, str):
        patterns = [patterns]
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)


def allowed(policy, action, resource):
    if policy is None:
        return True
    verdict = False
    for statement in policy.get("Statement", []):
        if not matches(statement.get("Action", []), action):
            continue
        if not matches(statement.get("Resource", "*"), resource):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            verdict = True
    return verdict


def verify(state, method, path, headers, body):
    """The access key id of a request whose signature holds; raises Rejection otherwise."""
    match = AUTH_RE.match(headers.get("authorization", ""))
    if not match:
        raise Rejection(400, "MissingAuthenticationTokenException", "Request is missing or has a malformed Authentication Token")
    akid, scope_date, region, service, signed, signature = match.groups()
    signed_headers = signed.split(";")
    for name in signed_headers:
        if name not in headers:
            raise Rejection(400, "InvalidSignatureException", f"signed header {name} absent")
    if "host" not in signed_headers or "x-amz-date" not in signed_headers:
        raise Rejection(400, "InvalidSignatureException", "host and x-amz-date must be signed")
    amz_date = headers["x-amz-date"]
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise Rejection(400, "IncompleteSignatureException", f"X-Amz-Date {amz_date!r} is not an ISO 8601 basic time")
    if abs(utcnow() - when) > MAX_SKEW:
        raise Rejection(400, "InvalidSignatureException", f"Signature expired: {amz_date} is more than 5 minutes off")
    if scope_date != amz_date[:8] or service != "dynamodb":
        raise Rejection(400, "InvalidSignatureException", "credential scope does not match the date or service")
    with state.lock:
        key = state.keys.get(akid)
    if key is None:
        raise Rejection(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
    token = headers.get("x-amz-security-token")
    if key["token"] is not None:
        if token is None or "x-amz-security-token" not in signed_headers:
            raise Rejection(400, "UnrecognizedClientException", "temporary credentials need a signed X-Amz-Security-Token")
        if not hmac.compare_digest(token, key["token"]):
            raise Rejection(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
    elif token is not None:
        raise Rejection(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
    request = AWSRequest(method=method, url="http://" + headers["host"] + path, data=body,
                         headers={name: headers[name] for name in signed_headers})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(akid, key["secret"], key["token"]), service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        raise Rejection(400, "InvalidSignatureException",
                        "The request signature we calculated does not match the signature you provided.")
    if key["expires"] is not None and utcnow() >= key["expires"]:
        raise Rejection(400, "ExpiredTokenException", "The security token included in the request is expired")
    return akid, key, region, signed


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm holds the body
        # until the client's delayed ACK of the headers, some 40 ms per response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def lowered(self):
        out = {}
        for name, value in self.headers.items():
            out[name.lower()] = " ".join(value.split())
        return out

    def reply(self, status, body, content_type="application/json", extra=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class DynamoFront(Handler):
    upstream = None
    local = threading.local()

    def forward(self, body):
        conn = getattr(self.local, "conn", None)
        for attempt in (1, 2):
            if conn is None:
                conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
                self.local.conn = conn
            try:
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection", "keep-alive", "expect", "content-length")}
                conn.request("POST", self.path, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, response.getheaders(), response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = None
                self.local.conn = None
                if attempt == 2:
                    raise

    def do_POST(self):
        body = self.body()
        headers = self.lowered()
        operation = headers.get("x-amz-target", "").split(".")[-1]
        try:
            akid, key, region, signed = verify(self.state, "POST", self.path, headers, body)
            try:
                table = json.loads(body).get("TableName", "")
            except ValueError:
                table = ""
            action = "dynamodb:" + operation
            resource = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}"
            with self.state.lock:
                policy = self.state.policies.get(key["principal"])
            if not allowed(policy, action, resource):
                self.state.count("denied", action)
                raise Rejection(400, "AccessDeniedException",
                                f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{key['principal']}/loader is not "
                                f"authorized to perform: {action} on resource: {resource} because no "
                                f"identity-based policy allows the {action} action")
        except Rejection as r:
            self.state.count("rejected", r.kind)
            payload = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#" + r.kind, "message": r.message})
            self.reply(r.status, payload, "application/x-amz-json-1.0")
            return
        with self.state.lock:
            stats = self.state.stats
            stats["verified"] += 1
            stats["by_key"][akid] = stats["by_key"].get(akid, 0) + 1
            stats["operations"][operation] = stats["operations"].get(operation, 0) + 1
            if signed not in stats["signed_headers"]:
                stats["signed_headers"].append(signed)
        cost = None
        with self.state.lock:
            capacity = self.state.capacity
        if capacity is not None and operation in ("PutItem", "GetItem"):
            cost, kind, request = self.cost(operation, body)
            with self.state.lock:
                admitted = capacity.admit(kind, cost)
                c = self.state.stats["capacity"].setdefault(operation, {"requests": 0, "throttled": 0, "units": 0,
                                                                        "first": None, "last": None})
                c["requests"] += 1
                if not admitted:
                    c["throttled"] += 1
            if not admitted:
                payload = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                                      "message": "The level of configured provisioned throughput for the table was "
                                                 "exceeded. Consider increasing your provisioning level with the "
                                                 "UpdateTable API."})
                self.reply(400, payload, "application/x-amz-json-1.0")
                return
        try:
            status, response_headers, data = self.forward(body)
        except (OSError, http.client.HTTPException):
            # The upstream reset us: so do we, as a real front end's connection would drop.
            self.close_connection = True
            return
        extra = [(k, v) for k, v in response_headers if k.lower() in ("x-amzn-requestid",)]
        crc = [(k, v) for k, v in response_headers if k.lower() == "x-amz-crc32"]
        ctype = dict((k.lower(), v) for k, v in response_headers).get("content-type", "application/x-amz-json-1.0")
        if capacity is not None and status == 200 and (cost is not None or operation == "DescribeTable"):
            data = self.as_provisioned(operation, body, data, capacity, cost)
            crc = [("x-amz-crc32", str(zlib.crc32(data) & 0xffffffff))]
        self.reply(status, data, ctype, extra + crc)

    def cost(self, operation, body):
        request = json.loads(body)
        table = request.get("TableName", "")
        if operation == "PutItem":
            return max(1, math.ceil(item_size(request["Item"]) / 1024)), "write", request
        key = request.get("Key", {}).get("id", {}).get("S", "")
        with self.state.lock:
            size = self.state.sizes.get((table, key), 0)
        units = max(1, math.ceil(size / 4096))
        return (units if request.get("ConsistentRead") else units / 2), "read", request

    def as_provisioned(self, operation, body, data, capacity, cost):
        request = json.loads(body)
        response = json.loads(data or b"{}")
        if operation == "DescribeTable":
            table = response.get("Table", {})
            table["BillingModeSummary"] = {"BillingMode": "PROVISIONED"}
            table["ProvisionedThroughput"] = {"ReadCapacityUnits": int(capacity.rates["read"]),
                                              "WriteCapacityUnits": int(capacity.rates["write"]),
                                              "NumberOfDecreasesToday": 0}
        else:
            with self.state.lock:
                if operation == "PutItem":
                    key = request["Item"].get("id", {}).get("S", "")
                    self.state.sizes[(request.get("TableName", ""), key)] = item_size(request["Item"])
                c = self.state.stats["capacity"][operation]
                c["units"] += cost
                now = time.time()
                c["first"] = c["first"] or now
                c["last"] = now
            response.pop("ConsumedCapacity", None)
            if request.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES"):
                response["ConsumedCapacity"] = {"TableName": request.get("TableName", ""), "CapacityUnits": cost}
        return json.dumps(response).encode()


class Sts(Handler):
    expected_token = None

    def do_POST(self):
        params = urllib.parse.parse_qs(self.body().decode(), keep_blank_values=True)
        get = lambda name: (params.get(name) or [""])[0]
        if get("Action") != "AssumeRoleWithWebIdentity":
            return self.error(400, "InvalidAction", "only AssumeRoleWithWebIdentity is served here")
        token = get("WebIdentityToken")
        if not get("RoleArn") or not get("RoleSessionName"):
            return self.error(400, "ValidationError", "RoleArn and RoleSessionName are required")
        if not token or (self.expected_token and token != self.expected_token):
            return self.error(400, "InvalidIdentityToken", "The web identity token is not valid")
        akid, key = self.state.issue("sts")
        self.reply(200, f"""<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>{akid}</AccessKeyId>
      <SecretAccessKey>{key['secret']}</SecretAccessKey>
      <SessionToken>{key['token']}</SessionToken>
      <Expiration>{iso(key['expires'])}</Expiration>
    </Credentials>
    <AssumedRoleUser><Arn>{get('RoleArn')}/{get('RoleSessionName')}</Arn></AssumedRoleUser>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>""", "text/xml")

    def error(self, status, code, message):
        self.reply(status, f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                           f"<Message>{message}</Message></Error></ErrorResponse>", "text/xml")


class Ecs(Handler):
    expected_token = None

    def do_GET(self):
        if self.expected_token and self.headers.get("Authorization") != self.expected_token:
            return self.reply(401, json.dumps({"message": "bad authorization token"}))
        akid, key = self.state.issue("ecs")
        self.reply(200, json.dumps({"AccessKeyId": akid, "SecretAccessKey": key["secret"], "Token": key["token"],
                                    "Expiration": iso(key["expires"]), "RoleArn": "arn:aws:iam::0:role/loader"}))


class Imds(Handler):
    ROLE = "loader-role"

    def do_PUT(self):
        if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(400, "", "text/plain")
        token = base64.b64encode(os.urandom(24)).decode()
        with self.state.lock:
            self.state.imds_tokens.add(token)
        self.reply(200, token, "text/plain")

    def do_GET(self):
        with self.state.lock:
            ok = self.headers.get("X-aws-ec2-metadata-token") in self.state.imds_tokens
        if not ok:  # IMDSv1 is off, as it should be
            return self.reply(401, "", "text/plain")
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path == base:
            return self.reply(200, self.ROLE, "text/plain")
        if self.path == base + self.ROLE:
            akid, key = self.state.issue("imds")
            return self.reply(200, json.dumps({
                "Code": "Success", "LastUpdated": iso(utcnow()), "Type": "AWS-HMAC", "AccessKeyId": akid,
                "SecretAccessKey": key["secret"], "Token": key["token"], "Expiration": iso(key["expires"])}))
        self.reply(404, "", "text/plain")


class Admin(Handler):
    def do_GET(self):
        with self.state.lock:
            self.reply(200, json.dumps(self.state.stats))

    def do_POST(self):
        data = json.loads(self.body() or b"{}")
        with self.state.lock:
            if self.path == "/policy":
                self.state.policies[data.get("principal", "role")] = data.get("policy")
            elif self.path == "/lifetime":
                self.state.lifetime = int(data["seconds"])
            elif self.path == "/capacity":
                self.state.capacity = (Capacity(data["write"], data["read"], data.get("burst_s", 0), data.get("start_s"))
                                       if data else None)
                self.state.stats["capacity"] = {}
            elif self.path == "/keys":
                self.state.keys[data["akid"]] = {"secret": data["secret"], "token": data.get("token"),
                                                 "expires": None, "principal": data.get("principal", "static")}
            else:
                return self.reply(404, "{}")
        self.reply(200, "{}")


def serve(handler, port):
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="the DynamoDB to forward to (dynalite)")
    parser.add_argument("--key", action="append", default=[], help="AKID:SECRET[:TOKEN], long-lived keys")
    parser.add_argument("--policy", help="an IAM policy JSON file every caller is held to (default: allow all)")
    parser.add_argument("--lifetime", type=int, default=900, help="seconds issued credentials live")
    parser.add_argument("--web-identity-token", help="the only token STS accepts (default: any)")
    parser.add_argument("--ecs-token", help="the Authorization the container endpoint demands")
    for name in ("dynamodb", "sts", "ecs", "imds", "admin"):
        parser.add_argument(f"--{name}-port", type=int, default=0)
    args = parser.parse_args()

    policy = json.load(open(args.policy)) if args.policy else None
    state = State(args.lifetime, policy)
    for spec in args.key:
        parts = spec.split(":", 2)
        state.keys[parts[0]] = {"secret": parts[1], "token": parts[2] if len(parts) > 2 else None,
                                "expires": None, "principal": "static"}
    Handler.state = state
    DynamoFront.upstream = urllib.parse.urlsplit(args.upstream)
    Sts.expected_token = args.web_identity_token
    Ecs.expected_token = args.ecs_token
    ports = {name: serve(cls, getattr(args, f"{name}_port"))
             for name, cls in (("dynamodb", DynamoFront), ("sts", Sts), ("ecs", Ecs), ("imds", Imds), ("admin", Admin))}
    print(json.dumps(ports), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
