#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A connected UDP socket that sends datagrams to one destination (an IPFIX collector):
/// IPv4 or IPv6, whichever the host name resolves to first.
///
/// ```swift
/// let socket = try DatagramSocket(host: "127.0.0.1", port: 4739)
/// _ = socket.send(message)
/// ```
public final class DatagramSocket {
    let fd: Int32
    /// The destination as given (`host:port`).
    public let destination: String

    /// Resolves `host` and connects a UDP socket to it.
    /// - Throws: `CaptureError.writeFailed` with the resolver's or the system's reason.
    public init(host: String, port: UInt16) throws(CaptureError) {
        let (destination, addresses) = try resolve(host: host, port: port, type: Int32(SOCK_DGRAM.rawValue))
        self.destination = destination
        var lastError: Int32 = 0
        for (family, bytes) in addresses {
            let s = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
            guard s >= 0 else {
                lastError = errno
                continue
            }
            if connect(s, to: bytes) == 0 {
                fd = s
                return
            }
            lastError = errno
            Glibc.close(s)
        }
        throw .writeFailed(path: destination, message: String(cString: strerror(lastError)))
    }

    /// Sends one datagram; `false` when the system refused it (no collector listening shows
    /// up as a refused send after an ICMP port unreachable, a full buffer as another).
    public func send(_ bytes: [UInt8]) -> Bool {
        let sent = bytes.withUnsafeBytes { raw in Glibc.send(fd, raw.baseAddress, raw.count, 0) }
        return sent == bytes.count
    }

    deinit { Glibc.close(fd) }
}
