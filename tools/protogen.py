#!/usr/bin/env python3
"""Generates Sources/LegateWire/Generated/Legate.pb.swift from Proto/legate.proto.

Understands only the proto3 subset Legate uses: syntax, package, top-level enums and messages with
scalar, string, bytes, repeated, enum-typed and message-typed fields, and // comments. Anything else
is rejected loudly with its line number.  Usage: protogen.py [--check]  (--check exits 1 if stale).
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO = ROOT / "Proto" / "legate.proto"
OUT = ROOT / "Sources" / "LegateWire" / "Generated" / "Legate.pb.swift"
# Every field kind protogen supports, including those legate.proto does not use yet; generated into the tests
# so the Swift compiler and Tests/LegateWireTests/GeneratorCoverageTests.swift exercise them.
COVERAGE_OUT = ROOT / "Tests" / "LegateWireTests" / "Generated" / "Coverage.pb.swift"
COVERAGE_PROTO = """syntax = "proto3";
package legate.test;
enum Color {
  COLOR_UNSPECIFIED = 0;
  COLOR_RED = 1;
}
// An embedded message.
message Inner {
  int32 x = 1;
}
// One field of every supported kind.
message AllKinds {
  repeated uint32 nums = 1;
  repeated int64 bigs = 2;
  double d = 3;
  bytes blob = 4;
  Inner inner = 5;
  repeated Inner inners = 6;
  repeated Color colors = 7;
  repeated bool flags = 8;
  repeated double ds = 9;
  repeated bytes blobs = 10;
  Color color = 11;
  int64 protocol = 12;
}
"""

SCALARS = {
    # proto type: (swift type, default, wire type, is numeric)
    "uint32": ("UInt32", "0", "varint", True),
    "uint64": ("UInt64", "0", "varint", True),
    "int32": ("Int32", "0", "varint", True),
    "int64": ("Int64", "0", "varint", True),
    "bool": ("Bool", "false", "varint", True),
    "double": ("Double", "0", "fixed64", True),
    "string": ("String", '""', "lengthDelimited", False),
    "bytes": ("[UInt8]", "[]", "lengthDelimited", False),
}
# Enums whose values travel in the frame header's 16-bit method field (Proto/FRAMING.md §1.1), never in a message:
# generated as `UInt16` raw-value enums without the proto3 zero value, which no frame carries.
HEADER_ENUMS = {"CallMethod", "AdminMethod", "PushKind"}
SWIFT_KEYWORDS = {"internal", "public", "private", "default", "protocol", "class", "struct", "enum", "case",
                  "func", "var", "let", "in", "is", "as", "self", "Self", "import", "return", "switch", "where",
                  "init", "extension", "operator", "static", "subscript", "typealias", "throws", "repeat"}


class ProtoError(Exception):
    pass


def parse(text):
    """Returns (package, [enums], [messages]); enum = (name, doc, [(value name, number, doc)]),
    message = (name, doc, [(label, type, name, number, doc)])."""
    package, enums, messages = None, [], []
    doc, current, kind = [], None, None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("//"):
            doc.append(line[2:].strip())
            continue
        trailing = ""
        if "//" in line:
            line, trailing = line.split("//", 1)
            line, trailing = line.strip(), trailing.strip()
        if not line:
            doc = []
            continue
        here = doc + ([trailing] if trailing else [])
        doc = []
        if current is None:
            if re.fullmatch(r'syntax\s*=\s*"proto3"\s*;', line):
                continue
            m = re.fullmatch(r"package\s+([A-Za-z_][\w.]*)\s*;", line)
            if m:
                package = m.group(1)
                continue
            m = re.fullmatch(r"(enum|message)\s+([A-Z]\w*)\s*\{", line)
            if m:
                kind, current = m.group(1), (m.group(2), " ".join(here), [])
                continue
        else:
            if line == "}":
                (enums if kind == "enum" else messages).append(current)
                current = None
                continue
            if kind == "enum":
                m = re.fullmatch(r"([A-Z][A-Z0-9_]*)\s*=\s*(-?\d+)\s*;", line)
                if m:
                    current[2].append((m.group(1), int(m.group(2)), " ".join(here)))
                    continue
            else:
                m = re.fullmatch(r"(repeated\s+)?([A-Za-z_][\w.]*)\s+([a-z][a-z0-9_]*)\s*=\s*(\d+)\s*;", line)
                if m:
                    label = "repeated" if m.group(1) else ""
                    current[2].append((label, m.group(2), m.group(3), int(m.group(4)), " ".join(here)))
                    continue
        raise ProtoError(f"{PROTO.name}:{lineno}: unsupported construct for protogen: {raw.strip()!r}")
    if current is not None:
        raise ProtoError(f"{PROTO.name}: unterminated {kind} {current[0]}")
    enum_names = {e[0] for e in enums}
    message_names = {m[0] for m in messages}
    for name, _, fields in messages:
        numbers = set()
        for label, ftype, fname, number, _ in fields:
            if ftype not in SCALARS and ftype not in enum_names and ftype not in message_names:
                raise ProtoError(f"{name}.{fname}: unknown type {ftype}")
            if not 1 <= number <= 536870911 or 19000 <= number <= 19999 or number in numbers:
                raise ProtoError(f"{name}.{fname}: bad or duplicate field number {number}")
            numbers.add(number)
    for name, _, values in enums:
        if not values or values[0][1] != 0:
            raise ProtoError(f"enum {name}: proto3 requires the first value to be 0")
        if name in HEADER_ENUMS and any(not 0 <= v[1] <= 0xFFFF for v in values):
            raise ProtoError(f"enum {name}: frame header numbers must fit in 16 bits")
    for name, _, fields in messages:
        for _, ftype, fname, _, _ in fields:
            if ftype in HEADER_ENUMS:
                raise ProtoError(f"{name}.{fname}: {ftype} travels in the frame header, not in a message field")
    return package, enums, messages


def camel(snake, first_lower=True):
    parts = snake.lower().split("_")
    out = []
    for i, part in enumerate(parts):
        if i == 0 and first_lower:
            out.append(part)
        elif part in ("id", "ip"):
            out.append(part.upper())
        else:
            out.append(part[:1].upper() + part[1:])
    return "".join(out)


def swift_ident(name):
    return f"`{name}`" if name in SWIFT_KEYWORDS else name


def enum_prefix(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper() + "_"


def enum_case_names(name, values):
    prefix = enum_prefix(name)
    strip = all(v[0].startswith(prefix) for v in values)
    result = []
    for vname, number, doc in values:
        base = vname[len(prefix):] if strip else vname
        parts = base.lower().split("_")
        result.append((parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:]), number, doc))
    return result


def gen_enum(name, doc, values):
    cases = enum_case_names(name, values)
    o = [f"/// {doc or name + ' (Proto/legate.proto)'}",
         f"public enum {name}: Hashable, Sendable {{"]
    for case, number, vdoc in cases:
        o.append(f"    /// {vdoc or 'Wire value ' + str(number) + '.'}")
        o.append(f"    case {swift_ident(case)}")
    o += ["    /// A value this version does not know; kept so it round-trips.",
          "    case unrecognized(Int32)", "",
          "    /// The case for a wire value; unknown values become `.unrecognized`.",
          "    public init(rawValue: Int32) {", "        switch rawValue {"]
    for case, number, _ in cases:
        o.append(f"        case {number}: self = .{case}")
    o += ["        default: self = .unrecognized(rawValue)", "        }", "    }", "",
          "    /// The wire value.", "    public var rawValue: Int32 {", "        switch self {"]
    for case, number, _ in cases:
        o.append(f"        case .{case}: return {number}")
    o += ["        case .unrecognized(let value): return value", "        }", "    }", "}", ""]
    return o


def gen_header_enum(name, doc, values):
    o = [f"/// {doc or name + ' (Proto/legate.proto)'}",
         f"public enum {name}: UInt16, Sendable, CaseIterable {{"]
    for case, number, vdoc in enum_case_names(name, values):
        if number == 0:
            continue
        o.append(f"    /// {vdoc or 'Header value ' + str(number) + '.'}")
        o.append(f"    case {swift_ident(case)} = {number}")
    o += ["}", ""]
    return o


def field_info(ftype, enums):
    if ftype in SCALARS:
        return ("scalar",) + SCALARS[ftype]
    if ftype in enums:
        return ("enum", ftype, f"{ftype}(rawValue: 0)", "varint", True)
    return ("message", ftype, "nil", "lengthDelimited", False)


def value_expr(ftype, kind, v):
    """Expression (UInt64) for a varint/fixed value v."""
    return {"uint32": f"UInt64({v})", "uint64": v, "int32": f"ProtoVarint.fromInt32({v})",
            "int64": f"ProtoVarint.fromInt64({v})", "bool": f"({v} ? 1 : 0)",
            "double": f"{v}.bitPattern"}.get(ftype, f"ProtoVarint.fromInt32({v}.rawValue)")


def write_stmt(ftype, kind, wire, v, number):
    if wire == "lengthDelimited":
        if ftype == "string":
            return [f"writer.writeTag({number}, .lengthDelimited)", f"writer.writeString({v})"]
        if ftype == "bytes":
            return [f"writer.writeTag({number}, .lengthDelimited)", f"writer.writeLengthDelimited({v})"]
        return [f"writer.writeTag({number}, .lengthDelimited)", f"writer.writeMessage({v})"]
    if wire == "fixed64":
        return [f"writer.writeTag({number}, .fixed64)", f"writer.writeFixed64({value_expr(ftype, kind, v)})"]
    return [f"writer.writeTag({number}, .varint)", f"writer.writeVarint({value_expr(ftype, kind, v)})"]


def size_expr(ftype, wire, v):
    if ftype == "string":
        return f"ProtoWriter.lengthDelimitedSize({v}.utf8.count)"
    if ftype == "bytes":
        return f"ProtoWriter.lengthDelimitedSize({v}.count)"
    if wire == "lengthDelimited":
        return f"ProtoWriter.lengthDelimitedSize({v}.encodedSize)"
    if wire == "fixed64":
        return "8"
    return f"ProtoWriter.varintSize({value_expr(ftype, None, v)})"


def read_expr(ftype, kind, swift):
    if ftype == "string":
        return "try reader.readString(field: number)"
    if ftype == "bytes":
        return "try reader.readBytes()"
    if kind == "message":
        return f"try reader.readMessage({swift}.self)"
    if ftype == "double":
        return "Double(bitPattern: try reader.readFixed64())"
    conv = {"uint32": "UInt32(truncatingIfNeeded: {})", "uint64": "{}", "int32": "Int32(truncatingIfNeeded: {})",
            "int64": "Int64(bitPattern: {})", "bool": "{} != 0"}.get(ftype, swift + "(rawValue: Int32(truncatingIfNeeded: {}))")
    return conv.format("try reader.readVarint()")


def non_default(ftype, kind, v):
    if ftype in ("string", "bytes"):
        return f"!{v}.isEmpty"
    if ftype == "bool":
        return v
    if ftype == "double":
        return f"{v}.bitPattern != 0"
    if kind == "enum":
        return f"{v}.rawValue != 0"
    return f"{v} != 0"


def gen_message(name, doc, fields, enums):
    o = [f"/// {doc or name + ' (Proto/legate.proto)'}",
         f"public struct {name}: Equatable, Sendable, ProtoMessage {{"]
    infos = []
    for label, ftype, fname, number, fdoc in fields:
        kind, swift, default, wire, numeric = field_info(ftype, enums)
        prop = swift_ident(camel(fname))
        if label == "repeated":
            stype, sdefault = f"[{swift}]", "[]"
        elif kind == "message":
            stype, sdefault = f"{swift}?", "nil"
        else:
            stype, sdefault = swift, default
        infos.append((label, ftype, kind, swift, wire, numeric, prop, number, stype, sdefault))
        o.append(f"    /// {fdoc or 'Field ' + str(number) + ' `' + fname + '`.'}")
        o.append(f"    public var {prop}: {stype} = {sdefault}")
    o += ["", "    /// The message with every field at its proto3 default.", "    public init() {}", ""]
    if infos:
        params = ", ".join(f"{i[6]}: {i[8]} = {i[9]}" for i in infos)
        o += ["    /// The message with the given field values.", f"    public init({params}) {{"]
        o += [f"        self.{i[6]} = {i[6]}" for i in infos]
        o += ["    }", ""]
    # decode
    o += ["    /// Decodes one field; returns false for unknown fields and wire types that do not match the schema.",
          "    public mutating func decodeField(number: Int, wireType: ProtoWireType, reader: inout ProtoReader)",
          "        throws(WireError) -> Bool", "    {"]
    if not infos:
        o += ["        false  // no fields: everything is unknown and skipped", "    }", ""]
    else:
        o.append("        switch number {")
    for label, ftype, kind, swift, wire, numeric, prop, number, stype, _ in infos:
        o.append(f"        case {number}:")
        if label == "repeated" and numeric:
            o.append(f"            try reader.readRepeated(wireType, element: .{wire}, into: &self.{prop}) {{")
            o.append(f"                (reader: inout ProtoReader) throws(WireError) -> {swift} in {read_expr(ftype, kind, swift)}")
            o.append("            }")
            continue
        o.append(f"            guard wireType == .{wire} else {{ return false }}")
        if label == "repeated":
            o.append(f"            self.{prop}.append({read_expr(ftype, kind, swift)})")
        else:
            o.append(f"            self.{prop} = {read_expr(ftype, kind, swift)}")
    if infos:
        o += ["        default:", "            return false", "        }", "        return true", "    }", ""]
    # encode
    o += ["    /// Appends the canonical encoding: defaults omitted, numeric repeated fields packed.",
          "    public func encode(to writer: inout ProtoWriter) {"]
    for label, ftype, kind, swift, wire, numeric, prop, number, _, _ in infos:
        if label == "repeated" and numeric:
            o += [f"        if !self.{prop}.isEmpty {{", f"            writer.writeTag({number}, .lengthDelimited)",
                  f"            writer.writeVarint(UInt64(Self.{prop}BodySize(self.{prop})))",
                  f"            for value in self.{prop} {{"]
            o += ["                " + s for s in write_stmt(ftype, kind, wire, "value", number)[1:]]
            o += ["            }", "        }"]
        elif label == "repeated":
            o.append(f"        for value in self.{prop} {{")
            o += ["            " + s for s in write_stmt(ftype, kind, wire, "value", number)]
            o.append("        }")
        elif kind == "message":
            o.append(f"        if let value = self.{prop} {{")
            o += ["            " + s for s in write_stmt(ftype, kind, wire, "value", number)]
            o.append("        }")
        else:
            o.append(f"        if {non_default(ftype, kind, 'self.' + prop)} {{")
            o += ["            " + s for s in write_stmt(ftype, kind, wire, "self." + prop, number)]
            o.append("        }")
    o += ["    }", ""]
    # size
    o += ["    /// The exact number of bytes `encode(to:)` appends.", "    public var encodedSize: Int {"]
    if not infos:
        o += ["        0", "    }"]
    else:
        o.append("        var size = 0")
    for label, ftype, kind, swift, wire, numeric, prop, number, _, _ in infos:
        tag = f"ProtoWriter.tagSize({number})"
        if label == "repeated" and numeric:
            o.append(f"        if !self.{prop}.isEmpty {{ size += {tag} + ProtoWriter.lengthDelimitedSize(Self.{prop}BodySize(self.{prop})) }}")
        elif label == "repeated":
            o.append(f"        for value in self.{prop} {{ size += {tag} + {size_expr(ftype, wire, 'value')} }}")
        elif kind == "message":
            o.append(f"        if let value = self.{prop} {{ size += {tag} + {size_expr(ftype, wire, 'value')} }}")
        else:
            o.append(f"        if {non_default(ftype, kind, 'self.' + prop)} {{ size += {tag} + {size_expr(ftype, wire, 'self.' + prop)} }}")
    if infos:
        o += ["        return size", "    }"]
    for label, ftype, kind, swift, wire, numeric, prop, number, _, _ in infos:
        if label == "repeated" and numeric:
            body = ("values.count * 8" if wire == "fixed64"
                    else f"values.reduce(0) {{ $0 + {size_expr(ftype, wire, '$1')} }}")
            o += ["", f"    private static func {prop}BodySize(_ values: [{swift}]) -> Int {{",
                  f"        {body}", "    }"]
    o += ["}", ""]
    return o


def generate(text=None, source="Proto/legate.proto", public=True):
    package, enums, messages = parse(PROTO.read_text() if text is None else text)
    enum_names = {e[0] for e in enums}
    o = [f"// Generated by tools/protogen.py from {source}; do not edit.",
         "// Regenerate: python3 tools/protogen.py   Check: python3 tools/protogen.py --check",
         f"// Package {package}.", ""]
    for e in enums:
        o += gen_header_enum(*e) if e[0] in HEADER_ENUMS else gen_enum(*e)
    for m in messages:
        o += gen_message(*m, enum_names)
    if not public:
        o = ["import LegateWire", ""] + [line.replace("public ", "") for line in o]
    return "\n".join(o).rstrip("\n") + "\n"


def main():
    try:
        outputs = [(OUT, generate()),
                   (COVERAGE_OUT, generate(COVERAGE_PROTO, "COVERAGE_PROTO in tools/protogen.py", public=False))]
    except ProtoError as error:
        print(f"protogen: {error}", file=sys.stderr)
        return 2
    if "--check" in sys.argv[1:]:
        stale = [path for path, text in outputs if not path.exists() or path.read_text() != text]
        for path in stale:
            print(f"protogen: {path.relative_to(ROOT)} is stale; run python3 tools/protogen.py", file=sys.stderr)
        if not stale:
            print("protogen: generated code is up to date")
        return 1 if stale else 0
    for path, text in outputs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"protogen: wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
