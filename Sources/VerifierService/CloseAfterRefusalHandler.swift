import NIOCore
import NIOHTTPTypes

/// Ends the connection after a response marked `Connection: close`: the verifier sends one when
/// it refuses a request before reading its body (401, 413, 429, 503), so the rest of that body is
/// never read into memory nor drained. After the response the output is closed (the client reads
/// the answer, then end of stream), whatever still arrives is discarded, and the connection is
/// closed for good after `linger` at most.
final class CloseAfterRefusalHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let linger: TimeAmount
    private var closing = false
    private var discarding = false
    private var timer: Scheduled<Void>?

    init(linger: TimeAmount = .seconds(2)) { self.linger = linger }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if discarding { return }  // the refused request's body, or anything after it
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            if response.headerFields[.connection]?.lowercased() == "close" {
                closing = true
                discarding = true
            }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closing else { return context.write(data, promise: promise) }
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: written)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in
                bound.value.close(mode: .output, promise: nil)
            }
            timer = context.eventLoop.scheduleTask(in: linger) { bound.value.close(promise: nil) }
        }
    }
}
