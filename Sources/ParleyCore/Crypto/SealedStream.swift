import Crypto
import Foundation

/// Streaming HPKE encryption in bounded chunks: the upload format `parley/stream/1`.
///
/// Wire form: `u32be(len) || header` then records `u32be(len) || ciphertext`. The header is the
/// deterministic CBOR map `{"format": "parley/stream/1", "enc": bstr(32), "chunk_size": uint}`.
/// One HPKE context (see ``ParleyHPKE``) seals every chunk in order, so the AEAD nonce is the
/// chunk's sequence number: a reordered, repeated or dropped chunk fails to open. The AAD of each
/// chunk is `SHA-256(header) || flag`, with flag `0x01` on the last chunk and `0x00` on the others,
/// so a stream cut at a chunk boundary is detected (no final chunk), and bytes after the final
/// chunk are refused. Memory is bounded by one chunk on both sides.
public enum SealedStream {
    public static let format = "parley/stream/1"
    /// Default plaintext bytes per chunk.
    public static let defaultChunkSize = 64 << 10
    /// Largest chunk size either side accepts.
    public static let maxChunkSize = 4 << 20
    /// Largest header frame a reader accepts, in bytes.
    public static let maxHeaderSize = 256
    static let tagSize = 16
}

/// Encrypts a stream chunk by chunk. Call ``sealChunk(_:isFinal:)`` for every chunk in order and
/// exactly once with `isFinal: true`.
public struct StreamSealer {
    /// The framed header: send it before any record.
    public let header: [UInt8]
    public let chunkSize: Int
    private var sender: HPKE.Sender
    /// SHA-256 of the header's CBOR: what a provider signs (``DataPlane/uploadSignedMessage``).
    public let headerDigest: [UInt8]
    private var finished = false

    /// - Parameters:
    ///   - recipient: the worker's attested X25519 key.
    ///   - info: the HPKE `info`, binding format, job and dataset (the caller builds it).
    ///   - chunkSize: plaintext bytes per chunk, 16 bytes to 4 MiB.
    public init(recipient: Curve25519.KeyAgreement.PublicKey, info: [UInt8],
                chunkSize: Int = SealedStream.defaultChunkSize) throws {
        guard (16...SealedStream.maxChunkSize).contains(chunkSize) else {
            throw ParleyError(.limitExceeded, "chunk size must be 16 bytes to 4 MiB, got \(chunkSize)")
        }
        self.sender = try HPKE.Sender(recipientKey: recipient, ciphersuite: ParleyHPKE.ciphersuite, info: Data(info))
        self.chunkSize = chunkSize
        let headerCBOR = CBOREncoder.encode(.textMap([
            "format": .text(SealedStream.format),
            "enc": .bytes(Array(sender.encapsulatedKey)),
            "chunk_size": .unsigned(UInt64(chunkSize)),
        ]))
        self.headerDigest = Array(SHA256.hash(data: headerCBOR))
        self.header = LengthPrefix.frame(headerCBOR)
    }

    /// Seals one chunk and returns its framed record.
    /// - Throws: if the chunk is larger than the chunk size, or after the final chunk.
    public mutating func sealChunk(_ plaintext: [UInt8], isFinal: Bool) throws -> [UInt8] {
        guard !finished else { throw ParleyError(.internal, "the stream was already finished") }
        guard plaintext.count <= chunkSize else {
            throw ParleyError(.limitExceeded, "chunk of \(plaintext.count) bytes is over the chunk size \(chunkSize)")
        }
        finished = isFinal
        let ct = try sender.seal(plaintext, authenticating: headerDigest + [isFinal ? 1 : 0])
        return LengthPrefix.frame(Array(ct))
    }
}

/// Decrypts a stream fed in pieces of any size, holding at most one record in memory.
public struct StreamOpener {
    private enum State { case header, records, finished }

    private let privateKey: Curve25519.KeyAgreement.PrivateKey
    private let info: [UInt8]
    private var recipient: HPKE.Recipient?
    /// SHA-256 of the header's CBOR once it has been read (empty before).
    public private(set) var headerDigest: [UInt8] = []
    private var maxRecord = 0
    private var state = State.header
    private var buffer: [UInt8] = []
    private var consumed = 0
    /// Chunks opened so far.
    public private(set) var chunkCount = 0

    public init(privateKey: Curve25519.KeyAgreement.PrivateKey, info: [UInt8]) {
        self.privateKey = privateKey
        self.info = info
    }

