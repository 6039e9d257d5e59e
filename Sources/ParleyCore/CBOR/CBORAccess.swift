/// Typed access to decoded CBOR, with errors that name the field. Used by every parser that
/// turns an untrusted CBOR tree into a Parley value type.
extension CBOR {
    /// The entries of a map whose keys are all text, or an error naming `context`.
    public func textKeyedMap(_ context: String) throws -> [String: CBOR] {
        guard case .map(let m) = self else {
            throw ParleyError(.malformed, "\(context) must be a map, found \(kindName)")
        }
        var out: [String: CBOR] = [:]
        for (k, v) in m {
            guard case .text(let key) = k else {
                throw ParleyError(.malformed, "\(context) has a non-text key")
            }
            out[key] = v
        }
        return out
    }

    /// The byte string, or an error naming `context`.
    public func bytesValue(_ context: String) throws -> [UInt8] {
        guard case .bytes(let b) = self else {
            throw ParleyError(.malformed, "\(context) must be a byte string, found \(kindName)")
        }
        return b
    }

    /// The text string, or an error naming `context`.
    public func textValue(_ context: String) throws -> String {
        guard case .text(let t) = self else {
            throw ParleyError(.malformed, "\(context) must be a text string, found \(kindName)")
        }
        return t
    }

    /// The unsigned integer, or an error naming `context`.
    public func unsignedValue(_ context: String) throws -> UInt64 {
        guard case .unsigned(let u) = self else {
            throw ParleyError(.malformed, "\(context) must be an unsigned integer, found \(kindName)")
        }
        return u
    }

    /// The boolean, or an error naming `context`.
    public func boolValue(_ context: String) throws -> Bool {
        guard case .bool(let b) = self else {
            throw ParleyError(.malformed, "\(context) must be a bool, found \(kindName)")
        }
        return b
    }

    /// The array, or an error naming `context`.
    public func arrayValue(_ context: String) throws -> [CBOR] {
        guard case .array(let a) = self else {
            throw ParleyError(.malformed, "\(context) must be an array, found \(kindName)")
        }
        return a
    }
}

extension Dictionary where Key == String, Value == CBOR {
    /// The value under `key`, or an error naming the missing field.
    public func required(_ key: String, in context: String) throws -> CBOR {
        guard let v = self[key] else { throw ParleyError(.malformed, "\(context) is missing \"\(key)\"") }
        return v
    }

    /// Rejects any key not in `allowed`: formats reject what they do not understand.
    public func rejectUnknownKeys(_ allowed: Set<String>, in context: String) throws {
        for k in keys where !allowed.contains(k) {
            throw ParleyError(.unsupported, "\(context) has an unknown field \"\(k)\"")
        }
    }
}
