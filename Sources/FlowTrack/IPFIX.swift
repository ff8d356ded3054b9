import Flows
import Packets
import Pcap

/// IPFIX (RFC 7011) messages for connections: templates and data records with IANA
/// information elements, bidirectional (RFC 5103 reverse elements) or as two
/// unidirectional records, packed into messages no larger than a path MTU allows.
///
/// The elements of each record, in order:
///
/// | element | id | length |
/// |---|---|---|
/// | flowStartMilliseconds, flowEndMilliseconds | 152, 153 | 8 |
/// | sourceIPv4Address, destinationIPv4Address (IPv6: sourceIPv6Address, destinationIPv6Address) | 8, 12 (27, 28) | 4 (16) |
/// | sourceTransportPort, destinationTransportPort (0 for ICMP) | 7, 11 | 2 |
/// | icmpTypeCodeIPv4 (IPv6: icmpTypeCodeIPv6): type × 256 + code for ICMP, else 0 | 32 (139) | 2 |
/// | protocolIdentifier | 4 | 1 |
/// | tcpControlBits (from the history's letters: S, h → SYN; A, D → ACK; F → FIN; R → RST) | 6 | 2 |
/// | flowEndReason (timeout 1, FIN/RST/reuse 3, end of input 4, eviction 5) | 136 | 1 |
/// | vlanId (0 when unknown) | 58 | 2 |
/// | octetDeltaCount, packetDeltaCount (IP bytes and packets from the source) | 1, 2 | 8 |
/// | biflow only: reverseOctetDeltaCount, reversePacketDeltaCount, reverseTcpControlBits (PEN 29305) | 1, 2, 6 | 8, 8, 2 |
/// | with an `enterpriseNumber`: conn_state, history, Community ID (``EnterpriseElement``) | 1, 2, 3 | variable |
///
/// Source is the originator (the responder in a uniflow reply record). Times are packet
/// times. Templates 256 (IPv4) and 257 (IPv6) are biflow, 258 and 259 uniflow.
///
/// ```swift
/// var encoder = IPFIXEncoder(observationDomain: 1)
/// var messages: [[UInt8]] = [encoder.templates(exportTime: 1_700_000_000)]
/// if let full = encoder.add(connection, exportTime: 1_700_000_000) { messages.append(full) }
/// if let last = encoder.flush(exportTime: 1_700_000_000) { messages.append(last) }
/// ```
public struct IPFIXEncoder: Sendable {
    /// The observation domain of every message.
    public let observationDomain: UInt32
    /// Whether a connection is one biflow record (RFC 5103) or two uniflow records.
    public let bidirectional: Bool
    /// The largest message, in bytes (a UDP payload within the path MTU).
    public let maximumMessageSize: Int
    /// Data records sent before the message being built (the header's sequence number).
    public private(set) var sequenceNumber: UInt32 = 0
    /// Messages built so far.
    public private(set) var messages = 0

    /// The Private Enterprise Number of the ``EnterpriseElement``s, `nil` without them.
    public let enterpriseNumber: UInt32?
    /// The data records waiting for the next message, by template (IPv4, IPv6).
    var pending: [[UInt8]] = [[], []]
    var pendingRecords = [0, 0]

    /// The reverse information elements' Private Enterprise Number (RFC 5103).
    public static let reversePEN: UInt32 = 29305

    /// FlowTrack's own information elements, added to every record when the encoder is
    /// given a Private Enterprise Number: variable-length UTF-8 strings (RFC 7011 §7).
    ///
    /// FlowTrack has no IANA-assigned enterprise number, so the user supplies one (their
    /// organisation's; 32473 is RFC 5612's number for documentation and tests). A collector
    /// that does not know them skips them, as RFC 7011 requires.
    public enum EnterpriseElement: UInt16, CaseIterable, Sendable {
        /// Zeek's conn_state (`SF`, `S0`, `REJ`, …).
        case connState = 1
        /// Zeek's history letters (`ShADadFf`).
        case history = 2
        /// The Community ID (`1:…`), empty when the tracker did not compute it.
        case communityID = 3
    }

    /// An encoder for one observation domain; with `enterpriseNumber`, records carry the
    /// ``EnterpriseElement``s under that number.
    public init(observationDomain: UInt32 = 1, bidirectional: Bool = true, maximumMessageSize: Int = 1400,
                enterpriseNumber: UInt32? = nil) {
        self.observationDomain = observationDomain
        self.bidirectional = bidirectional
        self.maximumMessageSize = max(256, min(maximumMessageSize, 65_535))
        self.enterpriseNumber = enterpriseNumber
    }

