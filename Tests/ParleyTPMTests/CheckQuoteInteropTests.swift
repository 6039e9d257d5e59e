import ParleyTestSupport
import Foundation
import ParleyTPM
import XCTest

/// Cross-checks our quotes with the independent `tpm2_checkquote` (tpm2-tools 5.x).
final class CheckQuoteInteropTests: XCTestCase {
    private var environment: TPMTestEnvironment!
    private var client: TPMClient!
    private var directory: URL!

    override func setUpWithError() throws {
        guard (try? findExecutable("tpm2_checkquote")) != nil else {
            throw SoftwareTPMError("tpm2_checkquote (tpm2-tools) is not installed: run Scripts/setup.sh")
        }
        environment = try TPMTestEnvironment()
        client = try environment.client()
        try client.resetPCR(23)
        try client.extendPCR(23, with: sha256(Array("launch event".utf8)))
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("parley-checkquote-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        client = nil
        environment?.shutdown()
        environment = nil
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// Writes the quote's files and runs tpm2_checkquote; returns its exit status and output.
    private func checkQuote(_ quote: TPMQuote, attest: [UInt8]? = nil, nonce: [UInt8]? = nil,
                            pcrValues: [UInt8]? = nil, keyFile: String = "ak.pem") throws -> (Int32, String) {
        let key = try client.attestationKey()
        try Data(key.pem.utf8).write(to: directory.appendingPathComponent("ak.pem"))
        try Data(key.tpm2bPublic).write(to: directory.appendingPathComponent("ak.pub"))
        try Data(attest ?? quote.attest).write(to: directory.appendingPathComponent("attest.bin"))
        try Data(quote.signature).write(to: directory.appendingPathComponent("sig.bin"))
        try Data(pcrValues ?? quote.concatenatedPCRValues).write(to: directory.appendingPathComponent("pcrs.bin"))
        let selection = "sha256:" + quote.pcrs.keys.sorted().map(String.init).joined(separator: ",")

        let process = Process()
        process.executableURL = try findExecutable("tpm2_checkquote")
        process.currentDirectoryURL = directory
        process.arguments = ["-u", keyFile, "-m", "attest.bin", "-s", "sig.bin",
                             "-q", hex(nonce ?? quote.nonce), "-g", "sha256",
                             "-f", "pcrs.bin", "-l", selection]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    func testCheckQuoteAcceptsOurQuoteWithPEMAndTPM2BPublic() throws {
        let quote = try client.quote(nonce: randomBytes(32))
        let (pemStatus, pemOutput) = try checkQuote(quote)
        XCTAssertEqual(pemStatus, 0, pemOutput)
        let (pubStatus, pubOutput) = try checkQuote(quote, keyFile: "ak.pub")
        XCTAssertEqual(pubStatus, 0, pubOutput)
    }

    func testCheckQuoteAcceptsSeveralPCRs() throws {
        let quote = try client.quote(nonce: randomBytes(20), pcrs: [0, 7, 16, 23])
        let (status, output) = try checkQuote(quote)
        XCTAssertEqual(status, 0, output)
    }

    func testCheckQuoteRejectsTamperedAttest() throws {
        let quote = try client.quote(nonce: randomBytes(32))
        var tampered = quote.attest
        tampered[tampered.count - 1] ^= 0x01
        let (status, _) = try checkQuote(quote, attest: tampered)
        XCTAssertNotEqual(status, 0)
    }

    func testCheckQuoteRejectsWrongNonceAndWrongPCRs() throws {
        let quote = try client.quote(nonce: randomBytes(32))
        let (nonceStatus, _) = try checkQuote(quote, nonce: randomBytes(32))
        XCTAssertNotEqual(nonceStatus, 0)
        let (pcrStatus, _) = try checkQuote(quote, pcrValues: [UInt8](repeating: 0xAA, count: 32))
        XCTAssertNotEqual(pcrStatus, 0)
    }
}
