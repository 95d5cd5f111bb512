#!/usr/bin/env python3
"""A small misbehaving registry, for what a real one will not do on purpose.

    fakereg.py DIR        serve on 127.0.0.1; write DIR/ports ("MAIN STORAGE"),
                          log every request to DIR/main.log and DIR/storage.log

It serves one tiny image (a 64 KiB layer and a config) under many
repositories; the repository's first path component picks the fault:

  good       nothing wrong                 token     Bearer token flow (/token)
  wrongbyte  one byte of the layer flipped short     Content-Length 10 bytes short
  long       10 bytes more than promised   cut       connection cut mid-layer once,
  flaky      manifest: 429 (Retry-After: 1),         then honours Range
             then 503, then the manifest   slow      the layer trickles (for kill tests)
  redirect   Basic auth (alice:s3cret); the layer is a 307 to the STORAGE port,
             which must not see the Authorization header
  bigmanifest  a 5 MiB manifest            nested    an index whose entry is an index
  evil       a layer digest sha256:../../x schema1   a schema 1 manifest
  index      an index: linux/amd64, linux/arm64/v8 (different configs)
  nomatch    an index with only windows/amd64
Stop it with SIGTERM.
"""
import hashlib, json, os, random, signal, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
rng = random.Random(42)
LAYER = rng.randbytes(64 * 1024)
LOCK = threading.Lock()
COUNTS = {}
BLOBS, DOCS = {}, {}


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def add_blob(b):
    BLOBS[digest(b)] = b
    return {"digest": digest(b), "size": len(b)}


def add_doc(obj, mt):
    b = json.dumps(obj, indent=2).encode()
    DOCS[digest(b)] = (b, mt)
    return {"mediaType": mt, "digest": digest(b), "size": len(b)}


OCI_M = "application/vnd.oci.image.manifest.v1+json"
OCI_I = "application/vnd.oci.image.index.v1+json"


