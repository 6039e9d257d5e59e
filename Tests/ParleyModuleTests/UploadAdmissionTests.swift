import ParleyCore
import ParleyModule
import XCTest

/// The one upload rule: each refusal, and the order the checks run in (so the host and the
/// worker give the same first reason).
final class UploadAdmissionTests: ModuleFixtureCase {
    func decide(_ module: ModuleDefinition, _ dataset: String, signed: Bool? = true,
                _ job: UploadAdmission.JobState = .collecting(received: [])) -> UploadAdmission {
        UploadAdmission.decide(module: module, dataset: dataset, signedByProvider: { _ in signed }, job: job)
    }

    func testAdmitsTheProviderWhileCollecting() throws {
        let m = try load("campaign-lift")
        XCTAssertEqual(decide(m, "exposures"), .admitted(provider: "brand"))
        XCTAssertEqual(decide(m, "purchases", .collecting(received: ["exposures"])), .admitted(provider: "retailer"))
        XCTAssertEqual(decide(m, "exposures", signed: nil), .admitted(provider: "brand"), "a signature not known yet is not a refusal")
    }

    func testTheKeyAskedAboutIsTheDeclaredProvidersKey() throws {
        let m = try load("campaign-lift")
        let brand = try XCTUnwrap(m.parties["brand"])
        let asked = UploadAdmission.decide(module: m, dataset: "exposures", signedByProvider: { $0 == brand }, job: .collecting(received: []))
        XCTAssertEqual(asked, .admitted(provider: "brand"))
        let retailerOnly = UploadAdmission.decide(module: m, dataset: "exposures", signedByProvider: { $0 == m.parties["retailer"] },
                                                  job: .collecting(received: []))
        XCTAssertEqual(retailerOnly, .refused(.notProvider(dataset: "exposures", provider: "brand")))
    }

    func testEachRefusal() throws {
        let m = try load("campaign-lift")
        XCTAssertEqual(decide(m, "nope"), .refused(.undeclaredDataset("nope")))
        XCTAssertEqual(decide(m, "exposures", signed: false), .refused(.notProvider(dataset: "exposures", provider: "brand")))
        XCTAssertEqual(decide(m, "exposures", .notCollecting("stopped")), .refused(.notCollecting(state: "stopped")))
        XCTAssertEqual(decide(m, "exposures", .collecting(received: ["exposures"])), .refused(.alreadyUploaded("exposures")))
        XCTAssertEqual(UploadRefusal.undeclaredDataset("x").code, .undeclaredDataset)
        XCTAssertEqual(UploadRefusal.notProvider(dataset: "x", provider: "p").code, .notProvider)
        XCTAssertEqual(UploadRefusal.alreadyUploaded("x").code, .alreadyUploaded)
        XCTAssertNil(UploadRefusal.notCollecting(state: "ready").code, "only the host knows the job's state")
        XCTAssertTrue(UploadRefusal.alreadyUploaded("x").description.contains("already uploaded"))
    }

    /// Declared, then signed, then collecting, then not in yet: the first failing check wins.
    func testChecksRunInOneOrder() throws {
        let m = try load("campaign-lift")
        XCTAssertEqual(decide(m, "nope", signed: false, .notCollecting("stopped")), .refused(.undeclaredDataset("nope")))
        XCTAssertEqual(decide(m, "exposures", signed: false, .notCollecting("stopped")),
                       .refused(.notProvider(dataset: "exposures", provider: "brand")))
        XCTAssertEqual(decide(m, "exposures", signed: false, .collecting(received: ["exposures"])),
                       .refused(.notProvider(dataset: "exposures", provider: "brand")))
    }
}
