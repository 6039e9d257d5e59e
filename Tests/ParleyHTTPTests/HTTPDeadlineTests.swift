import Foundation
import ParleyAttestation
import ParleyCore
import ParleyHost
import ParleyParty
import XCTest

/// Nobody can hold the host up: a header deadline and an idle deadline on every request, one
/// upload slot per dataset, a cap on connections per client address. Deadlines are 1 s here.
final class HTTPDeadlineTests: HTTPTestCase {
    static let cap = 6

    override func setUp() async throws {
        serverLimits.headerDeadline = 1
        serverLimits.idleDeadline = 1
        serverLimits.maxConnectionsPerAddress = Self.cap
        try await super.setUp()
    }

    var port: Int { http.base.port ?? 0 }

    static let health = Array("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)

    /// Slowloris: one address opens as many connections as it may and never finishes a header.
    /// Another address is served meanwhile; one connection over the cap is closed at once; the
    /// held ones are closed by the header deadline, without an answer, and their slots come back.
    func testSlowlorisConnectionsAreCutAndOthersKeepWorking() async throws {
        let port = port
        var slow: [RawHTTPConnection] = []
        for _ in 0..<Self.cap {
            let c = try RawHTTPConnection(port: port, source: "127.0.0.1")
            XCTAssertTrue(c.send("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a"))
            slow.append(c)
        }
        let (status, _) = try await blocking { try RawHTTPConnection.request(port: port, source: "127.0.0.2", Self.health) }
        XCTAssertEqual(status, 200, "another client must be served while the slow ones hang")
        let (overCap, overCapEnding) = try await blocking { () -> ([UInt8], RawHTTPConnection.Ending) in
            let c = try RawHTTPConnection(port: port, source: "127.0.0.1")
            c.send(Self.health)
            return c.readToEnd()
        }
        XCTAssertEqual(overCapEnding, .closedByServer, "a connection over the per-address cap is closed")
        XCTAssertEqual(overCap, [], "and gets no answer")
        for c in slow {
            c.send("b")  // still dribbling: the deadline counts from the start, not from the last byte
            let (bytes, ending) = try await blocking { c.readToEnd() }
            XCTAssertEqual(ending, .closedByServer, "a request head that never ends must be cut")
            XCTAssertEqual(bytes, [], "without an answer")
        }
        slow = []
        let again = try await blocking { try RawHTTPConnection.request(port: port, source: "127.0.0.1", Self.health) }
        XCTAssertEqual(again.status, 200, "once cut, the address's slots are free again")
    }

    /// An upload that sends its signed header and then nothing is cut by the idle deadline and
    /// refused (nothing kept); meanwhile the other party's upload to the same job goes through,
    /// and afterwards the stalled dataset can be uploaded properly.
    func testAStalledUploadIsCutRefusedAndBlocksNoOne() async throws {
        let job = try await launch()
        let (http, brand, retailer, dir, policy, port) = (http!, brand, retailer, dir, try policy(), port)
        let worker = try await blocking { try await ClientOps.verifiedWorker(http, job: job, policy: policy) }
        let refused = expectation(description: "the stalled upload is refused")
        let forward = service.onEvent
        service.onEvent = { event in
            forward?(event)
            if case .uploadRefused(let j, "exposures", _) = event, j == job { refused.fulfill() }
        }
        let sealed = try PartyClient.SealedUpload(path: dir + "/exposures.csv", job: job, dataset: "exposures",
                                                  worker: worker.claims, key: brand)
        let header = try XCTUnwrap(try sealed.next())
        let stalled = try RawHTTPConnection(port: port)
        XCTAssertTrue(stalled.send("PUT /v1/jobs/\(job)/datasets/exposures HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                   + "Content-Length: 10000000\r\nParley-Signature: \(Hex.encode(sealed.signature))\r\n\r\n"))
        XCTAssertTrue(stalled.send(header))
        // The other party's dataset has its own slot: no 409 while exposures is stuck.
        let purchases = try await blocking {
            try await ClientOps.upload(http, job: job, dataset: "purchases", file: dir + "/purchases.csv", key: retailer, worker: worker, progress: false).receipt.rows
        }
        XCTAssertNotNil(purchases)
        let (_, ending) = try await blocking { stalled.readToEnd() }
        XCTAssertEqual(ending, .closedByServer, "the idle deadline must cut the stalled upload")
        await fulfillment(of: [refused], timeout: 30)
        // A fresh client: the old one's pooled connection has met the 1 s header deadline.
        let fresh = try HTTP(server: "http://127.0.0.1:\(port)")
        let exposures = try await blocking {
            try await ClientOps.upload(fresh, job: job, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: worker, progress: false).receipt.rows
        }
        XCTAssertEqual(exposures, 3000, "the slot is free and nothing of the stalled upload was kept")
    }
}
