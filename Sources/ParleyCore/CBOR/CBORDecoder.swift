import CCBOR

/// Hardened CBOR decoding, backed by libcbor's streaming decoder.
///
/// libcbor reads one item head at a time; this type builds the tree itself so that it can
/// enforce, before allocating anything, a cap on nesting depth, on the total number of items and
/// on the input size, reject duplicate map keys, indefinite lengths and trailing bytes, and (in
/// ``Mode/deterministic``, the default) any encoding that is not the RFC 8949 section 4.2.1
/// deterministic form: a non-shortest integer, length or float, or map keys out of order.
public struct CBORDecoder: Sendable {
    /// How strictly the encoding itself is checked.
    public enum Mode: Sendable {
        /// RFC 8949 section 4.2.1: what every signed Parley structure must be.
        case deterministic
        /// Any well-formed encoding (duplicate keys and over-limit input are still rejected).
        /// Indefinite lengths are accepted only in this mode.
        case lenient
    }

    /// Caps applied while decoding. Every one is checked before the memory it guards is used.
    public struct Limits: Sendable {
        /// Largest accepted input, in bytes.
        public var maxBytes: Int
        /// Deepest accepted nesting of arrays, maps and tags (the top level is depth 1).
        public var maxDepth: Int
        /// Most data items accepted in one input (every scalar, key, value and container counts).
        public var maxItems: Int

        public init(maxBytes: Int = 16 << 20, maxDepth: Int = 32, maxItems: Int = 1 << 20) {
            self.maxBytes = maxBytes
            self.maxDepth = maxDepth
            self.maxItems = maxItems
        }

        /// The defaults: 16 MiB, depth 32, 1,048,576 items.
        public static let standard = Limits()
    }

    public var mode: Mode
    public var limits: Limits

    public init(mode: Mode = .deterministic, limits: Limits = .standard) {
        self.mode = mode
        self.limits = limits
    }

    /// Decodes exactly one data item that must span all of `bytes`.
    /// - Throws: ``ParleyError`` with code `.malformed`, `.nonCanonical` or `.limitExceeded`,
    ///   and a reason naming the byte offset.
    public func decode(_ bytes: [UInt8]) throws -> CBOR {
        guard bytes.count <= limits.maxBytes else {
            throw ParleyError(.limitExceeded, "CBOR input is \(bytes.count) bytes, over the cap of \(limits.maxBytes)")
        }
        guard !bytes.isEmpty else { throw ParleyError(.malformed, "CBOR input is empty") }
        let state = DecodeState(mode: mode, limits: limits, input: bytes)
        try bytes.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            var callbacks = DecodeState.callbacks()
            let context = Unmanaged.passUnretained(state).toOpaque()
            var pos = 0
            while state.result == nil {
                guard pos < buf.count else {
                    throw ParleyError(.malformed, "CBOR input ends inside an item at offset \(pos) (truncated)")
                }
                // libcbor 0.8's streaming decoder refuses the one-byte heads of tags 6 to 20
                // (0xc6...0xd4) as "unassigned", yet COSE_Sign1 is tag 18 (0xd2): decode that
                // head here. Its argument is in the head byte, so it is always shortest.
                if (0xc6...0xd4).contains(base[pos]) {
                    try state.handle(.tag(UInt64(base[pos] - 0xc0)), start: pos, length: 1)
                    pos += 1
                    continue
                }
                state.event = nil
                let r = cbor_stream_decode(base + pos, buf.count - pos, &callbacks, context)
                switch r.status {
                case CBOR_DECODER_FINISHED:
                    guard let event = state.event, r.read > 0 else {
                        throw ParleyError(.malformed, "CBOR item at offset \(pos) could not be decoded")
                    }
                    try state.handle(event, start: pos, length: r.read)
                    pos += r.read
                case CBOR_DECODER_NEDATA:
                    throw ParleyError(.malformed, "CBOR input ends inside an item at offset \(pos) (truncated)")
                default:
                    throw ParleyError(.malformed, "CBOR item at offset \(pos) is malformed or uses a reserved or unsupported value")
                }
            }
            guard pos == buf.count else {
                throw ParleyError(.malformed, "CBOR input has \(buf.count - pos) trailing bytes after the item ending at offset \(pos)")
            }
        }
        guard let result = state.result else { throw ParleyError(.internal, "CBOR decoder finished without a result") }
        return result
    }
}

