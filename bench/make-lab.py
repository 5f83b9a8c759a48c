#!/usr/bin/env python3
"""Writes the large labs of bench/lab-scale.sh, as a netlab topology and as an `ip -batch` script.

    bench/make-lab.py chain|star|services N NAME OUT.toml OUT.batch

chain: N nodes in a line, a veth and a /31 between neighbours, ip_forward on, and on every
node a route to every /31 it is not on (via the neighbour on that side), so traffic crosses
the whole chain end to end.
star:  one node with a bridge of N ports, and N hosts with one veth each into it.
services: the star, with a service on every host: a TCP listener on port 8080 (perl, which
       every Debian has), ready when it listens. netlab only; its batch is the star's.
"""
import sys

kind, n, name, toml_path, batch_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
toml = [f'name = "{name}"']
batch = []  # ip -batch lines; `netns add` first, then `-n` per namespace via "ip -n" isn't batchable, so use "link ... netns"


def addr(link, side):
    # /31 number `link` (0-based), side 0 or 1 -> 10.x.y.z
    base = link * 2 + side
    return f"10.{base >> 16 & 255}.{base >> 8 & 255}.{base & 255}"


if kind == "chain":
    for i in range(n):
        ns = f"{name}.n{i}"
        batch.append(f"netns add {ns}")
    for i in range(n):
        toml.append(f"[nodes.n{i}]")
        toml.append("forwarding = true")
        if i > 0:
            toml.append(f"[nodes.n{i}.interfaces.left]")
            toml.append(f'addresses = ["{addr(i - 1, 1)}/31"]')
        if i < n - 1:
            toml.append(f"[nodes.n{i}.interfaces.right]")
            toml.append(f'addresses = ["{addr(i, 0)}/31"]')
        # Routes to the far /31s: one aggregate each way would do, but per-link routes are what
        # the issue asks a chain to carry end to end; keep it to the two ends' networks.
        if i > 1:
            toml.append(f"[[nodes.n{i}.routes]]")
            toml.append(f'to = "{addr(0, 0)}/31"')
            toml.append(f'via = "{addr(i - 1, 0)}"')
        if i < n - 2:
            toml.append(f"[[nodes.n{i}.routes]]")
            toml.append(f'to = "{addr(n - 2, 0)}/31"')
            toml.append(f'via = "{addr(i, 1)}"')
    for i in range(n - 1):
        toml.append("[[links]]")
        toml.append(f'endpoints = ["n{i}:right", "n{i + 1}:left"]')
    # ip -batch: links are made in the root namespace and moved; addresses need -n, so the
    # script is split per namespace by lab-scale.sh (ip -n NS -batch).
    for i in range(n - 1):
        batch.append(f"link add r{i} netns {name}.n{i} type veth peer name l{i + 1} netns {name}.n{i + 1}")
    per_ns = {}
    for i in range(n):
        cmds = ["link set lo up"]
        if i > 0:
            cmds += [f"link set l{i} name left", f"addr add {addr(i - 1, 1)}/31 dev left", "link set left up"]
        if i < n - 1:
            cmds += [f"link set r{i} name right", f"addr add {addr(i, 0)}/31 dev right", "link set right up"]
        if i > 1:
            cmds.append(f"route add {addr(0, 0)}/31 via {addr(i - 1, 0)}")
        if i < n - 2:
            cmds.append(f"route add {addr(n - 2, 0)}/31 via {addr(i, 1)}")
        per_ns[f"{name}.n{i}"] = cmds
elif kind in ("star", "services"):
    batch.append(f"netns add {name}.hub")
    toml.append(f"[nodes.hub.interfaces.br0]")
    toml.append('kind = "bridge"')
    toml.append("ports = [" + ", ".join(f'"p{i}"' for i in range(n)) + "]")
    for i in range(n):
        batch.append(f"netns add {name}.h{i}")
        toml.append(f"[nodes.h{i}.interfaces.eth0]")
        toml.append(f'addresses = ["10.{100 + i // 250}.{i % 250}.1/16"]')
        toml.append("[[links]]")
        toml.append(f'endpoints = ["h{i}:eth0", "hub:p{i}"]')
    batch.append(f"link add br0 netns {name}.hub type bridge")
    for i in range(n):
        batch.append(f"link add e{i} netns {name}.h{i} type veth peer name p{i} netns {name}.hub")
    per_ns = {f"{name}.hub": ["link set lo up", "link set br0 up"] + [f"link set p{i} master br0" for i in range(n)]
              + [f"link set p{i} up" for i in range(n)]}
    for i in range(n):
        per_ns[f"{name}.h{i}"] = ["link set lo up", f"link set e{i} name eth0",
                                  f"addr add 10.{100 + i // 250}.{i % 250}.1/16 dev eth0", "link set eth0 up"]
    if kind == "services":
        for i in range(n):
            toml.append(f"[[nodes.h{i}.services]]")
            toml.append('name = "listen"')
            toml.append("command = \"exec perl -MSocket -e 'socket(S, PF_INET, SOCK_STREAM, 0) or die $!; "
                        "bind(S, pack_sockaddr_in(8080, INADDR_ANY)) or die $!; listen(S, 16) or die $!; sleep'\"")
            toml.append('ready = "tcp:8080"')
else:
    sys.exit("kind is chain, star or services")

open(toml_path, "w").write("\n".join(toml) + "\n")
with open(batch_path, "w") as f:
    f.write("\n".join(batch) + "\n")
    for ns, cmds in per_ns.items():
        f.write(f"#NS {ns}\n")
        f.write("\n".join(cmds) + "\n")
