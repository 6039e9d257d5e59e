import Foundation
import NIOCore
import NIOHTTPTypes

/// How many connections each client address holds; a connection over the cap is refused.
/// Shared by every connection of one server.
final class ConnectionCounter: @unchecked Sendable {
    // @unchecked: `open` is guarded by `lock`.
    private let lock = NSLock()
    private var open: [String: Int] = [:]
    let maxPerAddress: Int

    init(maxPerAddress: Int) { self.maxPerAddress = maxPerAddress }

    /// Takes a slot for `address`; false when it already holds `maxPerAddress` connections.
    func acquire(_ address: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let n = open[address, default: 0]
        guard n < maxPerAddress else { return false }
        open[address] = n + 1
        return true
    }

    /// Gives a slot back.
    func release(_ address: String) {
        lock.lock()
        defer { lock.unlock() }
        let n = open[address, default: 0] - 1
        open[address] = n > 0 ? n : nil
    }

    /// Connections `address` holds now.
    func count(_ address: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return open[address, default: 0]
    }
}

/// Per connection: refuses a client address over its connection cap (closes at once), and
/// closes a connection whose request head has not arrived within the header deadline, counted
/// from the connection's start and again from the end of each response (keep-alive). The idle
/// deadline for bodies is Hummingbird's `idleTimeout`.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let counter: ConnectionCounter
    private let headerDeadline: TimeAmount
    private var address: String?
    private var started = false
    private var deadline: Scheduled<Void>?

    init(counter: ConnectionCounter, headerDeadline: TimeAmount) {
        self.counter = counter
        self.headerDeadline = headerDeadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let key = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard counter.acquire(key) else {
            context.close(promise: nil)
            return
        }
        address = key
        arm(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd: Bool
        if case .end = unwrapOutboundIn(data) { isEnd = true } else { isEnd = false }
        context.write(data, promise: promise)
        if isEnd { arm(context) }  // the next request's head must come in time too
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: headerDeadline) { channel.close(promise: nil) }
    }

    private func finish() {
        deadline?.cancel()
        deadline = nil
        if let address {
            counter.release(address)
            self.address = nil
        }
    }
}
