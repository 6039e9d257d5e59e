import ParleyCore
import ParleyModule
import XCTest

/// The one query rule (``QueryAdmission``): each refusal with its logged code, and the order the
/// checks run in, so the host's handler and the worker refuse a bad request for the same reason.
final class QueryAdmissionTests: ModuleFixtureCase {
    let nonce = [UInt8](repeating: 7, count: 16)

    func decide(_ m: ModuleDefinition, _ query: String, _ receiver: String, nonce: [UInt8]? = nil, signed: Bool = true) -> QueryAdmission {
        QueryAdmission.decide(module: m, query: query, receiver: receiver, nonce: nonce ?? self.nonce, signedByReceiver: { _ in signed })
    }

    func testAdmitsADeclaredReceiversSignedRequestAndAsksWithItsKey() throws {
        let m = try load("campaign-lift")
        let retailer = try XCTUnwrap(m.parties["retailer"])
        XCTAssertEqual(decide(m, "conversions_by_region", "retailer"), .admitted(receiver: retailer))
        let brandKeyOnly = QueryAdmission.decide(module: m, query: "conversions_by_region", receiver: "retailer", nonce: nonce,
                                                 signedByReceiver: { $0 == m.parties["brand"] })
        XCTAssertEqual(brandKeyOnly, .refused(.badSignature(receiver: "retailer")), "the signature is checked with the receiver's own key")
    }

    func testEachRefusalWithItsCode() throws {
        let m = try load("campaign-lift")
        let cases: [(QueryAdmission, QueryRefusal, RefusalCode)] = [
            (decide(m, "nope", "brand"), .undeclaredQuery("nope"), .undeclaredQuery),
            (decide(m, "conversions", "retailer"), .notReceiver(query: "conversions", receiver: "retailer"), .notReceiver),
            (decide(m, "conversions", "stranger"), .notReceiver(query: "conversions", receiver: "stranger"), .notReceiver),
            (decide(m, "conversions", "brand", nonce: Array(repeating: 1, count: 15)), .badNonce, .badNonce),
            (decide(m, "conversions", "brand", nonce: Array(repeating: 1, count: 65)), .badNonce, .badNonce),
            (decide(m, "conversions", "brand", signed: false), .badSignature(receiver: "brand"), .badSignature),
        ]
        for (got, refusal, code) in cases {
            XCTAssertEqual(got, .refused(refusal))
            XCTAssertEqual(refusal.code, code)
            XCTAssertFalse(refusal.description.isEmpty)
        }
        XCTAssertEqual(decide(m, "conversions", "brand", nonce: Array(repeating: 1, count: 64)), .admitted(receiver: try XCTUnwrap(m.parties["brand"])))
    }

    func testTheFirstFailingCheckWins() throws {
        let m = try load("campaign-lift")
        // Everything wrong at once: the query is checked first, then the receiver, the nonce, the signature.
        XCTAssertEqual(decide(m, "nope", "stranger", nonce: [], signed: false), .refused(.undeclaredQuery("nope")))
        XCTAssertEqual(decide(m, "conversions", "stranger", nonce: [], signed: false), .refused(.notReceiver(query: "conversions", receiver: "stranger")))
        XCTAssertEqual(decide(m, "conversions", "brand", nonce: [], signed: false), .refused(.badNonce))
    }
}