    /// Template ids for IPv4 and IPv6 records.
    var templateIDs: (v4: UInt16, v6: UInt16) { bidirectional ? (256, 257) : (258, 259) }

    /// (element id, length, enterprise number or 0) of a record's fields.
    static func fields(v6: Bool, bidirectional: Bool, enterpriseNumber: UInt32? = nil) -> [(UInt16, UInt16, UInt32)] {
        var f: [(UInt16, UInt16, UInt32)] = [(152, 8, 0), (153, 8, 0)]
        f += v6 ? [(27, 16, 0), (28, 16, 0)] : [(8, 4, 0), (12, 4, 0)]
        f += [(7, 2, 0), (11, 2, 0), (v6 ? 139 : 32, 2, 0), (4, 1, 0), (6, 2, 0), (136, 1, 0), (58, 2, 0), (1, 8, 0), (2, 8, 0)]
        if bidirectional { f += [(1, 8, reversePEN), (2, 8, reversePEN), (6, 2, reversePEN)] }
        if let enterpriseNumber {
            f += EnterpriseElement.allCases.map { ($0.rawValue, 65_535, enterpriseNumber) }
        }
        return f
    }

    /// A message holding the template set (both templates): sent first, and again from
    /// time to time over UDP (a collector that restarts learns them again).
    public mutating func templates(exportTime: UInt32) -> [UInt8] {
        var set: [UInt8] = []
        for (id, v6) in [(templateIDs.v4, false), (templateIDs.v6, true)] {
            let fields = Self.fields(v6: v6, bidirectional: bidirectional, enterpriseNumber: enterpriseNumber)
            Self.put16(&set, id)
            Self.put16(&set, UInt16(fields.count))
            for (element, length, enterprise) in fields {
                Self.put16(&set, enterprise == 0 ? element : element | 0x8000)
                Self.put16(&set, length)
                if enterprise != 0 { Self.put32(&set, enterprise) }
            }
        }
        return message(sets: [(2, set)], exportTime: exportTime)
    }

    /// Adds a connection's record(s); returns a full message when the records waiting no
    /// longer fit in one.
    /// `endReason` overrides the record's flowEndReason (2, active timeout, for the interim
    /// records of a long connection).
    public mutating func add(_ c: Connection, exportTime: UInt32, endReason: UInt8? = nil) -> [UInt8]? {
        let slot = c.originator.address.isIPv4 ? 0 : 1
        let (forward, reverse) = Self.controlBits(c.history)
        let reason = endReason ?? Self.endReason(c.endReason)
        var records: [UInt8] = []
        var count = 1
        if bidirectional {
            record(c.originator, c.responder, c, forward, c.originatorCounters, reverse: (c.responderCounters, reverse), reason: reason,
                   into: &records)
        } else {
            record(c.originator, c.responder, c, forward, c.originatorCounters, reverse: nil, reason: reason, into: &records)
            if c.responderCounters.packets > 0 {
                record(c.responder, c.originator, c, reverse, c.responderCounters, reverse: nil, reason: reason, into: &records)
                count = 2
            }
        }
        // The message with these records: header 16, a set header 4 per template with records.
        var size = 16 + records.count
        for s in 0..<2 where pendingRecords[s] > 0 || s == slot { size += 4 + pending[s].count }
        var out: [UInt8]?
        if size > maximumMessageSize, pendingRecords[0] + pendingRecords[1] > 0 { out = flush(exportTime: exportTime) }
        pending[slot] += records
        pendingRecords[slot] += count
        return out
    }

    /// The message with the records waiting, if any.
    public mutating func flush(exportTime: UInt32) -> [UInt8]? {
        guard pendingRecords[0] + pendingRecords[1] > 0 else { return nil }
        var sets: [(UInt16, [UInt8])] = []
        if pendingRecords[0] > 0 { sets.append((templateIDs.v4, pending[0])) }
        if pendingRecords[1] > 0 { sets.append((templateIDs.v6, pending[1])) }
        let records = pendingRecords[0] + pendingRecords[1]
        let bytes = message(sets: sets, exportTime: exportTime)
        sequenceNumber &+= UInt32(truncatingIfNeeded: records)
        pending = [[], []]
        pendingRecords = [0, 0]
        return bytes
    }