/// One item head reported by libcbor's streaming decoder.
enum DecodeEvent {
    case unsigned(UInt64)
    case negative(UInt64)
    case bytes(UnsafePointer<UInt8>?, Int)
    case text(UnsafePointer<UInt8>?, Int)
    case bytesStart, textStart
    case arrayStart(UInt64), mapStart(UInt64)
    case indefArrayStart, indefMapStart
    case tag(UInt64)
    case half(Float), single(Float), double(Double)
    case bool(Bool), null, undefined
    case breakMarker
}

/// The tree under construction. A class so that libcbor's C callbacks can reach it through an
/// opaque pointer; it never escapes `CBORDecoder.decode`.
final class DecodeState {
    enum Container {
        case array(expected: Int?, items: [CBOR])
        case map(expected: Int?, entries: [CBOR: CBOR], pendingKey: CBOR?, lastKey: ArraySlice<UInt8>?)
        case tag(UInt64)
        case chunkedBytes([UInt8])
        case chunkedText([UInt8])
    }

    struct Frame {
        var container: Container
        var start: Int
    }

    let mode: CBORDecoder.Mode
    let limits: CBORDecoder.Limits
    let input: [UInt8]
    var event: DecodeEvent?
    var stack: [Frame] = []
    var itemCount = 0
    var result: CBOR?
    /// Raw range of the most recently completed map key, for order checks.
    var pendingKeyRange: Range<Int>?

    init(mode: CBORDecoder.Mode, limits: CBORDecoder.Limits, input: [UInt8]) {
        self.mode = mode
        self.limits = limits
        self.input = input
    }

    private var deterministic: Bool { mode == .deterministic }

    // MARK: Event handling

    func handle(_ event: DecodeEvent, start: Int, length: Int) throws {
        itemCount += 1
        guard itemCount <= limits.maxItems else {
            throw ParleyError(.limitExceeded, "CBOR input has more than \(limits.maxItems) items")
        }
        let end = start + length
        switch event {
        case .unsigned(let v):
            try checkHead(v, length: length, at: start)
            try emit(.unsigned(v), start: start, end: end)
        case .negative(let n):
            try checkHead(n, length: length, at: start)
            try emit(.negative(n), start: start, end: end)
        case .bytes(let p, let n):
            try checkHead(UInt64(n), length: length - n, at: start)
            let b = p.map { Array(UnsafeBufferPointer(start: $0, count: n)) } ?? []
            if case .chunkedBytes(var acc)? = stack.last?.container {
                acc += b
                stack[stack.count - 1].container = .chunkedBytes(acc)
                return
            }
            try rejectChunkOfWrongType(at: start)
            try emit(.bytes(b), start: start, end: end)
        case .text(let p, let n):
            try checkHead(UInt64(n), length: length - n, at: start)
            let b = p.map { Array(UnsafeBufferPointer(start: $0, count: n)) } ?? []
            if case .chunkedText(var acc)? = stack.last?.container {
                acc += b
                stack[stack.count - 1].container = .chunkedText(acc)
                return
            }
            try rejectChunkOfWrongType(at: start)
            try emit(.text(try utf8(b, at: start)), start: start, end: end)
        case .bytesStart:
            try indefinite("byte string", at: start)
            try push(.chunkedBytes([]), start: start)
        case .textStart:
            try indefinite("text string", at: start)
            try push(.chunkedText([]), start: start)
        case .arrayStart(let declared):
            try checkHead(declared, length: length, at: start)
            let count = try checkDeclaredCount(declared, perItem: 1, after: end, at: start)
            try push(.array(expected: count, items: []), start: start)
            if count == 0 { try closeTop(end: end) }
        case .mapStart(let declared):
            try checkHead(declared, length: length, at: start)
            let count = try checkDeclaredCount(declared, perItem: 2, after: end, at: start)
            try push(.map(expected: count, entries: [:], pendingKey: nil, lastKey: nil), start: start)
            if count == 0 { try closeTop(end: end) }
        case .indefArrayStart:
            try indefinite("array", at: start)
            try push(.array(expected: nil, items: []), start: start)
        case .indefMapStart:
            try indefinite("map", at: start)
            try push(.map(expected: nil, entries: [:], pendingKey: nil, lastKey: nil), start: start)
        case .tag(let t):
            try checkHead(t, length: length, at: start)
            try push(.tag(t), start: start)
        case .half(let f):
            try emit(.float(Double(f)), start: start, end: end)
        case .single(let f):
            try checkFloat(Double(f), width: 4, at: start)
            try emit(.float(Double(f)), start: start, end: end)
        case .double(let d):
            try checkFloat(d, width: 8, at: start)
            try emit(.float(d), start: start, end: end)
        case .bool(let b):
            try emit(.bool(b), start: start, end: end)
        case .null:
            try emit(.null, start: start, end: end)
        case .undefined:
            try emit(.undefined, start: start, end: end)
        case .breakMarker:
            try closeIndefinite(at: start, end: end)
        }
    }

