"""Two devices of one cloud account edit offline, then sync; the result is checked
against a model of design.md's merge rules (vault/sync/element_merge.h).

usage: cloud_edit_fuzz.py DESK_SOCKET LAPTOP_SOCKET ROUNDS EDITS SEED

Each round, both agents make EDITS random edits (element.put / element.delete over their
JSON-RPC sockets) with no sync between; then desk, laptop and desk sync (the laptop
merges), and what both hold, elements and the conflicts shown, is compared with the
model. A field is "data.<member>" or "plain", as element_merge.h names them. Values
come from small sets, so fields end unchanged, changed on one side, changed alike on
both, or changed differently on both (a conflict), and elements deleted on one side and
edited on the other: every rule is reached. Exit 1, naming every difference.
"""
import json
import random
import socket
import sys

CHOICES = {
    "personal_details": {
        "data.first_name": ["Ada", "Augusta", "Adele"],
        "data.last_name": ["Lovelace", "King", "Byron"],
        "data.middle_name": [None, "Ada", "Noel"],  # None: absent, a field cleared
        "data.birth_date": ["10.12.1815", "01.01.1900", "02.02.1950"],
        "data.gender": ["female", "male"],
        "data.country_code": ["GB", "FR", "DE"],
        "data.residence_country_code": ["GB", "IT"],
    },
    "address": {
        "data.street_line1": ["1 Main Street", "2 High Street", "3 Low Road"],
        "data.street_line2": [None, "Flat 2"],
        "data.city": ["London", "Paris"],
        "data.country_code": ["GB", "FR"],
        "data.post_code": ["N1 1AA", "75001"],
    },
    "email": {"plain": ["a@example.org", "b@example.org", "c@example.org"]},
    "phone_number": {"plain": ["441111111111", "442222222222", "443333333333"]},  # as stored: digits
}


class Agent:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.reader = self.sock.makefile("r", encoding="utf-8")
        self.next_id = 0

    def call(self, method, params=None):
        self.next_id += 1
        request = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            request["params"] = params
        self.sock.sendall((json.dumps(request) + "\n").encode())
        for line in self.reader:
            answer = json.loads(line)
            if answer.get("id") != self.next_id:
                continue  # a notification
            if "error" in answer:
                raise RuntimeError(f"{method}: {answer['error']}")
            return answer["result"]
        raise RuntimeError(f"{method}: the agent closed the connection")


def fields_of(element):
    """element.get's answer as merge fields; "" and absent are the same (element_merge.h)."""
    if "value" in element and element["value"] not in (None, ""):
        return {"plain": element["value"]}
    return {"data." + k: v for k, v in (element.get("data") or {}).items() if v not in (None, "")}


def read_state(agent):
    listed = {e["type"]: e for e in agent.call("element.list")}
    state = {}
    for element_type in CHOICES:
        if element_type not in listed:
            state[element_type] = {"fields": None, "conflicts": []}
            continue
        element = agent.call("element.get", {"type": element_type})
        state[element_type] = {"fields": fields_of(element),
                               "conflicts": listed[element_type].get("conflicts", [])}
    return state


def put(agent, element_type, fields):
    if "plain" in fields:
        agent.call("element.put", {"type": element_type, "value": fields["plain"]})
    else:
        data = {k[len("data."):]: v for k, v in fields.items()}
        agent.call("element.put", {"type": element_type, "data": data})


def edit(agent, rng, count):
    """count random edits through agent, from what it holds now; the state they leave."""
    state = {t: s["fields"] for t, s in read_state(agent).items()}
    for _ in range(count):
        element_type = rng.choice(sorted(CHOICES))
        choices = CHOICES[element_type]
        if state[element_type] is not None and rng.random() < 0.12:
            agent.call("element.delete", {"type": element_type})
            state[element_type] = None
            continue
        if state[element_type] is None:  # made again, every field drawn afresh
            fields = {f: rng.choice(v) for f, v in choices.items()}
        else:
            fields = dict(state[element_type])
            field = rng.choice(sorted(choices))
            fields[field] = rng.choice(choices[field])
        fields = {f: v for f, v in fields.items() if v is not None}
        put(agent, element_type, fields)
        state[element_type] = fields
    return state