    func record(_ source: Endpoint, _ destination: Endpoint, _ c: Connection, _ flags: UInt16,
                _ counters: DirectionCounters, reverse: (DirectionCounters, UInt16)?, reason: UInt8, into r: inout [UInt8]) {
        Self.put64(&r, UInt64(max(0, c.startTime.nanoseconds / 1_000_000)))
        Self.put64(&r, UInt64(max(0, c.lastTime.nanoseconds / 1_000_000)))
        for address in [source.address, destination.address] {
            if address.isIPv4 {
                Self.put32(&r, UInt32(truncatingIfNeeded: address.low))
            } else {
                Self.put64(&r, address.high)
                Self.put64(&r, address.low)
            }
        }
        // ICMP: no ports; its type and code (Zeek's id.orig_p and id.resp_p) in icmpTypeCode.
        let icmp = c.transport == .icmp
        Self.put16(&r, icmp ? 0 : source.port)
        Self.put16(&r, icmp ? 0 : destination.port)
        Self.put16(&r, icmp ? UInt16(truncatingIfNeeded: c.originator.port) << 8 | (c.responder.port & 0xFF) : 0)
        r.append(c.ipProtocol)
        Self.put16(&r, c.ipProtocol == 6 ? flags : 0)
        r.append(reason)
        Self.put16(&r, c.vlan ?? 0)
        Self.put64(&r, counters.ipBytes)
        Self.put64(&r, counters.packets)
        if let (back, backFlags) = reverse {
            Self.put64(&r, back.ipBytes)
            Self.put64(&r, back.packets)
            Self.put16(&r, c.ipProtocol == 6 ? backFlags : 0)
        }
        if enterpriseNumber != nil {
            Self.putString(&r, c.connState.description)
            Self.putString(&r, c.history)
            Self.putString(&r, c.communityID)
        }
    }

    /// A variable-length field (RFC 7011 §7): one length byte, or 255 and two length bytes.
    static func putString(_ b: inout [UInt8], _ text: String) {
        let count = min(text.utf8.count, 65_535)
        if count < 255 {
            b.append(UInt8(count))
        } else {
            b.append(255)
            put16(&b, UInt16(count))
        }
        b += text.utf8.prefix(count)
    }

    /// flowEndReason (IANA): 1 idle timeout, 2 active timeout, 3 end of flow detected, 4
    /// forced end, 5 lack of resources.
    static func endReason(_ reason: EndReason?) -> UInt8 {
        switch reason {
        case .timeout: 1
        case .fin, .rst, .reuse: 3
        case .endOfInput, nil: 4
        case .eviction: 5
        }
    }

    /// TCP flags each side sent, from Zeek's history letters (upper case: originator).
    static func controlBits(_ history: String) -> (forward: UInt16, reverse: UInt16) {
        var forward: UInt16 = 0, reverse: UInt16 = 0
        for letter in history.utf8 {
            switch letter {
            case UInt8(ascii: "S"): forward |= 0x02
            case UInt8(ascii: "H"): forward |= 0x12
            case UInt8(ascii: "A"), UInt8(ascii: "D"): forward |= 0x10
            case UInt8(ascii: "F"): forward |= 0x01
            case UInt8(ascii: "R"): forward |= 0x04
            case UInt8(ascii: "s"): reverse |= 0x02
            case UInt8(ascii: "h"): reverse |= 0x12
            case UInt8(ascii: "a"), UInt8(ascii: "d"): reverse |= 0x10
            case UInt8(ascii: "f"): reverse |= 0x01
            case UInt8(ascii: "r"): reverse |= 0x04
            default: break
            }
        }
        return (forward, reverse)
    }

    mutating func message(sets: [(UInt16, [UInt8])], exportTime: UInt32) -> [UInt8] {
        let length = 16 + sets.reduce(0) { $0 + 4 + $1.1.count }
        var m: [UInt8] = []
        m.reserveCapacity(length)
        Self.put16(&m, 10)
        Self.put16(&m, UInt16(length))
        Self.put32(&m, exportTime)
        Self.put32(&m, sequenceNumber)
        Self.put32(&m, observationDomain)
        for (id, body) in sets {
            Self.put16(&m, id)
            Self.put16(&m, UInt16(4 + body.count))
            m += body
        }
        messages += 1
        return m
    }