    /// True once the final chunk has opened.
    public var isComplete: Bool { state == .finished }

    /// Feeds ciphertext bytes; returns the plaintext chunks they complete, in order.
    /// - Throws: ``ParleyError`` for a malformed header, an oversized record, a chunk that does
    ///   not open (tampered, reordered, repeated or from another stream), or bytes after the end.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws -> [[UInt8]] {
        if state == .finished, !bytes.isEmpty {
            throw ParleyError(.malformed, "stream has bytes after its final chunk")
        }
        buffer.append(contentsOf: bytes)
        var out: [[UInt8]] = []
        while let record = try nextRecord() {
            switch state {
            case .header: try openHeader(record)
            case .records: out.append(try openChunk(record))
            case .finished: throw ParleyError(.malformed, "stream has bytes after its final chunk")
            }
        }
        if consumed > 0, consumed >= buffer.count / 2 {
            buffer.removeFirst(consumed)
            consumed = 0
        }
        return out
    }

    /// Call at end of input. - Throws: if the final chunk never arrived (a truncated stream).
    public func finish() throws {
        guard state == .finished else {
            throw ParleyError(.verificationFailed, "stream ended before its final chunk (truncated after \(chunkCount) chunks)")
        }
        guard consumed == buffer.count else {
            throw ParleyError(.malformed, "stream has bytes after its final chunk")
        }
    }

    private mutating func nextRecord() throws -> [UInt8]? {
        let available = buffer.count - consumed
        guard available >= 4 else { return nil }
        let length = LengthPrefix.length(in: buffer, at: consumed)
        let limit = state == .header ? SealedStream.maxHeaderSize : maxRecord
        guard length <= limit else {
            throw ParleyError(.limitExceeded, "stream record of \(length) bytes is over the limit of \(limit)")
        }
        guard available >= 4 + length else { return nil }
        let record = Array(buffer[consumed + 4..<consumed + 4 + length])
        consumed += 4 + length
        return record
    }

    private mutating func openHeader(_ bytes: [UInt8]) throws {
        let decoder = CBORDecoder(limits: .init(maxBytes: SealedStream.maxHeaderSize, maxDepth: 2, maxItems: 16))
        let fields = try decoder.decode(bytes).textKeyedMap("stream header")
        try fields.rejectUnknownKeys(["format", "enc", "chunk_size"], in: "stream header")
        let format = try fields.required("format", in: "stream header").textValue("stream header format")
        guard format == SealedStream.format else {
            throw ParleyError(.unsupported, "stream format \"\(format)\" is not \(SealedStream.format)")
        }
        let enc = try fields.required("enc", in: "stream header").bytesValue("stream header enc")
        guard enc.count == 32 else { throw ParleyError(.malformed, "stream header enc must be 32 bytes") }
        let chunkSize = try fields.required("chunk_size", in: "stream header").unsignedValue("stream header chunk_size")
        guard (16...UInt64(SealedStream.maxChunkSize)).contains(chunkSize) else {
            throw ParleyError(.limitExceeded, "stream chunk size \(chunkSize) is outside 16 bytes to 4 MiB")
        }
        do {
            recipient = try HPKE.Recipient(privateKey: privateKey, ciphersuite: ParleyHPKE.ciphersuite,
                                           info: Data(info), encapsulatedKey: Data(enc))
        } catch {
            throw ParleyError(.verificationFailed, "stream key encapsulation is invalid")
        }
        maxRecord = Int(chunkSize) + SealedStream.tagSize
        headerDigest = Array(SHA256.hash(data: bytes))
        state = .records
    }

    private mutating func openChunk(_ ct: [UInt8]) throws -> [UInt8] {
        guard var r = recipient else { throw ParleyError(.internal, "stream opened without a header") }
        // Try "not final" first: every chunk but one is. A failed open does not advance the
        // HPKE sequence number, so the second try uses the same nonce.
        let index = chunkCount
        if let pt = try? r.open(ct, authenticating: headerDigest + [0]) {
            recipient = r
            chunkCount += 1
            return Array(pt)
        }
        if let pt = try? r.open(ct, authenticating: headerDigest + [1]) {
            recipient = r
            chunkCount += 1
            state = .finished
            return Array(pt)
        }
        throw ParleyError(.verificationFailed, "stream chunk \(index) does not open: tampered, reordered, repeated, or not for this key and context")
    }
}
