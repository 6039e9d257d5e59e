import Foundation
import ParleySandbox
import XCTest

/// A worker started by a root host: after the identity step it is the unprivileged worker user,
/// holds no capability in any set, cannot read the host's 0600 secrets and cannot become root.
final class ProbeIdentityTests: XCTestCase {
    /// A root-owned 0600 file standing for the host's log key.
    private func secretFile() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("parley-secret-\(UUID().uuidString)").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("PRIVATE+KEY+test".utf8),
                                                     attributes: [.posixPermissions: 0o600]))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testRootWorkerBecomesUnprivilegedWithNoCapability() throws {
        guard getuid() == 0 else { throw XCTSkip("the identity switch happens only when started as root") }
        let secret = try secretFile()
        // The same file is readable before the switch: the denial below is the identity's doing.
        XCTAssertNotNil(FileManager.default.contents(atPath: secret))
        let run = try ProbeRunner.run(["identity", "--secret", secret])
        XCTAssertEqual(run.status, 0, run.transcript)
        let expected = WorkerIdentity.standard()
        XCTAssertTrue(run.lines.contains("INFO ids uid=\(expected.uid)/\(expected.uid)/\(expected.uid) "
                                         + "gid=\(expected.gid)/\(expected.gid)/\(expected.gid) groups=0"), run.transcript)
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            XCTAssertTrue(run.lines.contains("INFO \(set): 0000000000000000"), "\(set):\n\(run.transcript)")
        }
        XCTAssertEqual(run.line(for: "read-secret"), "DENIED read-secret Permission denied", run.transcript)
        XCTAssertEqual(run.line(for: "regain-root"), "DENIED regain-root Operation not permitted", run.transcript)
    }

    /// A worker identity of root is a caller's mistake and refused.
    func testRootAsWorkerIdentityIsRefused() throws {
        guard getuid() == 0 else { throw XCTSkip("the identity switch happens only when started as root") }
        XCTAssertThrowsError(try Sandbox.apply(.identity, SandboxPolicy(identity: WorkerIdentity(uid: 0, gid: 0)))) { error in
            let error = error as? SandboxError
            XCTAssertEqual(error?.code, .invalidPolicy)
            XCTAssertTrue(error?.reason.contains("is root; give it an unprivileged user") ?? false, "\(String(describing: error))")
        }
        XCTAssertEqual(getuid(), 0, "the refusal changed nothing")
    }
}