    // MARK: Tree building

    private func push(_ container: Container, start: Int) throws {
        if case .chunkedBytes? = stack.last?.container {
            throw ParleyError(.malformed, "CBOR indefinite byte string holds a non-string chunk at offset \(start)")
        }
        if case .chunkedText? = stack.last?.container {
            throw ParleyError(.malformed, "CBOR indefinite text string holds a non-string chunk at offset \(start)")
        }
        guard stack.count < limits.maxDepth else {
            throw ParleyError(.limitExceeded, "CBOR nesting is deeper than \(limits.maxDepth) at offset \(start)")
        }
        stack.append(Frame(container: container, start: start))
    }

    /// Delivers a completed item to its parent, closing every container it completes.
    private func emit(_ item: CBOR, start: Int, end: Int) throws {
        guard var frame = stack.popLast() else {
            result = item
            return
        }
        switch frame.container {
        case .array(let expected, var items):
            items.append(item)
            frame.container = .array(expected: expected, items: items)
            stack.append(frame)
            if let expected, items.count == expected { try closeTop(end: end) }
        case .map(let expected, var entries, let pendingKey, let lastKey):
            guard let key = pendingKey else {
                let raw = input[start..<end]
                if entries[item] != nil {
                    throw ParleyError(.malformed, "CBOR map at offset \(frame.start) has a duplicate key at offset \(start)")
                }
                if deterministic, let lastKey, !lastKey.lexicographicallyPrecedes(raw) {
                    throw ParleyError(.nonCanonical, "CBOR map at offset \(frame.start) has keys out of deterministic order at offset \(start)")
                }
                frame.container = .map(expected: expected, entries: entries, pendingKey: item, lastKey: raw)
                stack.append(frame)
                return
            }
            entries[key] = item
            frame.container = .map(expected: expected, entries: entries, pendingKey: nil, lastKey: lastKey)
            stack.append(frame)
            if let expected, entries.count == expected { try closeTop(end: end) }
        case .tag(let t):
            try emit(.tagged(t, item), start: frame.start, end: end)
        case .chunkedBytes, .chunkedText:
            throw ParleyError(.malformed, "CBOR indefinite string holds a non-string chunk at offset \(start)")
        }
    }

    /// Pops the top container (whose last item ended at `end`) and emits it.
    private func closeTop(end: Int) throws {
        guard let frame = stack.popLast() else { return }
        switch frame.container {
        case .array(_, let items): try emit(.array(items), start: frame.start, end: end)
        case .map(_, let entries, let pending, _):
            if pending != nil {
                throw ParleyError(.malformed, "CBOR map at offset \(frame.start) ends with a key and no value")
            }
            try emit(.map(entries), start: frame.start, end: end)
        case .chunkedBytes(let b): try emit(.bytes(b), start: frame.start, end: end)
        case .chunkedText(let b): try emit(.text(try utf8(b, at: frame.start)), start: frame.start, end: end)
        case .tag: throw ParleyError(.malformed, "CBOR tag at offset \(frame.start) has no content")
        }
    }

    private func closeIndefinite(at start: Int, end: Int) throws {
        guard let top = stack.last else {
            throw ParleyError(.malformed, "CBOR break marker outside an indefinite-length item at offset \(start)")
        }
        switch top.container {
        case .array(nil, _), .map(nil, _, _, _), .chunkedBytes, .chunkedText:
            try closeTop(end: end)
        default:
            throw ParleyError(.malformed, "CBOR break marker inside a definite-length item at offset \(start)")
        }
    }

    // MARK: Checks

    private func rejectChunkOfWrongType(at start: Int) throws {
        switch stack.last?.container {
        case .chunkedBytes?, .chunkedText?:
            throw ParleyError(.malformed, "CBOR indefinite string holds a chunk of the other string type at offset \(start)")
        default: return
        }
    }

