"""MXNet's symbol JSON, byte for byte: the writer and the reader behind ``tojson``/``load_json``.

MXNet serialises graphs with dmlc-core's JSON writer, whose layout rules are not
``json.dumps``'s: objects and arrays are written on one line or over several
depending on their type and size, separators are ``", "`` followed by the
newline (so lines end in a space), and the text has no trailing newline:

* the graph object and every node object: multi-line;
* the ``nodes`` list (elements are objects): multi-line;
* integer lists and ``[node, index, version]`` entry lists: one line, unless
  they hold more than 10 elements;
* string maps (node ``attrs``): one line when they hold at most one key;
* the graph ``attrs``: ``{"mxnet_version": ["int", 10901]}``.
"""
import json

MXNET_VERSION = 10901


class _Writer:
    """dmlc::JSONWriter's layout: scopes remember whether they are multi-line."""

    def __init__(self):
        self.parts = []
        self.scopes = []  # [multi_line, item count]

    def _newline(self):
        if not self.scopes or self.scopes[-1][0]:
            self.parts.append("\n" + " " * (2 * len(self.scopes)))

    def begin(self, bracket, multi_line):
        self.parts.append(bracket)
        self.scopes.append([multi_line, 0])

    def end(self, bracket):
        multi_line, count = self.scopes.pop()
        if multi_line and count:
            self._newline()
        self.parts.append(bracket)

    def key(self, name):
        scope = self.scopes[-1]
        if scope[1]:
            self.parts.append(", ")
        self._newline()
        self.parts.append(f'"{name}": ')
        scope[1] += 1

    def item(self):
        scope = self.scopes[-1]
        if scope[1]:
            self.parts.append(", ")
        scope[1] += 1
        self._newline()

    def string(self, text):
        out = ['"']
        for ch in text:
            out.append({"\r": "\\r", "\n": "\\n", "\\": "\\\\", "\t": "\\t", '"': '\\"'}.get(ch, ch))
        out.append('"')
        self.parts.append("".join(out))

    def number(self, value):
        self.parts.append(str(value))

    def int_list(self, values):
        self.begin("[", len(values) > 10)
        for v in values:
            self.item()
            self.number(v)
        self.end("]")

    def entry_list(self, entries):
        self.begin("[", len(entries) > 10)
        for entry in entries:
            self.item()
            self.int_list(entry)
        self.end("]")

    def string_map(self, mapping):
        self.begin("{", len(mapping) > 1)
        for k in sorted(mapping):
            self.key(k)
            self.string(mapping[k])
        self.end("}")

    def text(self):
        return "".join(self.parts)


def graph_to_json(nodes, arg_nodes, node_row_ptr, heads):
    """``nodes``: dicts with op, name, attrs (may be empty) and inputs (lists of 3 ints)."""
    w = _Writer()
    w.begin("{", True)
    w.key("nodes")
    w.begin("[", True)
    for node in nodes:
        w.item()
        w.begin("{", True)
        w.key("op")
        w.string(node["op"])
        w.key("name")
        w.string(node["name"])
        if node["attrs"]:
            w.key("attrs")
            w.string_map(node["attrs"])
        w.key("inputs")
        w.entry_list(node["inputs"])
        w.end("}")
    w.end("]")
    w.key("arg_nodes")
    w.int_list(arg_nodes)
    w.key("node_row_ptr")
    w.int_list(node_row_ptr)
    w.key("heads")
    w.entry_list(heads)
    w.key("attrs")
    w.begin("{", False)
    w.key("mxnet_version")
    w.begin("[", False)
    w.item()
    w.string("int")
    w.item()
    w.number(MXNET_VERSION)
    w.end("]")
    w.end("}")
    w.end("}")
    return w.text()


def parse_graph(text):
    """The parts of a symbol JSON file: a list of node dicts (op, name, attrs, inputs) and the heads.

    Accepts MXNet 1.x files and the older layouts that used ``attr`` or ``param``
    instead of ``attrs``, and inputs without a version number.
    """
    from .base import MXNetError
    try:
        graph = json.loads(text)
    except ValueError as e:
        raise MXNetError(f"load_json: the text is not valid JSON ({e}). Pass the content of a "
                         "'*-symbol.json' file (mx.sym.load reads a file by name).") from None
    if not isinstance(graph, dict) or "nodes" not in graph or "heads" not in graph:
        raise MXNetError("load_json: this JSON is not a symbol graph: it needs 'nodes' and 'heads' keys, as "
                         "in the '*-symbol.json' files that Symbol.save and Module.save_checkpoint write.")
    nodes = []
    for i, raw in enumerate(graph["nodes"]):
        attrs = {}
        for key in ("param", "attr", "attrs"):
            if isinstance(raw.get(key), dict):
                attrs.update({str(k): str(v) for k, v in raw[key].items()})
        inputs = []
        for entry in raw.get("inputs", []):
            entry = list(entry) + [0] * (3 - len(entry))
            if not 0 <= entry[0] < i:
                raise MXNetError(f"load_json: node {i} ({raw.get('name')!r}) reads node {entry[0]}, which does "
                                 "not come before it; the file is corrupt.")
            inputs.append((int(entry[0]), int(entry[1]), int(entry[2])))
        nodes.append({"op": raw.get("op", "null"), "name": raw.get("name", f"node{i}"),
                      "attrs": attrs, "inputs": inputs})
    heads = []
    for entry in graph["heads"]:
        if not 0 <= entry[0] < len(nodes):
            raise MXNetError(f"load_json: head {entry} points outside the {len(nodes)} nodes; the file is corrupt.")
        heads.append((int(entry[0]), int(entry[1]) if len(entry) > 1 else 0))
    return nodes, heads
