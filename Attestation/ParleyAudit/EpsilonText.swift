import ParleyEgress

/// Reads the privacy parameters workers write (`Rational.description`): an exact decimal
/// (`"0.25"`, `"1"`) or, when no finite decimal exists, a fraction (`"1/3"`).
enum EpsilonText {
    /// A number that does not parse or a sum that overflows.
    struct Unreadable: Error {
        let reason: String
    }

    static func parse(_ text: String) throws(EpsilonText.Unreadable) -> Rational {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        do {
            if parts.count == 2, let n = UInt64(parts[0]), let d = UInt64(parts[1]) {
                return try Rational(n, d)
            }
            return try Rational(decimal: text)
        } catch {
            throw Unreadable(reason: "\(text.prefix(64).debugDescription): \(error)")
        }
    }

    static func sum(_ a: Rational, _ b: Rational) throws(EpsilonText.Unreadable) -> Rational {
        do { return try a.adding(b) } catch { throw Unreadable(reason: "the sum of the epsilons overflows: \(error)") }
    }
}
