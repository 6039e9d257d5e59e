import Foundation
import XCTest

/// `parley serve` refuses to start while the log key, the quoting CA's keys, the operator token
/// or the directories that hold them are open to other users, and says which `chmod` fixes it.
extension ServeWorkflowCLITests {
    func testServeRefusesSecretsOthersCanRead() throws {
        let dir = try temporaryDirectory()
        let data = dir + "/host"
        _ = try startServe(data: data)  // first start creates every secret, private
        serve?.interrupt()
        serve?.waitUntilExit()
        serve = nil
        let cases: [(path: String, mode: Int, fix: String)] = [
            (data + "/log-key", 0o644, "chmod 600 \(data)/log-key"),
            (data + "/operator-token", 0o640, "chmod 600 \(data)/operator-token"),
            (data + "/quoting-ca/root-key.pem", 0o604, "chmod 600 \(data)/quoting-ca/root-key.pem"),
            (data + "/quoting-ca/quoting-key.pem", 0o644, "chmod 600 \(data)/quoting-ca/quoting-key.pem"),
            (data + "/quoting-ca", 0o755, "chmod 700 \(data)/quoting-ca"),
            (data, 0o750, "chmod 700 \(data)"),
        ]
        for (path, mode, fix) in cases {
            let original = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? 0
            XCTAssertEqual(original & 0o077, 0, "\(path) must be created private")
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
            let refused = try run("parley", ["serve", "--data", data, "--listen", "127.0.0.1:0"])
            XCTAssertEqual(refused.status, 2, "\(path) at \(String(mode, radix: 8)): \(refused.err)")
            XCTAssertTrue(refused.err.contains("refusing to start"), refused.err)
            XCTAssertTrue(refused.err.contains("run \(fix)"), "the message must say how to fix it: \(refused.err)")
            try FileManager.default.setAttributes([.posixPermissions: original], ofItemAtPath: path)
        }
        // Fixed as told, the host starts again.
        XCTAssertTrue(try startServe(data: data).hasPrefix("http://127.0.0.1:"))
    }
}