    static func put16(_ b: inout [UInt8], _ v: UInt16) { b.append(UInt8(v >> 8)); b.append(UInt8(v & 0xFF)) }
    static func put32(_ b: inout [UInt8], _ v: UInt32) { put16(&b, UInt16(v >> 16)); put16(&b, UInt16(v & 0xFFFF)) }
    static func put64(_ b: inout [UInt8], _ v: UInt64) { put32(&b, UInt32(v >> 32)); put32(&b, UInt32(v & 0xFFFF_FFFF)) }
}

/// How IPFIX messages travel to the collector.
public enum IPFIXTransport: String, Sendable, CaseIterable {
    /// One message per datagram (RFC 7011 §10.3): templates resent from time to time, a
    /// message lost is lost; what nfcapd and nfacctd receive.
    case udp
    /// A TCP connection (RFC 7011 §10.4): templates once at the start of each connection,
    /// messages queued (bounded) while the collector is away, reconnection with backoff.
    case tcp
}

/// Sends connections to an IPFIX collector as they end, over UDP or TCP.
///
/// - **UDP**: the templates go first and again every `templateRefresh` seconds or
///   `templateRefreshMessages` messages (so a restarted collector learns them); records are
///   packed into messages within the path MTU; messages the system refuses (no collector:
///   ICMP port unreachable) are counted in ``sendFailures`` and the run goes on.
/// - **TCP**: messages wait in a queue of at most `queueLimit` bytes and are written as the
///   connection takes them, without blocking the caller unless the queue is full. Each new
///   connection starts with the templates and its own sequence numbers. A collector that
///   is absent or goes away is reconnected with exponential backoff (0.25 s doubling to
///   30 s); a message that does not fit the queue is dropped and counted in
///   ``recordsDropped``. Messages already in the kernel's buffer when a collector dies are
///   lost without notice (IPFIX over TCP has no acknowledgements).
///
/// ```swift
/// let exporter = try IPFIXExporter(host: "127.0.0.1", port: 4739)
/// var tracker = FlowTracker()
/// try tracker.run(file: "trace.pcap") { event in
///     if case let .ended(c) = event { exporter.export(c) }
/// }
/// tracker.finish { event in if case let .ended(c) = event { exporter.export(c) } }
/// exporter.finish()
/// print(exporter.recordsSent, exporter.sendFailures, exporter.recordsDropped)
/// ```
public final class IPFIXExporter {
    var encoder: IPFIXEncoder
    let datagrams: DatagramSocket?
    let stream: IPFIXStream?
    /// The transport to the collector.
    public let transport: IPFIXTransport
    /// Seconds between template sets (UDP).
    public let templateRefresh: Int64
    var lastTemplates: Int64 = .min
    /// Connections exported.
    public private(set) var connectionsExported = 0
    /// UDP: messages the system refused to send (no collector: ICMP port unreachable; full
    /// buffer). TCP: connection attempts that failed.
    public var sendFailures: Int { stream?.connectFailures ?? datagramFailures }
    var datagramFailures = 0
    var datagramsSent = 0
    var datagramRecords: UInt32 = 0
    /// Messages sent (templates included); over TCP, written whole to a connection.
    public var messagesSent: Int { stream?.messagesSent ?? datagramsSent }
    /// Data records sent (one or two per connection); over TCP, written to a connection.
    public var recordsSent: UInt32 { stream.map { UInt32(truncatingIfNeeded: $0.recordsSent) } ?? datagramRecords }
    /// TCP: data records dropped because the queue was full, or still queued at the end
    /// of ``finish(timeout:)``. Always 0 over UDP.
    public var recordsDropped: Int { stream?.recordsDropped ?? 0 }
    /// TCP: connections made to the collector (1 when it never went away).
    public var connectionsMade: Int { stream?.connectionsMade ?? 0 }
    /// TCP: why the last connection attempt or send failed, if one did.
    public var lastError: String? { stream?.lastError }
    /// The collector, as `host:port`.
    public var destination: String { datagrams?.destination ?? stream!.socket.destination }

