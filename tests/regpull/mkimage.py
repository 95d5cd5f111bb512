#!/usr/bin/env python3
"""Write a small OCI image layout for the regpull tests and benchmark.

    mkimage.py DIR TAG [--layers N] [--layer-mib M] [--seed S] [--gzip] [--shared-base]

Each layer is a tar holding one file of random bytes (incompressible, so a
benchmark moves what it says). --shared-base makes the first layer the same
for every seed, so two images share it (the "Already exists" case). The
layout is what `skopeo copy oci:DIR:TAG docker://...` pushes.
"""
import argparse, gzip, hashlib, io, json, os, random, tarfile


def blob(root, data):
    d = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256", d)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    return "sha256:" + d, len(data)


def layer(name, size, rng):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = 0
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(rng.randbytes(size)))
        info = tarfile.TarInfo("etc/" + name + ".txt")
        text = ("layer " + name + "\n").encode()
        info.size, info.mtime = len(text), 0
        tar.addfile(info, io.BytesIO(text))
    return buf.getvalue()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir"); p.add_argument("tag")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--layer-kib", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--gzip", action="store_true")
    p.add_argument("--shared-base", action="store_true")
    a = p.parse_args()
    os.makedirs(os.path.join(a.dir, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(a.dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    layers, diff_ids = [], []
    for i in range(a.layers):
        seed = 0 if (a.shared_base and i == 0) else a.seed * 1000 + i
        raw = layer("layer%d.bin" % i, a.layer_kib * 1024, random.Random(seed))
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        data = gzip.compress(raw, compresslevel=1, mtime=0) if a.gzip else raw
        mt = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if a.gzip else "")
        d, n = blob(a.dir, data)
        layers.append({"mediaType": mt, "digest": d, "size": n})
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created_by": "mkimage.py seed %d" % a.seed}]}
    cd, cn = blob(a.dir, json.dumps(config, sort_keys=True).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn},
                "layers": layers}
    md, mn = blob(a.dir, json.dumps(manifest, sort_keys=True).encode())
    index_path = os.path.join(a.dir, "index.json")
    index = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(index_path):
        index = json.load(open(index_path))
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != a.tag]
    index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": mn,
                               "annotations": {"org.opencontainers.image.ref.name": a.tag}})
    with open(index_path, "w") as f:
        json.dump(index, f)
    print(md)


if __name__ == "__main__":
    main()
