import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// The HTTP server's defences against clients that hold connections or send too much:
/// an idle timeout that also closes a connection still sending its request headers
/// (slowloris), and 431 for request headers over the size limit.
public enum HTTPLimits {
    /// Most bytes of request headers, all fields together (as NIO's decoder counts them).
    static let maxHeaderBytes = 16 * 1024

    public static func channel(idleTimeout: Duration) -> HTTP1Channel.Configuration {
        let (seconds, attoseconds) = idleTimeout.components
        return HTTP1Channel.Configuration(
            additionalChannelHandlers: [HeaderOverflowHandler()],
            idleTimeout: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: maxHeaderBytes, maxHeaderListSize: maxHeaderBytes, maxHeaderFieldCount: 100))
    }
}

/// Answers 431 and closes the connection when the request's headers are over the decoder's
/// limits (Hummingbird would only close it, leaving the client to guess why).
final class HeaderOverflowHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, parserError == .headerOverflow else {
            context.fireErrorCaught(error)
            return
        }
        var head = HTTPResponse(status: .init(code: 431, reasonPhrase: "Request Header Fields Too Large"))
        let body = "request headers too large (at most \(HTTPLimits.maxHeaderBytes) bytes)\n"
        head.headerFields[.contentLength] = String(body.utf8.count)
        head.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(string: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }
}
