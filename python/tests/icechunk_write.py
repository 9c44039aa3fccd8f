"""VirtualiZarr → Icechunk, run under Python ≥ 3.12 with VirtualiZarr,
icechunk, zarr ≥ 3.2 and gik (tests/requirements-312.txt):

    python icechunk_write.py REFS.json REPO_DIR

parses gik's references (`gik scan --codec gik`) group by group with
VirtualiZarr's KerchunkJSONParser (gik's v2 filter `{"id": "gik"}` becomes
the Zarr v3 codec `numcodecs.gik`, which the gik package registers), and
writes them as virtual chunks into a new Icechunk repository (local
storage; chunks stay in the GRIB files, `file://`). Prints the groups written.
"""

import json
import sys
from pathlib import Path

import icechunk
import xarray as xr
from obstore.store import LocalStore
from virtualizarr import open_virtual_dataset
from virtualizarr.parsers import KerchunkJSONParser
from virtualizarr.registry import ObjectStoreRegistry


def data_groups(refs: dict) -> list[str]:
    out = []
    for key, value in refs["refs"].items():
        if key.endswith("/.zarray") and json.loads(value).get("filters"):
            out.append(key.rsplit("/", 2)[0])
    return sorted(set(out))


def main() -> None:
    refs_path, repo_dir = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    refs = json.loads(refs_path.read_text())
    urls = {v[0] for v in refs["refs"].values() if isinstance(v, list)}
    roots = sorted({str(Path(u).parent) + "/" for u in urls})
    registry = ObjectStoreRegistry({"file://": LocalStore()})
    config = icechunk.RepositoryConfig.default()
    for root in roots:
        config.set_virtual_chunk_container(icechunk.VirtualChunkContainer(f"file://{root}", icechunk.local_filesystem_store(root)))
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(str(repo_dir)), config=config)
    session = repo.writable_session("main")
    groups = data_groups(refs)
    for group in groups:
        # chunk paths in gik's references are absolute local paths: file:// urls
        vds = open_virtual_dataset(f"file://{refs_path}", registry=registry, parser=KerchunkJSONParser(group=group, fs_root="file://"))
        vds.vz.to_icechunk(session.store, group=group)
    session.commit(f"gik references of {refs_path.name}, through VirtualiZarr")
    print(json.dumps({"groups": groups, "containers": roots}))


if __name__ == "__main__":
    main()
