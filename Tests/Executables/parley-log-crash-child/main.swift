// The child process of ParleyLogTests' crash test: opens the durable log in the directory given,
// then appends entries forever, printing each acknowledged index on its own line of stdout
// (written straight to the descriptor, unbuffered) and publishing a signed checkpoint every 8 entries. The test kills it with
// SIGKILL at random moments and checks that everything it acknowledged survived.
//
// Usage: parley-log-crash-child <directory> <signer key, PRIVATE+KEY+... form>
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ParleyLog

/// The bytes of entry `index`; the crash test recomputes them to check what it reads back.
func crashTestPayload(_ index: UInt64) -> [UInt8] {
    let head = Array("parley crash-test entry \(index);".utf8)
    let padding = (0..<Int(index * 7919 % 300)).map { UInt8(truncatingIfNeeded: Int(index) &+ $0) }
    return head + padding
}

/// Writes one line straight to a descriptor: no stdio buffer, so nothing acknowledged is lost
/// in a buffer when the process is killed.
func writeLine(_ descriptor: Int32, _ text: String) {
    let bytes = Array((text + "\n").utf8)
    var written = 0
    while written < bytes.count {
        let result = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if result <= 0 { exit(3) }
        written += result
    }
}

func fail(_ message: String) -> Never {
    writeLine(2, "parley-log-crash-child: \(message)")
    exit(2)
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else { fail("usage: parley-log-crash-child <directory> <signer key>") }
do {
    let signer = try NoteSignerKey(parsing: arguments[2])
    let log = try DurableLog(directory: arguments[1])
    let report = log.openReport
    writeLine(2, "opened entries=\(report.entryCount) cut=\(report.entryBytesCut)")
    while true {
        let entry = try log.append(crashTestPayload(log.size))
        writeLine(1, String(entry.index))
        if log.size % 8 == 0 {
            _ = try log.publishCheckpoint(origin: signer.name, signer: signer)
        }
    }
} catch {
    fail("\(error)")
}
