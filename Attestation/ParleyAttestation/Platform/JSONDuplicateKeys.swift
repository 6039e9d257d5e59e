import Foundation
import ParleyCore

/// Finds a key that one JSON object repeats. Foundation's decoders keep one of the values
/// silently (which one is not specified); a reference file that says two things about one key is
/// ambiguous, so the readers of reference files refuse it (fail closed) before decoding.
///
/// Written here because no decoder in the package mirror reports duplicates. A single pass over
/// the bytes: strings (with escapes) are skipped or, for keys, decoded; objects keep the set of
/// their keys; nesting is capped at ``maxDepth``. Malformed JSON is left to the decoder that
/// runs next, which refuses it with its own message.
enum JSONDuplicateKeys {
    /// Deepest nesting scanned; deeper input is reported as a problem, not followed.
    static let maxDepth = 64

    enum Finding: Equatable {
        /// An object has this key twice.
        case repeated(String)
        /// Nested deeper than ``maxDepth``.
        case tooDeep
    }

    /// Throws `malformed` naming the repeated key (a key of the file, never a value).
    static func refuse(_ bytes: [UInt8], what: String) throws {
        switch first(in: bytes) {
        case nil: return
        case .repeated(let key): throw ParleyError(.malformed, "\(what) repeats the key \"\(key)\"; each key of an object may appear once")
        case .tooDeep: throw ParleyError(.malformed, "\(what) nests deeper than \(maxDepth) levels")
        }
    }

    /// The first repeated key, in reading order, or nil.
    static func first(in bytes: [UInt8]) -> Finding? {
        // Each open container: nil for an array, the keys so far for an object.
        var stack: [Set<String>?] = []
        var index = 0
        var expectKey = false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"):
                guard stack.count < maxDepth else { return .tooDeep }
                stack.append([])
                expectKey = true
                index += 1
            case UInt8(ascii: "["):
                guard stack.count < maxDepth else { return .tooDeep }
                stack.append(nil)
                expectKey = false
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
                expectKey = false
                index += 1
            case UInt8(ascii: ","):
                // After a comma inside an object comes a key.
                expectKey = stack.last.map { $0 != nil } ?? false
                index += 1
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                index += 1
                guard expectKey, let last = stack.indices.last, stack[last] != nil else { continue }
                expectKey = false
                let raw = Array(bytes[start ..< min(index, bytes.count)])
                // Decoded, so that "\u0061" and "a" are one key; undecodable keys are the decoder's to refuse.
                guard let key = try? JSONDecoder().decode(String.self, from: Data(raw)) else { continue }
                if stack[last]?.insert(key).inserted == false { return .repeated(key) }
            default:
                index += 1
            }
        }
        return nil
    }
}
