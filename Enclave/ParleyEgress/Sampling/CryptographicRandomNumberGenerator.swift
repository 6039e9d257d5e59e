import ParleyPrivacy
/// A random number generator whose output an adversary cannot predict: the only kind the
/// egress gate accepts.
///
/// Conforming is a promise about quality that the type system cannot check, so the set of
/// conformers is kept deliberately small. In production use ``SystemRandomNumberGenerator``:
/// on Linux the Swift standard library implements it with `getrandom(2)`, the kernel's
/// cryptographically secure generator (on Apple platforms, `arc4random_buf`). A seeded,
/// deterministic generator may conform only inside a test target, to make statistical tests
/// reproducible; shipping one would make every release's noise predictable and void the
/// privacy guarantee.
public protocol CryptographicRandomNumberGenerator: RandomNumberGenerator {}

/// `getrandom(2)` on Linux, a cryptographically secure source.
extension SystemRandomNumberGenerator: CryptographicRandomNumberGenerator {}
