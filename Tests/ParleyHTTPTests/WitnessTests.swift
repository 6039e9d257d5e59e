import Crypto
import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyHTTP
import ParleyLog
import ParleyParty
import ParleyWitness
import XCTest
import ParleyHostLog

/// Witnesses (issue #14, item 3): a real `parley witness` HTTP service cosigns only checkpoints
/// that extend what it cosigned (C2SP tlog-witness), in C2SP `cosignature/v1` form; a party whose
/// policy needs two cosignatures refuses a checkpoint with one; the audit checks them.
final class WitnessTests: HTTPTestCase {
    var witnessTasks: [Task<Void, any Error>] = []

    override func tearDown() async throws {
        for t in witnessTasks { t.cancel(); _ = await t.result }
        try await super.tearDown()
    }

    func startWitness(_ name: String, logs: [NoteVerifierKey], now: @escaping @Sendable () -> Date = { Date() }) async throws -> (WitnessServer, String) {
        let witness = try WitnessServer(dataDirectory: dir + "/witness-\(name)", name: "witness.test/\(name)", logs: logs, now: now)
        let box = BoundPort()
        let app = witness.application(host: "127.0.0.1", port: 0, logLevel: .critical) { box.set($0) }
        witnessTasks.append(Task { try await app.runService(gracefulShutdownSignals: []) })
        return (witness, "http://127.0.0.1:\(try await box.wait())")
    }

    /// A signed checkpoint over `entries` with `signer`.
    func note(_ entries: [[UInt8]], _ signer: NoteSignerKey) throws -> (note: [UInt8], tree: MerkleTree) {
        var tree = MerkleTree()
        for e in entries { _ = tree.append(entry: e) }
        return (try Checkpoint(origin: signer.name, size: tree.size, rootHash: tree.rootHash).signedNote(with: signer), tree)
    }

    func post(_ url: String, old: UInt64, proof: [TreeHash] = [], note: [UInt8]) async throws -> HTTP.Reply {
        let body = Array("old \(old)\n".utf8) + Array(proof.map { $0.base64 + "\n" }.joined().utf8) + [0x0a] + note
        return try await HTTP(server: url).request("POST", "/add-checkpoint", body: body)
    }