def expected_merge(parent, local, remote):
    """(fields or None, {field: (local, remote)}) for one element, local the device that
    merged (the laptop), as element_merge.h says."""
    if local == parent:
        return remote, {}
    if remote == parent:
        return local, {}
    if local is None and remote is None:
        return None, {}
    if local is None:
        return remote, {"element": (None, "edited")}
    if remote is None:
        return local, {"element": ("edited", None)}
    base = parent or {}
    merged, conflicts = {}, {}
    for field in sorted(set(base) | set(local) | set(remote)):
        p, l, r = base.get(field), local.get(field), remote.get(field)
        if l == p:
            value = r
        elif r == p or l == r:
            value = l
        else:
            value = l
            conflicts[field] = (l, r)
        if value is not None:
            merged[field] = value
    return merged, conflicts


def check(parent, desk, laptop, now):
    """Every difference between what the devices hold and the model; the tally."""
    problems = []
    tally = {"conflicts": 0, "deleted": 0, "merged": 0, "delete/edit": 0}
    for element_type in sorted(CHOICES):
        fields, conflicts = expected_merge(parent[element_type], laptop[element_type],
                                           desk[element_type])
        tally["deleted"] += fields is None
        tally["conflicts"] += len(conflicts)
        tally["delete/edit"] += "element" in conflicts
        tally["merged"] += fields is not None and fields not in (desk[element_type],
                                                                 laptop[element_type])
        for device in ("laptop", "desk"):
            got = now[device][element_type]
            if got["fields"] != fields:
                problems.append(f"{device} {element_type}: holds {got['fields']}, "
                                f"the merge rules give {fields}")
            shown = {c["field"]: (c["local"], c["remote"]) for c in got["conflicts"]}
            if set(shown) != set(conflicts):
                problems.append(f"{device} {element_type}: conflicts on {sorted(shown)}, "
                                f"expected on {sorted(conflicts)}")
                continue
            for field, (local, remote) in conflicts.items():
                if device == "desk":  # the desk sees the laptop's merge from its side
                    local, remote = remote, local
                if field == "element":  # the deleted side is null, the other the element
                    ok = (shown[field][0] is None) == (local is None) and \
                         (shown[field][1] is None) == (remote is None)
                else:
                    ok = shown[field] == (local, remote)
                if not ok:
                    problems.append(f"{device} {element_type} {field}: conflict shows "
                                    f"{shown[field]}, expected {(local, remote)}")
    return problems, tally


def run(desk_path, laptop_path, rounds, edits, seed):
    """rounds of: both devices make `edits` edits offline; desk, laptop, desk sync; both
    checked against the model; the laptop settles every conflict (a side drawn at
    random) and the desk takes that, so the next round starts from one agreed state."""
    desk, laptop = Agent(desk_path), Agent(laptop_path)
    rng = random.Random(seed)
    failed = False
    totals = {"conflicts": 0, "deleted": 0, "merged": 0, "delete/edit": 0}
    for number in range(1, rounds + 1):
        parent = read_state(laptop)
        if parent != read_state(desk):
            print(f"round {number}: the devices do not start from one state")
            return 1
        parent = {t: s["fields"] for t, s in parent.items()}
        desk_edited = edit(desk, rng, edits)
        laptop_edited = edit(laptop, rng, edits)
        for agent in (desk, laptop, desk):
            agent.call("cloud.sync")
        now = {"desk": read_state(desk), "laptop": read_state(laptop)}
        problems, tally = check(parent, desk_edited, laptop_edited, now)
        for problem in problems:
            print(f"round {number}: {problem}")
        failed = failed or bool(problems)
        for key in totals:
            totals[key] += tally[key]
        for element_type, state in now["laptop"].items():
            if state["conflicts"]:
                laptop.call("resolve", {"type": element_type,
                                        "take": rng.choice(["local", "remote"])})
        for agent in (desk, laptop):
            agent.call("cloud.sync")
    print(f"{rounds} rounds of {edits} edits on each device: {totals['merged']} elements "
          f"merged from both sides, {totals['conflicts']} conflicts shown "
          f"({totals['delete/edit']} of a deletion against an edit), {totals['deleted']} deleted, {'FAILED' if failed else 'all as the model says'}")
    return 1 if failed else 0


def main():
    desk, laptop, rounds, edits, seed = sys.argv[1:6]
    sys.exit(run(desk, laptop, int(rounds), int(edits), int(seed)))


if __name__ == "__main__":
    main()