def image(arch, variant=None):
    cfg = {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": [digest(LAYER)]}}
    if variant:
        cfg["variant"] = variant
    c = add_blob(json.dumps(cfg).encode())
    l = add_blob(LAYER)
    return {"schemaVersion": 2, "mediaType": OCI_M,
            "config": dict(c, mediaType="application/vnd.oci.image.config.v1+json"),
            "layers": [dict(l, mediaType="application/vnd.oci.image.layer.v1.tar")]}


PLAIN = image("amd64")
ARM = image("arm64", "v8")
amd_desc = add_doc(PLAIN, OCI_M)
arm_desc = add_doc(ARM, OCI_M)
INDEX = {"schemaVersion": 2, "mediaType": OCI_I, "manifests": [
    dict(amd_desc, platform={"os": "linux", "architecture": "amd64"}),
    dict(arm_desc, platform={"os": "linux", "architecture": "arm64", "variant": "v8"})]}
inner = add_doc(INDEX, OCI_I)
NESTED = {"schemaVersion": 2, "mediaType": OCI_I, "manifests": [
    dict(inner, platform={"os": "linux", "architecture": "amd64"}),
    dict(inner, platform={"os": "linux", "architecture": "arm64", "variant": "v8"})]}
NOMATCH = {"schemaVersion": 2, "mediaType": OCI_I, "manifests": [
    dict(amd_desc, platform={"os": "windows", "architecture": "amd64"})]}
EVIL = json.loads(json.dumps(PLAIN))
EVIL["layers"][0]["digest"] = "sha256:../../x"
BIG = json.loads(json.dumps(PLAIN))
BIG["annotations"] = {"padding": "x" * (5 << 20)}
SCHEMA1 = {"schemaVersion": 1, "name": "schema1/img", "tag": "1", "architecture": "amd64",
           "fsLayers": [{"blobSum": digest(LAYER)}], "history": [], "signatures": []}
TOPS = {"index": (INDEX, OCI_I), "nested": (NESTED, OCI_I), "nomatch": (NOMATCH, OCI_I),
        "evil": (EVIL, OCI_M), "bigmanifest": (BIG, OCI_M),
        "schema1": (SCHEMA1, "application/vnd.docker.distribution.manifest.v1+prettyjws")}
PORTS = {}


def count(key):
    with LOCK:
        COUNTS[key] = COUNTS.get(key, 0) + 1
        return COUNTS[key]


class Main(BaseHTTPRequestHandler):
    log_name = "main.log"

    def log_message(self, *a):
        pass

    def log(self):
        with LOCK, open(os.path.join(DIR, self.log_name), "a") as f:
            f.write("%s %s auth=%s range=%s\n" % (self.command, self.path,
                    self.headers.get("Authorization", "-"), self.headers.get("Range", "-")))

    def send(self, code, body=b"", ctype="application/json", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, codename, headers=()):
        self.send(code, json.dumps({"errors": [{"code": codename, "message": codename.lower()}]}).encode(),
                  headers=headers)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.log()
        path = self.path.split("?")[0]
        if path == "/token":
            return self.send(200, json.dumps({"token": "tok-123"}).encode())
        parts = path.split("/")
        if path == "/v2/":
            return self.send(200, b"{}")
        if len(parts) < 6 or parts[1] != "v2":
            return self.error(404, "NAME_UNKNOWN")
        mode = parts[2]
        kind, ref = parts[-2], parts[-1]
        if mode == "token" and self.headers.get("Authorization") != "Bearer tok-123":
            host = "127.0.0.1:%d" % PORTS["main"]
            return self.error(401, "UNAUTHORIZED", [("WWW-Authenticate",
                'Bearer realm="http://%s/token",service="fake",scope="repository:token/img:pull"' % host)])
        if mode == "redirect" and self.headers.get("Authorization") != "Basic YWxpY2U6czNjcmV0":
            return self.error(401, "UNAUTHORIZED", [("WWW-Authenticate", 'Basic realm="fake"')])
        if kind == "manifests":
            return self.manifest(mode, ref)
        if kind == "blobs":
            return self.blob(mode, ref)
        return self.error(404, "NAME_UNKNOWN")

    def manifest(self, mode, ref):
        if mode == "flaky":
            n = count("flaky-manifest")
            if n == 1:
                return self.error(429, "TOOMANYREQUESTS", [("Retry-After", "1")])
            if n == 2:
                return self.error(503, "UNAVAILABLE")
        if ref in DOCS:
            body, mt = DOCS[ref]
        elif mode in TOPS:
            obj, mt = TOPS[mode]
            body = json.dumps(obj, indent=2).encode()
        else:
            body, mt = DOCS[amd_desc["digest"]]
        return self.send(200, body, mt, [("Docker-Content-Digest", digest(body))])

    def blob(self, mode, ref):
        if ref not in BLOBS:
            return self.error(404, "BLOB_UNKNOWN")
        data = BLOBS[ref]
        if data is not LAYER:
            return self.send(200, data, "application/octet-stream")
        if mode == "wrongbyte":
            data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
            return self.send(200, data, "application/octet-stream")
        if mode == "short":
            return self.send(200, data[:-10], "application/octet-stream")
        if mode == "long":
            return self.send(200, data + b"0123456789", "application/octet-stream")
        if mode == "redirect":
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.1:%d/storage/%s" % (PORTS["storage"], ref))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode in ("cut", "cutfull"):
            rng_hdr = self.headers.get("Range")
            if rng_hdr and mode == "cutfull":
                return self.send(200, data, "application/octet-stream")  # ignores Range: all again
            if rng_hdr and mode == "cut":
                start = int(rng_hdr.split("=")[1].split("-")[0])
                return self.send(206, data[start:], "application/octet-stream",
                                 [("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        if mode == "slow":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for i in range(0, len(data), 1024):
                self.wfile.write(data[i:i + 1024])
                self.wfile.flush()
                time.sleep(0.2)
            return
        return self.send(200, data, "application/octet-stream")


class Storage(Main):
    log_name = "storage.log"

    def do_GET(self):
        self.log()
        ref = self.path.split("/")[-1]
        if ref not in BLOBS:
            return self.error(404, "BLOB_UNKNOWN")
        return self.send(200, BLOBS[ref], "application/octet-stream")


def main():
    servers = []
    for name, handler in (("main", Main), ("storage", Storage)):
        s = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        s.daemon_threads = True
        PORTS[name] = s.server_address[1]
        servers.append(s)
        threading.Thread(target=s.serve_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    tmp = os.path.join(DIR, "ports.tmp")
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (PORTS["main"], PORTS["storage"]))
    os.rename(tmp, os.path.join(DIR, "ports"))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
