import ArgumentParser
import Crypto
import Foundation
import ParleyCore

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create a party's key pair: NAME.key (private, mode 0600) and NAME.pub (public).",
        discussion: """
        A party key holds a P-256 signing key (signs uploads and query requests) and an X25519
        agreement key (query results are encrypted to it), both in PEM. Give NAME.pub to the
        module author, who lists it in the module; keep NAME.key to yourself.

        Example:
          parley keygen brand            # writes ./brand.key and ./brand.pub
          parley keygen keys/retailer    # writes keys/retailer.key and keys/retailer.pub
        """
    )

    @Argument(help: "Name (or path prefix) of the key files to write.")
    var name: String

    @Flag(help: "Replace existing key files. Without it, an existing file is never touched.")
    var force = false

    func validate() throws {
        guard !name.isEmpty, !name.hasSuffix("/") else {
            throw ValidationError("NAME must name a file, for example `brand` or `keys/brand`.")
        }
    }

    func run() throws {
        let keyPath = name + ".key", pubPath = name + ".pub"
        let key = PartyPrivateKey()
        do {
            try FileIO.write(Array(key.pemRepresentation.utf8), to: keyPath, mode: 0o600, overwrite: force)
            try FileIO.write(Array(key.publicKey.pemRepresentation.utf8), to: pubPath, mode: 0o644, overwrite: force)
        } catch let e as ParleyError {
            fail(e.reason + (e.reason.contains("already exists") ? " (or pass --force)" : ""))
        }
        let fingerprint = Hex.encode(SHA256.hash(data: key.publicKey.signing.derRepresentation).prefix(8))
        print("wrote \(keyPath) (private, mode 0600) and \(pubPath) (public)")
        print("signing key fingerprint: \(fingerprint)")
    }
}
