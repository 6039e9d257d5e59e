extension TOMLTable {
    /// Refuses any key not in `allowed`, so a misspelt option is an error instead of being
    /// silently ignored.
    ///
    /// The error names the first unknown key (in file order) at its position, suggests the
    /// closest allowed key when one is near, and lists the allowed keys:
    /// `policy.toml:8:1: unknown key "alow_debug"; did you mean "allow_debug"? Allowed keys: quote, module, ...`
    /// - Parameter allowed: The keys this table may have, in the order to list them.
    /// - Throws: ``TOMLError/Code/unknownKey``.
    public func rejectUnknownKeys(allowed: [String]) throws(TOMLError) {
        let known = Set(allowed)
        guard let unknown = entries.first(where: { !known.contains($0.key) }) else { return }
        let place = path.isRoot ? "" : " in " + (path.isKeysOnly ? "[\(path)]" : "\(path)")
        var message = "unknown key \"\(unknown.key)\"\(place);"
        if let suggestion = Self.closest(to: unknown.key, among: allowed) {
            message += " did you mean \"\(suggestion)\"?"
        }
        message += allowed.isEmpty
            ? " this table takes no keys"
            : " allowed keys: " + allowed.map { TOMLPath.render(key: $0) }.joined(separator: ", ")
        throw error(message, at: unknown.keyPosition, code: .unknownKey)
    }

    /// The allowed key within a small edit distance of `key`, if there is one.
    static func closest(to key: String, among allowed: [String]) -> String? {
        let limit = max(1, min(3, key.count / 3))
        var best: (key: String, distance: Int)?
        for candidate in allowed {
            let distance = editDistance(Array(key.unicodeScalars), Array(candidate.unicodeScalars))
            if distance <= limit, distance < (best?.distance ?? Int.max) {
                best = (candidate, distance)
            }
        }
        return best?.key
    }

    /// Levenshtein distance.
    private static func editDistance(_ lhs: [Unicode.Scalar], _ rhs: [Unicode.Scalar]) -> Int {
        if lhs.isEmpty { return rhs.count }
        if rhs.isEmpty { return lhs.count }
        var previous = Array(0...rhs.count)
        var current = [Int](repeating: 0, count: rhs.count + 1)
        for i in 1...lhs.count {
            current[0] = i
            for j in 1...rhs.count {
                let substitution = previous[j - 1] + (lhs[i - 1] == rhs[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[rhs.count]
    }
}
