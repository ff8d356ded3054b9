import Packets
import CPcap
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors opening a live capture (kept apart from file errors: a different cause, a different fix).
public enum LiveCaptureError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The process lacks the privileges to capture. `message` is libpcap's text.
    case permissionDenied(interface: String, message: String)
    /// No such interface; `available` lists the ones libpcap can open.
    case noSuchInterface(interface: String, available: [String])
    /// The interface exists but is down.
    case interfaceDown(interface: String, message: String)
    /// Any other activation failure, with libpcap's text.
    case activationFailed(interface: String, message: String)
    /// A BPF filter that does not compile.
    case badFilter(expression: String, message: String)
    /// A read failed while capturing.
    case readFailed(interface: String, message: String)

    /// One line for a person: what went wrong, what to do, libpcap's own words.
    public var description: String {
        switch self {
        case let .permissionDenied(interface, message):
            return "\(interface): capturing needs CAP_NET_RAW and CAP_NET_ADMIN: run as root or grant them with "
                + "'setcap cap_net_raw,cap_net_admin=eip <path to flowtrack>' (libpcap: \(message))"
        case let .noSuchInterface(interface, available):
            return "\(interface): no such interface; available: \(available.isEmpty ? "none" : available.joined(separator: ", "))"
        case let .interfaceDown(interface, message):
            return "\(interface): interface is down; bring it up first (libpcap: \(message))"
        case let .activationFailed(interface, message):
            return "\(interface): cannot start capturing (libpcap: \(message))"
        case let .badFilter(expression, message):
            return "bad filter expression '\(expression)' (libpcap: \(message))"
        case let .readFailed(interface, message):
            return "\(interface): read failed (libpcap: \(message))"
        }
    }
}

/// Capture statistics from the kernel. The corresponding libpcap function is `pcap_stats()`.
public struct CaptureStatistics: Sendable, Equatable {
    /// Packets the filter accepted.
    public var received: UInt64
    /// Packets dropped because the capture buffer was full.
    public var dropped: UInt64
    /// Packets the interface or its driver dropped.
    public var interfaceDropped: UInt64
}

/// A network interface libpcap can capture on.
public struct CaptureInterface: Sendable, Equatable {
    /// The name to pass to ``LiveCapture``, such as `eth0`.
    public var name: String
    /// A description, when libpcap has one.
    public var description: String?
    /// Its IPv4 and IPv6 addresses.
    public var addresses: [String]
    /// Whether it is up.
    public var isUp: Bool
    /// Whether it is running.
    public var isRunning: Bool
    /// Whether it is a loopback interface.
    public var isLoopback: Bool
    /// Whether it is wireless.
    public var isWireless: Bool

    /// Every interface libpcap can open.
    /// The corresponding libpcap function is `pcap_findalldevs()`.
    public static func all() -> [CaptureInterface] {
        var list: UnsafeMutablePointer<pcap_if_t>?
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard pcap_findalldevs(&list, &errbuf) == 0 else { return [] }
        defer { pcap_freealldevs(list) }
        var out: [CaptureInterface] = []
        var current = list
        while let device = current {
            let d = device.pointee
            var addresses: [String] = []
            var address = d.addresses
            while let a = address {
                if let text = Self.text(a.pointee.addr) { addresses.append(text) }
                address = a.pointee.next
            }
            out.append(CaptureInterface(
                name: String(cString: d.name), description: d.description.map { String(cString: $0) },
                addresses: addresses, isUp: d.flags & UInt32(PCAP_IF_UP) != 0, isRunning: d.flags & UInt32(PCAP_IF_RUNNING) != 0,
                isLoopback: d.flags & UInt32(PCAP_IF_LOOPBACK) != 0, isWireless: d.flags & UInt32(PCAP_IF_WIRELESS) != 0))
            current = d.next
        }
        return out
    }

    static func text(_ sockaddrPointer: UnsafeMutablePointer<sockaddr>?) -> String? {
        guard let sa = sockaddrPointer else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(sa.pointee.sa_family) {
        case AF_INET:
            return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin -> String? in
                var addr = sin.pointee.sin_addr
                return inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count)).map { String(cString: $0) }
            }
        case AF_INET6:
            return sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 -> String? in
                var addr = sin6.pointee.sin6_addr
                return inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count)).map { String(cString: $0) }
            }
        default:
            return nil
        }
    }
}

/// A live capture on a network interface, read without blocking.
///
/// Opened with `pcap_create` + `pcap_activate` (snapshot length, promiscuous and
/// immediate mode, buffer size, nanosecond timestamps where the kernel grants them),
/// then switched to non-blocking mode: ``next(waiting:_:)`` polls the capture's
/// descriptor for at most the given time, so a caller can stop at any moment (a
/// blocking `pcap_next_ex` does not return once traffic stops).
public struct LiveCapture: ~Copyable {
    let handle: PcapHandle
    let descriptor: Int32
    /// The interface.
    public let interface: String
    /// The link-layer header type (a `DLT_` value).
    public let linkType: LinkType
    /// The snapshot length in force.
    public let snapshotLength: Int
    /// Whether timestamps have nanosecond precision (else microseconds).
    public let nanosecondTimestamps: Bool
    /// Packets delivered so far.
    public private(set) var packetsRead = 0

