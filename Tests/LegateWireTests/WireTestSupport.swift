import Foundation
import LegateTestSupport
import LegateWire
import Testing

/// One entry of Proto/vectors/frames.json.
struct FrameVector: Decodable, CustomTestStringConvertible, Sendable {
    struct Header: Decodable, Sendable {
        var type: UInt8
        var flags: UInt8
        var method: UInt16
        var streamID: UInt32
        var payloadHex: String
    }
    var id: Int
    var comment: String
    var maxFrameBytes: Int
    var hex: String
    var result: String
    var frame: Header?
    var error: String?

    var testDescription: String { "frames.json #\(id): \(comment)" }
    var bytes: [UInt8] { (try? Vectors.bytes(hex: hex)) ?? [] }
}

/// One entry of Proto/vectors/messages.json (the decoded JSON form is read separately, untyped).
struct MessageVector: Decodable, CustomTestStringConvertible, Sendable {
    var id: Int
    var message: String
    var comment: String
    var hex: String
    var result: String
    var canonicalHex: String?
    var error: String?

    var testDescription: String { "messages.json #\(id): \(comment)" }
    var bytes: [UInt8] { (try? Vectors.bytes(hex: hex)) ?? [] }
}

struct VectorFile<V: Decodable & Sendable>: Decodable, Sendable {
    var vectors: [V]
}

enum WireVectors {
    static let frames: [FrameVector] = (try? Vectors.load("frames.json", as: VectorFile<FrameVector>.self).vectors) ?? []
    static let messages: [MessageVector] =
        (try? Vectors.load("messages.json", as: VectorFile<MessageVector>.self).vectors) ?? []
    static let validFrames = frames.filter { $0.result == "valid" }
    static let invalidFrames = frames.filter { $0.result == "invalid" }
    static let validMessages = messages.filter { $0.result == "valid" }
    static let invalidMessages = messages.filter { $0.result == "invalid" }

    /// The `fields` object of every message vector, flattened, keyed by id.
    static let messageFields: [Int: [String: [String]]] = {
        guard let data = try? Vectors.data("messages.json"),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let list = root["vectors"] as? [[String: Any]]
        else { return [:] }
        var out: [Int: [String: [String]]] = [:]
        for entry in list {
            if let id = entry["id"] as? Int, let fields = entry["fields"] as? [String: Any] {
                out[id] = flatten(json: fields)
            }
        }
        return out
    }()

    /// Every generated message type by its proto name.
    static let messageTypes: [String: any ProtoMessage.Type] = [
        "Status": Status.self, "Hello": Hello.self, "HelloAck": HelloAck.self,
        "RegisterRequest": RegisterRequest.self, "RegisterResponse": RegisterResponse.self,
        "Heartbeat": Heartbeat.self, "HeartbeatAck": HeartbeatAck.self, "SelfDestruct": SelfDestruct.self,
        "ApprovalDecision": ApprovalDecision.self, "GoAway": GoAway.self, "PushAck": PushAck.self,
        // Issue 4 (rotation push, admin API). Responses with nested message fields get vectors once this
        // flattener learns nesting; their parts (TokenInfo, DelegateInfo, AuditEntry) are covered here.
        "TokenRotated": TokenRotated.self, "AdminAuthenticate": AdminAuthenticate.self,
        "AdminAuthenticated": AdminAuthenticated.self, "TokenInfo": TokenInfo.self, "DelegateInfo": DelegateInfo.self,
        "TokenCreateRequest": TokenCreateRequest.self, "TokenListRequest": TokenListRequest.self,
        "TokenRef": TokenRef.self, "TokenCopyResponse": TokenCopyResponse.self,
        "TokenRevokeRequest": TokenRevokeRequest.self, "TokenRevokeResponse": TokenRevokeResponse.self,
        "TokenDeleteResponse": TokenDeleteResponse.self, "TokenRotateRequest": TokenRotateRequest.self,
        "DelegateListRequest": DelegateListRequest.self, "DelegateRef": DelegateRef.self,
        "AuditListRequest": AuditListRequest.self, "AuditEntry": AuditEntry.self,
        "TaskInfo": TaskInfo.self, "TaskListRequest": TaskListRequest.self, "TaskListResponse": TaskListResponse.self,
        "TaskSubmitResponse": TaskSubmitResponse.self, "AdminKeyInfo": AdminKeyInfo.self,
        "AdminKeyCreateRequest": AdminKeyCreateRequest.self,
        "AdminKeyListRequest": AdminKeyListRequest.self, "AdminKeyListResponse": AdminKeyListResponse.self,
        "AdminKeyRef": AdminKeyRef.self,
        "DelegatePruneRequest": DelegatePruneRequest.self, "DelegatePruneResponse": DelegatePruneResponse.self,
        "SecretOpened": SecretOpened.self, "KeyRingRef": KeyRingRef.self, "SecretRef": SecretRef.self,
        "RingRecipient": RingRecipient.self,
    ]
}