    /// An exporter to the collector at `host` (a name, IPv4 or IPv6) and `port`.
    ///
    /// - Parameters:
    ///   - host: the collector's name or address (IPv4 or IPv6).
    ///   - port: the collector's port.
    ///   - transport: UDP (default) or TCP.
    ///   - observationDomain: the observation domain id of every message.
    ///   - bidirectional: one RFC 5103 record per connection, or two unidirectional ones.
    ///   - enterpriseNumber: with a Private Enterprise Number, records also carry
    ///     ``IPFIXEncoder/EnterpriseElement``s (conn_state, history, Community ID).
    ///   - maximumMessageSize: the largest message, in bytes.
    ///   - templateRefresh: UDP: seconds between template sets.
    ///   - templateRefreshMessages: UDP: messages between template sets.
    ///   - queueLimit: TCP: bytes of messages held while the collector is slow or away.
    ///   - waitWhenFull: TCP: how long an export waits for a connected collector to take
    ///     data when the queue is full, before dropping (0 for a live meter, which must not
    ///     stall the capture; a capture file can wait).
    /// - Throws: `CaptureError.writeFailed` when the name does not resolve or (UDP) no
    ///   socket connects. Over TCP an absent collector is not an error: it is retried.
    public init(host: String, port: UInt16, transport: IPFIXTransport = .udp, observationDomain: UInt32 = 1,
                bidirectional: Bool = true, enterpriseNumber: UInt32? = nil, maximumMessageSize: Int = 1400,
                templateRefresh: Int64 = 60, templateRefreshMessages: Int = 100, queueLimit: Int = 16 << 20,
                waitWhenFull: Duration = .seconds(30)) throws(CaptureError) {
        self.transport = transport
        self.templateRefreshMessages = max(1, templateRefreshMessages)
        encoder = IPFIXEncoder(observationDomain: observationDomain, bidirectional: bidirectional,
                               maximumMessageSize: maximumMessageSize, enterpriseNumber: enterpriseNumber)
        self.templateRefresh = templateRefresh
        switch transport {
        case .udp:
            datagrams = try DatagramSocket(host: host, port: port)
            stream = nil
        case .tcp:
            datagrams = nil
            // Every connection starts with the templates, whenever it is made.
            stream = IPFIXStream(socket: try StreamSocket(host: host, port: port), templates: encoder.templates(exportTime: Self.now),
                                 queueLimit: queueLimit, waitWhenFull: waitWhenFull)
        }
    }

    /// The export time of a message sent now: seconds since 1970.
    static var now: UInt32 { UInt32(truncatingIfNeeded: WallClock.now.nanoseconds / 1_000_000_000) }
    var exportTime: UInt32 { Self.now }

    /// Sends (UDP) or queues (TCP) a message holding `records` data records.
    func send(_ message: [UInt8], records: Int) {
        if let stream {
            stream.enqueue(message, records: records)
            return
        }
        messagesSinceTemplates += 1
        if datagrams!.send(message) {
            datagramsSent += 1
            datagramRecords &+= UInt32(truncatingIfNeeded: records)
        } else {
            datagramFailures += 1
        }
    }

    /// Messages between two template sets, whatever the time (RFC 7011 §8.4: over UDP, by
    /// time and by message count, so a collector that restarts during a fast export of a
    /// capture learns the templates again within that many messages).
    public let templateRefreshMessages: Int
    var messagesSinceTemplates = 0

    /// UDP: sends the templates when they are due. (TCP sends them at each connection.)
    func refreshTemplates() {
        guard stream == nil else { return }
        let now = WallClock.now.nanoseconds / 1_000_000_000
        guard lastTemplates == .min || now - lastTemplates >= templateRefresh
              || messagesSinceTemplates >= templateRefreshMessages else { return }
        lastTemplates = now
        messagesSinceTemplates = 0
        send(encoder.templates(exportTime: exportTime), records: 0)
    }

    /// What interim records of long connections have exported so far, by connection number.
    var interim: [UInt64: (time: Timestamp, originator: DirectionCounters, responder: DirectionCounters)] = [:]

    /// Adds a record to the message being built; sends the message it fills.
    func add(_ c: Connection, endReason: UInt8? = nil) {
        let before = encoder.sequenceNumber
        if let message = encoder.add(c, exportTime: exportTime, endReason: endReason) {
            send(message, records: Int(encoder.sequenceNumber &- before))
        }
    }

    /// Exports one connection that ended (sent once a message is full, or at ``finish(timeout:)``).
    /// After interim records (``exportActive(_:now:timeout:)``) it carries what came since.
    public func export(_ c: Connection) {
        refreshTemplates()
        connectionsExported += 1
        var record = c
        if let sent = interim.removeValue(forKey: c.id) { Self.subtract(sent, from: &record) }
        add(record)
    }

