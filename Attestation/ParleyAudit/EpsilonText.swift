import ParleyPrivacy

/// Reads the privacy parameters workers write (`Rational.description`): an exact decimal
/// (`"0.25"`, `"1"`) or, when no finite decimal exists, a fraction (`"1/3"`).
enum EpsilonText {
    /// A number that does not parse or a sum that overflows.
    struct Unreadable: Error {
        let reason: String
    }

    static func parse(_ text: String) throws(EpsilonText.Unreadable) -> Rational {
        do { return try Rational(exactText: text) } catch {
            throw Unreadable(reason: "\(text.prefix(64).debugDescription): \(error)")
        }
    }

    static func sum(_ a: Rational, _ b: Rational) throws(EpsilonText.Unreadable) -> Rational {
        do { return try a.adding(b) } catch { throw Unreadable(reason: "the sum of the epsilons overflows: \(error)") }
    }
}
