#!/usr/bin/env python3
"""Independent check of Proto/vectors/{messages,frames}.json with Python `protobuf` (PyPI).

Message descriptors are built in code from Proto/legate.proto, parsed by the same tiny parser as
tools/protogen.py, so no protoc/grpcio-tools is needed. Every valid message vector must decode to its
JSON form and re-encode to its canonical hex; every invalid one must fail to parse. Frame vectors'
headers are checked with `struct`; connection vectors (stream-id sequences) are replayed against the rules of
FRAMING.md §1.2. Prints "N passed, M failed"; exits 1 on any failure.
Usage: pip install -r tools/requirements.txt && python3 tools/check_vectors.py
"""
import json
import pathlib
import struct
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import protogen  # noqa: E402

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: E402
from google.protobuf.json_format import MessageToDict  # noqa: E402
from google.protobuf.message import DecodeError  # noqa: E402

ROOT = protogen.ROOT
VECTORS = ROOT / "Proto" / "vectors"
FDP = descriptor_pb2.FieldDescriptorProto
TYPES = {"uint32": FDP.TYPE_UINT32, "uint64": FDP.TYPE_UINT64, "int32": FDP.TYPE_INT32, "int64": FDP.TYPE_INT64,
         "bool": FDP.TYPE_BOOL, "double": FDP.TYPE_DOUBLE, "string": FDP.TYPE_STRING, "bytes": FDP.TYPE_BYTES}
FRAME_TYPES = range(1, 11)


# protogen's every-field-kind message, as Tests/LegateWireTests/GeneratorCoverageTests.swift encodes it.
COVERAGE_HEX = ("0a0401ac0200120bffffffffffffffffff0105190000000000000080220201022a0b08f9ffffffffffffffff01"
                "3200320208033a020109420201004a08000000000000f83f520052010958016004")


def message_classes(text=None):
    """Returns {message name: Python class} built from Proto/legate.proto (or the given proto text)."""
    package, enums, messages = protogen.parse(protogen.PROTO.read_text() if text is None else text)
    enum_names = {e[0] for e in enums}
    fdp = descriptor_pb2.FileDescriptorProto(name="legate.proto", package=package, syntax="proto3")
    for name, _, values in enums:
        enum = fdp.enum_type.add(name=name)
        for vname, number, _ in values:
            enum.value.add(name=vname, number=number)
    for name, _, fields in messages:
        msg = fdp.message_type.add(name=name)
        for label, ftype, fname, number, _ in fields:
            field = msg.field.add(name=fname, number=number, json_name=protogen.camel(fname).replace("ID", "Id"))
            field.label = FDP.LABEL_REPEATED if label == "repeated" else FDP.LABEL_OPTIONAL
            if ftype in TYPES:
                field.type = TYPES[ftype]
            else:
                field.type = FDP.TYPE_ENUM if ftype in enum_names else FDP.TYPE_MESSAGE
                field.type_name = f".{package}.{ftype}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{name}"))
            for name, _, _ in messages}


def as_dict(message):
    return MessageToDict(message, preserving_proto_field_name=True, use_integers_for_enums=True)


def check_message(vector, classes):
    cls = classes[vector["message"]]
    data = bytes.fromhex(vector["hex"])
    if vector["result"] == "invalid":
        try:
            cls.FromString(data)
        except DecodeError:
            return None
        return "parsed, but the vector says it is invalid"
    try:
        message = cls.FromString(data)
    except DecodeError as error:
        return f"failed to parse: {error}"
    got = as_dict(message)
    if got != vector["fields"]:
        return f"decoded {got}, expected {vector['fields']}"
    message.DiscardUnknownFields()
    canonical = message.SerializeToString(deterministic=True).hex()
    expected = vector.get("canonicalHex", vector["hex"])
    if canonical != expected:
        return f"re-encoded {canonical}, expected {expected}"
    return None


def check_frame(vector):
    data = bytes.fromhex(vector["hex"])
    limit = min(vector["maxFrameBytes"], 16 << 20)  # FRAMING.md §3: the ceiling caps any configured limit
    if len(data) < 12:
        return "shorter than a header"
    length, ftype, flags, method, stream = struct.unpack(">IBBHI", data[:12])
    if vector["result"] == "valid":
        frame = vector["frame"]
        if length != len(data) - 12 or length > limit:
            return f"length {length} does not match payload {len(data) - 12} or limit {limit}"
        got = {"type": ftype, "flags": flags, "method": method, "streamID": stream, "payloadHex": data[12:].hex()}
        if got != frame:
            return f"header {got}, expected {frame}"
        return None
    error = vector["error"]
    expected = ("frameTooLarge" if length > limit else "unknownFrameType" if ftype not in FRAME_TYPES
                else "reservedFlags" if flags else None)
    if expected != error:
        return f"header says {expected}, vector says {error}"
    return None


def check_connection(vector):
    """Client calls use odd, strictly increasing stream ids (above Register's 1); PUSH_ACKs echo even, non-zero ids."""
    last, fatal_at = 1, None
    for index, text in enumerate(vector["frames"]):
        data = bytes.fromhex(text)
        length, ftype, flags, _, stream = struct.unpack(">IBBHI", data[:12])
        if length != len(data) - 12 or flags or ftype not in (3, 7):
            return f"frame {index} is not a well-formed REQUEST or PUSH_ACK"
        if ftype == 3:
            if stream % 2 == 0 or stream <= last:
                fatal_at = index
                break
            last = stream
        elif stream == 0 or stream % 2 == 1:
            fatal_at = index
            break
    if fatal_at != vector["fatalAt"]:
        return f"the rules close at frame {fatal_at}, the vector says {vector['fatalAt']}"
    if (fatal_at is None) != (vector["status"] == 0) or (fatal_at is not None and vector["status"] != 3):
        return f"status {vector['status']} does not fit (INVALID_ARGUMENT = 3 when fatal, else 0)"
    return None


def main():
    classes = message_classes()
    passed, failed = 0, 0
    for name, check in (("messages.json", lambda v: check_message(v, classes)), ("frames.json", check_frame)):
        for vector in json.loads((VECTORS / name).read_text())["vectors"]:
            problem = check(vector)
            if problem:
                failed += 1
                print(f"FAIL {name} #{vector['id']} ({vector['comment']}): {problem}")
            else:
                passed += 1
    for vector in json.loads((VECTORS / "frames.json").read_text()).get("connections", []):
        problem = check_connection(vector)
        if problem:
            failed += 1
            print(f"FAIL frames.json connections #{vector['id']} ({vector['comment']}): {problem}")
        else:
            passed += 1
    coverage = message_classes(protogen.COVERAGE_PROTO)["AllKinds"]
    data = bytes.fromhex(COVERAGE_HEX)
    if coverage.FromString(data).SerializeToString(deterministic=True) == data:
        passed += 1
    else:
        failed += 1
        print("FAIL protogen coverage message: Python re-encodes AllKinds differently")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