    private func indefinite(_ what: String, at start: Int) throws {
        if deterministic {
            throw ParleyError(.nonCanonical, "CBOR indefinite-length \(what) at offset \(start) is not allowed here")
        }
    }

    /// Deterministic encoding requires the shortest head for every argument.
    private func checkHead(_ argument: UInt64, length: Int, at start: Int) throws {
        guard deterministic else { return }
        let shortest: Int
        switch argument {
        case 0..<24: shortest = 1
        case 24...0xff: shortest = 2
        case 0x100...0xffff: shortest = 3
        case 0x1_0000...0xffff_ffff: shortest = 5
        default: shortest = 9
        }
        if length != shortest {
            throw ParleyError(.nonCanonical, "CBOR item at offset \(start) does not use the shortest form for its value or length")
        }
    }

    /// A declared count may not exceed what the remaining bytes could possibly hold.
    /// - Returns: the count as an `Int`, safe to compare with collection sizes.
    private func checkDeclaredCount(_ count: UInt64, perItem: UInt64, after end: Int, at start: Int) throws -> Int {
        let remaining = UInt64(input.count - end)
        let (needed, overflow) = count.multipliedReportingOverflow(by: perItem)
        if overflow || needed > remaining || count > UInt64(limits.maxItems) {
            throw ParleyError(.limitExceeded, "CBOR container at offset \(start) declares \(count) entries, more than the input can hold or the cap allows")
        }
        return Int(count)
    }

    private func checkFloat(_ d: Double, width: Int, at start: Int) throws {
        guard deterministic else { return }
        let fitsHalf = d.isNaN || Double(Float16(d)) == d
        let fitsSingle = d.isNaN || Double(Float(d)) == d
        if fitsHalf || (width == 8 && fitsSingle) {
            throw ParleyError(.nonCanonical, "CBOR float at offset \(start) is not in its shortest exact form")
        }
    }

    private func utf8(_ bytes: [UInt8], at start: Int) throws -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw ParleyError(.malformed, "CBOR text string at offset \(start) is not valid UTF-8")
        }
        return s
    }

    // MARK: libcbor callbacks


    static func callbacks() -> cbor_callbacks {
        var c = cbor_callbacks()
        c.uint8 = { decodeState($0).event = .unsigned(UInt64($1)) }
        c.uint16 = { decodeState($0).event = .unsigned(UInt64($1)) }
        c.uint32 = { decodeState($0).event = .unsigned(UInt64($1)) }
        c.uint64 = { decodeState($0).event = .unsigned($1) }
        c.negint8 = { decodeState($0).event = .negative(UInt64($1)) }
        c.negint16 = { decodeState($0).event = .negative(UInt64($1)) }
        c.negint32 = { decodeState($0).event = .negative(UInt64($1)) }
        c.negint64 = { decodeState($0).event = .negative($1) }
        c.byte_string = { decodeState($0).event = .bytes($1, $2) }
        c.byte_string_start = { decodeState($0).event = .bytesStart }
        c.string = { decodeState($0).event = .text($1, $2) }
        c.string_start = { decodeState($0).event = .textStart }
        c.array_start = { decodeState($0).event = .arrayStart(UInt64(UInt(bitPattern: $1))) }
        c.indef_array_start = { decodeState($0).event = .indefArrayStart }
        c.map_start = { decodeState($0).event = .mapStart(UInt64(UInt(bitPattern: $1))) }
        c.indef_map_start = { decodeState($0).event = .indefMapStart }
        c.tag = { decodeState($0).event = .tag($1) }
        c.float2 = { decodeState($0).event = .half($1) }
        c.float4 = { decodeState($0).event = .single($1) }
        c.float8 = { decodeState($0).event = .double($1) }
        c.undefined = { decodeState($0).event = .undefined }
        c.null = { decodeState($0).event = .null }
        c.boolean = { decodeState($0).event = .bool($1) }
        c.indef_break = { decodeState($0).event = .breakMarker }
        return c
    }
}

/// The decoder state behind libcbor's opaque context pointer (a free function so that the
/// callbacks capture nothing and can be C function pointers).
private func decodeState(_ ctx: UnsafeMutableRawPointer?) -> DecodeState {
    Unmanaged<DecodeState>.fromOpaque(ctx!).takeUnretainedValue()
}
