#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `host:port` (`[host]:port` for IPv6) and the socket addresses `host` resolves to for a
/// socket of `type`, in the resolver's order: each family and `sockaddr` bytes.
/// - Throws: `CaptureError.writeFailed` with the resolver's reason.
func resolve(host: String, port: UInt16, type: Int32) throws(CaptureError) -> (String, [(family: Int32, bytes: [UInt8])]) {
    let destination = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = type
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, String(port), &hints, &list)
    guard status == 0, let first = list else {
        throw .writeFailed(path: destination, message: String(cString: gai_strerror(status)))
    }
    defer { freeaddrinfo(list) }
    var found: [(Int32, [UInt8])] = []
    var entry: UnsafeMutablePointer<addrinfo>? = first
    while let info = entry {
        found.append((info.pointee.ai_family, Array(UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(info.pointee.ai_addrlen)))))
        entry = info.pointee.ai_next
    }
    return (destination, found)
}

/// Connects socket `s` to `address` (`sockaddr` bytes from ``resolve(host:port:type:)``):
/// `connect(2)`'s result.
func connect(_ s: Int32, to address: [UInt8]) -> Int32 {
    address.withUnsafeBytes { raw in
        Glibc.connect(s, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
    }
}

/// A non-blocking TCP client socket to one destination (an IPFIX collector over TCP),
/// which can be connected again after the peer goes away: IPv4 or IPv6, the resolved
/// addresses tried in order.
///
/// Nothing here waits unless asked to: ``connect()`` starts a connection, ``send(_:from:)``
/// takes what the kernel's buffer has room for, and the `wait` methods poll with a timeout.
///
/// ```swift
/// let socket = try StreamSocket(host: "127.0.0.1", port: 4739)
/// if socket.connect() == .inProgress { _ = socket.waitConnected(timeoutMilliseconds: 1000) }
/// if case let .sent(count) = socket.send(message, from: 0) { print(count) }
/// ```
public final class StreamSocket {
    /// How far a connection attempt got.
    public enum Status: Sendable, Equatable {
        /// Connected: data can be sent.
        case connected
        /// The attempt has started and not yet finished.
        case inProgress
        /// The attempt failed, with the system's reason.
        case failed(String)
    }

    /// What a send did.
    public enum SendResult: Sendable, Equatable {
        /// This many bytes were taken (possibly fewer than offered).
        case sent(Int)
        /// The kernel's buffer is full; try again when ``waitWritable(timeoutMilliseconds:)`` says so.
        case wouldBlock
        /// The connection is broken (reset, closed by the peer), with the system's reason.
        case failed(String)
    }

    /// The destination as given (`host:port`, `[v6]:port`).
    public let destination: String
    /// The resolved socket addresses: family and the `sockaddr` bytes.
    let addresses: [(family: Int32, bytes: [UInt8])]
    var fd: Int32 = -1
    /// The address being tried or connected to (an index into `addresses`).
    var current = 0

    /// Resolves `host`; connects nothing yet.
    /// - Throws: `CaptureError.writeFailed` when the name does not resolve.
    public init(host: String, port: UInt16) throws(CaptureError) {
        (destination, addresses) = try resolve(host: host, port: port, type: Int32(SOCK_STREAM.rawValue))
    }

    /// Whether a socket is open (connecting or connected).
    public var isOpen: Bool { fd >= 0 }

    /// Starts connecting (closing any socket still open), to the next address after a
    /// failure: ``Status/connected`` at once on loopback, else usually
    /// ``Status/inProgress``; follow with ``waitConnected(timeoutMilliseconds:)``.
    public func connect() -> Status {
        close()
        var reason = "no address"
        for _ in 0..<addresses.count {
            let (family, bytes) = addresses[current]
            let s = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard s >= 0 else {
                reason = String(cString: strerror(errno))
                current = (current + 1) % addresses.count
                continue
            }
            var one: Int32 = 1
            _ = setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let result = Pcap.connect(s, to: bytes)
            if result == 0 {
                fd = s
                return .connected
            }
            if errno == EINPROGRESS {
                fd = s
                return .inProgress
            }
            reason = String(cString: strerror(errno))
            Glibc.close(s)
            current = (current + 1) % addresses.count
        }
        return .failed(reason)
    }

    /// Waits up to `timeoutMilliseconds` (0: not at all) for the attempt ``connect()``
    /// started to finish.
    public func waitConnected(timeoutMilliseconds: Int32) -> Status {
        guard fd >= 0 else { return .failed("not connecting") }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&p, 1, timeoutMilliseconds)
        if ready == 0 { return .inProgress }
        if ready < 0 { return errno == EINTR ? .inProgress : .failed(String(cString: strerror(errno))) }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else {
            close()
            current = (current + 1) % addresses.count
            return .failed(String(cString: strerror(error)))
        }
        return .connected
    }

    /// Sends what the kernel takes of `bytes[offset...]`, without waiting. Never raises
    /// SIGPIPE: a connection the peer closed comes back as ``SendResult/failed(_:)``.
    public func send(_ bytes: [UInt8], from offset: Int) -> SendResult {
        guard fd >= 0 else { return .failed("not connected") }
        guard offset < bytes.count else { return .sent(0) }
        let sent = bytes.withUnsafeBytes { raw in
            Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
        }
        if sent >= 0 { return .sent(sent) }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock }
        return .failed(String(cString: strerror(errno)))
    }

    /// Waits up to `timeoutMilliseconds` for room in the kernel's send buffer; `false` on
    /// timeout.
    public func waitWritable(timeoutMilliseconds: Int32) -> Bool {
        guard fd >= 0 else { return false }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        return poll(&p, 1, timeoutMilliseconds) > 0
    }

    /// Whether the peer has closed or reset the connection (a collector that stopped):
    /// checked without waiting. An IPFIX collector never sends, so anything readable is
    /// the end of the stream.
    public var peerClosed: Bool {
        guard fd >= 0 else { return true }
        let hangUp: Int16 = 0x2000  // POLLRDHUP (Linux; hidden behind _GNU_SOURCE)
        var p = pollfd(fd: fd, events: Int16(POLLIN) | hangUp, revents: 0)
        guard poll(&p, 1, 0) > 0 else { return false }
        let closed: Int16 = hangUp | Int16(POLLHUP) | Int16(POLLERR) | Int16(POLLIN)
        return p.revents & closed != 0
    }

    /// Closes the socket (the next ``connect()`` opens another).
    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Sleeps the calling thread for `milliseconds` (waiting for a reconnection's backoff).
    public static func pause(milliseconds: Int32) {
        guard milliseconds > 0 else { return }
        _ = poll(nil, 0, milliseconds)
    }

    deinit { close() }
}
