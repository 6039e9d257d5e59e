import Crypto
import Foundation
import ParleyAttestation
import ParleyCore

/// What a party does on its own machine: encrypt and sign an upload to an attested worker,
/// sign a query request, and open and check a result. Nothing here trusts the host: keys come
/// only from evidence the party verified itself.
public enum PartyClient {
    /// A sealed upload, produced piece by piece with memory bounded by one chunk.
    public final class SealedUpload {
        /// The provider's signature over the stream header (sent before the stream).
        public let signature: [UInt8]
        private var sealer: StreamSealer
        private let file: FileHandle
        private var pending: [UInt8]?
        private var finished = false
        /// Plaintext bytes read so far, for progress.
        public private(set) var bytesRead: Int = 0
        public let totalBytes: Int

        /// - Parameters:
        ///   - path: the CSV file.
        ///   - worker: claims from verified evidence (its HPKE key receives the data).
        public init(path: String, job: String, dataset: String, worker: LaunchClaims, key: PartyPrivateKey,
                    chunkSize: Int = SealedStream.defaultChunkSize) throws {
            guard let f = FileHandle(forReadingAtPath: path) else { throw ParleyError(.io, "cannot read \(path)") }
            file = f
            totalBytes = Int((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)??.intValue ?? 0)
            let recipient: Curve25519.KeyAgreement.PublicKey
            do { recipient = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: worker.publicKey) } catch {
                throw ParleyError(.badKey, "the worker's public key is unusable")
            }
            sealer = try StreamSealer(recipient: recipient, info: DataPlane.uploadInfo(job: job, dataset: dataset), chunkSize: chunkSize)
            signature = try DataPlane.sign(DataPlane.uploadSignedMessage(job: job, dataset: dataset, headerDigest: sealer.headerDigest), with: key.signing)
            pending = sealer.header
        }

        deinit { try? file.close() }

        /// The next piece of the ciphertext stream, or nil at the end.
        public func next() throws -> [UInt8]? {
            if let p = pending { pending = nil; return p }
            guard !finished else { return nil }
            let data = try file.read(upToCount: sealer.chunkSize) ?? Data()
            bytesRead += data.count
            // A short read means the end: peek so that the last full chunk is marked final.
            let isFinal: Bool
            if data.count < sealer.chunkSize {
                isFinal = true
            } else {
                let offset = try file.offset()
                let more = try file.read(upToCount: 1) ?? Data()
                try file.seek(toOffset: offset)
                isFinal = more.isEmpty
            }
            finished = isFinal
            return try sealer.sealChunk(Array(data), isFinal: isFinal)
        }
    }

    /// A signed query request.
    public struct QueryRequest: Sendable {
        public let nonce: [UInt8]
        public let signature: [UInt8]
    }

    public static func queryRequest(job: String, query: String, receiver: String, key: PartyPrivateKey,
                                    parameters: [String: String] = [:]) throws -> QueryRequest {
        let nonce = Nonce.random().bytes
        return QueryRequest(nonce: nonce, signature: try DataPlane.sign(
            DataPlane.queryRequestMessage(job: job, query: query, receiver: receiver, nonce: nonce, parameters: parameters), with: key.signing))
    }

    /// Why a result was refused.
    public enum ResultRefusal: Error, Equatable, CustomStringConvertible {
        case doesNotOpen
        case notSignedByTheAttestedWorker
        case malformed(String)
        case wrongJobOrQuery

        public var description: String {
            switch self {
            case .doesNotOpen: return "the result does not open with this receiver's key for this request"
            case .notSignedByTheAttestedWorker: return "the result is not signed by the attested worker's key"
            case .malformed(let why): return "the result is malformed: \(why)"
            case .wrongJobOrQuery: return "the result is for another job or query"
            }
        }
    }

    /// Opens a sealed result and checks it was signed by the worker whose evidence the party
    /// verified. - Throws: ``ResultRefusal``.
    public static func openResult(_ sealed: [UInt8], key: PartyPrivateKey, worker: LaunchClaims, query: String,
                                  request: QueryRequest) throws -> ResultDocument {
        try openSignedResult(sealed, key: key, worker: worker, query: query, request: request).document
    }

    /// A checked result and the SHA-256 of its signed form (what the worker's `release` log entry names).
    public struct OpenedResult: Sendable {
        /// The result.
        public let document: ResultDocument
        /// SHA-256 of the COSE_Sign1 the worker signed.
        public let signedSHA256: [UInt8]
    }

    /// As ``openResult(_:key:worker:query:request:)``, also returning the signed result's digest.
    /// - Throws: ``ResultRefusal``.
    public static func openSignedResult(_ sealed: [UInt8], key: PartyPrivateKey, worker: LaunchClaims, query: String,
                                        request: QueryRequest) throws -> OpenedResult {
        let signed: [UInt8]
        do { signed = try ParleyHPKE.open(sealed, with: key.agreement, info: DataPlane.resultInfo(job: worker.job, query: query, nonce: request.nonce)) } catch {
            throw ResultRefusal.doesNotOpen
        }
        guard let signer = try? ECVerifyingKey(der: worker.signingKey), let message = try? COSESign1(bytes: signed),
              case .valid(let verified) = message.verify(with: signer) else {
            throw ResultRefusal.notSignedByTheAttestedWorker
        }
        let doc: ResultDocument
        do { doc = try ResultDocument(decoding: verified.payload) } catch { throw ResultRefusal.malformed("\(error)") }
        guard doc.job == worker.job, doc.query == query else { throw ResultRefusal.wrongJobOrQuery }
        return OpenedResult(document: doc, signedSHA256: Array(SHA256.hash(data: signed)))
    }
}
