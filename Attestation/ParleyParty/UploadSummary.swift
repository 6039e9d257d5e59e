import Foundation
import ParleyCore

extension UploadReceiptBody {
    /// What the worker says it did with an upload, for a person:
    /// `accepted exposures: 2,000,000 rows, 143.2 MB parsed in 1.9 s (75 MB/s)`. The size and
    /// time are the worker's own (`plaintext_bytes`, `seconds`), shown only when the host relays
    /// them; an older host's receipt gives `accepted exposures: 2,000,000 rows`.
    public var acceptedLine: String {
        "accepted \(dataset): \(Self.grouped(rows)) rows" + (workSummary.map { ", " + $0 } ?? "")
    }

    /// The worker's size and time alone, `143.2 MB parsed in 1.9 s (75 MB/s)`, or nil when the
    /// receipt carries neither (an older host).
    public var workSummary: String? {
        switch (plaintextBytes, seconds) {
        case let (bytes?, seconds?):
            return "\(Self.size(bytes)) parsed in \(Self.duration(seconds))" + (seconds > 0 ? " (\(Self.rate(Double(bytes) / seconds)))" : "")
        case let (bytes?, nil):
            return "\(Self.size(bytes)) parsed"
        case let (nil, seconds?):
            return "parsed in \(Self.duration(seconds))"
        case (nil, nil):
            return nil
        }
    }

    /// `2000000` as `2,000,000` (the same in every locale).
    static func grouped(_ n: UInt64) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return out
    }

    /// Decimal units: `143.2 MB`, `2.51 GB`, `12.3 kB`, `512 bytes`.
    static func size(_ bytes: UInt64) -> String {
        let b = Double(bytes)
        if b >= 1e9 { return String(format: "%.2f GB", b / 1e9) }
        if b >= 1e6 { return String(format: "%.1f MB", b / 1e6) }
        if b >= 1e3 { return String(format: "%.1f kB", b / 1e3) }
        return "\(bytes) bytes"
    }

    /// `1.9 s`, `0.42 s`, `0.003 s`: enough digits that a short upload does not read `0.0 s`.
    static func duration(_ seconds: Double) -> String {
        let s = max(seconds, 0)
        if s >= 1 { return String(format: "%.1f s", s) }
        if s >= 0.01 { return String(format: "%.2f s", s) }
        return String(format: "%.3f s", s)
    }

    /// `75 MB/s`, `7.5 MB/s`, `0.75 MB/s`.
    static func rate(_ bytesPerSecond: Double) -> String {
        let mb = bytesPerSecond / 1e6
        if mb >= 10 { return String(format: "%.0f MB/s", mb) }
        if mb >= 1 { return String(format: "%.1f MB/s", mb) }
        return String(format: "%.2f MB/s", mb)
    }
}
