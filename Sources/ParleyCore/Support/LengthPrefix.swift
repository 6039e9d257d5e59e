/// The `u32be(length) || body` framing shared by the worker channel, the sealed stream and the
/// TPM event log file.
public enum LengthPrefix {
    /// `body` with its 4-byte big-endian length in front.
    public static func frame(_ body: [UInt8]) -> [UInt8] {
        let n = UInt32(body.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + body
    }

    /// The length stored in the 4 bytes at `offset` (the caller checks they are there).
    public static func length(in bytes: some Collection<UInt8>, at offset: Int = 0) -> Int {
        bytes.dropFirst(offset).prefix(4).reduce(0) { $0 << 8 | Int($1) }
    }
}

/// Job ids: 1 to 64 characters of `A-Z a-z 0-9 - _`. The host makes them; every reader checks them.
public enum JobID {
    public static func validate(_ job: String) throws {
        guard (1...64).contains(job.utf8.count),
              job.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 }) else {
            throw ParleyError(.malformed, "a job id is 1 to 64 characters of letters, digits, '-' and '_'")
        }
    }
}
