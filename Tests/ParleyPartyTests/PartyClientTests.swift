import Crypto
import Foundation
import ParleyAttestation
import ParleyCore
import ParleyParty
import XCTest

/// What a party's client does with what it receives: it seals uploads only to the attested
/// worker's key and signs them as the provider, and it accepts a result only if it opens with
/// its own key for its own request and is signed by the attested worker for that job and query.
final class PartyClientTests: XCTestCase {
    let party = PartyPrivateKey()
    let workerAgreement = Curve25519.KeyAgreement.PrivateKey()
    let workerSigning = P384.Signing.PrivateKey()
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-party-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { [dir] in try? FileManager.default.removeItem(atPath: dir) }
    }

    func worker(job: String = "job-p1", publicKey: [UInt8]? = nil, signing: P384.Signing.PrivateKey? = nil) -> LaunchClaims {
        LaunchClaims(job: job, runtime: MeasurementDigest.of([1]), module: MeasurementDigest.of([2]), moduleSigner: MeasurementDigest.of([3]),
                     debug: false, publicKey: publicKey ?? Array(workerAgreement.publicKey.rawRepresentation),
                     signingKey: Array((signing ?? workerSigning).publicKey.derRepresentation))
    }

    /// What the worker sends back for `request`: the result document, signed and sealed to `receiver`.
    func sealedResult(job: String = "job-p1", query: String = "lift", signer: P384.Signing.PrivateKey? = nil,
                      receiver: Curve25519.KeyAgreement.PublicKey? = nil, request: PartyClient.QueryRequest) throws -> [UInt8] {
        let doc = ResultDocument(job: job, query: query, columns: ["campaign", "lift"], rows: [[.text("spring"), .text("0.25")]],
                                 suppressedGroups: 1, mechanism: "discrete-laplace", epsilonCharged: "1/2", deltaCharged: "0",
                                 budgetLeft: "1/2", inputs: ["exposures": [UInt8](repeating: 7, count: 32)], timestampMillis: 1_780_000_000_000)
        let signed = try COSESign1.sign(payload: doc.encoded, with: .p384(signer ?? workerSigning))
        return try ParleyHPKE.seal(signed, to: receiver ?? party.agreement.publicKey,
                                   info: DataPlane.resultInfo(job: "job-p1", query: "lift", nonce: request.nonce))
    }

    func testAResultFromTheAttestedWorkerOpensWithItsDigest() throws {
        let request = try PartyClient.queryRequest(job: "job-p1", query: "lift", receiver: "brand", key: party)
        let sealed = try sealedResult(request: request)
        let opened = try PartyClient.openSignedResult(sealed, key: party, worker: worker(), query: "lift", request: request)
        XCTAssertEqual(opened.document.columns, ["campaign", "lift"])
        XCTAssertEqual(opened.document.rows, [[.text("spring"), .text("0.25")]])
        XCTAssertEqual(opened.signedSHA256.count, 32)
        // The request is signed by the party over exactly (job, query, receiver, nonce).
        let message = DataPlane.queryRequestMessage(job: "job-p1", query: "lift", receiver: "brand", nonce: request.nonce)
        XCTAssertEqual(DataPlane.check(request.signature, over: message, by: party.signing.publicKey), .valid)
        XCTAssertEqual(DataPlane.check(request.signature, over: DataPlane.queryRequestMessage(job: "job-p1", query: "lift", receiver: "retailer",
                                                                                              nonce: request.nonce), by: party.signing.publicKey), .mismatch)
    }

    func testAResultSealedToAnotherReceiverOrRequestDoesNotOpen() throws {
        let request = try PartyClient.queryRequest(job: "job-p1", query: "lift", receiver: "brand", key: party)
        let other = PartyPrivateKey()
        let toOther = try sealedResult(receiver: other.agreement.publicKey, request: request)
        XCTAssertThrowsError(try PartyClient.openResult(toOther, key: party, worker: worker(), query: "lift", request: request)) {
            XCTAssertEqual($0 as? PartyClient.ResultRefusal, .doesNotOpen)
        }
        let later = try PartyClient.queryRequest(job: "job-p1", query: "lift", receiver: "brand", key: party)
        XCTAssertNotEqual(later.nonce, request.nonce, "every request has a fresh nonce")
        let sealed = try sealedResult(request: request)
        XCTAssertThrowsError(try PartyClient.openResult(sealed, key: party, worker: worker(), query: "lift", request: later),
                             "a result for an earlier request is not accepted as the answer to a new one") {
            XCTAssertEqual($0 as? PartyClient.ResultRefusal, .doesNotOpen)
        }
    }

    func testAResultSignedByAnyoneButTheAttestedWorkerIsRefused() throws {
        let request = try PartyClient.queryRequest(job: "job-p1", query: "lift", receiver: "brand", key: party)
        let forged = try sealedResult(signer: P384.Signing.PrivateKey(), request: request)
        XCTAssertThrowsError(try PartyClient.openResult(forged, key: party, worker: worker(), query: "lift", request: request)) {
            XCTAssertEqual($0 as? PartyClient.ResultRefusal, .notSignedByTheAttestedWorker)
        }
    }

    func testAResultForAnotherJobOrQueryIsRefused() throws {
        let request = try PartyClient.queryRequest(job: "job-p1", query: "lift", receiver: "brand", key: party)
        for (job, query) in [("job-other", "lift"), ("job-p1", "reach")] {
            let sealed = try sealedResult(job: job, query: query, request: request)
            XCTAssertThrowsError(try PartyClient.openResult(sealed, key: party, worker: worker(), query: "lift", request: request)) {
                XCTAssertEqual($0 as? PartyClient.ResultRefusal, .wrongJobOrQuery, "\(job)/\(query)")
            }
        }
    }

    func open(_ stream: [UInt8], key: Curve25519.KeyAgreement.PrivateKey, dataset: String) throws -> [UInt8] {
        var opener = StreamOpener(privateKey: key, info: DataPlane.uploadInfo(job: "job-p1", dataset: dataset))
        let plaintext = try opener.feed(stream).flatMap { $0 }
        try opener.finish()
        return plaintext
    }

    func testAnUploadOpensOnlyWithTheWorkersKeyAndCarriesTheProvidersSignature() throws {
        let csv = "email_hash,campaign,region\n" + (0..<200).map { "h\($0),c\($0 % 3),\($0 % 4)\n" }.joined()
        FileManager.default.createFile(atPath: dir + "/data.csv", contents: Data(csv.utf8))
        let upload = try PartyClient.SealedUpload(path: dir + "/data.csv", job: "job-p1", dataset: "exposures", worker: worker(), key: party, chunkSize: 256)
        var stream: [UInt8] = []
        while let piece = try upload.next() { stream += piece }
        XCTAssertEqual(upload.bytesRead, csv.utf8.count)
        XCTAssertNil(stream.firstRange(of: Array("email_hash".utf8)), "no plaintext in what the host relays")

        var opener = StreamOpener(privateKey: workerAgreement, info: DataPlane.uploadInfo(job: "job-p1", dataset: "exposures"))
        let plaintext = try opener.feed(stream).flatMap { $0 }
        try opener.finish()
        XCTAssertEqual(plaintext, Array(csv.utf8))
        let signed = DataPlane.uploadSignedMessage(job: "job-p1", dataset: "exposures", headerDigest: opener.headerDigest)
        XCTAssertEqual(DataPlane.check(upload.signature, over: signed, by: party.signing.publicKey), .valid)

        XCTAssertThrowsError(try open(stream, key: workerAgreement, dataset: "purchases"), "a stream sealed for one dataset does not open as another")
        XCTAssertThrowsError(try open(stream, key: Curve25519.KeyAgreement.PrivateKey(), dataset: "exposures"), "only the attested worker's key opens it")
        XCTAssertEqual(try open(stream, key: workerAgreement, dataset: "exposures"), Array(csv.utf8))
    }

    func testAnUploadToAnUnusableWorkerKeyIsRefusedBeforeReadingData() throws {
        FileManager.default.createFile(atPath: dir + "/data.csv", contents: Data("a\n1\n".utf8))
        XCTAssertThrowsError(try PartyClient.SealedUpload(path: dir + "/data.csv", job: "job-p1", dataset: "exposures",
                                                          worker: worker(publicKey: [1, 2, 3]), key: party)) {
            XCTAssertEqual(($0 as? ParleyError)?.code, .badKey)
        }
        XCTAssertThrowsError(try PartyClient.SealedUpload(path: dir + "/missing.csv", job: "job-p1", dataset: "exposures", worker: worker(), key: party)) {
            XCTAssertEqual(($0 as? ParleyError)?.code, .io)
        }
    }
}