    /// The live meter's active timeout: every connection of `open` (the tracker's
    /// connections still open) whose last record is `timeout` or more old gets an interim
    /// record with what it carried since (flowEndReason 2, active timeout), from that time.
    public func exportActive(_ open: [Connection], now: Timestamp, timeout: Duration) {
        for c in open {
            let since = interim[c.id]?.time ?? c.startTime
            guard now - since >= timeout else { continue }
            refreshTemplates()
            var record = c
            if let sent = interim[c.id] { Self.subtract(sent, from: &record) }
            interim[c.id] = (c.lastTime, c.originatorCounters, c.responderCounters)
            add(record, endReason: 2)
        }
    }

    /// `c` as a delta record: counts since the interim record `sent`, times from it.
    static func subtract(_ sent: (time: Timestamp, originator: DirectionCounters, responder: DirectionCounters), from c: inout Connection) {
        c.startTime = sent.time
        c.originatorCounters.packets -= min(c.originatorCounters.packets, sent.originator.packets)
        c.originatorCounters.ipBytes -= min(c.originatorCounters.ipBytes, sent.originator.ipBytes)
        c.responderCounters.packets -= min(c.responderCounters.packets, sent.responder.packets)
        c.responderCounters.ipBytes -= min(c.responderCounters.ipBytes, sent.responder.ipBytes)
    }

    /// Gives the TCP connection a chance to take queued messages, without waiting (a live
    /// meter calls this when idle). Nothing to do over UDP.
    public func poll() { stream?.pump(for: .zero) }

    /// Sends the records still waiting. Over TCP, waits up to `timeout` for the queue to
    /// drain (reconnecting within it if need be), counts what is left as dropped, and closes
    /// the connection (the collector sees the end of the stream; a later export connects
    /// again).
    public func finish(timeout: Duration = .seconds(5)) {
        refreshTemplates()
        let before = encoder.sequenceNumber
        if let message = encoder.flush(exportTime: exportTime) { send(message, records: Int(encoder.sequenceNumber &- before)) }
        stream?.drain(for: timeout)
        stream?.close()
    }
}

/// The TCP side of an ``IPFIXExporter``: a bounded queue of messages, a connection that
/// is made again with backoff, the templates first on each connection, and per-connection
/// sequence numbers (patched into each message as it starts on a connection).
final class IPFIXStream {
    let socket: StreamSocket
    let queueLimit: Int
    let waitWhenFull: Duration
    /// The messages waiting, from `head`; the first may be partly written (`offset`).
    var queue: [(bytes: [UInt8], records: Int)] = []
    var head = 0
    var offset = 0
    var queuedBytes = 0
    /// The template message to put first on every connection.
    let templates: [UInt8]
    /// Whether the message at the head is this connection's template message.
    var templatesAtHead = false

    enum State { case idle(retryAt: ContinuousClock.Instant), connecting(since: ContinuousClock.Instant), connected }
    var state: State = .idle(retryAt: .now)
    var backoff: Duration = .milliseconds(250)
    static let maximumBackoff: Duration = .seconds(30)
    static let connectTimeout: Duration = .seconds(5)
    /// The data records before the message at the head, on this connection.
    var sequence: UInt32 = 0

    var messagesSent = 0
    var recordsSent = 0
    var recordsDropped = 0
    var connectFailures = 0
    var connectionsMade = 0
    var lastError: String?

    init(socket: StreamSocket, templates: [UInt8], queueLimit: Int, waitWhenFull: Duration) {
        self.socket = socket
        self.templates = templates
        self.queueLimit = max(65_536, queueLimit)
        self.waitWhenFull = waitWhenFull
    }

    var isConnected: Bool { if case .connected = state { true } else { false } }

    /// Queues a message (dropping it when the queue stays full) and writes what the
    /// connection takes now.
    func enqueue(_ message: [UInt8], records: Int) {
        if queuedBytes + message.count > queueLimit {
            // A collector that is there but slow gets time; an absent one does not.
            if isConnected, waitWhenFull > .zero { pump(for: waitWhenFull, until: { self.queuedBytes + message.count <= self.queueLimit }) }
            if queuedBytes + message.count > queueLimit {
                recordsDropped += records
                pump(for: .zero)
                return
            }
        }
        queue.append((message, records))
        queuedBytes += message.count
        pump(for: .zero)
    }