    /// Opens and activates a capture.
    /// - Throws: `LiveCaptureError` naming what is missing (privileges, the interface, a filter).
    public init(interface: String, snapshotLength: Int = 262_144, promiscuous: Bool = false, immediate: Bool = true,
                bufferSize: Int? = nil, timeoutMilliseconds: Int = 100, filter: String? = nil) throws(LiveCaptureError) {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let pcap = pcap_create(interface, &errbuf) else {
            throw .activationFailed(interface: interface, message: errorText(errbuf))
        }
        let handle = PcapHandle(pcap: pcap, buffer: nil)
        pcap_set_snaplen(pcap, Int32(snapshotLength))
        pcap_set_promisc(pcap, promiscuous ? 1 : 0)
        pcap_set_immediate_mode(pcap, immediate ? 1 : 0)
        pcap_set_timeout(pcap, Int32(timeoutMilliseconds))
        if let bufferSize { pcap_set_buffer_size(pcap, Int32(bufferSize)) }
        let nano = pcap_set_tstamp_precision(pcap, Int32(PCAP_TSTAMP_PRECISION_NANO)) == 0
        let status = pcap_activate(pcap)
        if status < 0 {
            let message = handle.lastError
            switch status {
            case PCAP_ERROR_PERM_DENIED: throw .permissionDenied(interface: interface, message: message)
            case PCAP_ERROR_NO_SUCH_DEVICE:
                throw .noSuchInterface(interface: interface, available: CaptureInterface.all().map(\.name))
            case PCAP_ERROR_IFACE_NOT_UP: throw .interfaceDown(interface: interface, message: message)
            default:
                // Some kernels report a missing device as a plain error.
                if message.contains("No such device") {
                    throw .noSuchInterface(interface: interface, available: CaptureInterface.all().map(\.name))
                }
                if message.contains("Operation not permitted") || message.contains("ermission") {
                    throw .permissionDenied(interface: interface, message: message)
                }
                throw .activationFailed(interface: interface, message: message)
            }
        }
        if let filter {
            do throws(CaptureError) { try handle.setFilter(filter) } catch {
                if case let .badFilter(expression, message) = error { throw .badFilter(expression: expression, message: message) }
                throw .activationFailed(interface: interface, message: "\(error)")
            }
        }
        guard pcap_setnonblock(pcap, 1, &errbuf) == 0 else {
            throw .activationFailed(interface: interface, message: errorText(errbuf))
        }
        descriptor = pcap_get_selectable_fd(pcap)
        linkType = LinkType(rawValue: pcap_datalink(pcap))
        self.snapshotLength = Int(pcap_snapshot(pcap))
        nanosecondTimestamps = nano && pcap_get_tstamp_precision(pcap) == Int32(PCAP_TSTAMP_PRECISION_NANO)
        self.interface = interface
        self.handle = handle
    }

    /// Waits at most `waiting` milliseconds for a packet and hands it to `body`.
    ///
    /// - Returns: what `body` returned, or `nil` when no packet came in time.
    /// - Throws: `LiveCaptureError.readFailed` if libpcap reports an error.
    /// The corresponding libpcap functions are `pcap_get_selectable_fd()` (polled) and `pcap_next_ex()`.
    public mutating func next<R>(waiting milliseconds: Int, _ body: (PacketMetadata, Span<UInt8>) -> R) throws(LiveCaptureError) -> R? {
        for attempt in 0..<2 {
            var header: UnsafeMutablePointer<pcap_pkthdr>?
            var data: UnsafePointer<UInt8>?
            let status = pcap_next_ex(handle.pcap, &header, &data)
            if status == 1, let header, let data {
                let h = header.pointee
                let fraction = nanosecondTimestamps ? Int64(h.ts.tv_usec) : Int64(h.ts.tv_usec) * 1000
                let meta = PacketMetadata(timestamp: Timestamp(seconds: Int64(h.ts.tv_sec), nanoseconds: fraction),
                                          capturedLength: Int(h.caplen), wireLength: Int(h.len))
                packetsRead += 1
                let buffer = UnsafeBufferPointer(start: data, count: Int(h.caplen))
                return body(meta, buffer.span)
            }
            if status < 0 { throw .readFailed(interface: interface, message: handle.lastError) }
            // Nothing buffered: wait for the descriptor once, then try again.
            guard attempt == 0, milliseconds > 0, descriptor >= 0 else { return nil }
            var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, Int32(milliseconds)) <= 0 { return nil }
        }
        return nil
    }

    /// Kernel statistics for this capture. The corresponding libpcap function is `pcap_stats()`.
    public func statistics() -> CaptureStatistics? {
        var s = pcap_stat()
        guard pcap_stats(handle.pcap, &s) == 0 else { return nil }
        return CaptureStatistics(received: UInt64(s.ps_recv), dropped: UInt64(s.ps_drop), interfaceDropped: UInt64(s.ps_ifdrop))
    }
}

/// The real-time clock, for live captures (packet timestamps use it too).
public enum WallClock {
    /// Now, as nanoseconds since the Unix epoch. The corresponding C function is `clock_gettime()`.
    public static var now: Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec))
    }
}