/// The case name of a WireError, as the vectors spell it.
func caseName(_ error: WireError) -> String {
    switch error {
    case .frameTooLarge: return "frameTooLarge"
    case .unknownFrameType: return "unknownFrameType"
    case .reservedFlags: return "reservedFlags"
    case .decoderPoisoned: return "decoderPoisoned"
    case .truncatedVarint: return "truncatedVarint"
    case .overlongVarint: return "overlongVarint"
    case .truncatedFixed: return "truncatedFixed"
    case .lengthPastEnd: return "lengthPastEnd"
    case .unsupportedWireType: return "unsupportedWireType"
    case .invalidFieldNumber: return "invalidFieldNumber"
    case .invalidUTF8: return "invalidUTF8"
    case .nestingTooDeep: return "nestingTooDeep"
    }
}

/// Feeds `chunks` one at a time, draining frames after each; stops at the first error.
func decodeChunks(_ chunks: [[UInt8]], maxFrameBytes: Int) -> (frames: [Frame], error: WireError?) {
    var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
    var frames: [Frame] = []
    for chunk in chunks {
        decoder.append(contentsOf: chunk)
        do throws(WireError) {
            for _ in 0...chunk.count {
                guard let frame = try decoder.nextFrame() else { break }
                frames.append(frame)
            }
        } catch {
            return (frames, error)
        }
    }
    return (frames, nil)
}

/// A message value flattened for comparison with the vectors' JSON: property name -> values, defaults omitted.
func flatten(_ message: some ProtoMessage) -> [String: [String]] {
    var out: [String: [String]] = [:]
    for child in Mirror(reflecting: message).children {
        guard let label = child.label else { continue }
        let values: [String]
        switch child.value {
        case let list as [String]: values = list
        case let bytes as [UInt8]: values = bytes.isEmpty ? [] : [Data(bytes).base64EncodedString()]
        case let list as [any ProtoMessage]: values = list.map { canonical(flatten($0)) }
        case let value as TaskState: values = value.rawValue == 0 ? [] : [String(value.rawValue)]
        case let value as String: values = value.isEmpty ? [] : [value]
        case let value as Bool: values = value ? ["1"] : []
        case let value as StatusCode: values = value.rawValue == 0 ? [] : [String(value.rawValue)]
        case let value as DelegateState: values = value.rawValue == 0 ? [] : [String(value.rawValue)]
        default:
            let text = "\(child.value)"
            values = text == "0" ? [] : [text]
        }
        if !values.isEmpty { out[label] = values }
    }
    return out
}

/// One string for a flattened nested message (repeated message fields compare element by element).
func canonical(_ fields: [String: [String]]) -> String {
    "{" + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.joined(separator: ","))" }
        .joined(separator: ";") + "}"
}

/// The JSON `fields` object flattened the same way, keys renamed to the Swift property names.
func flatten(json: [String: Any]) -> [String: [String]] {
    func text(_ value: Any) -> String {
        if let string = value as? String { return string }
        if let nested = value as? [String: Any] { return canonical(flatten(json: nested)) }
        if let number = value as? NSNumber {
            let string = number.stringValue
            return string == "true" ? "1" : string == "false" ? "0" : string
        }
        return "\(value)"
    }
    var out: [String: [String]] = [:]
    for (key, value) in json {
        let parts = key.split(separator: "_").map(String.init)
        var name = parts.first ?? ""
        for part in parts.dropFirst() {
            name += (part == "id" || part == "ip") ? part.uppercased() : part.prefix(1).uppercased() + part.dropFirst()
        }
        out[name] = (value as? [Any])?.map(text) ?? [text(value)]
    }
    return out
}

/// Decodes `bytes` as `type`, returning the value's flattened form and canonical re-encoding, or the error.
func decodeMessage<M: ProtoMessage>(_ type: M.Type, _ bytes: [UInt8]) -> Result<([String: [String]], [UInt8]), WireError> {
    do throws(WireError) {
        let message = try M(protoBytes: bytes)
        let encoded = message.protoBytes()
        let again = try M(protoBytes: encoded)
        guard again == message, message.encodedSize == encoded.count else { return .success(([:], [])) }
        return .success((flatten(message), encoded))
    } catch {
        return .failure(error)
    }
}