    /// Waits up to `timeout` for everything queued to be written; what is left is dropped.
    func drain(for timeout: Duration) {
        pump(for: timeout, until: { self.head == self.queue.count })
        for m in queue[head...] { recordsDropped += m.records }
        queue.removeAll()
        head = 0
        offset = 0
        queuedBytes = 0
    }

    /// Makes progress — connects, writes — for at most `wait`, returning as soon as
    /// `done` holds (by default: nothing left that can be done without waiting).
    func pump(for wait: Duration, until done: (() -> Bool)? = nil) {
        let clock = ContinuousClock()
        let deadline = clock.now + wait
        func remaining() -> Int32 {
            let left = deadline - clock.now
            return left <= .zero ? 0 : Int32(min(left / .milliseconds(1), 60_000).rounded(.up))
        }
        while !(done?() ?? false) {
            switch state {
            case let .idle(retryAt):
                let now = clock.now
                if now < retryAt {
                    guard retryAt <= deadline, done != nil else { return }
                    StreamSocket.pause(milliseconds: Int32(((retryAt - now) / .milliseconds(1)).rounded(.up)))
                }
                switch socket.connect() {
                case .connected: connected()
                case .inProgress: state = .connecting(since: clock.now)
                case let .failed(reason): retry(reason)
                }
            case let .connecting(since):
                switch socket.waitConnected(timeoutMilliseconds: remaining()) {
                case .connected: connected()
                case .inProgress:
                    if clock.now - since > Self.connectTimeout {
                        retry("no answer in \(Self.connectTimeout)")
                    } else if remaining() == 0 {
                        return
                    }
                case let .failed(reason): retry(reason)
                }
            case .connected:
                if head == queue.count { return }
                if offset == 0, socket.peerClosed {
                    retry("the collector closed the connection")
                    continue
                }
                if offset == 0 { Self.patch(&queue[head].bytes, sequence: sequence) }
                switch socket.send(queue[head].bytes, from: offset) {
                case let .sent(count):
                    offset += count
                    if offset == queue[head].bytes.count { written() }
                case .wouldBlock:
                    let wait = remaining()
                    if wait == 0 { return }
                    _ = socket.waitWritable(timeoutMilliseconds: wait)
                case let .failed(reason): retry(reason)
                }
            }
        }
    }

    /// The message at the head is written whole.
    func written() {
        let m = queue[head]
        messagesSent += 1
        recordsSent += m.records
        sequence &+= UInt32(truncatingIfNeeded: m.records)
        queuedBytes -= m.bytes.count
        head += 1
        offset = 0
        templatesAtHead = false
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= queue.count {
            queue.removeFirst(head)
            head = 0
        }
    }

    /// A new connection: the templates go first, then the queue from its head message,
    /// whole even if part of it went out on the last connection; sequence numbers restart.
    func connected() {
        state = .connected
        connectionsMade += 1
        backoff = .milliseconds(250)
        sequence = 0
        offset = 0
        if head > 0 {
            head -= 1
            queue[head] = (templates, 0)
        } else {
            queue.insert((templates, 0), at: 0)
        }
        queuedBytes += templates.count
        templatesAtHead = true
    }

    /// The connection failed or went away: close it and try again after the backoff.
    func retry(_ reason: String) {
        if case .connected = state {} else { connectFailures += 1 }
        lastError = reason
        socket.close()
        // A template message left at the head from the connection that failed is not sent
        // twice: the next connection puts its own first.
        if templatesAtHead {
            queuedBytes -= queue[head].bytes.count
            head += 1
            templatesAtHead = false
        }
        offset = 0
        state = .idle(retryAt: .now + backoff)
        backoff = min(backoff * 2, Self.maximumBackoff)
    }

    /// Closes the connection after a drain; the next message connects again at once.
    func close() {
        socket.close()
        state = .idle(retryAt: .now)
        backoff = .milliseconds(250)
        templatesAtHead = false
    }

    /// Writes a message's sequence number (bytes 8–11 of the header).
    static func patch(_ message: inout [UInt8], sequence: UInt32) {
        guard message.count >= 16 else { return }
        message[8] = UInt8(sequence >> 24)
        message[9] = UInt8(sequence >> 16 & 0xFF)
        message[10] = UInt8(sequence >> 8 & 0xFF)
        message[11] = UInt8(sequence & 0xFF)
    }
}
