import Foundation
import ParleyCore
import ParleyHost
import XCTest

/// The verdict behind `parley serve`'s refusal: each exposed secret named with its fix.
final class HostSecretsTests: XCTestCase {
    var data = ""

    override func setUpWithError() throws {
        data = FileManager.default.temporaryDirectory.appendingPathComponent("parley-secrets-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: data + "/quoting-ca", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: data)
        addTeardownBlock { [data] in try? FileManager.default.removeItem(atPath: data) }
        for file in ["log-key", "operator-token", "quoting-ca/root-key.pem", "quoting-ca/quoting-key.pem"] {
            try FileIO.write(Array("secret".utf8), to: data + "/" + file, mode: 0o600)
        }
    }

    func testPrivateSecretsAreProtected() {
        XCTAssertEqual(HostSecrets.check(dataDirectory: data), .protected)
        XCTAssertNoThrow(try HostSecrets.requireProtected(dataDirectory: data))
    }

    func testEachExposureIsNamedWithItsFix() throws {
        chmod(data + "/log-key", 0o644)
        chmod(data + "/quoting-ca", 0o711)
        guard case .exposed(let list) = HostSecrets.check(dataDirectory: data) else { return XCTFail("must be exposed") }
        XCTAssertEqual(list.map(\.fix), ["chmod 600 \(data)/log-key", "chmod 700 \(data)/quoting-ca"])
        XCTAssertTrue(list[0].description.contains("is open to group or others (mode 644)"), list[0].description)
        XCTAssertThrowsError(try HostSecrets.requireProtected(dataDirectory: data)) { error in
            XCTAssertTrue("\(error)".contains("run chmod 600 \(data)/log-key"), "\(error)")
        }
    }

    func testASecretOfAnotherUserOrALinkIsRefused() throws {
        guard getuid() == 0 else { throw XCTSkip("chown needs root") }
        XCTAssertEqual(chown(data + "/operator-token", 65534, 65534), 0)
        try FileManager.default.removeItem(atPath: data + "/log-key")
        try FileManager.default.createSymbolicLink(atPath: data + "/log-key", withDestinationPath: "/etc/hostname")
        guard case .exposed(let list) = HostSecrets.check(dataDirectory: data) else { return XCTFail("must be exposed") }
        XCTAssertEqual(list.count, 2, "\(list)")
        XCTAssertTrue(list.contains { $0.path.hasSuffix("/log-key") && $0.problem.contains("not a regular file") }, "\(list)")
        XCTAssertTrue(list.contains { $0.fix == "chown 0 \(data)/operator-token" }, "\(list)")
    }

    func testMissingSecretsAreNotYetExposed() throws {
        let fresh = data + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        XCTAssertEqual(HostSecrets.check(dataDirectory: fresh), .protected, "nothing to protect yet; created 0600 on start")
    }
}