    func testAWitnessCosignsOnlyWhatExtendsWhatItCosignedAndRefusesAFork() async throws {
        let log = try NoteSignerKey.generate(name: "test.example/log")
        let clock: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_700_000_000) }
        let (witness, url) = try await startWitness("a", logs: [log.verifierKey], now: clock)
        let entries = (0..<6).map { Array("entry \($0)".utf8) }
        let (two, _) = try note(Array(entries.prefix(2)), log)
        let (four, tree4) = try note(Array(entries.prefix(4)), log)

        let first = try await post(url, old: 0, note: two)
        XCTAssertEqual(first.status, 200, first.text)
        let cosigned = try SignedNote.parse(try SignedNote.parse(two).adding(signatureLines: [first.text.trimmingCharacters(in: .newlines)]))
        XCTAssertEqual(cosigned.cosignatures(by: [witness.key]).map(\.cosigner), [witness.key])
        XCTAssertEqual(cosigned.cosignatures(by: [witness.key]).map(\.timestamp), [1_700_000_000])
        // The signed message is exactly C2SP's: "cosignature/v1\ntime T\n" + the checkpoint body.
        let line = try XCTUnwrap(cosigned.signatures.last)
        XCTAssertEqual(line.signature.count, 8 + 64)
        let raw = try Curve25519PublicKeyCheck.verify(key: witness.key.publicKey, signature: Array(line.signature[8...]),
                                                      message: Array("cosignature/v1\ntime 1700000000\n".utf8) + Array(cosigned.text.utf8))
        XCTAssertTrue(raw)

        let stale = try await post(url, old: 0, note: two)
        XCTAssertEqual(stale.status, 409)
        XCTAssertEqual(stale.text, "2\n", "the size it last cosigned, as text/x.tlog.size")
        let proof = try tree4.consistencyProof(oldSize: 2, newSize: 4).path
        let awaited25 = try await post(url, old: 2, proof: proof, note: four).status
        XCTAssertEqual(awaited25, 200)

        // A fork: another history of the same size, signed by the same log key.
        let forkedEntries = Array(entries.prefix(3)) + [Array("rewritten".utf8)]
        let (fork, _) = try note(forkedEntries, log)
        let forkReply = try await post(url, old: 4, note: fork)
        XCTAssertEqual(forkReply.status, 409, forkReply.text)
        XCTAssertTrue(forkReply.text.contains("forked"), forkReply.text)
        // A larger checkpoint of the forked history, with a proof that cannot hold.
        let (forkSix, forkTree) = try note(forkedEntries + Array(entries.suffix(2)), log)
        let badProof = try forkTree.consistencyProof(oldSize: 4, newSize: 6).path
        let inconsistent = try await post(url, old: 4, proof: badProof, note: forkSix)
        XCTAssertEqual(inconsistent.status, 422, inconsistent.text)
        // Another log's checkpoint, and one not signed by the followed key.
        let awaited26 = try await post(url, old: 0, note: try note(entries, try NoteSignerKey.generate(name: "other.example/log")).note).status
        XCTAssertEqual(awaited26, 404)
        let awaited27 = try await post(url, old: 4, note: try note(entries, try NoteSignerKey.generate(name: "test.example/log")).note).status
        XCTAssertEqual(awaited27, 403)
        // Its memory is on disk: a restarted witness still refuses to go back.
        let again = try WitnessServer(dataDirectory: dir + "/witness-a", name: "ignored", logs: [log.verifierKey], now: clock)
        XCTAssertEqual(again.key, witness.key)
        let restarted = again.addCheckpoint(Array("old 0\n\n".utf8) + two)
        XCTAssertEqual(restarted.status, 409)
        XCTAssertEqual(String(decoding: restarted.body, as: UTF8.self), "4\n")
    }

    func testAWitnessThatWasDownIsAskedAgainForTheSameCheckpoint() async throws {
        let hostKey = try NoteVerifierKey(parsing: try FileIO.readText(dir + "/host/log-key.pub").trimmingCharacters(in: .whitespacesAndNewlines))
        _ = try await launch()
        // A port nothing listens on yet: the witness is down when the host first asks.
        let port = try FreePort.pick()
        let url = "http://127.0.0.1:\(port)"
        let clock = MovableDate()
        server.witnesses = WitnessCollector(witnesses: [url], retryInterval: 5, now: { clock.now })
        let (http, dir) = (http!, dir)
        let witness = try WitnessServer(dataDirectory: dir + "/witness-late", name: "witness.test/late", logs: [hostKey])
        let party = try await LogFollower(http: http, state: ClientState(directory: dir + "/party"), pinnedKey: hostKey, witnesses: [witness.key], quorum: 1)
        let follow = { () async -> LogRefusal? in
            do { try await party.follow(); return nil } catch let e as LogRefusal { return e } catch { return .launchNotLogged("\(error)") }
        }
        let down = await follow()
        XCTAssertEqual(down, .tooFewCosignatures(have: 0, need: 1))
        let box = BoundPort()
        let app = witness.application(host: "127.0.0.1", port: port, logLevel: .critical) { box.set($0) }
        witnessTasks.append(Task { try await app.runService(gracefulShutdownSignals: []) })
        _ = try await box.wait()
        // Within the retry interval the host does not ask again; after it, it does, for the same checkpoint.
        let soon = await follow()
        XCTAssertEqual(soon, .tooFewCosignatures(have: 0, need: 1))
        clock.advance(5)
        let later = await follow()
        XCTAssertNil(later, "the witness that came back cosigned the same checkpoint")
        let awaitedSize = try await party.remembered()?.checkpoint.size
        XCTAssertEqual(awaitedSize, server.log.size, "no new entry was needed")
    }

    func testAPartyRequiringTwoCosignaturesRefusesACheckpointWithOne() async throws {
        let hostKey = try NoteVerifierKey(parsing: try FileIO.readText(dir + "/host/log-key.pub").trimmingCharacters(in: .whitespacesAndNewlines))
        let (w1, url1) = try await startWitness("one", logs: [hostKey])
        let (w2, url2) = try await startWitness("two", logs: [hostKey])
        _ = try await launch()
        server.witnesses = WitnessCollector(witnesses: [url1])
        let (http, dir) = (http!, dir)
        let party = try await LogFollower(http: http, state: ClientState(directory: dir + "/party"), pinnedKey: hostKey, witnesses: [w1.key, w2.key], quorum: 2)
        let refusal = try await blocking { () -> LogRefusal? in
            do { try await party.follow(); return nil } catch let e as LogRefusal { return e }
        }
        XCTAssertEqual(refusal, .tooFewCosignatures(have: 1, need: 2))
        XCTAssertNil(try party.remembered(), "nothing is remembered from a refused checkpoint")
        // A forged second "cosignature" (w1's signature bytes under w2's name and key id) does not count.
        let one = try SignedNote.parse(try await http.request("GET", "/v1/log/checkpoint").body)
        let real = try XCTUnwrap(one.signatures.first { $0.keyName == w1.key.name })
        var blob: [UInt8] = withUnsafeBytes(of: w2.key.keyID.bigEndian) { Array($0) }
        blob += real.signature
        let forged = try SignedNote.parse(one.encoded + Array("\u{2014} \(w2.key.name) \(Data(blob).base64EncodedString())\n".utf8))
        XCTAssertEqual(forged.cosignatures(by: [w1.key, w2.key]).map(\.cosigner), [w1.key])
        // With both witnesses the checkpoint is accepted and kept with its cosignatures.
        server.witnesses = WitnessCollector(witnesses: [url1, url2])
        let accepted = try await blocking { try await party.follow() }
        let kept = try SignedNote.parse(accepted.note)
        XCTAssertEqual(Set(kept.cosignatures(by: [w1.key, w2.key]).map(\.cosigner)), [w1.key, w2.key])
        // The audit checks them on known checkpoints.
        var policy = AuditPolicy(logKey: hostKey)
        policy.witnesses = [w1.key, w2.key]
        policy.witnessQuorum = 2
        let bundleDir = dir + "/bundle"
        _ = try AuditBundle.export(from: server.log, to: bundleDir)
        policy.knownCheckpoints = [(source: "party", note: accepted.note)]
        XCTAssertEqual(AuditReplay(bundle: try AuditBundle.open(bundleDir), policy: policy).run().verdict, .passed)
        policy.knownCheckpoints = [(source: "unwitnessed", note: try server.log.checkpoint())]
        guard case .failed(let f) = AuditReplay(bundle: try AuditBundle.open(bundleDir), policy: policy).run().verdict else { return XCTFail("passed") }
        XCTAssertEqual(f.reason, .knownCheckpointUnwitnessed(source: "unwitnessed", have: 0, need: 2))
    }
}

/// A date a test moves by hand.
final class MovableDate: @unchecked Sendable {
    private let lock = NSLock()
    private var date = Date(timeIntervalSince1970: 1_780_000_000)
    var now: Date { lock.withLock { date } }
    func advance(_ seconds: TimeInterval) { lock.withLock { date += seconds } }
}

/// A loopback port nothing listens on: the kernel picks one for a socket that is then closed.
enum FreePort {
    static func pick() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ParleyError(.io, "socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) == 0 && getsockname(fd, $0, &size) == 0 }
        }
        guard bound else { throw ParleyError(.io, "bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Checks an Ed25519 signature with swift-crypto, independently of ParleyLog's cosignature code.
enum Curve25519PublicKeyCheck {
    static func verify(key: [UInt8], signature: [UInt8], message: [UInt8]) throws -> Bool {
        try Curve25519.Signing.PublicKey(rawRepresentation: key).isValidSignature(signature, for: message)
    }
}
